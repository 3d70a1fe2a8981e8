"""Service areas at city scale: ours against OSMnx's isochrone example and a networkx loop.

On the real Jinan road network (12.8k nodes, 28.6k directed edges), 15 stations on graph
nodes, cutoffs of 5 and 10 minutes by car, areas within 25 m of the road:

- ours: ``Router.service_areas`` (snapping, one scipy Dijkstra from all stations bounded by
  the largest cutoff, the reached edges cut where the cutoff falls, polygons from their
  25 m buffers, EPSG:4326, areas in km²); its unions run in threads on every core (GEOS
  releases the GIL), so its CPU time is printed too: the others run on one core;
- (a) OSMnx's documented isochrone example, per station and cutoff:
  ``nx.ego_graph(G, station, radius=cutoff, distance="travel_time")``, then the convex hull
  of the reached nodes; and its concave variant, the union of the ego graph's edges
  buffered by 25 m (``make_iso_polys`` with ``edge_buff=25``, no node disks, vectorised
  here: the example's per-edge loop would only be slower). Both draw whole edges between
  reached nodes and no edge part-way;
- (b) networkx ``single_source_dijkstra_path_length(G, station, cutoff=cutoff)`` per station
  and cutoff, timed alone, and with polygons built the plain way (one 25 m buffer per
  reached edge piece, cut where the cutoff falls, unioned): the same areas as ours, which
  is checked (symmetric difference below 1e-6 of each area).

The networkx graph carries the same travel times as our engine (the car profile's, set
from the public ``Profile.speeds``) and the same metric coordinates (``Router.metric_crs``), so every side searches the same costs. Run:
``.venv/bin/python benchmarks/service_areas.py [--stations 15]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import networkx as nx
import numpy as np
import shapely
from dispatch import at_nodes, clock, jinan
from pyproj import Transformer
from shapely.ops import substring

import routing

BUFFER_M = 25.0


def metric_graph(graph: nx.MultiDiGraph, router: routing.Router) -> nx.MultiDiGraph:
    """``graph`` in the router's metric CRS, with its profile's travel times (as it sets them)."""
    to_metric = Transformer.from_crs(4326, router.metric_crs, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(to_metric.transform(coords[:, 0], coords[:, 1]))

    metric = graph.copy()
    nodes = list(graph.nodes)
    xy = project(np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes]))
    for node, (px, py) in zip(nodes, xy, strict=True):
        metric.nodes[node].update(x=px, y=py)
    edges = list(graph.edges(keys=True, data=True))
    length = np.array([d["length"] for *_, d in edges])
    speed = np.array([d.get("speed_kph", d["length"] / d["travel_time"] * 3.6) for *_, d in edges])
    road_class = np.array([d.get("road_class", "other") for *_, d in edges], dtype=object)
    seconds = length / (router.profile.speeds(speed, road_class) / 3.6)
    lines = shapely.transform(
        np.array(
            [
                d.get("geometry")
                or shapely.LineString([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (u, v)])
                for u, v, _, d in edges
            ],
            dtype=object,
        ),
        project,
    )
    for (u, v, k, _), time_s, line in zip(edges, seconds, lines, strict=True):
        metric[u][v][k].update(travel_time=time_s, geometry=line)
    return metric


def hull(ego) -> shapely.Geometry:
    """OSMnx's isochrone example: the convex hull of the ego graph's nodes."""
    return shapely.convex_hull(
        shapely.multipoints([(d["x"], d["y"]) for _, d in ego.nodes(data=True)])
    )


def buffered_edges(ego) -> shapely.Geometry:
    """The example's concave variant: the ego graph's edges buffered and unioned."""
    return shapely.union_all(
        shapely.buffer([d["geometry"] for *_, d in ego.edges(data=True)], BUFFER_M)
    )


def ego_areas(graph, stations, cutoffs, area) -> list:
    """``area`` of each station's ego graph within each cutoff (``nx.ego_graph`` by travel time)."""
    return [
        area(nx.ego_graph(graph, station, radius=cutoff, distance="travel_time"))
        for station in stations
        for cutoff in cutoffs
    ]


