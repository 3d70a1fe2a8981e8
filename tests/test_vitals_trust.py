"""Vital signs where the data cannot tell: no_data with the reason, never a silent 0.

A constructed town in the CGCS2000 zone (EPSG:4544), so distances are plain metres: districts
A and B of 1 km² with roads and buildings, C of 1 km² with neither; a facilities layer with a
fire station and a police station but no hospital; waterlogging points and sensors with some
values unknown; a sensor 500 m outside every district. Then a real second city, Jinan, without
districts.
"""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

import cim
from cim.cli import app
from cim.reports import vitals_report
from cim.vitals import load_registry

METRIC = 4544
X0, Y0 = gpd.GeoSeries.from_xy([104.06], [30.65], crs=4326).to_crs(METRIC).iloc[0].coords[0]
A, B, C = "510101", "510102", "510103"
UNCOVERED = "no roads or buildings in this unit: the data does not cover it"


def at(x: float, y: float) -> shapely.Point:
    return shapely.Point(X0 + x, Y0 + y)


def frame(geometries, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geometries, crs=METRIC).to_crs(4326)


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def town_layers() -> dict[str, gpd.GeoDataFrame]:
    return {
        "districts": frame(
            [box(0, 0, 1000, 1000), box(1000, 0, 1000, 1000), box(2000, 0, 1000, 1000)],
            code=[A, B, C],
            name=["甲区", "乙区", "丙区"],
            parent_code=["510100"] * 3,
        ),
        "roads": frame(  # 1 km in A, 1 km in B
            [shapely.LineString([(X0, Y0 + 500), (X0 + 2000, Y0 + 500)])],
            highway=["primary"],
            oneway=[False],
            name=["主街"],
            maxspeed=[None],
        ),
        "buildings": frame(
            [box(200, 200, 20, 20), box(1200, 200, 20, 20)],
            id=["a1", "b1"],
            use=["residential", "residential"],
            height_m=[30.0, np.nan],
        ),
        "sensors": frame(  # a: online, offline, unknown; b: unknown; c: a camera in C; out
            [
                at(100, 500),
                at(200, 500),
                at(300, 500),
                at(1200, 500),
                at(2500, 500),
                at(1500, 1500),
            ],
            id=["a1", "a2", "a3", "b1", "c1", "out"],
            kind=["camera"] * 6,
            range_m=[50.0] * 6,
            status=["online", "offline", None, None, "online", "online"],
        ),
        "facilities": frame(
            [at(100, 400), at(1100, 400)],
            id=["f1", "p1"],
            kind=["fire_station", "police"],
            name=["消防站", "派出所"],
            units=[2, 1],
        ),
        "waterlogging_points": frame(  # A: 20 cm and unknown; B: unknown only
            [at(300, 500), at(600, 500), at(1300, 500)],
            id=["w1", "w2", "w3"],
            name=["甲一", "甲二", "乙一"],
            depth_cm=[20.0, np.nan, np.nan],
            observed_at=["2026-07-15 08:00"] * 3,
        ),
    }


@pytest.fixture(scope="session")
def town() -> cim.CityModel:
    return cim.CityModel(town_layers(), name="小城")


@pytest.fixture(scope="session")
def rows(town):
    table = town.vitals("district")
    return {(r.indicator_id, r.unit_code): r for r in table.itertuples()}


def test_unknown_depths_are_left_out_and_said_and_all_unknown_is_no_data(rows, town, tmp_path):
    deep_a = rows[("waterlogged_points", A)]
    assert (deep_a.value, deep_a.status) == (1.0, "ok")
    assert deep_a.note == "1 of 2 waterlogging_points rows have no depth_cm: counted on the 1 known"
    deep_b = rows[("waterlogged_points", B)]  # its only point has no depth: not "0, ok"
    assert math.isnan(deep_b.value) and deep_b.status == "no_data"
    assert deep_b.note == "all 1 waterlogging_points rows have no depth_cm"
    assert rows[("waterlogging_reports", B)].value == 1.0  # the report itself is known
    path = tmp_path / "none.yaml"  # a filter naming None decides missing depths itself
    path.write_text(
        "indicators:\n  - {id: undepthed, name: 无深度, unit: 个, dimension: 公共安全, formula: count,"
        " params: {layer: waterlogging_points, where: 'depth_cm == None'}}\n",
        encoding="utf-8",
    )
    table = town.vitals("district", registry=load_registry(path)).set_index("unit_code")
    assert table.loc[[A, B], "value"].tolist() == [1.0, 1.0]
    assert table.loc[[A, B], "note"].isna().all()


