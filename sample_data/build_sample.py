"""Build the embedded Chengdu sample city in ``sample_data/chengdu`` from ``../shared/data``.

Real data: the central Chengdu OpenStreetMap extract and the Amap district boundaries
(converted from GCJ-02 to WGS84). Synthetic data, generated here with a fixed seed and
marked ``synthetic=True``: extra fire stations and ambulance bases, a day of incidents,
building heights where OSM has none (``height_source='synthetic:estimate'``), street (街道)
and community (社区) polygons for the real names and codes (Voronoi cells around seeds,
clipped to the real district), the unit grid over the extract, and IoT sensors.

Run from the repository root: ``python sample_data/build_sample.py [--shared ../shared/data]``.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely

import layers
import routing
from cim.model import CityModel
from cim.response import RESPONSE
from cim.sample import SAMPLE_SETTINGS
from cim.waterlogging import synthetic_dem

SEED = 20260715
EXTRACT_BBOX = (
    104.0421,
    30.6528,
    104.1296,
    30.7279,
)  # the OSM extract, see ../shared/data/SOURCES.md
CENTRAL_DISTRICTS = ("510104000000", "510105000000", "510106000000", "510107000000", "510108000000")
# kind: (count, range_m); cameras and manholes line the roads, smoke detectors sit in buildings
SENSORS = {
    "camera": (700, 50.0),
    "manhole": (350, 30.0),
    "smoke": (250, 20.0),
    "water_level": (40, 100.0),
    "air": (25, 500.0),
    "rain_gauge": (12, 1500.0),
}
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


def random_points_in(polygon, count: int, rng: np.random.Generator) -> list[shapely.Point]:
    minx, miny, maxx, maxy = polygon.bounds
    points: list[shapely.Point] = []
    while len(points) < count:
        candidates = shapely.points(
            rng.uniform(minx, maxx, 4 * count), rng.uniform(miny, maxy, 4 * count)
        )
        points.extend(candidates[shapely.contains(polygon, candidates)][: count - len(points)])
    return points


def voronoi_cells(seeds: gpd.GeoDataFrame, region) -> gpd.GeoSeries:
    """The Voronoi cell of each seed (metric CRS), clipped to ``region``."""
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(seeds.geometry)), extend_to=region)
    pieces = gpd.GeoDataFrame(geometry=list(cells.geoms), crs=seeds.crs)
    owner = gpd.sjoin(seeds[["geometry"]], pieces, predicate="within", how="left")["index_right"]
    return gpd.GeoSeries(
        pieces.geometry.loc[owner].to_numpy(), index=seeds.index, crs=seeds.crs
    ).intersection(region)


def divided(
    parents: gpd.GeoDataFrame, children: pd.DataFrame, anchors: dict[str, shapely.Point], rng
) -> gpd.GeoDataFrame:
    """Polygons for ``children`` (code, name, parent_code): Voronoi cells of seeds in their parent.

    A child whose name has an anchor (a real place of that name inside the parent) is seeded
    there; the others at random points of the parent. ``seed_source`` says which.
    """
    metric = parents.to_crs(4544)
    rows = []
    for parent_code, group in children.groupby("parent_code"):
        if parent_code not in set(metric["code"]):
            continue
        region = metric.set_index("code").geometry[parent_code]
        spots = random_points_in(region, len(group), rng)
        seeds, sources = [], []
        for name, spot in zip(group["name"], spots, strict=True):
            anchor = anchors.get(name)
            inside = anchor is not None and region.contains(anchor)
            seeds.append(anchor if inside else spot)
            sources.append("real place of that name" if inside else "random point (synthetic)")
        seeds = gpd.GeoDataFrame(group.assign(seed_source=sources), geometry=seeds, crs=4544)
        seeds = seeds.drop_duplicates(subset="geometry")
        rows.append(seeds.set_geometry(voronoi_cells(seeds, region)))
    result = pd.concat(rows, ignore_index=True).to_crs(4326)
    result.geometry = result.geometry.make_valid()
    return gpd.GeoDataFrame(result.assign(synthetic=True), crs=4326)


def streets_and_communities(
    districts, roads, places, rng
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    table = pd.read_csv(
        HERE / "divisions" / "divisions.csv", dtype={"code": str, "parent_code": str}
    )
    official = table[
        (table["source"] == "NBS 2023")
        & (table["level"] == "town")
        & table["parent_code"].isin(CENTRAL_DISTRICTS)
    ]
    named_roads = roads[roads["name"].notna()].to_crs(4544)
    anchors = {}
    for town in official.itertuples():
        hit = named_roads[named_roads["name"] == town.short_name]
        if len(hit):
            anchors[town.name] = shapely.line_merge(
                shapely.union_all(hit.geometry.values)
            ).representative_point()
    streets = divided(districts, official[["code", "name", "parent_code"]], anchors, rng)
    communities_table = table[
        (table["level"] == "community") & table["parent_code"].isin(streets["code"])
    ]
    place_anchors = dict(zip(places["name"], places.to_crs(4544).geometry, strict=True))
    communities = divided(
        streets, communities_table[["code", "name", "parent_code"]], place_anchors, rng
    )
    return layers.validate(streets, "streets"), layers.validate(communities, "communities")


def sensors(roads, buildings, area, rng) -> gpd.GeoDataFrame:
    """Synthetic IoT sensors: denser in the south-east, thin in the north-west (to show gaps)."""
    x0, y0, x1, y1 = area
    road_points = (
        roads.to_crs(4544)
        .geometry.interpolate(rng.random(len(roads)), normalized=True)
        .to_crs(4326)
    )
    road_points = road_points[road_points.x.between(x0, x1) & road_points.y.between(y0, y1)]
    build_points = buildings.geometry.representative_point()
    build_points = build_points[build_points.x.between(x0, x1) & build_points.y.between(y0, y1)]
    rows = []
    for kind, (count, range_m) in SENSORS.items():
        pool = build_points if kind == "smoke" else road_points
        # thinning: keep a candidate with a probability that grows towards the south-east
        weight = ((pool.x - x0) / (x1 - x0) + (y1 - pool.y) / (y1 - y0)) / 2
        chosen = rng.choice(
            len(pool),
            size=min(count, len(pool)),
            replace=False,
            p=(weight**2 / (weight**2).sum()).to_numpy(),
        )
        for i, point in enumerate(pool.iloc[chosen]):
            rows.append(
                {
                    "id": f"synthetic/{kind}/{i + 1}",
                    "kind": kind,
                    "range_m": range_m,
                    "status": "offline" if rng.random() < 0.05 else "online",
                    "geometry": point,
                }
            )
    return layers.validate(gpd.GeoDataFrame(rows, crs=4326).assign(synthetic=True), "sensors")


def grid_over_extract(communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    extract = gpd.GeoDataFrame(geometry=[shapely.box(*EXTRACT_BBOX)], crs=4326)
    return layers.unit_grid(extract, 100, units=communities).assign(synthetic=True)


def flood_points(shared: Path, roads: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Reported flooded places (news bulletins) placed by the road names in their text.

    Two road names (a junction such as 青龙路与东裕路交叉口) give the point where the roads
    meet; one name gives a point on that road. Places outside the extract, or whose roads
    are missing or do not meet, are returned as unlocated with the reason.
    """
    reports = pd.read_csv(shared / "chengdu_events" / "chengdu_waterlogging_events_news.csv")
    named = roads[roads["name"].notna()].to_crs(4544)
    lines = {
        n: shapely.line_merge(shapely.union_all(g.geometry.values))
        for n, g in named.groupby("name")
    }
    names = sorted((n for n in lines if len(n) >= 2), key=len, reverse=True)
    extract = gpd.GeoSeries([shapely.box(*EXTRACT_BBOX)], crs=4326).to_crs(4544).iloc[0]
    located, unlocated = [], []
    for place, group in reports.groupby("location", sort=False):
        text, found = place, []
        for name in names:
            if name in text:
                found.append(name)
                text = text.replace(name, "|")
        reason = None
        if not found:
            reason = "no road of that name in the extract"
        elif len(found) >= 2:
            gap = shapely.shortest_line(lines[found[0]], lines[found[1]])
            point = gap.interpolate(0.5, normalized=True)
            reason = "the named roads do not meet" if gap.length > 50 else None
        else:
            point = lines[found[0]].interpolate(0.5, normalized=True)
        if reason is None and not extract.contains(point):
            reason = "outside the extract"
        first = group.iloc[0]
        if reason:
            unlocated.append(
                {"location": place, "event_date": first["event_date"], "reason": reason}
            )
            continue
        located.append(
            {
                "id": f"news/{len(located) + 1}",
                "name": place,
                "kind": first["kind"],
                "depth_cm": np.nan,  # the bulletins give places, not depths
                "observed_at": pd.Timestamp(group["event_date"].max()),
                "reports": len(group),
                "source_url": first["source_url"],
                "located_by": " + ".join(found[:2]),
                "geometry": point,
            }
        )
    points = gpd.GeoDataFrame(located, crs=4544).to_crs(4326).assign(synthetic=False)
    return layers.validate(points, "waterlogging_points"), pd.DataFrame(unlocated)


