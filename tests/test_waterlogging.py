import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

import routing
from cim.waterlogging import DEMError, depressions, ponding, read_dem, road_closures
from tests.conftest import points


def write_dem(
    path,
    elevation,
    *,
    origin=(405000.0, 3396000.0),
    cell=5.0,
    crs="EPSG:4544",
    cell_y=None,
    nodata=-9999.0,
    dtype="float64",
):
    transform = from_origin(origin[0], origin[1], cell, cell_y or cell)
    profile = {
        "driver": "GTiff",
        "height": elevation.shape[0],
        "width": elevation.shape[1],
        "count": 1,
        "dtype": dtype,
        "transform": transform,
        "nodata": nodata,
    }
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as target:
        target.write(np.where(np.isnan(elevation), nodata, elevation).astype(dtype), 1)
    return path


def pit_dem(tmp_path):
    z = np.full((40, 40), 10.0)
    z[15:25, 15:25] = 9.5  # a 10 x 10-cell pit, 0.5 m deep: 100 cells x 25 m2 x 0.5 m = 1250 m3
    return read_dem(write_dem(tmp_path / "pit.tif", z))


def test_depressions_are_measured(tmp_path):
    found, labels = depressions(pit_dem(tmp_path))
    assert len(found) == 1
    pit = found.iloc[0]
    assert pit.max_depth_m == pytest.approx(0.5) and pit.area_m2 == pytest.approx(2500)
    assert pit.storage_m3 == pytest.approx(1250) and (labels > 0).sum() == 100


def test_rain_fills_a_depression_to_the_hand_computed_level(tmp_path):
    dem = pit_dem(tmp_path)
    # 40 x 40 cells x 25 m2 = 40,000 m2 of catchment; excess (40 * 0.9 - 36) mm/h x 1 h = 0 → dry
    dry, _ = ponding(dem, rain_mm_h=40, hours=1, runoff=0.9, drainage_mm_h=36)
    assert dry["water_m3"].sum() == 0
    # excess (60 * 1.0 - 45) mm = 15 mm over 40,000 m2 = 600 m3 < 1250 m3 storage
    ponds, water = ponding(dem, rain_mm_h=60, hours=1, runoff=1.0, drainage_mm_h=45)
    pond = ponds.iloc[0]
    assert pond.inflow_m3 == pytest.approx(600) and pond.water_m3 == pytest.approx(600)
    assert pond.depth_cm == pytest.approx(600 / 2500 * 100)  # 24 cm over the flat pit floor
    assert water.max() == pytest.approx(0.24) and (water > 0).sum() == 100
    # more rain than the pit holds: it fills to the brim and no deeper
    full, _ = ponding(dem, rain_mm_h=200, hours=2, runoff=1.0, drainage_mm_h=0)
    assert full["water_m3"].iat[0] == pytest.approx(1250) and full["depth_cm"].iat[
        0
    ] == pytest.approx(50)


@pytest.mark.parametrize(
    "dem_crs", ["EPSG:4544", "EPSG:32648"]
)  # CGCS2000 GK, or UTM like the SUMO data
def test_rain_floods_a_sink_under_a_road_closing_it_for_cars_not_fire_engines(
    grid, tmp_path, dem_crs
):
    graph = routing.graph_from_roads(grid)
    metric = grid.to_crs(dem_crs)
    west = metric[metric["name"] == "西街"].geometry.iloc[0]
    x0, y0, x1, y1 = metric.total_bounds
    cell = 5.0
    cols, rows = int((x1 - x0 + 200) // cell), int((y1 - y0 + 200) // cell)
    origin = (x0 - 100, y1 + 100)
    xs = origin[0] + (np.arange(cols) + 0.5) * cell
    ys = origin[1] - (np.arange(rows) + 0.5) * cell
    gx, gy = np.meshgrid(xs, ys)
    centre = west.interpolate(0.5, normalized=True)
    z = 500.0 - 0.001 * (gx - x0)  # a gentle plain
    bowl = np.hypot(gx - centre.x, gy - centre.y) < 40
    z[bowl] -= 0.45  # a 45 cm underpass-like sink right under the street
    dem = read_dem(write_dem(tmp_path / "sink.tif", z, origin=origin, cell=cell, crs=dem_crs))
    ponds, water = ponding(dem, rain_mm_h=80, hours=2, runoff=0.9, drainage_mm_h=20)
    assert 30 < ponds["depth_cm"].max() < 50
    closures = road_closures(grid, dem, water)
    assert list(closures["name"]) == ["西街"]
    closed_for = closures["closed_for"].iat[0]
    assert "car" in closed_for and "fire_engine" not in closed_for

    # the quick way north-east runs up the flooded west street; the detour is south then east
    incidents, resources = points("i", [(104.070, 30.6595)]), points("r", [(104.060, 30.6505)])
    car = routing.Router(graph, profile="car")
    car_after = car.with_closures(closures, buffer_m=0.5)
    before, after = car.dispatch(incidents, resources), car_after.dispatch(incidents, resources)
    assert routing.compare_dispatch(before, after)["rerouted"].iat[0]
    flooded = gpd.GeoSeries([centre.buffer(40)], crs=dem_crs).to_crs(4326).iloc[0]
    assert before.geometry.iat[0].intersects(flooded) and not after.geometry.iat[0].intersects(
        flooded
    )
    engine = routing.Router(graph, profile="fire_engine")
    unchanged = routing.compare_dispatch(
        engine.dispatch(incidents, resources),
        engine.with_closures(closures, buffer_m=0.5).dispatch(incidents, resources),
    )
    assert not unchanged["rerouted"].iat[0]


def test_nodata_cells_drain_the_water(tmp_path):
    z = np.full((30, 30), 10.0)
    z[10:20, 10:20] = 9.5
    z[14, 14] = np.nan  # a hole in the middle of the pit: water leaves there
    found, _ = depressions(read_dem(write_dem(tmp_path / "hole.tif", z)))
    assert found.empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"crs": None}, "no CRS"),
        ({"crs": "EPSG:4326", "origin": (104.0, 30.7), "cell": 0.0001}, "not a projected CRS"),
        ({"cell_y": 10.0}, "square pixels"),
    ],
)
def test_bad_dems_are_explained(tmp_path, kwargs, message):
    with pytest.raises(DEMError, match=message):
        read_dem(write_dem(tmp_path / "bad.tif", np.full((10, 10), 5.0), **kwargs))


