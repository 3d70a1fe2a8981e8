"""Each shipped indicator against a value worked out by hand on a small constructed city.

Two districts of 1 km² side by side (A west, B east) and an empty third (C, no roads or
buildings), built in the CGCS2000 zone (EPSG:4544) so distances are plain metres.
"""

import math
import re
from datetime import datetime, timezone

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

import cim
import routing
from cim.vitals import Indicator, VitalsError, load_registry, save_snapshot

METRIC = 4544
X0, Y0 = gpd.GeoSeries.from_xy([104.06], [30.65], crs=4326).to_crs(METRIC).iloc[0].coords[0]


def at(x: float, y: float) -> shapely.Point:
    return shapely.Point(X0 + x, Y0 + y)


def square(x: float, y: float, w: float, h: float | None = None) -> shapely.Polygon:
    h = w if h is None else h
    return shapely.box(X0 + x - w / 2, Y0 + y - h / 2, X0 + x + w / 2, Y0 + y + h / 2)


def line(*points) -> shapely.LineString:
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in points])


def frame(geometries, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geometries, crs=METRIC).to_crs(4326)


@pytest.fixture(scope="session")
def town() -> cim.CityModel:
    districts = frame(
        [
            shapely.box(X0, Y0, X0 + 1000, Y0 + 1000),
            shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
            shapely.box(X0 + 2000, Y0, X0 + 3000, Y0 + 1000),
        ],
        code=["510101", "510102", "510103"],
        name=["甲区", "乙区", "丙区"],
        parent_code=["510100"] * 3,
    )
    roads = frame(  # 2 km in A (half the main road, the x=500 street), 2 km in B
        [
            line((0, 500), (500, 500)),
            line((500, 500), (1500, 500)),
            line((1500, 500), (2000, 500)),
            line((500, 0), (500, 500)),
            line((500, 500), (500, 1000)),
            line((1500, 0), (1500, 500)),
            line((1500, 500), (1500, 1000)),
        ],
        highway=["primary"] * 3 + ["residential"] * 4,
        oneway=[False] * 7,
        name=["主街"] * 3 + ["甲街"] * 2 + ["乙街"] * 2,
        maxspeed=[None] * 7,
    )
    sensors = frame(
        [at(100, 500), at(300, 500), at(500, 700), at(1200, 500)],
        id=["s1", "s2", "s3", "s4"],
        kind=["camera", "camera", "manhole", "water_level"],
        range_m=[50.0, 50.0, 10.0, 100.0],
        status=["online", "online", "offline", "online"],
    )
    buildings = frame(
        [
            square(150, 100, 20),
            square(900, 950, 20),
            square(1200, 300, 50, 20),
            square(1500, 800, 20),
        ],
        id=["r1", "r2", "shop", "school"],
        use=["residential", "residential", "commercial", "public"],
        building=["apartments", "house", "retail", "school"],
        floors=[10, 2, 4, 3],
        height_m=[30.0, 6.0, 12.0, 9.0],
    )
    facilities = frame(
        [at(500, 0), at(1500, 0), at(1800, 500)],
        id=["h1", "f1", "p1"],
        kind=["hospital", "fire_station", "police"],
        name=["医院", "消防站", "派出所"],
        units=[2, 2, 1],
    )
    water = frame(
        [at(300, 500), at(500, 300), at(1300, 500)],
        id=["w1", "w2", "w3"],
        name=["甲一", "甲二", "乙一"],
        depth_cm=[20.0, 10.0, np.nan],
        observed_at=["2026-07-15 08:00"] * 3,
    )
    incidents = frame(
        [at(500, 1000), at(0, 500), at(1500, 1000)],
        id=["fireA", "medA", "fireB"],
        kind=["fire", "medical", "fire"],
        priority=[1, 1, 1],
        reported_at=["2026-07-15 08:00"] * 3,
    )
    return cim.CityModel(
        {
            "districts": districts,
            "roads": roads,
            "sensors": sensors,
            "buildings": buildings,
            "facilities": facilities,
            "waterlogging_points": water,
            "incidents": incidents,
        },
        name="小城",
    )


@pytest.fixture(scope="session")
def vitals(town):
    table = town.vitals("district")
    return {(r.indicator_id, r.unit_code): r for r in table.itertuples()}