def dijkstra_loop(graph, stations, cutoffs) -> list:
    """``single_source_dijkstra_path_length(cutoff=)`` per station and cutoff."""
    return [
        nx.single_source_dijkstra_path_length(graph, s, cutoff=c, weight="travel_time")
        for s in stations
        for c in cutoffs
    ]


def plain_polygons(graph, reached, cutoffs) -> list:
    """One buffer per reached edge piece (cut where the cutoff falls), unioned."""
    areas = []
    for dist, cutoff in zip(reached, cutoffs * (len(reached) // len(cutoffs)), strict=True):
        pieces = []
        for u, at in dist.items():
            if at >= cutoff:
                continue
            for _, _, d in graph.out_edges(u, data=True):
                share = (cutoff - at) / max(d["travel_time"], 1e-12)
                line = d["geometry"]
                pieces.append(line if share >= 1 else substring(line, 0, share, normalized=True))
        areas.append(shapely.union_all(shapely.buffer(pieces, BUFFER_M)))
    return areas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=15)
    parser.add_argument("--cutoffs", type=float, nargs="+", default=[300.0, 600.0])
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreachable-node counts are not the point here
        graph = jinan()
    rng = np.random.default_rng(1)
    core = sorted(max(nx.strongly_connected_components(graph), key=len), key=str)
    nodes = [core[i] for i in rng.choice(len(core), args.stations, replace=False)]
    stations = at_nodes(graph, nodes, "s")
    router = routing.Router(graph, profile="car")
    router.dispatch(stations.head(2), stations)  # warm the snapping trees
    metric = metric_graph(graph, router)
    cutoffs = sorted(args.cutoffs)

    cpu = time.process_time()
    ours_s, areas = clock(lambda: router.service_areas(stations, cutoffs, buffer_m=BUFFER_M))
    cpu = time.process_time() - cpu
    hull_s, _ = clock(lambda: ego_areas(metric, nodes, cutoffs, hull))
    ego_s, _ = clock(lambda: ego_areas(metric, nodes, cutoffs, buffered_edges))
    loop_s, reached = clock(lambda: dijkstra_loop(metric, nodes, cutoffs))
    plain_s, plain = clock(lambda: plain_polygons(metric, reached, cutoffs))

    ours = areas.to_crs(router.metric_crs).geometry.to_numpy()
    order = [i * len(cutoffs) + j for j in range(len(cutoffs)) for i in range(len(nodes))]
    same = [
        shapely.symmetric_difference(a, plain[i]).area < 1e-6 * plain[i].area
        for a, i in zip(ours, order, strict=True)
    ]
    assert all(same), "our areas differ from the plain union of piece buffers"

    polygons = len(nodes) * len(cutoffs)
    print(
        f"\nJinan (real): {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges; "
        f"{len(nodes)} stations x cutoffs {', '.join(f'{c:g}' for c in cutoffs)} s "
        f"= {polygons} areas, {BUFFER_M:g} m around the road"
    )
    print(
        f"  ours, Router.service_areas:                          {ours_s:7.2f} s"
        f"   (CPU {cpu:.2f} s over {os.cpu_count()} cores)"
    )
    print(
        f"  (a) OSMnx example, ego_graph + convex hull:          {hull_s:7.2f} s"
        f"   ratio {hull_s / ours_s:6.2f}x  (whole edges only, a hull over rivers and gaps)"
    )
    print(
        f"  (a) OSMnx example, ego_graph + buffered edges:       {ego_s:7.2f} s"
        f"   ratio {ego_s / ours_s:6.2f}x  (whole edges only)"
    )
    print(
        f"  (b) networkx single_source_dijkstra_path_length loop: {loop_s:7.2f} s"
        f"   ratio {loop_s / ours_s:6.2f}x  (search only, no polygon)"
    )
    print(
        f"  (b) ... + polygons the plain way (buffer per piece): {loop_s + plain_s:7.2f} s"
        f"   ratio {(loop_s + plain_s) / ours_s:6.2f}x  (the same areas as ours)"
    )
    print("  our areas equal the plain union of piece buffers (symmetric difference < 1e-6): yes")


if __name__ == "__main__":
    main()
