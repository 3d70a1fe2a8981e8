"""The road graph compiled to CSR arrays for one vehicle profile, and its weight matrices.

networkx stays the model and the reference; this is the engine. Parallel edges collapse to
the cheapest one per objective (as networkx's shortest paths on a MultiDiGraph do). The
compiled roads are stored as plain arrays (:meth:`CompiledGraph.to_arrays`) and serve any
profile (:meth:`CompiledGraph.with_profile`); closures make a restricted copy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

import layers
from layers.crs import metric_crs
from routing.batch import Snapped
from routing.profiles import Profile

__all__ = ["OBJECTIVES", "CompiledGraph"]

OBJECTIVES = ("time", "distance")


@functools.lru_cache(maxsize=16)
def _transformers(crs: CRS) -> tuple[Transformer, Transformer]:
    """To ``crs`` from lon/lat and back; pyproj takes a tenth of a second to make each, so
    every graph compiled in one zone shares them (they are thread-safe)."""
    return (
        Transformer.from_crs(4326, crs, always_xy=True),
        Transformer.from_crs(crs, 4326, always_xy=True),
    )


@dataclass
class _Weights:
    matrix: csr_matrix
    pair_key: np.ndarray  # sorted u * n + v of the kept (cheapest) edges
    edge: np.ndarray  # edge position kept for each pair_key


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
    _open_csr: tuple | None = field(default=None, repr=False)

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
        to_metric, to_lonlat = _transformers(metric_crs(float(np.mean(xy[:, 0]))))
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
            to_lonlat=to_lonlat,
            access_speed_kph=profile.access_speed_kph,
        )

    def with_profile(self, profile: Profile, *, hour: int | None = None) -> CompiledGraph:
        """The same compiled roads with travel times for ``profile`` (at ``hour``), in milliseconds.

        Examples
        --------
        >>> import cim, routing
        >>> car = CompiledGraph.from_graph(cim.sample_city().graph, routing.get_profile("car"))
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
        >>> engine = CompiledGraph.from_graph(cim.sample_city().graph, routing.get_profile("car"))
        >>> again = CompiledGraph.from_arrays(engine.to_arrays(), routing.get_profile("car"))
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
            "crs": np.array(
                self.to_metric.target_crs.to_wkt()
            ),  # to_string() seeks an EPSG code: 0.3 s
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
        to_metric, to_lonlat = _transformers(CRS.from_user_input(str(arrays["crs"])))
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
            to_metric=to_metric,
            to_lonlat=to_lonlat,
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
        return replace(
            self,
            travel_time=self.travel_time * factor,
            blocked=blocked,
            _weights={},
            _open_csr=None,
        )


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
