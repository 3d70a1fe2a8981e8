"""Build the embedded Chengdu sample city in ``sample_data/chengdu`` from ``../shared/data``.

Real data: the central Chengdu OpenStreetMap extract and the Amap district boundaries
(converted from GCJ-02 to WGS84). Synthetic data, generated here with a fixed seed and
marked ``synthetic=True``: extra fire stations and ambulance bases, a day of incidents, and
building heights where OSM has none (``height_source='synthetic:estimate'``).

Run from the repository root: ``python sample_data/build_sample.py [--shared ../shared/data]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

import layers
import routing
from cim.model import CityModel
from cim.response import RESPONSE

SEED = 20260715
DAY = pd.Timestamp("2026-07-15")
HERE = Path(__file__).resolve().parent
CHENGDU_CODE = "510100000000"

# floors drawn for buildings without a height tag, by use: (choices, weights)
FLOOR_CHOICES = {
    "residential": ([6, 7, 11, 18, 24, 30], [0.3, 0.2, 0.15, 0.15, 0.1, 0.1]),
    "commercial": ([3, 5, 12, 20, 32], [0.2, 0.25, 0.25, 0.2, 0.1]),
    "public": ([2, 4, 6, 10], [0.25, 0.35, 0.25, 0.15]),
    "industrial": ([1, 2, 3], [0.4, 0.4, 0.2]),
    "other": ([2, 4, 6, 9, 16], [0.2, 0.3, 0.25, 0.15, 0.1]),
}
SYNTHETIC_FACILITIES = {"fire_station": 6, "ambulance_base": 4}
FACILITY_NAMES = {"fire_station": "模拟消防站", "ambulance_base": "模拟急救站"}
INCIDENTS = {  # kind: (count, priorities, label)
    "fire": (12, [1], "火灾"),
    "medical": (24, [1, 2], "医疗急救"),
    "traffic": (14, [2], "交通事故"),
    "public_security": (10, [2, 3], "治安事件"),
}


def districts(shared: Path) -> gpd.GeoDataFrame:
    raw = gpd.read_file(shared / "chengdu_admin" / "chengdu_districts_amap_cnmaps.geojson")
    raw = raw.assign(
        code=raw["adcode"].astype(int).astype(str) + "000000",
        parent_code=CHENGDU_CODE,
        synthetic=False,
    )[["code", "name", "parent_code", "city", "province", "source", "synthetic", "geometry"]]
    converted = layers.to_wgs84(raw, "gcj02", kind="districts")
    converted.geometry = converted.geometry.make_valid()
    return layers.validate(converted, "districts")


def estimate_heights(buildings: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    buildings = buildings.copy()
    missing = buildings["height_m"].isna()
    floors = [
        rng.choice(FLOOR_CHOICES[use][0], p=FLOOR_CHOICES[use][1])
        for use in buildings.loc[missing, "use"].map(lambda u: u if u in FLOOR_CHOICES else "other")
    ]
    buildings.loc[missing, "floors"] = floors
    buildings.loc[missing, "height_m"] = np.asarray(floors, dtype=float) * 3.0
    buildings.loc[missing, "height_source"] = "synthetic:estimate"
    buildings["synthetic"] = False
    return buildings


def interior_nodes(graph: nx.MultiDiGraph, margin_deg: float = 0.004) -> pd.DataFrame:
    """Nodes of the largest strongly connected component on arterial/secondary roads."""
    core = max(nx.strongly_connected_components(graph), key=len)
    main = {u for u, _, d in graph.edges(data=True) if d["road_class"] in ("arterial", "secondary")}
    nodes = pd.DataFrame(
        [(n, graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in sorted(core & main)],
        columns=["node", "x", "y"],
    )
    x0, x1, y0, y1 = nodes.x.min(), nodes.x.max(), nodes.y.min(), nodes.y.max()
    inside = nodes.x.between(x0 + margin_deg, x1 - margin_deg) & nodes.y.between(
        y0 + margin_deg, y1 - margin_deg
    )
    return nodes[inside].reset_index(drop=True)


def farthest_points(candidates: np.ndarray, existing: np.ndarray, count: int) -> list[int]:
    """Greedy farthest-point sampling: each pick is the candidate farthest from all before it."""
    scale = np.array([np.cos(np.radians(candidates[:, 1].mean())), 1.0])
    gap = np.min(
        np.linalg.norm((candidates[:, None, :] - existing[None, :, :]) * scale, axis=2), axis=1
    )
    picks = []
    for _ in range(count):
        best = int(np.argmax(gap))
        picks.append(best)
        gap = np.minimum(gap, np.linalg.norm((candidates - candidates[best]) * scale, axis=1))
    return picks


def synthetic_facilities(facilities: gpd.GeoDataFrame, nodes: pd.DataFrame) -> gpd.GeoDataFrame:
    candidates = nodes[["x", "y"]].to_numpy()
    rows = []
    for kind, count in SYNTHETIC_FACILITIES.items():
        profile = routing.PROFILES[RESPONSE["fire" if kind == "fire_station" else "medical"]]
        near = facilities[facilities["kind"].isin(profile.stations)]
        existing = np.column_stack([near.geometry.x, near.geometry.y])
        for i, pick in enumerate(farthest_points(candidates, existing, count), start=1):
            rows.append(
                {
                    "id": f"synthetic/{kind}/{i}",
                    "kind": kind,
                    "name": f"{FACILITY_NAMES[kind]}{i}（合成）",
                    "units": 2,
                    "units_assumed": True,
                    "geometry": shapely.Point(candidates[pick]),
                }
            )
    new = gpd.GeoDataFrame(rows, crs=4326)
    combined = pd.concat(
        [facilities.assign(synthetic=False), new.assign(synthetic=True)], ignore_index=True
    )
    return gpd.GeoDataFrame(combined, crs=4326)


def incidents(
    buildings: gpd.GeoDataFrame, nodes: pd.DataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    points = buildings.geometry.representative_point()
    x0, x1, y0, y1 = nodes.x.min(), nodes.x.max(), nodes.y.min(), nodes.y.max()
    inside = points[points.x.between(x0, x1) & points.y.between(y0, y1)]
    rows = []
    for kind, (count, priorities, label) in INCIDENTS.items():
        for _ in range(count):
            if kind in ("fire", "medical"):
                point = inside.iloc[rng.integers(len(inside))]
            else:
                x, y = nodes.loc[rng.integers(len(nodes)), ["x", "y"]]
                point = shapely.Point(x + rng.normal(0, 0.0002), y + rng.normal(0, 0.0002))
            rows.append(
                {
                    "kind": kind,
                    "label": label,
                    "priority": int(rng.choice(priorities)),
                    "reported_at": DAY + pd.Timedelta(seconds=int(rng.integers(86400))),
                    "geometry": point,
                }
            )
    frame = gpd.GeoDataFrame(rows, crs=4326).sort_values("reported_at", ignore_index=True)
    frame.insert(0, "id", [f"INC-{i:04d}" for i in range(1, len(frame) + 1)])
    frame["description"] = frame["label"] + "（合成事件）"
    frame["synthetic"] = True
    return layers.validate(frame, "incidents")


def build(shared: Path, out: Path) -> CityModel:
    rng = np.random.default_rng(SEED)
    osm = layers.from_osm(shared / "chengdu_center_osm" / "chengdu_center.osm")
    roads = osm["roads"].assign(synthetic=False)
    graph = routing.graph_from_roads(roads)
    nodes = interior_nodes(graph)
    buildings = estimate_heights(osm["buildings"], rng)
    city = CityModel(
        {
            "roads": roads,
            "districts": districts(shared),
            "buildings": buildings,
            "facilities": synthetic_facilities(osm["facilities"], nodes),
            "incidents": incidents(buildings, nodes, rng),
            "addresses": osm["addresses"].assign(synthetic=False),
        },
        name="chengdu",
    )
    city.save(out)
    return city


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=HERE / "chengdu")
    args = parser.parse_args()
    print(build(args.shared, args.out))


if __name__ == "__main__":
    main()
