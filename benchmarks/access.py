"""Living circles at city scale: the 3 nearest services of 5 kinds from every node of a walking
graph, ours against pandana and networkx, in one run.

Networks: the sample city's walking graph (Chengdu, from its road layer), and the real Jinan
road network walked both ways (``routing.walking_graph``: every street two-way, motorways and
trunk roads without a sidewalk left out). Services: 5 kinds x ``--per-kind`` (50) at random
nodes of the largest connected part, so that all three tools measure between the same nodes.

- **ours, end to end**: ``routing.Router(graph, profile=routing.pedestrian())`` (compiling the
  graph to CSR arrays: the index) + one ``Router.k_nearest(services, k=3)`` per kind (a
  multi-source Dijkstra keeping 3 labels a node, every node its 3 nearest);
- **pandana**: ``pandana.Network(..., twoway=True)`` (contraction hierarchies: the index) +
  ``set_pois`` / ``nearest_pois(num_pois=3)`` per kind;
- **networkx**: per kind, one ``single_source_dijkstra_path_length`` per service (every node's
  distance kept, the 3 smallest taken); networkx has no k-nearest search, and its
  ``multi_source_dijkstra`` gives only the nearest one.

Ours runs once before it is timed: its first call in a process loads the numba-compiled search
from numba's cache (printed apart). Metres of the 3 nearest per node and kind must equal networkx's within 1e-6 relative (ours)
and are compared for pandana (which keeps its weights in float32). Every time is taken
``--repeat`` (2) times and all runs are printed; ratios use the best. Run:
``.venv/bin/python benchmarks/access.py`` (``make bench`` installs pandana first).
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

import routing

DATA = Path(__file__).resolve().parent.parent / "sample_data" / "networks"
KINDS = ("clinic", "school", "kindergarten", "market", "elderly_care")
K = 3


def sample_walk() -> nx.MultiDiGraph:
    import cim

    return routing.walking_graph(cim.sample_city().layer("roads"))


def jinan_walk() -> nx.MultiDiGraph:
    """The Jinan network as a roads layer, one row per street (its two directions joined)."""
    nodes = pd.read_csv(DATA / "jinan_nodes.csv.gz").set_index("node_id")
    edges = pd.read_csv(DATA / "jinan_edges.csv.gz")
    edges = edges[edges["from_node"] != edges["to_node"]]
    pair = np.sort(edges[["from_node", "to_node"]].to_numpy(), axis=1)
    edges = edges.assign(u=pair[:, 0], v=pair[:, 1]).drop_duplicates(["u", "v", "highway"])
    start = nodes.loc[edges["u"], ["lon", "lat"]].to_numpy()
    end = nodes.loc[edges["v"], ["lon", "lat"]].to_numpy()
    roads = gpd.GeoDataFrame(
        {
            "u": edges["u"].to_numpy(),
            "v": edges["v"].to_numpy(),
            "highway": edges["highway"].to_numpy(),
            "oneway": False,
            "name": None,
            "maxspeed": None,
        },
        geometry=shapely.linestrings(np.stack([start, end], axis=1)),
        crs=4326,
    )
    return routing.walking_graph(roads)


def clock(fn, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def show(label: str, times: list[float], versus: dict[str, float] | None = None) -> float:
    best = min(times)
    runs = ", ".join(f"{t:.3f}" for t in times)
    ratios = "  ".join(f"{best / v:5.2f}x {name}" for name, v in (versus or {}).items())
    print(f"    {label:<42} {best:8.3f} s  (runs {runs})  {ratios}")
    return best


def services(graph: nx.MultiDiGraph, per_kind: int, seed: int) -> dict[str, list]:
    """Service nodes per kind, drawn from the largest connected part among the nodes no other
    node shares a place with (a crossing without a junction, as at a bridge): pandana puts a
    service on the node nearest its point, and there two nodes are."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    nodes = list(graph.nodes)
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes])
    metres = xy * [111_320 * np.cos(np.radians(xy[:, 1].mean())), 110_540]
    shared = {nodes[i] for pair in cKDTree(metres).query_pairs(1.0) for i in pair}
    largest = max(nx.strongly_connected_components(graph), key=len)
    core = sorted(largest - shared, key=str)
    picked = rng.choice(len(core), (len(KINDS), per_kind), replace=False)
    return {kind: [core[i] for i in row] for kind, row in zip(KINDS, picked, strict=True)}


