"""A city folder's road graph cache: the first call (build and cache) against the next ones.

The city is the Jinan network (``sample_data/networks/jinan_*.csv.gz``, 28.6k directed edges)
as a roads layer with ``u``/``v``, repeated ``--copies`` times side by side (3 copies: 85.7k
segments, the size of the Wuhan network of issue 12). Each measurement runs in a fresh
process, as a command does: ``CityModel.load(DIR).router("fire_engine")`` and a whole
``cim dispatch --city DIR`` run (100 incidents, 15 stations), first with no cache, then with
the one the first call wrote. The parts of the first call are timed too: building the graph
from the roads, compiling it, and writing the cache.

Run: ``.venv/bin/python benchmarks/graph_cache.py [--copies 3]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

NETWORKS = Path(__file__).resolve().parent.parent / "sample_data" / "networks"
CIM = Path(sys.executable).with_name("cim")

ROUTER = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import cim, routing
from cim.graph_cache import GraphCache
started = time.perf_counter()
city = cim.CityModel.load(sys.argv[1])
loaded = time.perf_counter()
city.router("fire_engine")
done = time.perf_counter()
print(json.dumps({"load": loaded - started, "router": done - loaded, "status": city.road_graph_cache}))
"""

PARTS = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import cim, routing
from cim.graph_cache import GraphCache
city = cim.CityModel.load(sys.argv[1], cache=False)
fire = routing.get_profile("fire_engine")
t0 = time.perf_counter(); graph = city.graph
t1 = time.perf_counter(); router = routing.Router(graph, profile=fire)
t2 = time.perf_counter(); ambulance = router.with_profile("ambulance")
t3 = time.perf_counter(); cache = GraphCache(sys.argv[1], city.layer("roads"))
t4 = time.perf_counter(); cache.write(router, [])
t5 = time.perf_counter(); cache.read(fire, graph=graph)
t6 = time.perf_counter()
print(json.dumps({"graph_from_roads": t1 - t0, "compile (Router)": t2 - t1,
                  "another profile (Router.with_profile)": t3 - t2, "roads digest": t4 - t3,
                  "write cache": t5 - t4, "read cache": t6 - t5,
                  "edges": graph.number_of_edges()}))
"""


def jinan_city(copies: int) -> gpd.GeoDataFrame:
    """The Jinan network as a roads layer, ``copies`` times, each copy north of the last."""
    nodes = pd.read_csv(NETWORKS / "jinan_nodes.csv.gz").set_index("node_id")
    edges = pd.read_csv(NETWORKS / "jinan_edges.csv.gz")
    edges = edges[edges["from_node"] != edges["to_node"]].reset_index(drop=True)
    step = nodes["lat"].max() - nodes["lat"].min() + 0.01
    offset = int(nodes.index.max()) + 1
    start = nodes.loc[edges["from_node"], ["lon", "lat"]].to_numpy()
    end = nodes.loc[edges["to_node"], ["lon", "lat"]].to_numpy()
    parts = []
    for copy in range(copies):
        north = np.array([0.0, copy * step])
        parts.append(
            gpd.GeoDataFrame(
                {
                    "u": edges["from_node"] + copy * offset,
                    "v": edges["to_node"] + copy * offset,
                    "highway": edges["highway"],
                    "oneway": True,
                    "name": None,
                    "maxspeed": None,
                },
                geometry=shapely.linestrings(np.stack([start + north, end + north], axis=1)),
                crs=4326,
            )
        )
    return pd.concat(parts, ignore_index=True)


def points_csv(roads: gpd.GeoDataFrame, count: int, path: Path, seed: int) -> Path:
    """``count`` road line midpoints (a fixed sample) as a CSV of id, lon, lat."""
    rows = np.random.default_rng(seed).choice(len(roads), count, replace=False)
    middle = shapely.line_interpolate_point(roads.geometry.values[rows], 0.5, normalized=True)
    ids = [f"p{i}" for i in range(count)]
    pd.DataFrame({"id": ids, "lon": shapely.get_x(middle), "lat": shapely.get_y(middle)}).to_csv(
        path, index=False
    )
    return path


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args()
    import cim

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        roads = jinan_city(args.copies)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            folder = cim.CityModel({"roads": roads}, name="jinan").save(tmp / "city")
        print(f"city: {len(roads):,} road segments in {folder}")

        parts = json.loads(timed([sys.executable, "-c", PARTS, str(folder)])[1])
        print(f"\nthe parts ({parts.pop('edges'):,} edges), seconds:")
        for name, seconds in parts.items():
            print(f"  {name:<32} {seconds:7.2f}")
        (folder / "cache" / "road_graph.npz").unlink()
        size = 0

        print('\nCityModel.load(DIR).router("fire_engine"), in a fresh process, seconds:')
        runs = []
        for label in ("first call (no cache)", "next call (cached)"):
            run = json.loads(timed([sys.executable, "-c", ROUTER, str(folder)])[1])
            size = (folder / "cache" / "road_graph.npz").stat().st_size
            runs.append(run["router"])
            print(
                f"  {label:<24} load {run['load']:5.2f}  router {run['router']:6.2f}  ({run['status']})"
            )
        print(
            f"  ratio first / cached router: {runs[0] / runs[1]:.0f}x; cache file {size / 1e6:.1f} MB"
        )

        (folder / "cache" / "road_graph.npz").unlink()
        incidents = points_csv(roads, 100, tmp / "incidents.csv", seed=1)
        stations = points_csv(roads, 15, tmp / "stations.csv", seed=2)
        print(
            "\ncim dispatch --city DIR --profile fire_engine (100 incidents, 15 stations), wall seconds:"
        )
        walls = []
        for label in ("first call (no cache)", "next call (cached)"):
            wall, out = timed(
                [str(CIM), "dispatch", "--city", str(folder), "--profile", "fire_engine",
                 "--incidents", str(incidents), "--resources", str(stations),
                 "--out", str(tmp / label.split()[0])]
            )  # fmt: skip
            said = next((line.strip() for line in out.splitlines() if "road graph:" in line), "")
            walls.append(wall)
            print(f"  {label:<24} {wall:6.2f}   {said}")
        print(f"  ratio first / cached: {walls[0] / walls[1]:.1f}x")


if __name__ == "__main__":
    main()
