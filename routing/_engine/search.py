"""Batch search over the compiled roads and the assembly of its routes.

Each snapped point becomes a virtual node joined to its edge's ends (and, on a two-way
street, to its twin's) by the matching share of the edge's cost, so the offsets along the
edge count; the straight gap from the point to its edge counts too, at the profile's
``access_speed_kph``. With closures a point joins only by the part of its edge clear of the
barrier: closures can only remove links, never add or shorten one, so a response can never
get faster. One Dijkstra call from all sources answers a whole batch; paths and route lines
are then assembled for all routes at once with array operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from routing._engine.compiled import CompiledGraph
from routing._engine.lines import lines_along
from routing.batch import Snapped

__all__ = ["RouteBatch", "assemble", "route", "search"]

_AT_NODE_M = 0.01  # a snapped point this close to an edge's end is at the node


@dataclass
class _Search:
    distances: np.ndarray  # sources x (nodes + sources + targets)
    predecessors: np.ndarray
    pieces: dict  # (row, col) of a virtual link -> (edge, start, end) piece it stands for
    nodes: int
    sources: int
    objective: str
    source_gap: np.ndarray  # cost of each source's gap to its road, in the objective's unit
    access_s: np.ndarray  # seconds over the gaps, per source and per target (sources first)

    def target_costs(self) -> np.ndarray:
        """Cost from each source to each target (sources x targets); inf where unreachable."""
        return self.distances[:, self.nodes + self.sources :]


@dataclass
class RouteBatch:
    """The chosen routes of a batch, one entry per (target, rank)."""

    target: np.ndarray  # target position
    source: np.ndarray  # source position
    rank: np.ndarray
    eta_s: np.ndarray  # road time plus access_s
    distance_m: np.ndarray  # along the road
    access_s: np.ndarray  # time over the straight gaps from both points to their roads
    geometry: np.ndarray  # LineStrings, EPSG:4326


def search(
    engine: CompiledGraph,
    sources: Snapped,
    targets: Snapped,
    objective: str,
    *,
    limit: float = np.inf,
) -> _Search:
    """One Dijkstra from every source over the graph joined to the snapped points.

    With ``limit``, the search stops at that cost: whatever lies farther is left at inf.
    """
    cost = engine.cost(objective)
    n, s_count, t_count = len(engine.nodes), len(sources.edge), len(targets.edge)
    source_gap, target_gap = (
        engine.gap_cost(sources, objective),
        engine.gap_cost(targets, objective),
    )
    links, pieces = _links(engine, sources, targets, cost)
    # every link out of a source starts with its gap, every link into a target ends with it
    row, col = links["row"].to_numpy(), links["col"].to_numpy()
    if s_count:
        links["cost"] += np.where(
            (row >= n) & (row < n + s_count), source_gap[np.clip(row - n, 0, s_count - 1)], 0.0
        )
    if t_count:
        links["cost"] += np.where(
            col >= n + s_count, target_gap[np.clip(col - n - s_count, 0, t_count - 1)], 0.0
        )
    base = engine.weights(objective).matrix.tocoo()
    rows = np.concatenate([base.row, links["row"].to_numpy()])
    cols = np.concatenate([base.col, links["col"].to_numpy()])
    vals = np.concatenate([base.data, links["cost"].to_numpy()])
    size = n + s_count + t_count
    graph = csr_matrix((vals, (rows, cols)), shape=(size, size))
    distances, predecessors = dijkstra(
        graph, indices=n + np.arange(s_count), return_predecessors=True, limit=limit
    )
    access = np.concatenate([engine.gap_cost(sources, "time"), engine.gap_cost(targets, "time")])
    return _Search(distances, predecessors, pieces, n, s_count, objective, source_gap, access)


def route(
    engine: CompiledGraph,
    sources: Snapped,
    targets: Snapped,
    *,
    k: int,
    objective: str,
    tie_rank: np.ndarray,
) -> tuple[RouteBatch, np.ndarray]:
    """The ``k`` cheapest sources for every target, with their routes.

    Returns the batch and, per target, how many sources can reach it.
    """
    found = search(engine, sources, targets, objective)
    reach = found.target_costs()
    t_count, s_count = reach.shape[1], reach.shape[0]
    order = np.lexsort((np.broadcast_to(tie_rank[None, :], (t_count, s_count)), reach.T), axis=-1)[
        :, :k
    ]
    chosen_cost = np.take_along_axis(reach.T, order, axis=1)
    target_ix, rank_ix = np.nonzero(np.isfinite(chosen_cost))
    source_ix = order[target_ix, rank_ix]
    return assemble(engine, found, source_ix, target_ix, rank_ix + 1), np.isfinite(reach).sum(
        axis=0
    )


def _links(
    engine: CompiledGraph, sources: Snapped, targets: Snapped, cost: np.ndarray
) -> tuple[pd.DataFrame, dict]:
    """Virtual edges joining snapped points to the graph, with the edge piece each one is."""
    n, s_count = len(engine.nodes), len(sources.edge)
    parts = []
    src = sources.on_road
    e, s = sources.edge[src], sources.fraction[src]
    parts.append(
        pd.DataFrame(
            {
                "row": n + src,
                "col": engine.edge_v[e],
                "cost": (1 - s) * cost[e],
                "edge": e,
                "start": s,
                "end": 1.0,
            }
        )
    )
    has = engine.twin[e] >= 0
    tw = engine.twin[e[has]]
    parts.append(
        pd.DataFrame(
            {
                "row": n + src[has],
                "col": engine.edge_v[tw],
                "cost": s[has] * cost[tw],
                "edge": tw,
                "start": 1 - s[has],
                "end": 1.0,
            }
        )
    )
    tgt = targets.on_road
    f, t = targets.edge[tgt], targets.fraction[tgt]
    target_node = n + s_count + tgt
    parts.append(
        pd.DataFrame(
            {
                "row": engine.edge_u[f],
                "col": target_node,
                "cost": t * cost[f],
                "edge": f,
                "start": 0.0,
                "end": t,
            }
        )
    )
    has = engine.twin[f] >= 0
    tw = engine.twin[f[has]]
    parts.append(
        pd.DataFrame(
            {
                "row": engine.edge_u[tw],
                "col": target_node[has],
                "cost": (1 - t[has]) * cost[tw],
                "edge": tw,
                "start": 0.0,
                "end": 1 - t[has],
            }
        )
    )
    # a point on a node (either end of its edge) starts or ends there, whatever the direction
    for snapped, is_source in ((sources, True), (targets, False)):
        on = snapped.on_road
        length = engine.length[snapped.edge[on]]
        metres = snapped.fraction[on] * length
        for at_end, near in (
            (0.0, metres <= _AT_NODE_M),
            (1.0, length - metres <= _AT_NODE_M),
        ):
            which = on[near]
            node = (engine.edge_u if at_end == 0.0 else engine.edge_v)[snapped.edge[which]]
            virtual = n + which if is_source else n + s_count + which
            parts.append(
                pd.DataFrame(
                    {
                        "row": virtual if is_source else node,
                        "col": node if is_source else virtual,
                        "cost": 0.0,
                        "edge": snapped.edge[which],
                        "start": at_end,
                        "end": at_end,
                    }
                )
            )
    parts.append(_direct(engine, sources, targets, cost))
    links = pd.concat(parts, ignore_index=True).astype(
        {
            "row": np.int64,
            "col": np.int64,
            "cost": float,
            "edge": np.int64,
            "start": float,
            "end": float,
        }
    )
    if engine.blocked is not None:
        # a link is a piece of its edge: usable on a closed edge only clear of the barrier
        span = engine.blocked[links["edge"].to_numpy()]
        clear = (links["end"].to_numpy() < span[:, 0]) | (links["start"].to_numpy() > span[:, 1])
        links = links[engine.is_open[links["edge"].to_numpy()] | clear]
    links = links.sort_values(["row", "col", "cost"], kind="stable").drop_duplicates(["row", "col"])
    pieces = {
        (r, c): (edge, a, b)
        for r, c, edge, a, b in links[links["row"] >= n][
            ["row", "col", "edge", "start", "end"]
        ].itertuples(index=False)
    }
    pieces.update(
        {
            (r, c): (edge, a, b)
            for r, c, edge, a, b in links[links["col"] >= n][
                ["row", "col", "edge", "start", "end"]
            ].itertuples(index=False)
        }
    )
    return links, pieces


def _direct(
    engine: CompiledGraph, sources: Snapped, targets: Snapped, cost: np.ndarray
) -> pd.DataFrame:
    """Links between a source and a target on the same road segment, along it."""
    n, s_count = len(engine.nodes), len(sources.edge)
    segment = np.where(
        engine.twin >= 0,
        np.minimum(np.arange(len(engine.twin)), engine.twin),
        np.arange(len(engine.twin)),
    )

    def on_segment(snapped: Snapped, name: str) -> pd.DataFrame:
        on = snapped.on_road
        edge, fraction = snapped.edge[on], snapped.fraction[on]
        flipped = segment[edge] != edge
        return pd.DataFrame(
            {
                name: on,
                "segment": segment[edge],
                "at": np.where(flipped, 1 - fraction, fraction),
            }
        )

    pairs = on_segment(sources, "s").merge(on_segment(targets, "t"), on="segment")
    if pairs.empty:
        return pd.DataFrame(columns=["row", "col", "cost", "edge", "start", "end"])
    seg, a, b = pairs["segment"].to_numpy(), pairs["at_x"].to_numpy(), pairs["at_y"].to_numpy()
    forward = b >= a
    back = engine.twin[seg]
    usable = forward | (back >= 0)
    edge = np.where(forward, seg, back)
    start, end = np.where(forward, a, 1 - a), np.where(forward, b, 1 - b)
    frame = pd.DataFrame(
        {
            "row": n + pairs["s"].to_numpy(),
            "col": n + s_count + pairs["t"].to_numpy(),
            "cost": (end - start) * cost[edge],
            "edge": edge,
            "start": start,
            "end": end,
        }
    )
    return frame[usable]


def assemble(engine: CompiledGraph, found: _Search, source_ix, target_ix, rank) -> RouteBatch:
    """Routes for chosen (source, target) pairs of a search: ETA, distance and lines."""
    n, s_count = len(engine.nodes), found.sources
    predecessors, pieces, objective = found.predecessors, found.pieces, found.objective
    # walk all predecessor chains at once, from each target back to its source
    route_ids, nodes, steps = [], [], []
    active = np.arange(len(source_ix))
    current = n + s_count + target_ix
    step = 0
    route_ids.append(active)
    nodes.append(current)
    steps.append(np.zeros(len(active), dtype=np.int64))
    while active.size:
        previous = predecessors[source_ix[active], current]
        going = previous >= 0
        active, current = active[going], previous[going]
        step += 1
        route_ids.append(active)
        nodes.append(current)
        steps.append(np.full(len(active), step))
    route_ids, nodes, steps = map(np.concatenate, (route_ids, nodes, steps))
    order = np.lexsort((-steps, route_ids))
    route_ids, nodes = route_ids[order], nodes[order]
    same = route_ids[1:] == route_ids[:-1]
    hop_route, hop_from, hop_to = route_ids[1:][same], nodes[:-1][same], nodes[1:][same]

    # each hop is one piece of one edge: virtual hops are part edges, the rest whole edges
    real = (hop_from < n) & (hop_to < n)
    edge = np.full(len(hop_from), -1, dtype=np.int64)
    start, end = np.zeros(len(hop_from)), np.ones(len(hop_from))
    weights = engine.weights(objective)
    keys = hop_from[real] * n + hop_to[real]
    edge[real] = weights.edge[np.searchsorted(weights.pair_key, keys)]
    for i in np.flatnonzero(~real):
        edge[i], start[i], end[i] = pieces[(hop_from[i], hop_to[i])]
    share = end - start
    count = len(source_ix)
    eta = np.bincount(hop_route, weights=share * engine.travel_time[edge], minlength=count)
    distance = np.bincount(hop_route, weights=share * engine.length[edge], minlength=count)
    lines = lines_along(engine, hop_route, edge, start, end, count)
    access = found.access_s[source_ix] + found.access_s[s_count + np.asarray(target_ix)]
    return RouteBatch(target_ix, source_ix, rank, eta + access, distance, access, lines)
