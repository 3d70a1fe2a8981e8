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

__all__ = ["RouteBatch", "assemble", "direct", "joined", "joins", "search"]

_AT_NODE_M = 0.01  # a snapped point this close to an edge's end is at the node
_PIECE = ["edge", "start", "end"]


@dataclass
class _Search:
    distances: np.ndarray  # sources x (nodes + sources + targets)
    predecessors: np.ndarray
    links: pd.DataFrame  # the virtual links: row, col, cost and the edge piece each one is
    nodes: int
    sources: int
    objective: str
    source_gap: np.ndarray  # cost of each source's gap to its road, in the objective's unit
    access_s: np.ndarray  # seconds over the gaps, per source and per target (sources first)

    def target_costs(self) -> np.ndarray:
        """Cost from each source to each target (sources x targets); inf where unreachable."""
        return self.distances[:, self.nodes + self.sources :]

    def pieces(self, row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, ...]:
        """The edge piece (edge, start, end) each virtual link ``row -> col`` stands for."""
        size = self.distances.shape[1]
        keys = self.links["row"].to_numpy() * size + self.links["col"].to_numpy()
        at = np.searchsorted(keys, row * size + col)
        return tuple(self.links[name].to_numpy()[at] for name in _PIECE)


@dataclass
class RouteBatch:
    """The chosen routes of a batch, one entry per (target, rank)."""

    target: np.ndarray  # target position
    source: np.ndarray  # source position
    rank: np.ndarray
    eta_s: np.ndarray  # road time plus access_s
    distance_m: np.ndarray  # along the road
    access_s: np.ndarray  # time over the straight gaps from both points to their roads
    geometry: np.ndarray | None  # LineStrings, EPSG:4326


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
    graph, links, source_gap = joined(engine, sources, targets, objective)
    n, s_count = len(engine.nodes), len(sources.edge)
    distances, predecessors = dijkstra(
        graph, indices=n + np.arange(s_count), return_predecessors=True, limit=limit
    )
    access = np.concatenate([engine.gap_cost(sources, "time"), engine.gap_cost(targets, "time")])
    return _Search(distances, predecessors, links, n, s_count, objective, source_gap, access)


def joined(
    engine: CompiledGraph, sources: Snapped, targets: Snapped, objective: str
) -> tuple[csr_matrix, pd.DataFrame, np.ndarray]:
    """The road graph with the snapped points joined as virtual nodes (nodes, then sources,
    then targets), its virtual links, and each source's gap cost.

    Only links out of a source and into a target join a point, so the cost from a source to
    a target does not depend on which other points are joined.
    """
    cost = engine.cost(objective)
    n, s_count, t_count = len(engine.nodes), len(sources.edge), len(targets.edge)
    source_gap = engine.gap_cost(sources, objective)
    links = _links(engine, sources, targets, cost)
    # every link out of a source starts with its gap, every link into a target ends with it
    row, col = links["row"].to_numpy(), links["col"].to_numpy()
    gaps = np.concatenate([np.zeros(n), source_gap, engine.gap_cost(targets, objective)])
    vals = links["cost"].to_numpy() + gaps[row] * (row >= n) + gaps[col] * (col >= n + s_count)
    base = engine.weights(objective).matrix.tocoo()
    size = n + s_count + t_count
    graph = csr_matrix(
        (
            np.concatenate([base.data, vals]),
            (np.concatenate([base.row, row]), np.concatenate([base.col, col])),
        ),
        shape=(size, size),
    )
    return graph, links, source_gap


