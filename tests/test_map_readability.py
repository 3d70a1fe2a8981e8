"""Maps read well on real data: sensor ranges by kind, flooded roads over ponds, closures and
stations on dispatch maps, class bounds written by magnitude.

The second real city is Wuhan Optics Valley (``tests/data/wuhan_guanggu_buildings.geojson``,
OSM via Tilezen, ODbL).
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.figure import Figure
from PIL import Image

import cim
import layers
from cim.views import (
    choropleth_view,
    city_view,
    classify,
    coverage_view,
    dispatch_view,
    waterlogging_view,
)
from cim.views.static import dispatch_map, flood_map
from cim.views.style import CLOSURE_COLOR, DEPTH_CLASSES, FACILITY_COLORS, format_bounds
from tests.conftest import near_color

WUHAN_BUILDINGS = Path(__file__).parent / "data" / "wuhan_guanggu_buildings.geojson"


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def legend(description: str) -> list[tuple[str, list[int]]]:
    """The legend panel's entries: label and swatch colour."""
    found = re.findall(r"background:rgb\((\d+),(\d+),(\d+)\)\"></span>([^<]*)</div>", description)
    return [(unescape(label), [int(r), int(g), int(b)]) for r, g, b, label in found]


def legend_labels(description: str) -> list[str]:
    return [label for label, _ in legend(description)]


# -- class bounds by magnitude ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "written"),
    [
        ([0.00121, 0.00342, 0.0051], ["0.0012", "0.0034", "0.0051"]),  # tiny
        ([0.00121, 0.00124, 0.002], ["0.00121", "0.00124", "0.002"]),  # tiny and close
        ([-3.5, 0.0, 0.004, 12.0, 1500.0], ["-3.5", "0", "0.004", "12", "1,500"]),  # mixed
        ([1_234_567, 1_234_567.4, 25e6], ["1,234,567", "1,234,567.4", "25,000,000"]),  # large
        ([-0.0042, -0.0011, -0.0002], ["-0.0042", "-0.0011", "-0.0002"]),  # negative
        ([5.0, 5.0, 7.0], ["5", "5", "7"]),  # equal bounds
        ([0.1 + 0.2, 0.3], ["0.3", "0.3"]),  # equal but for float noise
    ],
)
def test_class_bounds_are_written_by_magnitude(bounds, written):
    assert format_bounds(bounds) == written


def test_small_values_get_distinct_classes_and_equal_bounds_one_value():
    small = classify([0.0011, 0.0012, 0.0021, 0.0034, 0.0041], scheme="equal_interval", k=3)
    assert small.labels == ["0.0011 – 0.0021", "0.0021 – 0.0031", "0.0031 – 0.0041"]
    assert classify([5.0, 5.0, 5.0]).labels == ["5"]
    assert classify([1.0, 2.0, 3.0], fmt="{:.0%}", bins=[2, 3]).labels == [
        "100% – 200%",
        "200% – 300%",
    ]


def test_a_choropleth_of_a_small_valued_column_on_wuhan_keeps_its_classes_apart():
    buildings = layers.load("buildings", WUHAN_BUILDINGS)
    area = gpd.GeoDataFrame(
        {"code": ["420111000000"]}, geometry=[shapely.box(*buildings.total_bounds)], crs=4326
    )
    cells = layers.unit_grid(area, cell_size=500)
    footprints = buildings.to_crs(4547)
    owner = gpd.sjoin(
        footprints.set_geometry(footprints.representative_point()), cells.to_crs(4547)
    )["code"]
    built = footprints.area.groupby(owner).sum().div(1e6).reindex(cells["code"], fill_value=0.0)
    # built-up km² in each 500 m cell: 0 to 0.055
    data = pd.DataFrame({"code": built.index, "built_km2": built.to_numpy()})
    city = cim.CityModel({"buildings": buildings, "grid": cells}, name="武汉光谷")

    deck = choropleth_view(city, "built_km2", level="grid", data=data, k=5)
    import mapclassify  # here, not at collection: imported at once it compiles a numba kernel

    bins = mapclassify.Quantiles(data["built_km2"].to_numpy(), k=5).bins
    assert len({f"{b:,.1f}" for b in bins}) < len(bins)  # the old one-decimal legend merged them
    labels = [label for label in legend_labels(deck.description) if label != "无数据"]
    uppers = [float(label.split(" – ")[-1].replace(",", "")) for label in labels]
    assert len(set(labels)) == len(labels) == len(bins)
    np.testing.assert_allclose(uppers, bins, rtol=0.05)  # two significant digits at least
    assert "0.0 – 0.0" not in deck.description
    assert "分级：quantiles" in deck.description
    fixed = choropleth_view(city, "built_km2", level="grid", data=data, bins=[0, 0.01, 0.06])
    assert "分级：自定分界" in fixed.description and "quantiles" not in fixed.description
    assert legend_labels(fixed.description)[:3] == ["0", "0 – 0.01", "0.01 – 0.06"]