A, B, C = "510101", "510102", "510103"
BY_HAND = {  # indicator → (A, B); C is empty
    "sensor_density": (3.0, 1.0),  # sensors per km², units of 1 km²
    "sensor_online_share": (2 / 3, 1.0),
    "camera_per_road_km": (2 / 2, 0 / 2),
    "manhole_sensor_per_road_km": (1 / 2, 0.0),
    "water_level_sensor_density": (0.0, 1.0),
    # walking: r1 joins the x=500 street (350 m), r2 too (400 m); the shop and school their
    # nearest ways (main road 200 m, x=1500 street 0 m). r1: hospital 350 + 100 = 450 m, shop
    # 350 + 400 + 700 + 200 = 1,650 m, school 350 + 400 + 1,000 + 300 = 2,050 m; r2: hospital
    # 400 + 950 = 1,350 m, shop 400 + 450 + 700 + 200 = 1,750 m, school 2,150 m
    "clinic_15min_share": (0.5, None),
    "school_15min_share": (0.0, None),
    "market_15min_share": (0.0, None),
    "waterlogged_points": (1.0, None),  # A: 20 cm counts, 10 cm not; B: its one depth unknown
    "waterlogging_reports": (2.0, 1.0),
    "road_network_density": (2.0, 2.0),
    "building_density": (800 / 1e6, 1400 / 1e6),
    "floor_area_ratio": ((400 * 10 + 400 * 2) / 1e6, (1000 * 4 + 400 * 3) / 1e6),
    "high_rise_share": (0.5, 0.0),
    "incidents_per_10k_buildings": (2 / 2 * 1e4, 1 / 2 * 1e4),
    "hospital_density": (1.0, 0.0),
    "police_density": (0.0, 1.0),
    "residential_floor_share": (1.0, 0.0),
}


@pytest.mark.parametrize("indicator", sorted(BY_HAND))
def test_indicator_equals_the_hand_computed_value(vitals, indicator):
    for code, expected in zip((A, B), BY_HAND[indicator], strict=True):
        row = vitals[(indicator, code)]
        if expected is None:
            assert math.isnan(row.value) and row.status == "no_data", (indicator, code)
        else:
            assert row.value == pytest.approx(expected, rel=1e-6, abs=1e-12), (indicator, code)


def engine_eta(town, profile_name: str, source, target) -> float:
    """networkx's shortest time between two graph nodes with the profile's edge times."""
    graph = town.graph
    profile = routing.get_profile(profile_name)
    nodes = {(round(d["x"], 6), round(d["y"], 6)): n for n, d in graph.nodes(data=True)}
    lonlat = gpd.GeoSeries([at(*source), at(*target)], crs=METRIC).to_crs(4326)

    def node(point):
        return min(nodes.items(), key=lambda kv: math.dist(kv[0], point.coords[0]))[1]

    def seconds(u, v, data):
        return min(
            d["length"] / (profile.speeds([d["speed_kph"]], [d["road_class"]])[0] / 3.6)
            for d in data.values()
        )

    return nx.shortest_path_length(graph, node(lonlat[0]), node(lonlat[1]), weight=seconds)


def test_dispatch_indicators_equal_networkx(town, vitals):
    fire_a = engine_eta(town, "fire_engine", (1500, 0), (500, 1000))
    medical_a = engine_eta(town, "ambulance", (500, 0), (0, 500))
    fire_b = engine_eta(town, "fire_engine", (1500, 0), (1500, 1000))
    eta_a = vitals[("mean_first_eta_min", A)].value
    assert eta_a == pytest.approx((fire_a + medical_a) / 2 / 60, rel=1e-6)
    assert vitals[("mean_first_eta_min", B)].value == pytest.approx(fire_b / 60, rel=1e-6)
    assert vitals[("fire_within_5min_share", A)].value == float(fire_a <= 300)
    assert vitals[("fire_within_5min_share", B)].value == float(fire_b <= 300)


def test_fire_cover_of_buildings_aggregates_the_router(town, vitals):
    fire = town.layer("facilities").query("kind == 'fire_station'")
    covered = town.router("fire_engine").coverage(fire, town.layer("buildings"), cutoff=300)
    flags = dict(zip(town.layer("buildings")["id"], covered["covered"], strict=True))
    assert vitals[("fire_5min_building_share", A)].value == np.mean([flags["r1"], flags["r2"]])
    assert vitals[("fire_5min_building_share", B)].value == np.mean(
        [flags["shop"], flags["school"]]
    )


def test_empty_units_and_missing_sources_are_no_data_not_zero(vitals):
    for indicator in ("camera_per_road_km", "sensor_online_share", "building_density"):
        row = vitals[(indicator, C)]  # no roads, no buildings: the data does not cover C
        assert math.isnan(row.value) and row.status == "no_data"
        assert "does not cover" in row.note
    shelter = vitals[("shelter_500m_share", A)]
    assert shelter.status == "no_data" and "shelter" in shelter.note


def test_status_follows_thresholds_and_direction():
    values = pd.Series([30.0, 25.0, 24.9, 10.0, 9.9, np.nan])
    up = Indicator("u", "上", "x", "公共管理", "count", {"layer": "sensors"}, "up", 25, 10)
    assert up.status(values).tolist() == ["ok", "ok", "warn", "warn", "alarm", "no_data"]
    down = Indicator("d", "下", "x", "公共安全", "count", {"layer": "sensors"}, "down", 10, 25)
    assert down.status(values).tolist() == ["alarm", "warn", "warn", "ok", "ok", "no_data"]