def joins(
    engine: CompiledGraph, snapped: Snapped, cost: np.ndarray, *, leaving: bool
) -> pd.DataFrame:
    """How each snapped point joins the road graph: by which piece of its edge, to which node.

    A point ``leaving`` (a source) runs along its edge to the edge's end, or along the twin to
    the twin's end; a point arriving (a target) is reached from the start of its edge or of
    the twin. A point on a node (either end of its edge) joins that node at no cost, whatever
    the direction. With closures, only pieces clear of the barriers are kept.

    Returns
    -------
    DataFrame
        ``point, node, cost, edge, start, end``: the point's position, the graph node it joins,
        the cost of the piece (without the gap), and the piece as fractions along ``edge``.
    """
    on = snapped.on_road
    e, at = snapped.edge[on], snapped.fraction[on]
    twin = engine.twin[e]
    has = twin >= 0
    tw = twin[has]
    metres = at * engine.length[e]
    near_start = metres <= _AT_NODE_M
    near_end = engine.length[e] - metres <= _AT_NODE_M
    ends = engine.edge_v if leaving else engine.edge_u
    if leaving:  # along the edge from the point to its end, or along the twin
        pieces = [
            (on, e, at, 1.0, (1 - at) * cost[e]),
            (on[has], tw, 1 - at[has], 1.0, at[has] * cost[tw]),
        ]
    else:  # from the edge's start to the point, or from the twin's start
        pieces = [
            (on, e, 0.0, at, at * cost[e]),
            (on[has], tw, 0.0, 1 - at[has], (1 - at[has]) * cost[tw]),
        ]
    parts = [
        pd.DataFrame(
            {
                "point": point,
                "node": ends[edge],
                "cost": piece_cost,
                "edge": edge,
                "start": start,
                "end": end,
            }
        )
        for point, edge, start, end, piece_cost in pieces
    ]
    for fraction, near, node in ((0.0, near_start, engine.edge_u), (1.0, near_end, engine.edge_v)):
        parts.append(
            pd.DataFrame(
                {
                    "point": on[near],
                    "node": node[e[near]],
                    "cost": 0.0,
                    "edge": e[near],
                    "start": fraction,
                    "end": fraction,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    return frame[clear(engine, frame)]


def clear(engine: CompiledGraph, pieces: pd.DataFrame) -> np.ndarray:
    """Which edge pieces routes may use: those on open edges, or clear of the barrier."""
    edge = pieces["edge"].to_numpy().astype(np.int64)
    if engine.blocked is None:
        return np.ones(len(edge), dtype=bool)
    span = engine.blocked[edge]
    start, end = pieces["start"].to_numpy(), pieces["end"].to_numpy()
    return engine.is_open[edge] | (end < span[:, 0]) | (start > span[:, 1])


def direct(
    engine: CompiledGraph, sources: Snapped, targets: Snapped, cost: np.ndarray
) -> pd.DataFrame:
    """Routes between a source and a target on the same road segment, along it.

    Returns ``source, target, cost, edge, start, end`` (positions, the piece's cost without
    the gaps, and the piece), for the pieces routes may use.
    """
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
            {name: on, "segment": segment[edge], "at": np.where(flipped, 1 - fraction, fraction)}
        )

    pairs = on_segment(sources, "source").merge(on_segment(targets, "target"), on="segment")
    seg, a, b = pairs["segment"].to_numpy(), pairs["at_x"].to_numpy(), pairs["at_y"].to_numpy()
    forward = b >= a
    back = engine.twin[seg]
    edge = np.where(forward, seg, back)
    start, end = np.where(forward, a, 1 - a), np.where(forward, b, 1 - b)
    frame = pd.DataFrame(
        {
            "source": pairs["source"].to_numpy(),
            "target": pairs["target"].to_numpy(),
            "cost": (end - start) * cost[edge],
            "edge": edge,
            "start": start,
            "end": end,
        }
    )[forward | (back >= 0)]
    return frame[clear(engine, frame)]


def _links(
    engine: CompiledGraph, sources: Snapped, targets: Snapped, cost: np.ndarray
) -> pd.DataFrame:
    """Virtual edges joining snapped points to the graph (and to each other), with the edge
    piece each one is, sorted by (row, col); the cheapest is kept where several join."""
    n, s_count = len(engine.nodes), len(sources.edge)
    out = joins(engine, sources, cost, leaving=True)
    into = joins(engine, targets, cost, leaving=False)
    along = direct(engine, sources, targets, cost)
    links = pd.concat(
        [
            out.assign(row=n + out["point"], col=out["node"]),
            into.assign(row=into["node"], col=n + s_count + into["point"]),
            along.assign(row=n + along["source"], col=n + s_count + along["target"]),
        ],
        ignore_index=True,
    )[["row", "col", "cost", *_PIECE]].astype(
        {"row": np.int64, "col": np.int64, "cost": float, "edge": np.int64}
    )
    links = links.sort_values(["row", "col", "cost"], kind="stable")
    return links.drop_duplicates(["row", "col"]).reset_index(drop=True)


def assemble(engine: CompiledGraph, found: _Search, source_ix, target_ix, rank) -> RouteBatch:
    """Routes for chosen (source, target) pairs of a search: ETA, distance and lines."""
    n, s_count = len(engine.nodes), found.sources
    # walk all predecessor chains at once, from each target back to its source
    active, current = np.arange(len(source_ix)), n + s_count + np.asarray(target_ix)
    route_ids, nodes, steps = [active], [current], [np.zeros(len(active), dtype=np.int64)]
    step = 0
    while active.size:
        previous = found.predecessors[source_ix[active], current]
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
    weights = engine.weights(found.objective)
    edge[real] = weights.edge[np.searchsorted(weights.pair_key, hop_from[real] * n + hop_to[real])]
    edge[~real], start[~real], end[~real] = found.pieces(hop_from[~real], hop_to[~real])
    share = end - start
    count = len(source_ix)
    eta = np.bincount(hop_route, weights=share * engine.travel_time[edge], minlength=count)
    distance = np.bincount(hop_route, weights=share * engine.length[edge], minlength=count)
    lines = lines_along(engine, hop_route, edge, start, end, count)
    access = found.access_s[source_ix] + found.access_s[s_count + np.asarray(target_ix)]
    return RouteBatch(target_ix, source_ix, rank, eta + access, distance, access, lines)
