"""The road graph compiled to CSR arrays for bulk shortest paths with scipy.sparse.csgraph.

networkx stays the model and the reference; this is the engine. Parallel edges collapse to
the cheapest one per objective (as networkx's shortest paths on a MultiDiGraph do).

Points are snapped to the nearest edge, not node: a point part-way along an edge becomes a
virtual node joined to the edge's ends (and, on a two-way street, to its twin's) by the
matching share of the edge's cost, so the offsets along the edge count. The straight gap
from the point to its edge counts too, covered at the profile's ``access_speed_kph``; a
point farther than the snap limit from every road joins nothing. A graph with closures
keeps its closed edges for snapping, so each point joins the edge it had without them, and
only by the part of that edge clear of the barrier: closures can only remove links, never
add or shorten one, so a response can never get faster. One Dijkstra call from all sources
answers a whole batch; paths and route lines are then assembled for all routes at once with
array operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

import layers
from layers.crs import metric_crs
from routing.profiles import Profile

__all__ = ["SNAP_CLOSED", "SNAP_FAR", "SNAP_NO_ROAD", "CompiledGraph", "RouteBatch", "Snapped"]

OBJECTIVES = ("time", "distance")
_AT_NODE_M = 0.01  # a snapped point this close to an edge's end is at the node


@dataclass
class _Weights:
    matrix: csr_matrix
    pair_key: np.ndarray  # sorted u * n + v of the kept (cheapest) edges
    edge: np.ndarray  # edge position kept for each pair_key


SNAP_FAR = "far"  # farther than the snap limit from every road
SNAP_CLOSED = "closed"  # under a barrier on its (closed) nearest road
SNAP_NO_ROAD = "no_road"  # the graph has no edge to snap to (only loops)


@dataclass
class Snapped:
    """Points snapped onto edges: the directed edge, the fraction along it, and the gap.

    ``distance_m`` is the straight gap to the nearest road (NaN when there is none). A
    point that joins no edge has edge -1, fraction 0 and in ``cut_off`` why: farther than
    the snap limit (:data:`SNAP_FAR`), its road closed (:data:`SNAP_CLOSED`) or no road at
    all (:data:`SNAP_NO_ROAD`); nothing reaches it and it reaches nothing.
    """

    edge: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray
    cut_off: np.ndarray | None = None

    def __post_init__(self):
        if self.cut_off is None:
            self.cut_off = np.full(len(self.edge), None, dtype=object)

    @property
    def on_road(self) -> np.ndarray:
        """Positions of the points that found an edge."""
        return np.flatnonzero(self.edge >= 0)


@dataclass
class _Search:
    distances: np.ndarray  # sources x (nodes + sources + targets)
    predecessors: np.ndarray
    pieces: dict
    sources: int
    objective: str
    source_gap: np.ndarray  # cost of each source's gap to its road, in the objective's unit
    access_s: np.ndarray  # seconds over the gaps, per source and per target (sources first)

    def reach(self, n: int) -> np.ndarray:
        """Cost from each source to each target (sources x targets); inf where unreachable."""
        return self.distances[:, n + self.sources :]


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


@dataclass
class CompiledGraph:
    """CSR form of a road graph for one vehicle profile.

    Attributes
    ----------
    nodes : ndarray
        Graph node ids; position ``i`` is CSR row/column ``i``.
    xy : ndarray
        Node lon/lat, shape (n, 2).
    edge_u, edge_v : ndarray
        CSR positions of each edge's ends, in ``graph.edges(keys=True)`` order.
    length, travel_time : ndarray
        Per edge, metres and seconds for the profile.
    speed_kph, road_class : ndarray
        Per edge, the road's own speed (before the profile) and class: what
        :meth:`with_profile` needs to set travel times for another vehicle.
    twin : ndarray
        Per edge, the reverse edge along the same road (two-way streets), else -1.
    access_speed_kph : float
        Speed over the straight gap between a point and its edge.
    blocked : ndarray, optional
        For a graph with closures: per edge, the span ``[start, end]`` (fractions along it)
        under a barrier, NaN where the edge is open. Closed edges stay in the arrays, so
        points snap to the same edges as without closures, but routes never use them and a
        point on one leaves or is reached only by the part outside the span.
    """

    nodes: np.ndarray
    xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    length: np.ndarray
    travel_time: np.ndarray
    speed_kph: np.ndarray
    road_class: np.ndarray
    twin: np.ndarray
    lines: np.ndarray  # edge geometries in the metric CRS
    to_metric: Transformer
    to_lonlat: Transformer
    access_speed_kph: float
    blocked: np.ndarray | None = None
    _weights: dict[str, _Weights] = field(default_factory=dict, repr=False)
    _vertex: tuple | None = field(default=None, repr=False)
    _edge_tree: shapely.STRtree | None = field(default=None, repr=False)
    _node_tree: cKDTree | None = field(default=None, repr=False)

    @classmethod
    def from_graph(
        cls, graph: nx.MultiDiGraph, profile: Profile, *, hour: int | None = None
    ) -> CompiledGraph:
        """Compile ``graph`` with edge travel times for ``profile`` (at ``hour`` of day, if given)."""
        if graph.number_of_edges() == 0:
            raise layers.InputError(
                "the road graph has no edges; build it from a non-empty roads layer"
            )
        nodes = np.array(list(graph.nodes), dtype=object)
        position = {n: i for i, n in enumerate(nodes)}
        xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes], dtype=float)
        edges = list(graph.edges(data=True))
        edge_u = np.fromiter((position[u] for u, _, _ in edges), dtype=np.int64, count=len(edges))
        edge_v = np.fromiter((position[v] for _, v, _ in edges), dtype=np.int64, count=len(edges))
        length = np.array([d["length"] for *_, d in edges], dtype=float)
        speed_kph = np.array(
            [
                d.get("speed_kph", length[i] / d["travel_time"] * 3.6)
                for i, (*_, d) in enumerate(edges)
            ],
            dtype=float,
        )
        road_class = np.array([d.get("road_class", "other") for *_, d in edges], dtype=object)
        crs = metric_crs(float(np.mean(xy[:, 0])))
        to_metric = Transformer.from_crs(4326, crs, always_xy=True)
        lonlat = [
            d["geometry"]
            if d.get("geometry") is not None
            else shapely.LineString([xy[edge_u[i]], xy[edge_v[i]]])
            for i, (*_, d) in enumerate(edges)
        ]
        lines = shapely.transform(
            np.array(lonlat, dtype=object),
            lambda c: np.column_stack(to_metric.transform(c[:, 0], c[:, 1])),
        )
        return cls(
            nodes=nodes,
            xy=xy,
            edge_u=edge_u,
            edge_v=edge_v,
            length=length,
            travel_time=_travel_time(length, speed_kph, road_class, profile, hour),
            speed_kph=speed_kph,
            road_class=road_class,
            twin=_twins(edge_u, edge_v, length),
            lines=lines,
            to_metric=to_metric,
            to_lonlat=Transformer.from_crs(crs, 4326, always_xy=True),
            access_speed_kph=profile.access_speed_kph,
        )

    def with_profile(self, profile: Profile, *, hour: int | None = None) -> CompiledGraph:
        """The same compiled roads with travel times for ``profile`` (at ``hour``), in milliseconds.

        Examples
        --------
        >>> import cim, routing
        >>> car = cim.sample_city().router("car").engine
        >>> engine = car.with_profile(routing.get_profile("fire_engine"))
        >>> bool((engine.travel_time >= car.travel_time).all()), engine.length is car.length
        (True, True)
        """
        if self.blocked is not None:
            raise ValueError("a graph with closures keeps its profile; apply the closures again")
        return replace(
            self,
            travel_time=_travel_time(self.length, self.speed_kph, self.road_class, profile, hour),
            access_speed_kph=profile.access_speed_kph,
            _weights={},
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The compiled roads as plain arrays (no Python objects) for :meth:`from_arrays`.

        Only what no profile changes is kept, so one copy serves every vehicle; save it with
        :func:`numpy.savez` and read it with ``numpy.load(..., allow_pickle=False)``.

        Examples
        --------
        >>> import cim, numpy as np, routing
        >>> engine = cim.sample_city().router("car").engine
        >>> again = routing.CompiledGraph.from_arrays(engine.to_arrays(), routing.get_profile("car"))
        >>> bool(np.array_equal(again.travel_time, engine.travel_time))
        True
        """
        if self.blocked is not None:
            raise ValueError("a graph with closures is not stored; store the one without")
        coords, line_of = shapely.get_coordinates(self.lines, return_index=True)
        arrays = {
            "nodes": _plain(self.nodes, "node ids"),
            "road_class": _plain(self.road_class, "road classes"),
            "xy": self.xy,
            "edge_u": self.edge_u,
            "edge_v": self.edge_v,
            "length": self.length,
            "speed_kph": self.speed_kph,
            "twin": self.twin,
            "line_xy": coords,
            "line_of": line_of,
            "crs": np.array(self.to_metric.target_crs.to_string()),
        }
        return arrays

    @classmethod
    def from_arrays(cls, arrays, profile: Profile, *, hour: int | None = None) -> CompiledGraph:
        """The graph :meth:`to_arrays` gave, with travel times for ``profile`` (at ``hour``).

        ``arrays`` maps the names to arrays (a dict, or what :func:`numpy.load` returns);
        arrays that do not fit together raise ``ValueError``.
        """
        edge_u, edge_v = np.asarray(arrays["edge_u"]), np.asarray(arrays["edge_v"])
        nodes, xy = np.asarray(arrays["nodes"]), np.asarray(arrays["xy"], dtype=float)
        per_edge = {
            name: np.asarray(arrays[name]) for name in ("length", "speed_kph", "twin", "road_class")
        }
        line_xy, line_of = np.asarray(arrays["line_xy"]), np.asarray(arrays["line_of"])
        count = len(edge_u)
        if not (
            count
            and len(edge_v) == count
            and all(len(a) == count for a in per_edge.values())
            and xy.shape == (len(nodes), 2)
            and line_xy.shape == (len(line_of), 2)
            and np.array_equal(np.unique(line_of), np.arange(count))
            and edge_u.dtype.kind == edge_v.dtype.kind == "i"
            and min(edge_u.min(), edge_v.min()) >= 0
            and max(edge_u.max(), edge_v.max()) < len(nodes)
            and per_edge["twin"].min() >= -1
            and per_edge["twin"].max() < count
        ):
            raise ValueError("the arrays of a compiled graph do not fit together")
        crs = CRS.from_user_input(str(arrays["crs"]))
        road_class = per_edge["road_class"].astype(object)
        return cls(
            nodes=np.array(nodes.tolist(), dtype=object),
            xy=xy,
            edge_u=edge_u.astype(np.int64),
            edge_v=edge_v.astype(np.int64),
            length=per_edge["length"].astype(float),
            travel_time=_travel_time(
                per_edge["length"], per_edge["speed_kph"], road_class, profile, hour
            ),
            speed_kph=per_edge["speed_kph"].astype(float),
            road_class=road_class,
            twin=per_edge["twin"].astype(np.int64),
            lines=shapely.linestrings(line_xy, indices=line_of),
            to_metric=Transformer.from_crs(4326, crs, always_xy=True),
            to_lonlat=Transformer.from_crs(crs, 4326, always_xy=True),
            access_speed_kph=profile.access_speed_kph,
        )

    def gap_cost(self, snapped: Snapped, objective: str) -> np.ndarray:
        """Cost of each point's straight gap to its road: seconds at the access speed, or metres."""
        self.cost(objective)
        gap = np.nan_to_num(snapped.distance_m)
        return gap / (self.access_speed_kph / 3.6) if objective == "time" else gap

    def cost(self, objective: str) -> np.ndarray:
        """Per-edge cost for ``"time"`` (s) or ``"distance"`` (m)."""
        if objective not in OBJECTIVES:
            raise layers.InputError(
                f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}"
            )
        return self.travel_time if objective == "time" else self.length

    def weights(self, objective: str) -> _Weights:
        """CSR matrix of the cheapest edge per node pair for ``objective``."""
        cost = self.cost(objective)
        if objective not in self._weights:
            n = len(self.nodes)
            order = np.lexsort((np.arange(len(cost)), cost, self.edge_v, self.edge_u))
            order = order[self.is_open[order]]
            u, v = self.edge_u[order], self.edge_v[order]
            first = np.ones(len(order), dtype=bool)
            first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
            kept = order[first]
            matrix = csr_matrix((cost[kept], (self.edge_u[kept], self.edge_v[kept])), shape=(n, n))
            self._weights[objective] = _Weights(
                matrix, self.edge_u[kept] * n + self.edge_v[kept], kept
            )
        return self._weights[objective]

    # -- snapping ------------------------------------------------------------------------

    def nearest_nodes(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Position of the nearest node to each point, and its distance in metres."""
        if self._node_tree is None:
            self._node_tree = cKDTree(
                np.column_stack(self.to_metric.transform(self.xy[:, 0], self.xy[:, 1]))
            )
        distance, index = self._node_tree.query(np.column_stack(self.to_metric.transform(lon, lat)))
        return index.astype(np.int64), distance

    @property
    def is_open(self) -> np.ndarray:
        """Per edge, whether routes may use it (False where a closure blocks it)."""
        if self.blocked is None:
            return np.ones(len(self.length), dtype=bool)
        return np.isnan(self.blocked[:, 0])

    @property
    def snappable(self) -> np.ndarray:
        """Edges a point can snap to: all but self-loops, closed ones included."""
        return np.flatnonzero(self.edge_u != self.edge_v)

    def snap(self, lon, lat, *, max_snap_m: float = np.inf) -> Snapped:
        """Snap points to their nearest edge (self-loops excluded); ties go to the lower edge.

        Closed edges count (a point keeps the road it had without closures). Points farther
        than ``max_snap_m`` from every edge, and points under a barrier on their closed
        edge, get edge -1 and the reason in ``cut_off`` (see :class:`Snapped`).

        Examples
        --------
        >>> import cim
        >>> engine = cim.sample_city().router("car").engine
        >>> engine.snap([104.07, 104.5], [30.66, 30.66], max_snap_m=300).cut_off.tolist()
        [None, 'far']
        """
        points = shapely.points(
            np.column_stack(
                self.to_metric.transform(np.asarray(lon, float), np.asarray(lat, float))
            )
        )
        edge = np.full(len(points), -1, dtype=np.int64)
        gap = np.full(len(points), np.nan)
        fraction = np.zeros(len(points))
        cut_off = np.full(len(points), SNAP_NO_ROAD, dtype=object)
        if self.snappable.size == 0:
            return Snapped(edge, fraction, gap, cut_off)
        if self._edge_tree is None:
            self._edge_tree = shapely.STRtree(self.lines[self.snappable])
        (where, found), distance = self._edge_tree.query_nearest(
            points, return_distance=True, all_matches=False
        )
        gap[where] = distance
        cut_off[where] = None
        near = where[distance <= max_snap_m]
        cut_off[where[distance > max_snap_m]] = SNAP_FAR
        edge[near] = self.snappable[found[distance <= max_snap_m]]
        fraction[near] = np.nan_to_num(
            shapely.line_locate_point(self.lines[edge[near]], points[near], normalized=True)
        )
        if self.blocked is not None:
            span = self.blocked[edge[near]]
            under = near[(fraction[near] >= span[:, 0]) & (fraction[near] <= span[:, 1])]
            edge[under], fraction[under], cut_off[under] = -1, 0.0, SNAP_CLOSED
        return Snapped(edge, fraction, gap, cut_off)

    # -- batch routing -------------------------------------------------------------------

    def search(
        self, sources: Snapped, targets: Snapped, objective: str, *, limit: float = np.inf
    ) -> _Search:
        """One Dijkstra from every source over the graph joined to the snapped points.

        With ``limit``, the search stops at that cost: whatever lies farther is left at inf.
        """
        cost = self.cost(objective)
        n, s_count, t_count = len(self.nodes), len(sources.edge), len(targets.edge)
        source_gap, target_gap = (
            self.gap_cost(sources, objective),
            self.gap_cost(targets, objective),
        )
        links, pieces = self._links(sources, targets, cost)
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
        base = self.weights(objective).matrix.tocoo()
        rows = np.concatenate([base.row, links["row"].to_numpy()])
        cols = np.concatenate([base.col, links["col"].to_numpy()])
        vals = np.concatenate([base.data, links["cost"].to_numpy()])
        size = n + s_count + t_count
        graph = csr_matrix((vals, (rows, cols)), shape=(size, size))
        distances, predecessors = dijkstra(
            graph, indices=n + np.arange(s_count), return_predecessors=True, limit=limit
        )
        access = np.concatenate([self.gap_cost(sources, "time"), self.gap_cost(targets, "time")])
        return _Search(distances, predecessors, pieces, s_count, objective, source_gap, access)

    def route(
        self, sources: Snapped, targets: Snapped, *, k: int, objective: str, tie_rank: np.ndarray
    ) -> tuple[RouteBatch, np.ndarray]:
        """The ``k`` cheapest sources for every target, with their routes.

        Returns the batch and, per target, how many sources can reach it.
        """
        found = self.search(sources, targets, objective)
        reach = found.reach(len(self.nodes))
        t_count, s_count = reach.shape[1], reach.shape[0]
        order = np.lexsort(
            (np.broadcast_to(tie_rank[None, :], (t_count, s_count)), reach.T), axis=-1
        )[:, :k]
        chosen_cost = np.take_along_axis(reach.T, order, axis=1)
        target_ix, rank_ix = np.nonzero(np.isfinite(chosen_cost))
        source_ix = order[target_ix, rank_ix]
        return self.assemble(found, source_ix, target_ix, rank_ix + 1), np.isfinite(reach).sum(
            axis=0
        )

    def restricted(self, blocked: np.ndarray, factor: np.ndarray) -> CompiledGraph:
        """A copy with the ``blocked`` spans closed and travel times multiplied by ``factor``.

        ``blocked`` holds per edge the span ``[start, end]`` under a barrier (NaN where
        open); spans add to those this graph already has.
        """
        if self.blocked is not None:
            blocked = np.column_stack(
                [
                    np.fmin(self.blocked[:, 0], blocked[:, 0]),
                    np.fmax(self.blocked[:, 1], blocked[:, 1]),
                ]
            )
        return replace(self, travel_time=self.travel_time * factor, blocked=blocked, _weights={})

    def _links(
        self, sources: Snapped, targets: Snapped, cost: np.ndarray
    ) -> tuple[pd.DataFrame, dict]:
        """Virtual edges joining snapped points to the graph, with the edge piece each one is."""
        n, s_count = len(self.nodes), len(sources.edge)
        parts = []
        src = sources.on_road
        e, s = sources.edge[src], sources.fraction[src]
        parts.append(
            pd.DataFrame(
                {
                    "row": n + src,
                    "col": self.edge_v[e],
                    "cost": (1 - s) * cost[e],
                    "edge": e,
                    "start": s,
                    "end": 1.0,
                }
            )
        )
        has = self.twin[e] >= 0
        tw = self.twin[e[has]]
        parts.append(
            pd.DataFrame(
                {
                    "row": n + src[has],
                    "col": self.edge_v[tw],
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
                    "row": self.edge_u[f],
                    "col": target_node,
                    "cost": t * cost[f],
                    "edge": f,
                    "start": 0.0,
                    "end": t,
                }
            )
        )
        has = self.twin[f] >= 0
        tw = self.twin[f[has]]
        parts.append(
            pd.DataFrame(
                {
                    "row": self.edge_u[tw],
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
            length = self.length[snapped.edge[on]]
            metres = snapped.fraction[on] * length
            for at_end, near in (
                (0.0, metres <= _AT_NODE_M),
                (1.0, length - metres <= _AT_NODE_M),
            ):
                which = on[near]
                node = (self.edge_u if at_end == 0.0 else self.edge_v)[snapped.edge[which]]
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
        parts.append(self._direct(sources, targets, cost))
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
        if self.blocked is not None:
            # a link is a piece of its edge: usable on a closed edge only clear of the barrier
            span = self.blocked[links["edge"].to_numpy()]
            clear = (links["end"].to_numpy() < span[:, 0]) | (
                links["start"].to_numpy() > span[:, 1]
            )
            links = links[self.is_open[links["edge"].to_numpy()] | clear]
        links = links.sort_values(["row", "col", "cost"], kind="stable").drop_duplicates(
            ["row", "col"]
        )
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

    def _direct(self, sources: Snapped, targets: Snapped, cost: np.ndarray) -> pd.DataFrame:
        """Links between a source and a target on the same road segment, along it."""
        n, s_count = len(self.nodes), len(sources.edge)
        segment = np.where(
            self.twin >= 0,
            np.minimum(np.arange(len(self.twin)), self.twin),
            np.arange(len(self.twin)),
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
        back = self.twin[seg]
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

    def assemble(self, found: _Search, source_ix, target_ix, rank) -> RouteBatch:
        """Routes for chosen (source, target) pairs of a search: ETA, distance and lines."""
        n, s_count = len(self.nodes), found.sources
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
        weights = self.weights(objective)
        keys = hop_from[real] * n + hop_to[real]
        edge[real] = weights.edge[np.searchsorted(weights.pair_key, keys)]
        for i in np.flatnonzero(~real):
            edge[i], start[i], end[i] = pieces[(hop_from[i], hop_to[i])]
        share = end - start
        count = len(source_ix)
        eta = np.bincount(hop_route, weights=share * self.travel_time[edge], minlength=count)
        distance = np.bincount(hop_route, weights=share * self.length[edge], minlength=count)
        lines = self.lines_along(hop_route, edge, start, end, count)
        access = found.access_s[source_ix] + found.access_s[s_count + np.asarray(target_ix)]
        return RouteBatch(target_ix, source_ix, rank, eta + access, distance, access, lines)

    def _vertices(self):
        """All edge vertices (metric), each with ``edge + fraction along it``, and edge offsets."""
        if self._vertex is None:
            coords, owner = shapely.get_coordinates(self.lines, return_index=True)
            offsets = np.searchsorted(owner, np.arange(len(self.lines) + 1))
            step = np.zeros(len(coords))
            step[1:] = np.hypot(*(coords[1:] - coords[:-1]).T)
            step[offsets[:-1]] = 0.0
            cumulative = np.cumsum(step)
            start_of = cumulative[offsets[:-1]]
            total = np.maximum(cumulative[offsets[1:] - 1] - start_of, 1e-12)
            fraction = np.clip((cumulative - start_of[owner]) / total[owner], 0.0, 1.0)
            self._vertex = (coords, owner + fraction, offsets)
        return self._vertex

    def lines_along(self, route, edge, start, end, count, *, lonlat: bool = True) -> np.ndarray:
        """LineStrings along edge pieces (``edge`` from fraction ``start`` to ``end``), one per
        ``route`` id, built in one go; in EPSG:4326, or in the metric CRS with ``lonlat=False``."""
        coords, key, offsets = self._vertices()
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
            out = np.column_stack(self.to_lonlat.transform(out[:, 0], out[:, 1]))
        lines = np.full(count, None, dtype=object)
        present = np.unique(owner)
        lines[present] = shapely.linestrings(out, indices=np.searchsorted(present, owner))
        return lines


def _travel_time(
    length: np.ndarray,
    speed_kph: np.ndarray,
    road_class: np.ndarray,
    profile: Profile,
    hour: int | None,
) -> np.ndarray:
    """Seconds per edge for ``profile`` on roads of these speeds and classes."""
    return length / (profile.speeds(speed_kph, road_class, hour=hour) / 3.6)


def _plain(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as an array of numbers or text that gives them back exactly, else ValueError."""
    plain = np.asarray(values.tolist())
    if plain.dtype.kind not in "iufU" or plain.tolist() != values.tolist():
        raise ValueError(f"the {what} are not all numbers or all text; they cannot be stored")
    return plain


def _twins(edge_u: np.ndarray, edge_v: np.ndarray, length: np.ndarray) -> np.ndarray:
    """For each edge, the reverse edge of the same length (the other direction of a street)."""
    table = pd.DataFrame(
        {
            "u": edge_u,
            "v": edge_v,
            "mm": np.round(length * 1000).astype(np.int64),
            "edge": np.arange(len(edge_u)),
        }
    )
    reverse = table.rename(columns={"u": "v", "v": "u", "edge": "twin"})
    matched = table.merge(reverse, on=["u", "v", "mm"], how="left").drop_duplicates("edge")
    twin = matched.sort_values("edge")["twin"].fillna(-1).to_numpy(dtype=np.int64, copy=True)
    twin[edge_u == edge_v] = -1
    return twin
