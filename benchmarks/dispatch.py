"""Dispatch speed: our compiled engine against plain networkx, side by side on one graph.

Both do the same work: one Dijkstra from every station, then for each incident the k
nearest stations with their route geometry. networkx runs ``single_source_dijkstra`` per
station; we run one scipy.sparse.csgraph call on the CSR-compiled graph. The script checks
that both give the same ETAs, then prints the times and the ratio.

Run: ``.venv/bin/python benchmarks/dispatch.py [--incidents 500] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

import cim


def networkx_dispatch(graph, station_nodes, incident_nodes, k):
    def line(path):
        coords = [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in path]
        return shapely.LineString(coords * 2 if len(coords) == 1 else coords)

    runs = [nx.single_source_dijkstra(graph, s, weight="travel_time") for s in station_nodes]
    results = {}
    for incident in incident_nodes:
        ranked = sorted((dist[incident], i) for i, (dist, _) in enumerate(runs) if incident in dist)
        results[incident] = [(i, eta, line(runs[i][1][incident])) for eta, i in ranked[:k]]
    return results


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    city = cim.sample_city()
    graph = city.graph
    router = city.router("car")
    stations = city.layer("facilities")
    rng = np.random.default_rng(0)
    core = sorted(max(nx.strongly_connected_components(graph), key=len))
    picked = [core[i] for i in rng.choice(len(core), args.incidents)]
    incidents = gpd.GeoDataFrame(
        {"id": [f"i{i}" for i in range(len(picked))]},
        geometry=[shapely.Point(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in picked],
        crs=4326,
    )
    station_pos, _ = router.engine.nearest_nodes(
        stations.geometry.x.values, stations.geometry.y.values
    )
    station_nodes = list(router.engine.nodes[station_pos])

    ours_s, ours = best_of(args.repeat, lambda: router.dispatch(incidents, stations, k=args.k))
    nx_s, reference = best_of(
        args.repeat, lambda: networkx_dispatch(graph, station_nodes, picked, args.k)
    )

    expected = np.array([eta for n in picked for _, eta, _ in reference[n]])
    assert np.allclose(np.sort(ours["eta_s"].to_numpy()), np.sort(expected), rtol=1e-9), (
        "results differ"
    )
    print(
        f"graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges; "
        f"{len(stations)} stations, {len(incidents)} incidents, k={args.k}"
    )
    print(f"networkx single_source_dijkstra per station: {nx_s:.3f} s")
    print(f"cim Router.dispatch (scipy.sparse.csgraph):  {ours_s:.3f} s")
    print(f"ratio networkx / cim: {nx_s / ours_s:.1f}x (same ETAs to 1e-9)")


if __name__ == "__main__":
    main()
