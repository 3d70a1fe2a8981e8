import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cim
from cim.coverage import sensor_coverage

X, Y = 405000.0, 3395000.0  # a spot in Chengdu, EPSG:4544 metres


def metric(geometries, **columns):
    return gpd.GeoDataFrame(columns, geometry=geometries, crs=4544).to_crs(4326)


@pytest.fixture(scope="session")
def block():
    """A 1 km x 1 km district with two online sensors, one offline, four buildings and a road."""
    square = shapely.box(X, Y, X + 1000, Y + 1000)
    districts = metric(
        [square], code=["510104000000"], name=["测试区"], parent_code=["510100000000"]
    )
    sensors = metric(
        [shapely.Point(X + 500, Y + 500), shapely.Point(X, Y), shapely.Point(X + 800, Y + 200)],
        id=["centre", "corner", "broken"],
        kind=["camera", "manhole", "camera"],
        range_m=[100.0, 100.0, 300.0],
        status=["online", "online", "offline"],
    )
    buildings = metric(
        [
            shapely.Point(X + 500 + dx, Y + 500 + dy).buffer(5)
            for dx, dy in ((50, 0), (-440, -470), (300, 300), (-200, 350))
        ],
        id=["b1", "b2", "b3", "b4"],
        height_m=10.0,
        use="residential",
    )
    roads = metric(
        [shapely.LineString([(X, Y + 500), (X + 1000, Y + 500)])],
        highway=["primary"],
        oneway=[False],
        name=["测试路"],
        maxspeed=[None],
    )
    return cim.CityModel(
        {"roads": roads, "districts": districts, "sensors": sensors, "buildings": buildings}
    )


def test_coverage_equals_the_hand_computed_case(block):
    row = sensor_coverage(block, levels=["district"], target_density=3).iloc[0]
    circle = math.pi * 100**2
    assert row.area_km2 == pytest.approx(1.0, rel=1e-6)
    assert (
        row.sensors == 2 and row.sensors_camera == 1 and row.sensors_manhole == 1
    )  # offline not counted
    assert row.density_per_km2 == pytest.approx(2.0, rel=1e-6)
    assert row.covered_share == pytest.approx(
        (circle + circle / 4) / 1e6, rel=5e-3
    )  # buffers are polygons
    assert row.buildings == 4 and row.buildings_covered_share == 0.5
    assert row.road_km == pytest.approx(1.0, rel=1e-6)
    assert row.road_covered_share == pytest.approx(0.2, rel=1e-3)
    # along the road: the centre camera covers 100 m each way; the corner manhole is 500 m
    # from the road, so it is not a road-side sensor
    assert row.road_network_covered_share == pytest.approx(0.2, rel=1e-6)
    assert row.below_target


def test_coverage_on_the_sample_has_every_level_and_sane_shares(city):
    table = sensor_coverage(city)
    assert set(table["level"]) == {"grid", "community", "street", "district"}
    for column in ("covered_share", "buildings_covered_share", "road_covered_share"):
        values = table[column].dropna()
        assert values.between(0, 1 + 1e-9).all()
    grid = table[table["level"] == "grid"]
    sensors = city.layer("sensors")
    online = sensors[sensors["status"] == "online"]
    inside = online.geometry.intersects(city.layer("grid").union_all())
    assert grid["sensors"].sum() == inside.sum()


def test_missing_unit_layers_are_named(block):
    with pytest.raises(KeyError, match="none of the unit layers grid"):
        sensor_coverage(block, levels=["grid"])


def test_covered_shares_equal_those_against_the_whole_union(city):
    """Clipping part by part gives the shares of one intersection with the whole union."""
    window = shapely.box(104.06, 30.67, 104.09, 30.70)  # ~3 km x 3 km of the sample's sensors
    part = cim.CityModel(
        {
            name: city.layer(name)[city.layer(name).intersects(window)]
            for name in ("roads", "sensors", "buildings", "grid", "communities", "streets")
        }
    )
    table = sensor_coverage(part).set_index(["level", "unit_code"])
    sensors = part.layer("sensors").query("status == 'online'").to_crs(4544)
    covered = shapely.union_all(sensors.buffer(sensors["range_m"], quad_segs=32).values)
    assert shapely.get_num_geometries(covered) > 10  # many parts, roads crossing several
    roads = part.layer("roads").to_crs(4544).geometry.values
    covered_roads = shapely.intersection(roads, covered)
    for level, name in (("grid", "grid"), ("community", "communities"), ("street", "streets")):
        units = part.layer(name).to_crs(4544)
        shapes = units.geometry.values
        road_m = [shapely.length(shapely.intersection(roads, unit)).sum() for unit in shapes]
        covered_m = [shapely.length(shapely.intersection(covered_roads, u)).sum() for u in shapes]
        rows = table.loc[level].loc[units["code"].astype(str)]
        np.testing.assert_allclose(rows["road_km"], np.divide(road_m, 1000), rtol=1e-9)
        np.testing.assert_allclose(
            rows["covered_share"],
            shapely.area(shapely.intersection(shapes, covered)) / shapely.area(shapes),
            rtol=1e-9,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            rows["road_covered_share"],
            np.divide(
                covered_m, road_m, out=np.full(len(shapes), np.nan), where=np.greater(road_m, 0)
            ),
            rtol=1e-9,
            atol=1e-12,
        )
