"""The road graph compiled to CSR arrays for bulk shortest paths with scipy.sparse.csgraph.

networkx stays the model and the reference; this is the engine. Parallel edges collapse
to the cheapest one per objective (as networkx's shortest paths on a MultiDiGraph do), and
the chosen edge is remembered so that routes follow its geometry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from layers.crs import metric_crs
from routing.profiles import Profile

__all__ = ["CompiledGraph"]

OBJECTIVES = ("time", "distance")


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
    coords, offsets : ndarray
        Edge geometries flattened: edge ``e`` runs along ``coords[offsets[e]:offsets[e + 1]]``.
    """

    nodes: np.ndarray
    xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    length: np.ndarray
    travel_time: np.ndarray
    coords: np.ndarray  # all edge vertices, edge after edge
    offsets: np.ndarray  # edge e's vertices are coords[offsets[e]:offsets[e + 1]]
    _weights: dict[str, _Weights] = field(default_factory=dict, repr=False)
    _snapper: tuple[Transformer, cKDTree] | None = field(default=None, repr=False)

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, profile: Profile) -> CompiledGraph:
        """Compile ``graph`` with edge travel times for ``profile``."""
        if graph.number_of_edges() == 0:
            raise ValueError("the road graph has no edges; build it from a non-empty roads layer")
        nodes = np.array(list(graph.nodes), dtype=object)
        position = {n: i for i, n in enumerate(nodes)}
        xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes], dtype=float)
        edges = list(graph.edges(data=True))
        edge_u = np.fromiter((position[u] for u, _, _ in edges), dtype=np.int64, count=len(edges))
        edge_v = np.fromiter((position[v] for _, v, _ in edges), dtype=np.int64, count=len(edges))
        length = np.array([d["length"] for *_, d in edges], dtype=float)
        speed = profile.speeds(
            [
                d.get("speed_kph", length[i] / d["travel_time"] * 3.6)
                for i, (*_, d) in enumerate(edges)
            ],
            [d.get("road_class", "other") for *_, d in edges],
        )
        geometries = np.array(
            [
                d["geometry"]
                if d.get("geometry") is not None
                else shapely.LineString([xy[edge_u[i]], xy[edge_v[i]]])
                for i, (*_, d) in enumerate(edges)
            ],
            dtype=object,
        )
        coords, owner = shapely.get_coordinates(geometries, return_index=True)
        offsets = np.searchsorted(owner, np.arange(len(edges) + 1))
        return cls(nodes, xy, edge_u, edge_v, length, length / (speed / 3.6), coords, offsets)

    def weights(self, objective: str) -> _Weights:
        """CSR matrix of the cheapest edge per node pair for ``"time"`` or ``"distance"``."""
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
        if objective not in self._weights:
            cost = self.travel_time if objective == "time" else self.length
            n = len(self.nodes)
            order = np.lexsort((np.arange(len(cost)), cost, self.edge_v, self.edge_u))
            u, v = self.edge_u[order], self.edge_v[order]
            first = np.ones(len(order), dtype=bool)
            first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
            kept = order[first]
            matrix = csr_matrix((cost[kept], (self.edge_u[kept], self.edge_v[kept])), shape=(n, n))
            self._weights[objective] = _Weights(
                matrix, self.edge_u[kept] * n + self.edge_v[kept], kept
            )
        return self._weights[objective]

    def shortest_paths(self, sources: np.ndarray, objective: str) -> tuple[np.ndarray, np.ndarray]:
        """Costs and predecessors from each source position to every node."""
        return dijkstra(self.weights(objective).matrix, indices=sources, return_predecessors=True)

    def path_edges(
        self, predecessors: np.ndarray, source: int, target: int, objective: str
    ) -> np.ndarray:
        """Edge positions of the path ``source → target`` from a predecessor row."""
        path = [target]
        while path[-1] != source:
            path.append(predecessors[path[-1]])
            if path[-1] < 0:
                raise ValueError(
                    f"node {self.nodes[target]} is not reachable from {self.nodes[source]}"
                )
        path = np.array(path[::-1], dtype=np.int64)
        weights = self.weights(objective)
        keys = path[:-1] * len(self.nodes) + path[1:]
        return weights.edge[np.searchsorted(weights.pair_key, keys)]

    def route_line(self, edges: np.ndarray, source: int) -> shapely.LineString:
        """The LineString along the road geometry of consecutive edges."""
        if len(edges) == 0:
            return shapely.LineString([self.xy[source], self.xy[source]])
        starts = self.offsets[edges] + np.r_[0, np.ones(len(edges) - 1, dtype=np.int64)]
        index = np.concatenate(
            [np.arange(a, b) for a, b in zip(starts, self.offsets[edges + 1], strict=True)]
        )
        return shapely.LineString(self.coords[index])

    def nearest_nodes(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Position of the nearest node to each point, and its distance in metres."""
        if self._snapper is None:
            crs = metric_crs(float(np.mean(self.xy[:, 0])))
            transformer = Transformer.from_crs(4326, crs, always_xy=True)
            self._snapper = transformer, cKDTree(np.column_stack(transformer.transform(*self.xy.T)))
        transformer, tree = self._snapper
        distance, index = tree.query(np.column_stack(transformer.transform(lon, lat)))
        return index.astype(np.int64), distance