def build(shared: Path, out: Path) -> CityModel:
    rng = np.random.default_rng(SEED)
    osm = layers.from_osm(shared / "chengdu_center_osm" / "chengdu_center.osm")
    roads = osm["roads"].assign(synthetic=False)
    graph = routing.graph_from_roads(roads)
    nodes = interior_nodes(graph)
    buildings = estimate_heights(osm["buildings"], rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        places = ox.features_from_xml(
            shared / "chengdu_center_osm" / "chengdu_center.osm", tags={"place": True}
        )
    places = places[places["name"].notna() & (places.geom_type == "Point")]
    district_layer = districts(shared)
    flooded, unlocated = flood_points(shared, roads)
    unlocated.to_csv(HERE / "waterlogging_unlocated.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        waterways = ox.features_from_xml(
            shared / "chengdu_center_osm" / "chengdu_center.osm",
            tags={"waterway": ["river", "canal"]},
        )
    rivers = waterways[waterways.geom_type.isin(["LineString", "MultiLineString"])]
    synthetic_dem(  # the Chengdu plain falls gently to the south-east, 512 m to 496 m here
        HERE / "chengdu_dem_synthetic.tif",
        EXTRACT_BBOX,
        crs=4544,
        elevation_m=(512.0, 496.0),
        rivers=rivers,
        sinks=flooded.geometry,
        roads=roads,
        seed=np.random.default_rng([SEED, 3]),
        description="synthetic DEM of central Chengdu for the CIM sample; not survey data",
    )
    # each synthetic part draws from its own stream, so adding one leaves the others unchanged
    streets, communities = streets_and_communities(
        district_layer, roads, places, np.random.default_rng([SEED, 1])
    )
    city = CityModel(
        {
            "roads": roads,
            "districts": district_layer,
            "streets": streets,
            "communities": communities,
            "grid": grid_over_extract(communities),
            "sensors": sensors(roads, buildings, EXTRACT_BBOX, np.random.default_rng([SEED, 2])),
            "waterlogging_points": flooded,
            "buildings": buildings,
            "facilities": synthetic_facilities(osm["facilities"], nodes),
            "incidents": incidents(buildings, nodes, rng),
            "addresses": osm["addresses"].assign(synthetic=False),
        },
        name="chengdu",
        settings=SAMPLE_SETTINGS,
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