def test_a_share_is_over_the_known_values(rows):
    online_a = rows[("sensor_online_share", A)]  # online, offline, unknown: 1 of 2, not 1 of 3
    assert online_a.value == 0.5
    assert "1 of 3 sensors rows have no status" in online_a.note
    online_b = rows[("sensor_online_share", B)]
    assert online_b.status == "no_data" and "all 1 sensors rows have no status" in online_b.note
    high_b = rows[("high_rise_share", B)]  # b1 has no height: not "0 % high-rise"
    assert high_b.status == "no_data" and "no height_m" in high_b.note
    assert rows[("high_rise_share", A)].value == 1.0


def test_a_kind_the_layer_does_not_list_is_no_data_but_a_unit_without_one_is_zero(rows, town):
    for code in (A, B, C):
        hospitals = rows[("hospital_density", code)]
        assert hospitals.status == "no_data", code
        assert hospitals.note == "the facilities layer has no rows with kind == 'hospital'"
    police_a = rows[("police_density", A)]  # the city lists a police station, in B: A has 0
    assert (police_a.value, police_a.status) == (0.0, "ok") and pd.isna(police_a.note)
    assert rows[("police_density", B)].value == pytest.approx(1.0)
    dry = cim.CityModel(
        {k: v for k, v in town.layers.items() if k != "waterlogging_points"}, name="干城"
    )
    table = dry.vitals("district", indicators=["waterlogged_points"])
    assert set(table["status"]) == {"no_data"}
    assert set(table["note"]) == {"the city has no waterlogging_points layer"}


def test_a_unit_with_no_roads_and_no_buildings_is_no_data_not_zero(rows):
    for indicator in (
        "road_network_density",
        "building_density",
        "floor_area_ratio",
        "waterlogging_reports",
        "police_density",
        "camera_per_road_km",
    ):
        row = rows[(indicator, C)]
        assert math.isnan(row.value) and row.status == "no_data", indicator
        assert row.note == UNCOVERED, indicator
    found = rows[("sensor_density", C)]  # what is found there stands
    assert found.value == pytest.approx(1.0) and found.status == "alarm"
    school = rows[("school_15min_share", A)]  # the buildings have no OSM building tag
    assert (
        school.status == "no_data" and school.note == "the buildings layer has no building column"
    )


def test_the_city_is_the_districts_with_data_and_rows_outside_are_counted(town):
    table = town.vitals("city").set_index("indicator_id")
    density = table.loc["sensor_density"]
    # the area is A + B (C holds no road or building), the sensor in C is outside it
    assert density["value"] == pytest.approx(4 / 2.0)
    assert density["note"] == (
        "area 2.0 km²: the union of the 2 districts that hold roads or buildings (1 of 3 hold none)"
    )
    assert density["outside"] == 2  # c1 in C, and the one beyond every district
    assert table.loc["road_network_density", "outside"] == 0
    by_district = town.vitals("district").set_index("indicator_id")
    assert by_district.loc["sensor_density", "outside"].tolist() == [1, 1, 1]
    report = vitals_report(town.vitals("district"))
    assert (
        r"Rows outside every unit, left out: sensor\_density 1, sensor\_online\_share 1, " in report
    )


def test_without_districts_the_area_is_the_road_hull_and_said(town):
    cross = frame(  # a street across the main road at x = 1000: the hull is a 1 km² rhombus
        [shapely.LineString([(X0 + 1000, Y0), (X0 + 1000, Y0 + 1000)])],
        highway=["residential"],
        road_class=["branch"],
        oneway=[False],
        name=["横街"],
        maxspeed=[None],
    )
    layers = {k: v for k, v in town.layers.items() if k != "districts"}
    layers["roads"] = pd.concat([layers["roads"], cross], ignore_index=True)
    table = cim.CityModel(layers, name="无区").vitals("city").set_index("indicator_id")
    density = table.loc["sensor_density"]
    assert density["value"] == pytest.approx(4 / 1.0)  # a1, a2, a3, b1 in; c1 and out beyond
    assert density["outside"] == 2
    assert density["note"] == (
        "area 1.0 km²: the convex hull of the roads (no districts layer: add one for a true area)"
    )
    assert table.loc["waterlogging_reports", "outside"] == 0