# -- sensor ranges by kind -------------------------------------------------------------------


def test_wide_sensor_ranges_are_rings_under_the_small_ones(city):
    deck = coverage_view(city, mode="ranges")
    ranges = {layer.id: layer for layer in deck.layers if layer.id.startswith("ranges_")}
    order = list(ranges)
    widest_first = ["rain_gauge", "air", "water_level", "camera", "manhole", "smoke"]
    assert order == [f"ranges_{kind}" for kind in widest_first]
    for kind in ("rain_gauge", "air"):  # 1,500 m and 500 m: outlines only
        layer = ranges[f"ranges_{kind}"]
        assert layer.filled is False and layer.stroked is True
        assert {row["outline"] for row in layer.data} == {1.5}
    for kind in ("water_level", "camera", "manhole", "smoke"):  # 20-100 m: translucent discs
        layer = ranges[f"ranges_{kind}"]
        assert layer.filled is True and {row["color"][3] for row in layer.data} == {40}
    assert [layer.id for layer in deck.layers][-1] == "sensors"
    labels = legend_labels(deck.description)
    assert "雨量计圆环 1,500 m" in labels and "摄像头范围 50 m" in labels


def test_the_units_map_shows_the_wide_rings_that_make_its_coverage(city):
    table = pd.DataFrame(  # any covered share per district: the view only colours it
        {
            "unit_code": city.layer("districts")["code"].astype(str),
            "level": "district",
            "covered_share": 0.5,
            "density_per_km2": 1.0,
        }
    )
    deck = coverage_view(city, table, level="district")
    ids = [layer.id for layer in deck.layers]
    assert ids == ["districts", "roads", "units", "ranges_rain_gauge", "ranges_air", "sensors"]
    assert "雨量计圆环 1,500 m" in legend_labels(deck.description)
    few = coverage_view(city, table, level="district", rings_from_m=2000)
    assert "ranges_rain_gauge" not in [layer.id for layer in few.layers]


# -- flooded roads and ponds -----------------------------------------------------------------


def square(lon: float, lat: float, metres: float) -> shapely.Polygon:
    half = metres / 2 / 111_320
    return shapely.box(lon - half / 0.86, lat - half, lon + half / 0.86, lat + half)


def test_a_flooded_road_leaves_a_small_ponds_depth_colour_readable(city, tmp_path):
    def deep_pixels(depth_cm: float) -> tuple[int, int]:
        ponds = gpd.GeoDataFrame(
            {"water_m3": [30.0, 50.0], "depth_cm": [depth_cm, 10.0]},
            geometry=[square(104.095, 30.69, 12), square(104.07, 30.67, 12)],
            crs=4326,
        )  # the second pond frames the map 3 km wide: a 12 m pond is 3 px across
        road = shapely.LineString([(104.0949, 30.6899), (104.0951, 30.6901)])
        closures = gpd.GeoDataFrame(
            {"depth_cm": [depth_cm], "closed_for": [["car"]]}, geometry=[road], crs=4326
        )
        shown = pixels(flood_map(city, ponds, closures, tmp_path / f"f{depth_cm}.png"))
        return near_color(shown, DEPTH_CLASSES[-1][2], 12), near_color(shown, CLOSURE_COLOR, 12)

    deep, violet_deep = deep_pixels(60.0)
    shallow, violet_shallow = deep_pixels(10.0)  # the same map but the pond's colour
    assert deep - shallow > 15  # the pond reads as ≥ 50 cm: 28 px of its colour, 1 px before
    assert min(violet_deep, violet_shallow) > 10  # and the flooded road over it