def test_the_town_is_judged_by_the_shipped_thresholds(vitals):
    assert vitals[("sensor_density", A)].status == "alarm"  # 3 < 10 per km²
    assert vitals[("sensor_online_share", A)].status == "alarm"  # 67 % < 90 %
    assert vitals[("waterlogged_points", A)].status == "ok"  # 1 is not above warn 1
    assert vitals[("waterlogging_reports", A)].status == "warn"  # 2 > 1, not > 5


def test_the_city_level_is_one_unit_and_every_indicator_is_there(town):
    table = town.vitals("city")
    assert len(table) == len(load_registry()) and set(table["unit_code"]) == {"city"}
    sensors = table.set_index("indicator_id").loc["sensor_density", "value"]
    assert sensors == pytest.approx(4 / 2.0)  # over A and B: C holds no road or building
    assert list(table.columns[:5]) == ["indicator_id", "unit_code", "level", "value", "status"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count, colour: red}", "unknown field 'colour'"),
        ("  - {id: x, name: x, unit: x, dimension: 公共管理, formula: median}", "unknown formula 'median'"),
        ("  - {id: x, name: x, unit: x, dimension: 民生, formula: count}", "dimension must be one of"),
        ("  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count, params: {layr: roads}}", "no parameter 'layr'"),
        ("  - {id: x, name: x, unit: x, dimension: 公共管理, formula: count, direction: up, warn: 1, alarm: 5}", "alarm (5) must lie below warn (1)"),
        ("  - {id: x, name: x, dimension: 公共管理, formula: count}", "missing field 'unit'"),
    ],
)  # fmt: skip
def test_bad_registries_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text("indicators:\n" + text + "\n", encoding="utf-8")
    with pytest.raises(VitalsError, match=re.escape(message)):
        load_registry(path)


def test_a_filter_on_an_unknown_column_names_the_indicator_and_the_columns(town, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "indicators:\n  - {id: deep, name: 深, unit: 个, dimension: 公共安全, formula: count,"
        " params: {layer: waterlogging_points, where: 'depth_mm > 150'}}\n",
        encoding="utf-8",
    )
    with pytest.raises(VitalsError, match=r"indicator 'deep'.*depth_mm.*columns are .*depth_cm"):
        town.vitals("district", registry=load_registry(path))


def test_snapshots_accumulate_for_trends(town, tmp_path):
    path = tmp_path / "history.parquet"
    table = town.vitals("district", indicators=["sensor_density", "road_network_density"])
    save_snapshot(table, path, at=datetime(2026, 7, 1, tzinfo=timezone.utc))
    history = save_snapshot(table, path, at=datetime(2026, 7, 2, tzinfo=timezone.utc))
    assert len(history) == 2 * len(table)
    trend = history.pivot_table(index="computed_at", columns="unit_code", values="value",
                                aggfunc="first", dropna=False).shape  # fmt: skip
    assert trend == (2, 3)


def test_shelters_within_500_m_of_homes(town):
    shelter = frame([at(200, 500)], id=["s1"], kind=["shelter"], name=["避难场所"], units=[0])
    facilities = pd.concat([town.layer("facilities"), shelter], ignore_index=True)
    sheltered = cim.CityModel({**town.layers, "facilities": facilities}, name="小城")
    table = sheltered.vitals("district", indicators=["shelter_500m_share"])
    values = dict(zip(table["unit_code"], table["value"], strict=True))
    assert values[A] == 0.5  # r1 is 392 m from the shelter, r2 818 m
    assert math.isnan(values[B])  # no homes in B


def test_fire_cover_of_buildings_by_hand(town, tmp_path):
    """Engines run 45 km/h on the main road (主干路 50 × 0.9), 22.5 km/h on streets (30 × 0.75).

    From the station at (1500, 0): the shop snaps to the main road at (1200, 500): 500 m of
    street + 300 m of road = 80 + 24 = 104 s, plus its 200 m gap to the road at the access
    speed of 15 km/h (48 s) = 152 s; the school sits on the x=1500 street, 800 m up: 128 s.
    r1 and r2 lie 300 m or more from every road, beyond the snap limit: no engine reaches
    them at any cutoff.
    """
    path = tmp_path / "fast.yaml"
    path.write_text(
        "indicators:\n  - {id: fire_140s, name: 140 秒, unit: share, dimension: 公共安全,"
        " formula: reached_share, params: {layer: buildings, stations: \"kind == 'fire_station'\","
        " profile: fire_engine, cutoff_s: 140}}\n",
        encoding="utf-8",
    )
    fast = town.vitals("district", registry=load_registry(path)).set_index("unit_code")["value"]
    assert (fast[A], fast[B]) == (0.0, 0.5)  # only the school within 140 s
    shipped = town.vitals("district", indicators=["fire_5min_building_share"])
    assert shipped.set_index("unit_code")["value"][[A, B]].tolist() == [0.0, 1.0]