def jinan_roads(lon: float, lat: float, half: float) -> gpd.GeoDataFrame:
    """The Jinan edges with both ends within ``half`` degrees of (lon, lat), as road lines."""
    nodes = pd.read_csv("sample_data/networks/jinan_nodes.csv.gz").set_index("node_id")
    edges = pd.read_csv("sample_data/networks/jinan_edges.csv.gz")
    inside = nodes[(abs(nodes["lon"] - lon) < half) & (abs(nodes["lat"] - lat) < half)].index
    edges = edges[edges["from_node"].isin(inside) & edges["to_node"].isin(inside)]
    edges = edges[edges["from_node"] != edges["to_node"]]
    ends = [nodes.loc[edges[c], ["lon", "lat"]].to_numpy() for c in ("from_node", "to_node")]
    return gpd.GeoDataFrame(
        {"highway": edges["highway"].to_numpy(), "oneway": True, "name": None, "maxspeed": None},
        geometry=shapely.linestrings(np.stack(ends, axis=1)),
        crs=4326,
    )


@pytest.fixture(scope="session")
def jinan(tmp_path_factory):
    """Part of the real Jinan network, no districts; 5 sensors within the road hull, 2 beyond."""
    lon, lat = 117.02, 36.66
    roads = jinan_roads(lon, lat, 0.01)
    hull = shapely.convex_hull(shapely.union_all(roads.geometry.values))
    points = [(lon + dx, lat + dy) for dx, dy in [(0, 0), (0.002, 0.001), (-0.003, 0.002),
              (0.004, -0.003), (-0.001, -0.004), (0.015, 0.0), (0.0, -0.015)]]  # fmt: skip
    sensors = gpd.GeoDataFrame(
        {"id": [f"s{i}" for i in range(7)], "kind": "camera", "range_m": 50.0, "status": "online"},
        geometry=gpd.points_from_xy(*zip(*points, strict=True)),
        crs=4326,
    )
    assert sensors.within(hull).tolist() == [True] * 5 + [False] * 2
    city = cim.CityModel({"roads": roads, "sensors": sensors}, name="济南")
    path = tmp_path_factory.mktemp("jinan") / "jinan"
    city.save(path)
    return city, path, roads


def test_jinan_without_districts_says_the_area_and_the_sensors_outside(jinan):
    city, _, roads = jinan
    table = city.vitals("city").set_index("indicator_id")
    metric = city.metric_crs
    hull_km2 = (
        shapely.convex_hull(shapely.union_all(roads.to_crs(metric).geometry.values)).area / 1e6
    )
    density = table.loc["sensor_density"]
    assert density["value"] == pytest.approx(5 / hull_km2)
    assert density["outside"] == 2
    assert density["note"] == (
        f"area {hull_km2:,.1f} km²: the convex hull of the roads "
        "(no districts layer: add one for a true area)"
    )
    assert table.loc["camera_per_road_km", "outside"] == 2
    assert table.loc["hospital_density", "note"] == "the city has no facilities layer"
    building = table.loc["building_density"]
    assert building["status"] == "no_data" and building["note"] == "the city has no buildings layer"


def test_jinan_vitals_cli_reports_the_area_and_the_rows_outside(jinan, tmp_path):
    _, path, _ = jinan
    result = CliRunner().invoke(app, ["vitals", "--city", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "o" / "report.md").read_text(encoding="utf-8")
    assert "City area " in report and "the convex hull of the roads" in report
    assert (
        r"Rows outside every unit, left out: sensor\_density 2, sensor\_online\_share 2" in report
    )
    table = pd.read_csv(tmp_path / "o" / "vitals.csv")
    assert set(table["level"]) == {"city"}, "without districts the default level is the city"
    assert table.set_index("indicator_id").loc["sensor_density", "outside"] == 2
