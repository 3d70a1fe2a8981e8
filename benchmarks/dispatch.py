"""Dispatch at city scale: our engine against networkx and the bare scipy floor, in one run.

For each network — the real Jinan road network (12.8k nodes) and a generated city-like grid
of 100k nodes — 10,000 incidents and 100 stations, K = 3 first-arriving units per incident:

- ours: ``Router.dispatch`` (snapping, one scipy Dijkstra from all stations, K best with
  ties by id, route lines along the roads);
- (a) networkx: one ``single_source_dijkstra`` per incident on the reversed graph (timed on
  a sample of incidents and scaled to all of them, as printed);
- (b) networkx ``multi_source_dijkstra`` from all stations: answers K = 1 only, so it is
  compared with our K = 1 run;
- (c) the floor: a bare ``scipy.sparse.csgraph.dijkstra`` from the 100 stations over the
  graph's cheapest ``travel_time`` per node pair (built here from the networkx graph), the
  same distances without snapping, ranking or routes.

Incidents sit on graph nodes so that the answers can be checked: our K = 1 ETAs must equal
networkx's to 1e-9. Run: ``.venv/bin/python benchmarks/dispatch.py [--sample 20]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

import routing

DATA = Path(__file__).resolve().parent.parent / "sample_data" / "networks"


def jinan() -> nx.MultiDiGraph:
    return routing.graph_from_tables(DATA / "jinan_nodes.csv.gz", DATA / "jinan_edges.csv.gz")


def city_grid(side: int = 316, seed: int = 0) -> nx.MultiDiGraph:
    """A city-like street grid: jittered blocks, arterials every 10th street, 10% one-way, 5% missing."""
    rng = np.random.default_rng(seed)
    step = 0.0012
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    jitter = rng.normal(0, step * 0.15, (side, side, 2))
    x = 104.0 + j * step + jitter[..., 0]
    y = 30.5 + i * step * 0.9 + jitter[..., 1]
    lines, highway, oneway = [], [], []
    for di, dj in ((0, 1), (1, 0)):
        a = np.stack([x[: side - di, : side - dj], y[: side - di, : side - dj]], -1).reshape(-1, 2)
        b = np.stack([x[di:, dj:], y[di:, dj:]], -1).reshape(-1, 2)
        keep = rng.random(len(a)) > 0.05
        a, b = a[keep], b[keep]
        lines.append(shapely.linestrings(np.stack([a, b], 1)))
        n = np.arange(len(a))
        highway.append(
            np.where(n % 10 == 0, "primary", np.where(n % 4 == 0, "secondary", "residential"))
        )
        oneway.append(rng.random(len(a)) < 0.1)
    roads = gpd.GeoDataFrame(
        {
            "highway": np.concatenate(highway),
            "oneway": np.concatenate(oneway),
            "name": None,
            "maxspeed": None,
        },
        geometry=np.concatenate(lines),
        crs=4326,
    )
    return routing.graph_from_roads(roads)


def at_nodes(graph, nodes, prefix) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i:05d}" for i in range(len(nodes))], "units": 1},
        geometry=[shapely.Point(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes],
        crs=4326,
    )


def floor_matrix(graph: nx.MultiDiGraph) -> tuple[csr_matrix, dict]:
    """The cheapest ``travel_time`` per node pair as a CSR matrix, and each node's row."""
    position = {node: i for i, node in enumerate(graph.nodes)}
    edges = pd.DataFrame(
        [(position[u], position[v], d["travel_time"]) for u, v, d in graph.edges(data=True)],
        columns=["u", "v", "seconds"],
    )
    cheapest = edges.groupby(["u", "v"])["seconds"].min()
    rows, cols = (cheapest.index.get_level_values(level) for level in ("u", "v"))
    size = len(position)
    return csr_matrix((cheapest.to_numpy(), (rows, cols)), shape=(size, size)), position


def clock(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(
    name: str, graph: nx.MultiDiGraph, *, incidents: int, stations: int, k: int, sample: int
) -> None:
    rng = np.random.default_rng(1)
    core = sorted(max(nx.strongly_connected_components(graph), key=len), key=str)
    incident_nodes = [core[i] for i in rng.choice(len(core), incidents)]
    station_nodes = [core[i] for i in rng.choice(len(core), stations, replace=False)]
    incident_points, station_points = (
        at_nodes(graph, incident_nodes, "i"),
        at_nodes(graph, station_nodes, "s"),
    )
    router = routing.Router(graph, profile="car")
    router.dispatch(incident_points.head(5), station_points, k=k)  # warm the snapping trees

    ours_s, routes = clock(lambda: router.dispatch(incident_points, station_points, k=k))
    ours1_s, first = clock(lambda: router.dispatch(incident_points, station_points, k=1))

    weights, position = floor_matrix(graph)
    station_pos = [position[n] for n in station_nodes]
    floor_s, _ = clock(lambda: dijkstra(weights, indices=station_pos))

    multi_s, (nearest, _) = clock(
        lambda: nx.multi_source_dijkstra(graph, set(station_nodes), weight="travel_time")
    )
    expected = np.array([nearest[n] for n in incident_nodes])
    assert np.allclose(first["eta_s"].to_numpy(), expected, rtol=1e-9, atol=1e-9), (
        "K=1 ETAs differ from networkx"
    )

    reverse = graph.reverse(copy=False)
    stations_set = set(station_nodes)
    picked = rng.choice(incidents, sample, replace=False)

    def per_incident():
        for i in picked:
            dist = nx.single_source_dijkstra_path_length(
                reverse, incident_nodes[i], weight="travel_time"
            )
            sorted((d, s) for s, d in dist.items() if s in stations_set)[:k]

    sample_s, _ = clock(per_incident)
    per_incident_s = sample_s / sample * incidents

    print(
        f"\n{name}: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges; "
        f"{incidents:,} incidents, {stations} stations, K={k} ({len(routes):,} routes)"
    )
    print(f"  ours, Router.dispatch K={k}:                 {ours_s:8.2f} s")
    print(
        f"  (a) networkx Dijkstra per incident:          {per_incident_s:8.1f} s  "
        f"(measured {sample_s:.1f} s on {sample} incidents, scaled)   ratio {per_incident_s / ours_s:7.1f}x"
    )
    print(
        f"  (b) networkx multi_source_dijkstra (K=1):    {multi_s:8.2f} s  vs ours K=1 {ours1_s:.2f} s"
        f"             ratio {multi_s / ours1_s:7.1f}x"
    )
    print(
        f"  (c) scipy csgraph dijkstra, 100 sources:     {floor_s:8.2f} s  (floor)"
        f"                         ours / floor {ours_s / floor_s:5.2f}x"
    )
    print("  K=1 ETAs equal networkx's to 1e-9: yes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument(
        "--sample", type=int, default=20, help="incidents timed for networkx per-incident Dijkstra"
    )
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreachable-node counts are not the point here
        networks = {"Jinan (real)": jinan(), "generated 100k-node city": city_grid()}
    for name, graph in networks.items():
        run(
            name,
            graph,
            incidents=args.incidents,
            stations=args.stations,
            k=args.k,
            sample=args.sample,
        )


if __name__ == "__main__":
    main()