def test_flooded_roads_are_thin_violet_lines_over_the_waterlogging_points(city):
    water = gpd.GeoDataFrame(
        {"id": ["p"], "depth_cm": [40.0]}, geometry=[square(104.065, 30.665, 30)], crs=4326
    )
    closures = gpd.GeoDataFrame(
        {"depth_cm": [40.0], "closed_for": [["car", "police"]]},
        geometry=[shapely.LineString([(104.0648, 30.665), (104.0652, 30.665)])],
        crs=4326,
    )
    deck = waterlogging_view(city, points=water, closures=closures)
    assert [layer.id for layer in deck.layers][-2:] == ["waterlogging", "closures"]
    (row,) = deck.layers[-1].data
    assert row["color"] == [*CLOSURE_COLOR, 255] and row["width"] == 2
    assert "封闭车辆：car, police" in row["tip"]
    points = deck.layers[-2].data[0]
    assert points["radius"] > 60 and points["color"][3] == 255  # opaque, wider than the line
    assert ("淹没道路", CLOSURE_COLOR) in legend(deck.description)


# -- closures and stations on dispatch maps --------------------------------------------------


@pytest.fixture(scope="session")
def closed_dispatch(city):
    incidents = city.layer("incidents").head(6)
    stations = city.layer("facilities").query("kind == 'fire_station'")
    route = city.router("car").dispatch(incidents.head(1), stations).geometry.iat[0]
    middle = gpd.GeoSeries([route], crs=4326).to_crs(4544).iloc[0].interpolate(0.5, normalized=True)
    barriers = gpd.GeoDataFrame(
        {"depth_cm": [40.0, 40.0]},
        geometry=[middle.buffer(120), shapely.Point(middle.x + 400, middle.y)],
        crs=4544,
    ).to_crs(4326)
    routes = city.router("car").with_closures(barriers).dispatch(incidents, stations)
    return routes, barriers, stations[["id", "name", "units", "geometry"]]


def test_dispatch_views_draw_the_closures_under_the_routes(city, closed_dispatch):
    routes, barriers, _ = closed_dispatch
    for deck in (
        dispatch_view(city, routes, closures=barriers),
        city_view(city, routes=routes, closures=barriers, preset="2d"),
    ):
        ids = [layer.id for layer in deck.layers]
        assert ids.index("closures_areas") < ids.index("closures_points") < ids.index("routes")
        area = next(layer for layer in deck.layers if layer.id == "closures_areas")
        assert area.data[0]["color"] == [*CLOSURE_COLOR, 60]
        assert "水深：40 cm" in area.data[0]["tip"]
        assert "封闭或受阻" in legend_labels(deck.description)
    assert "closures_areas" not in [layer.id for layer in dispatch_view(city, routes).layers]


def test_the_dispatch_png_draws_stations_and_closures(city, closed_dispatch, tmp_path, monkeypatch):
    routes, barriers, stations = closed_dispatch  # stations as read from a file: no kind column
    sent = stations[stations["id"].isin(routes["resource_id"])]
    assert len(sent) == 4

    def drawn(name: str, **options) -> np.ndarray:
        return pixels(dispatch_map(city, routes, tmp_path / f"{name}.png", **options))

    renders = []
    render = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda *args: renders.append(1) or render(*args))
    every = drawn("every", resources=stations, closures=barriers)
    # drawn when saved (constrained layout measures, then renders), not after each of the
    # five layers geopandas plots (7 renders before)
    assert len(renders) == 2
    one = drawn("one", resources=sent.head(1), closures=barriers)
    orange = FACILITY_COLORS["fire_station"]  # the kind is the city's facility's
    # the legend entry and one triangle about 340 px; each further triangle about 50 px more
    assert near_color(one, orange, 20) > 250
    assert near_color(every, orange, 20) - near_color(one, orange, 20) > 100
    assert near_color(every, CLOSURE_COLOR, 20) > 150  # the 120 m flood and its legend entry