def ours(graph, sites: dict[str, list]) -> tuple[float, dict[str, pd.DataFrame]]:
    """Index build seconds and, per kind, every node's 3 nearest (node x 3 metres, inf if none)."""
    start = time.perf_counter()
    router = routing.Router(graph, profile=routing.pedestrian())
    build = time.perf_counter() - start
    position = {n: i for i, n in enumerate(graph.nodes)}
    found = {}
    for kind, nodes in sites.items():
        points = gpd.GeoDataFrame(
            {"id": [f"{kind}{i:03d}" for i in range(len(nodes))]},
            geometry=[shapely.Point(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes],
            crs=4326,
        )
        near = router.k_nearest(points, k=K, objective="distance")
        table = np.full((len(position), K), np.inf)
        table[near["target"].map(position).to_numpy(), near["rank"].to_numpy() - 1] = near["cost"]
        found[kind] = table
    return build, found


def pandana_run(graph, sites: dict[str, list]) -> tuple[float, float, dict[str, np.ndarray]]:
    import pandana

    position = {n: i for i, n in enumerate(graph.nodes)}
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in graph.nodes])
    edges = pd.DataFrame(
        [(position[u], position[v], d["length"]) for u, v, d in graph.edges(data=True)],
        columns=["from", "to", "metres"],
    )
    index = pd.Index(np.arange(len(xy)))
    start = time.perf_counter()
    net = pandana.Network(
        pd.Series(xy[:, 0], index=index),
        pd.Series(xy[:, 1], index=index),
        edges["from"],
        edges["to"],
        edges[["metres"]],
        twoway=False,  # the walking graph has both directions already
    )
    build = time.perf_counter() - start
    start = time.perf_counter()
    found = {}
    for kind, nodes in sites.items():
        at = np.array([position[n] for n in nodes])
        net.set_pois(kind, 1e7, K, pd.Series(xy[at, 0]), pd.Series(xy[at, 1]))
        table = net.nearest_pois(1e7, kind, num_pois=K).to_numpy(dtype=float)[:, :K]
        found[kind] = np.where(table >= 1e7, np.inf, table)
    return build, time.perf_counter() - start, found


def networkx_run(graph, sites: dict[str, list]) -> dict[str, np.ndarray]:
    simple = nx.DiGraph()
    for u, v, metres in sorted(graph.edges(data="length"), key=lambda e: -e[2]):
        simple.add_edge(u, v, weight=metres)  # the shortest of parallel edges kept
    position = {n: i for i, n in enumerate(graph.nodes)}
    found = {}
    for kind, nodes in sites.items():
        every = np.full((len(nodes), len(position)), np.inf)
        for i, node in enumerate(nodes):
            for target, metres in nx.single_source_dijkstra_path_length(simple, node).items():
                every[i, position[target]] = metres
        found[kind] = np.sort(every, axis=0)[:K].T
    return found


def check(label: str, got: dict, want: dict, rtol: float) -> float:
    """Largest relative difference over every node, kind and rank; asserts it is within rtol."""
    worst = 0.0
    for kind in want:
        a, b = got[kind], want[kind]
        assert (np.isinf(a) == np.isinf(b)).all(), f"{label}: {kind}: reached nodes differ"
        finite = np.isfinite(b)
        worst = max(worst, float((np.abs(a[finite] - b[finite]) / np.maximum(b[finite], 1)).max()))
    assert worst <= rtol, f"{label}: {worst:.2e} relative from networkx"
    return worst


def run(name: str, graph: nx.MultiDiGraph, *, per_kind: int, repeat: int, use_pandana: bool):
    sites = services(graph, per_kind, seed=1)
    print(
        f"\n{name}: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} directed "
        f"edges; {len(KINDS)} kinds x {per_kind} services, the {K} nearest of each for every node"
    )
    nx_s, reference = clock(lambda: networkx_run(graph, sites), repeat)
    first, (_, answers) = clock(lambda: ours(graph, sites), 1)  # the loop compiled or loaded
    ours_total = []
    for _ in range(repeat):
        start = time.perf_counter()
        build, _ = ours(graph, sites)
        ours_total.append((build, time.perf_counter() - start))
    worst = check("ours", answers, reference, 1e-6)
    best_nx = show("networkx, one Dijkstra per service", nx_s)
    versus = {"networkx": best_nx}
    if use_pandana:
        pandana_runs = [pandana_run(graph, sites) for _ in range(repeat)]
        pandana_worst = check("pandana", pandana_runs[-1][2], reference, 1e-3)
        best_pd = show("pandana, Network build", [r[0] for r in pandana_runs])
        show("pandana, set_pois + nearest_pois", [r[1] for r in pandana_runs])
        best_pd_total = show("pandana, end to end", [r[0] + r[1] for r in pandana_runs])
        versus["pandana"] = best_pd_total
    show("ours, Router build (compile)", [b for b, _ in ours_total])
    show("ours, k_nearest x 5 kinds", [t - b for b, t in ours_total])
    best = show("ours, end to end", [t for _, t in ours_total], versus)
    show("ours, first run (numba loop loaded)", first)
    print(f"    ours equal networkx within {worst:.1e} relative (asserted <= 1e-6)")
    if use_pandana:
        print(
            f"    pandana within {pandana_worst:.1e} relative of networkx (float32 weights); "
            f"ours {best_pd_total / best:.1f}x faster than pandana end to end, "
            f"{best_pd / best:.1f}x faster than its index build alone"
            if best < best_pd_total
            else f"    pandana within {pandana_worst:.1e} relative; ours {best / best_pd_total:.1f}x "
            "SLOWER than pandana end to end"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=50, help="services of each kind")
    parser.add_argument("--repeat", type=int, default=2, help="runs of every timing (>= 2)")
    parser.add_argument("--no-pandana", action="store_true", help="skip pandana")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ways left out and islands are not the point here
        networks = {
            "Chengdu sample, walking": sample_walk(),
            "Jinan, walked both ways": jinan_walk(),
        }
    for name, graph in networks.items():
        run(
            name,
            graph,
            per_kind=args.per_kind,
            repeat=max(args.repeat, 2),
            use_pandana=not args.no_pandana,
        )


if __name__ == "__main__":
    main()
