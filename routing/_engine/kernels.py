"""The compiled loops of the routing engine (numba), imported on first use.

Kept apart so that ``import routing`` does not load numba; each loop is checked against a
plain reference (networkx, shapely) through the functions that call it.
"""

from __future__ import annotations

import heapq

import numba
import numpy as np


@numba.njit(cache=True)
def _offer(pending, pending_tie, pending_source, waiting, w, d, t, s, k):
    """Whether a label (cost ``d``, tie rank ``t``, source ``s``) for node ``w`` may still be
    among its ``k`` best, keeping per node the best pushed so far from up to ``k`` sources.

    A node's label from a source is never worse than any pushed for it, so a push behind
    ``k`` others from other sources can never be taken, and is not made.
    """
    if k == 1:  # a plain Dijkstra: only an improvement is pushed
        if d < pending[w, 0] or (d == pending[w, 0] and t < pending_tie[w, 0]):
            pending[w, 0], pending_tie[w, 0], pending_source[w, 0] = d, t, s
            return True
        return False
    worst = 0
    for j in range(waiting[w]):
        if pending_source[w, j] == s:
            if d < pending[w, j]:
                pending[w, j] = d
                return True
            return False
        if pending[w, j] > pending[w, worst] or (
            pending[w, j] == pending[w, worst] and pending_tie[w, j] > pending_tie[w, worst]
        ):
            worst = j
    if waiting[w] < k:
        worst = waiting[w]
        waiting[w] += 1
    elif d > pending[w, worst] or (d == pending[w, worst] and t >= pending_tie[w, worst]):
        return False
    pending[w, worst], pending_tie[w, worst], pending_source[w, worst] = d, t, s
    return True


@numba.njit(cache=True)
def k_labels(indptr, head, edge_of, cost, seconds, metres, seeds, start, tie, k, n, limit):
    """Labels from the seeds (rows: source, node; ``start``: their cost, seconds and metres)
    over the CSR graph; see :mod:`routing._engine.nearest`. A source's labels stop at its
    ``limit`` (cost): those within it are the same as without one.

    The heap holds (cost, tie rank, node, source, edge or -1 - seed, seconds, metres).
    """
    source = np.full((n, k), -1, np.int64)
    best = np.full((n, k), np.inf)
    sec = np.zeros((n, k))
    met = np.zeros((n, k))
    came_by = np.full((n, k), -1, np.int64)
    count = np.zeros(n, np.int64)
    pending = np.full((n, k), np.inf)
    pending_tie = np.zeros((n, k), np.int64)
    pending_source = np.full((n, k), -1, np.int64)
    waiting = np.zeros(n, np.int64)
    heap = [(0.0, 0, 0, 0, 0, 0.0, 0.0)]
    heap.pop()
    for i in range(len(start)):
        s, v = seeds[i, 0], seeds[i, 1]
        if start[i, 0] <= limit[s] and _offer(
            pending, pending_tie, pending_source, waiting, v, start[i, 0], tie[s], s, k
        ):
            heap.append((start[i, 0], tie[s], v, s, -1 - i, start[i, 1], start[i, 2]))
    heapq.heapify(heap)
    while heap:
        c, t, v, s, via, a, b = heapq.heappop(heap)
        m = count[v]
        if m == k:
            continue
        taken = False
        for j in range(m):
            if source[v, j] == s:
                taken = True
                break
        if taken:
            continue
        source[v, m], best[v, m], sec[v, m], met[v, m], came_by[v, m] = s, c, a, b, via
        count[v] = m + 1
        for arc in range(indptr[v], indptr[v + 1]):
            w = head[arc]
            if count[w] < k:
                e = edge_of[arc]
                d = c + cost[e]
                if d <= limit[s] and _offer(
                    pending, pending_tie, pending_source, waiting, w, d, t, s, k
                ):
                    heapq.heappush(heap, (d, t, w, s, e, a + seconds[e], b + metres[e]))
    return source, best, sec, met, came_by


@numba.njit(cache=True)
def walk_labels(label_source, came_by, edge_u, seed_piece, source, node, last_piece, write, out):
    """Count (``write`` false) or write each route's pieces, from its seed to its target:
    rows of ``out`` are (route, edge, start, end); a route with ``node`` -1 is its last piece."""
    size = 0
    for r in range(len(source)):
        steps = 1
        v = node[r]
        while v >= 0:  # back along the labels to the seed, counting the pieces
            slot = 0
            while label_source[v, slot] != source[r]:
                slot += 1
            via = came_by[v, slot]
            v = edge_u[via] if via >= 0 else -1
            steps += 1
        if write:  # the same walk, writing each piece at its place from the route's end
            at = size + steps - 1
            out[at, 0], out[at, 1], out[at, 2], out[at, 3] = (
                r,
                last_piece[r, 0],
                last_piece[r, 1],
                last_piece[r, 2],
            )
            v = node[r]
            while v >= 0:
                at -= 1
                slot = 0
                while label_source[v, slot] != source[r]:
                    slot += 1
                via = came_by[v, slot]
                out[at, 0] = r
                if via >= 0:
                    out[at, 1], out[at, 2], out[at, 3] = via, 0.0, 1.0
                    v = edge_u[via]
                else:
                    seed = -1 - via
                    out[at, 1], out[at, 2], out[at, 3] = (
                        seed_piece[seed, 0],
                        seed_piece[seed, 1],
                        seed_piece[seed, 2],
                    )
                    v = -1
        size += steps
    return size


@numba.njit(cache=True)
def _point_at(coords, key, at, lo_bound, hi_bound):
    hi = min(max(np.searchsorted(key, at), lo_bound), hi_bound)
    lo = hi - 1
    span = key[hi] - key[lo]
    w = (at - key[lo]) / span if span > 0 else 0.0
    return coords[lo, 0] + (coords[hi, 0] - coords[lo, 0]) * w, coords[lo, 1] + (
        coords[hi, 1] - coords[lo, 1]
    ) * w


@numba.njit(cache=True)
def trace(coords, metric, key, offsets, route, edge, start, end, write, out, owner, cut):
    """Count (``write`` false) or write the vertices of every piece, joints kept once.

    Vertices come from ``coords``; the ends of part pieces are interpolated along ``metric``
    (the roads are straight between vertices there) and marked in ``cut``."""
    size = 0
    for i in range(len(edge)):
        e = edge[i]
        second, last = offsets[e] + 1, offsets[e + 1] - 1
        whole = start[i] <= 0.0 and end[i] >= 1.0
        if whole:
            first, stop = second, last
        else:
            first = min(max(np.searchsorted(key, e + start[i], side="right"), second), last)
            stop = max(min(max(np.searchsorted(key, e + end[i]), second), last), first)
        if i == 0 or route[i - 1] != route[i]:  # a route's first piece: its head too
            if write:
                if whole:
                    out[size, 0], out[size, 1] = coords[offsets[e], 0], coords[offsets[e], 1]
                else:
                    out[size, 0], out[size, 1] = _point_at(metric, key, e + start[i], second, last)
                owner[size], cut[size] = route[i], not whole
            size += 1
        for v in range(first, stop):
            if write:
                out[size, 0], out[size, 1] = coords[v, 0], coords[v, 1]
                owner[size], cut[size] = route[i], False
            size += 1
        if write:
            if whole:
                out[size, 0], out[size, 1] = coords[last, 0], coords[last, 1]
            else:
                out[size, 0], out[size, 1] = _point_at(metric, key, e + end[i], second, last)
            owner[size], cut[size] = route[i], not whole
        size += 1
    return size
