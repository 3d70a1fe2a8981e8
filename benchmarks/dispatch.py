"""Dispatch at city scale: our engine against the scipy floor, networkx and pandana, in one run.

For each network (the real Jinan road network, 12.8k nodes, and a generated city-like grid
of 100k nodes and 200k directed edges, near the 83k-node Wuhan network the issue measured)
with 100 stations:

- **K = 1, 10,000 incidents**: ours (``Router.dispatch``: snapping, one k-nearest search
  from all stations, ties by id, route lines for the chosen routes) with and without route
  lines, against the floor, one bare multi-source ``scipy.sparse.csgraph.dijkstra``
  (``min_only=True`` with predecessors) from the station nodes, and networkx's
  ``multi_source_dijkstra``;
- **K = 3, 10,000 incidents**: ours against the floor for K > 1, 100 bare scipy Dijkstras
  (one per station, every node's distance kept), and pandana's ``nearest_pois`` (contraction
  hierarchies over the reversed graph, so that node-to-station distances are station-to-node
  times), its build counted apart and together;
- **K = 3, 100,000 incidents**: ours with and without lines against the same floor, which
  does not grow with incidents.

Incidents and stations sit on graph nodes so that answers can be checked: K = 1 ETAs equal
networkx's, and K = 3 stations and ETAs equal the ranking read off the 100 scipy searches
(ties by id); pandana's to 0.1% or 0.05 s (it keeps its weights in float32). Each of our
timings is the better of two runs, both printed. Run: ``.venv/bin/python benchmarks/dispatch.py``
(``make bench`` installs pandana first).
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


def clock(fn, *args, repeat: int = 1, **kwargs) -> tuple[list[float], object]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return times, result


def show(label: str, times: list[float], floor: float | None = None, note: str = "") -> float:
    best = min(times)
    spread = f"(runs {', '.join(f'{t:.3f}' for t in times)})" if len(times) > 1 else ""
    ratio = f"{best / floor:6.2f}x the floor" if floor else ""
    print(f"    {label:<46} {best:8.3f} s {spread:<24} {ratio} {note}")
    return best


def pandana_nearest(graph, position, station_pos, incident_pos, k):
    """pandana's k nearest stations per incident node: (build seconds, query seconds, costs)."""
    import pandana

    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in graph.nodes])
    edges = pd.DataFrame(
        [(position[v], position[u], d["travel_time"]) for u, v, d in graph.edges(data=True)],
        columns=["from", "to", "seconds"],
    )
    nodes = pd.Index(np.arange(len(xy)))
    build, net = clock(
        lambda: pandana.Network(
            pd.Series(xy[:, 0], index=nodes),
            pd.Series(xy[:, 1], index=nodes),
            edges["from"],
            edges["to"],
            edges[["seconds"]],
            twoway=False,
        )
    )

    def query():
        net.set_pois(
            "stations", 1e7, k, pd.Series(xy[station_pos, 0]), pd.Series(xy[station_pos, 1])
        )
        return net.nearest_pois(1e7, "stations", num_pois=k)

    took, table = clock(query)
    return build[0], took[0], table.loc[incident_pos].to_numpy()


def run(name: str, graph: nx.MultiDiGraph, *, stations: int, many: int, pandana: bool) -> None:
    rng = np.random.default_rng(1)
    core = sorted(max(nx.strongly_connected_components(graph), key=len), key=str)
    station_nodes = [core[i] for i in rng.choice(len(core), stations, replace=False)]
    station_points = at_nodes(graph, station_nodes, "s")
    router = routing.Router(graph, profile="car")
    weights, position = floor_matrix(graph)
    station_pos = np.array([position[n] for n in station_nodes])
    print(
        f"\n{name}: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges, "
        f"{stations} stations"
    )
    router.dispatch(station_points.head(5), station_points, k=3)  # compile and warm the trees
    for incidents, k in ((10_000, 1), (10_000, 3), (many, 3)):
        incident_nodes = [core[i] for i in rng.choice(len(core), incidents)]
        points = at_nodes(graph, incident_nodes, "i")
        incident_pos = np.array([position[n] for n in incident_nodes])
        print(f"  K={k}, {incidents:,} incidents")
        snap_s, _ = clock(router.snap, points, repeat=2)
        lines_s, routes = clock(router.dispatch, points, station_points, k=k, repeat=2)
        bare_s, bare = clock(router.dispatch, points, station_points, k=k, geometry=False, repeat=2)
        if k == 1:
            floor_s, _ = clock(
                lambda: dijkstra(
                    weights, indices=station_pos, min_only=True, return_predecessors=True
                ),
                repeat=2,
            )
            floor = show("floor: scipy dijkstra min_only, all stations", floor_s)
            nx_s, (nearest, _) = clock(
                lambda: nx.multi_source_dijkstra(graph, set(station_nodes), weight="travel_time")
            )
            expected = np.array([nearest[n] for n in incident_nodes])
            show("networkx multi_source_dijkstra", nx_s, floor)
        else:
            floor_s, table = clock(lambda: dijkstra(weights, indices=station_pos), repeat=2)
            floor = show(f"floor: {stations} scipy dijkstras", floor_s)
            at = table[:, incident_pos].T  # incidents x stations
            order = np.lexsort((np.broadcast_to(np.arange(stations), at.shape), at), axis=1)[:, :k]
            expected = np.take_along_axis(at, order, axis=1)
            ids = np.array(station_points["id"])[order]
            assert (bare["resource_id"].to_numpy().reshape(-1, k) == ids).all(), "stations differ"
        show("ours, with route lines", lines_s, floor)
        show("ours, geometry=False", bare_s, floor, f"(snapping {min(snap_s):.3f} s of it)")
        got = bare["eta_s"].to_numpy().reshape(-1, k)
        assert np.allclose(got, np.reshape(expected, (-1, k)), rtol=1e-9, atol=1e-9), (
            "ETAs differ from the reference"
        )
        assert bare.drop(columns="geometry").equals(routes.drop(columns="geometry"))
        if pandana and k == 3 and incidents == 10_000:
            build, query, costs = pandana_nearest(graph, position, station_pos, incident_pos, k)
            assert np.allclose(costs[:, :k], expected, rtol=1e-3, atol=0.05), "pandana differs"
            show("pandana nearest_pois, query only", [query], floor)
            show("pandana nearest_pois, build + query", [build + query], floor)
        print("    answers equal the reference: yes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--many", type=int, default=100_000, help="incidents in the large run")
    parser.add_argument("--no-pandana", action="store_true", help="skip pandana (45 s build)")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreachable-node counts are not the point here
        networks = {"Jinan (real)": jinan(), "generated 100k-node city": city_grid()}
        for name, graph in networks.items():
            run(name, graph, stations=args.stations, many=args.many, pandana=not args.no_pandana)


if __name__ == "__main__":
    main()