@pytest.mark.parametrize(
    ("band", "kept"),
    [("float32", "float32"), ("float64", "float64"), ("int16", "float32"), ("int32", "float64")],
)
def test_a_dem_keeps_its_precision_from_the_file_to_the_fill(tmp_path, band, kept):
    from cim.waterlogging import _filled
    from tests.test_priority_flood import reconstructed

    z = np.round(np.random.default_rng(2).random((30, 40)) * 20) + 480  # pits and flats
    z[5, 7] = np.nan
    dem = read_dem(write_dem(tmp_path / "dem.tif", z, dtype=band, nodata=-9999))
    assert dem.elevation.dtype == kept and np.isnan(dem.elevation[5, 7])
    filled = _filled(dem)
    assert filled.dtype == kept
    assert np.array_equal(filled, reconstructed(dem.elevation), equal_nan=True)


def test_a_float32_dem_ponds_as_the_same_heights_in_float64(tmp_path):
    from dataclasses import replace

    from scipy import ndimage

    rng = np.random.default_rng(5)
    z = np.round(500 + ndimage.gaussian_filter(rng.normal(size=(120, 120)), 4) * 40, 2)
    dem = read_dem(write_dem(tmp_path / "dem32.tif", z, dtype="float32"))
    wide = replace(dem, elevation=dem.elevation.astype(np.float64))
    ponds, water = ponding(dem, rain_mm_h=90, hours=2, runoff=0.9, drainage_mm_h=30)
    same, wide_water = ponding(wide, rain_mm_h=90, hours=2, runoff=0.9, drainage_mm_h=30)
    assert water.dtype == np.float32 and len(ponds) > 10
    pd.testing.assert_frame_equal(ponds.drop(columns="geometry"), same.drop(columns="geometry"))
    assert ponds.geometry.geom_equals(same.geometry).all()
    assert np.array_equal(water, wide_water.astype(np.float32))


def test_a_dem_of_complex_numbers_is_refused(tmp_path):
    with pytest.raises(DEMError, match="complex64 values, not elevations"):
        read_dem(write_dem(tmp_path / "complex.tif", np.full((5, 5), 5.0), dtype="complex64"))


def test_an_all_nodata_dem_is_refused(tmp_path):
    with pytest.raises(DEMError, match="every cell is nodata"):
        read_dem(write_dem(tmp_path / "empty.tif", np.full((5, 5), np.nan)))


def test_bad_scenarios_are_explained(tmp_path):
    dem = pit_dem(tmp_path)
    with pytest.raises(ValueError, match="runoff"):
        ponding(dem, rain_mm_h=50, hours=1, runoff=1.5)
    with pytest.raises(ValueError, match="hours"):
        ponding(dem, rain_mm_h=50, hours=-1)


def test_readings_are_classified_by_the_15_cm_rule_and_by_vehicle():
    from cim.waterlogging import classify_readings

    table = pd.DataFrame(
        {
            "sensor_id": ["w1", "w1", "w1", "w1", "w2", "w2", "w2", "w2"],
            "observed_at": ["2026-07-15 08:00", "2026-07-15 08:10", "2026-07-15 08:30", "2026-07-15 08:40",
                            "2026-07-15 08:00", None, "2026-07-15 08:20", "2026-07-15 08:30"],
            "depth_cm": [5, 22, 40, 12, 10, 30, -3, "deep"],
        }
    )  # fmt: skip
    result = classify_readings(table)
    w1 = result.readings[result.readings["sensor_id"] == "w1"]
    assert w1["waterlogged"].tolist() == [False, True, True, False]
    assert w1["closed_for"].tolist()[2] == [
        "car",
        "ambulance",
        "police",
    ]  # 40 cm: fire engines still pass
    assert (
        result.sensors.loc["w1", "minutes_above_15cm"] == 30.0
        and result.sensors.loc["w1", "max_cm"] == 40
    )
    assert not result.sensors.loc["w1", "waterlogged_now"]
    assert result.rejected["reason"].tolist() == [
        "missing or unreadable time",
        "negative depth",
        "missing or non-numeric depth",
    ]
    with pytest.raises(KeyError, match="'depth_cm'"):
        classify_readings(table.drop(columns="depth_cm"))
