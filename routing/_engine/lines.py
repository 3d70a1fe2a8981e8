"""Line geometry along the compiled roads: route lines and reached pieces, all in one go.

A piece is an edge from one fraction along it to another; pieces with the same id join into
one LineString (a route), built with array operations over every edge vertex at once.
"""

from __future__ import annotations

import numpy as np
import shapely

from routing._engine.compiled import CompiledGraph

__all__ = ["lines_along"]


def _vertices(engine: CompiledGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All edge vertices (metric), each with ``edge + fraction along it``, and edge offsets."""
    if engine._vertex is None:
        coords, owner = shapely.get_coordinates(engine.lines, return_index=True)
        offsets = np.searchsorted(owner, np.arange(len(engine.lines) + 1))
        step = np.zeros(len(coords))
        step[1:] = np.hypot(*(coords[1:] - coords[:-1]).T)
        step[offsets[:-1]] = 0.0
        cumulative = np.cumsum(step)
        start_of = cumulative[offsets[:-1]]
        total = np.maximum(cumulative[offsets[1:] - 1] - start_of, 1e-12)
        fraction = np.clip((cumulative - start_of[owner]) / total[owner], 0.0, 1.0)
        engine._vertex = (coords, owner + fraction, offsets)
    return engine._vertex


def lines_along(
    engine: CompiledGraph, route, edge, start, end, count, *, lonlat: bool = True
) -> np.ndarray:
    """LineStrings along edge pieces (``edge`` from fraction ``start`` to ``end``), one per
    ``route`` id, built in one go; in EPSG:4326, or in the metric CRS with ``lonlat=False``."""
    coords, key, offsets = _vertices(engine)
    # every edge has two vertices or more; whole edges (most pieces) run from the first to
    # the last, and only the part edges at either end of a route need a search
    second, last = offsets[edge] + 1, offsets[edge + 1] - 1
    first, stop = second.copy(), last.copy()
    head, tail = coords[offsets[edge]], coords[last]
    part = np.flatnonzero((start > 0) | (end < 1))
    e, lo_bound, hi_bound = edge[part], second[part], last[part]

    def inside(at, side):
        return np.clip(np.searchsorted(key, e + at, side=side), lo_bound, hi_bound)

    def point_at(at):
        hi = inside(at, "left")  # the vertex ending the segment that holds `at`
        lo = hi - 1
        span = key[hi] - key[lo]
        w = np.where(span > 0, (e + at - key[lo]) / np.where(span > 0, span, 1), 0.0)
        return coords[lo] + (coords[hi] - coords[lo]) * w[:, None]

    first[part], stop[part] = inside(start[part], "right"), inside(end[part], "left")
    stop = np.maximum(stop, first)
    head[part], tail[part] = point_at(start[part]), point_at(end[part])
    inner = stop - first
    per_piece = inner + 2
    piece_of = np.repeat(np.arange(len(edge)), per_piece)
    position = np.arange(len(piece_of)) - np.repeat(np.cumsum(per_piece) - per_piece, per_piece)
    out = np.full((len(piece_of), 2), np.nan)
    is_head = position == 0
    is_tail = position == per_piece[piece_of] - 1
    out[is_head] = head
    out[is_tail] = tail
    middle = ~is_head & ~is_tail
    out[middle] = coords[first[piece_of[middle]] + position[middle] - 1]
    owner = route[piece_of]
    # consecutive pieces share their joint; keep it once
    keep = ~(is_head & np.r_[False, owner[1:] == owner[:-1]])
    out, owner = out[keep], owner[keep]
    if lonlat:
        out = np.column_stack(engine.to_lonlat.transform(out[:, 0], out[:, 1]))
    lines = np.full(count, None, dtype=object)
    present = np.unique(owner)
    lines[present] = shapely.linestrings(out, indices=np.searchsorted(present, owner))
    return lines
