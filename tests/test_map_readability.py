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
import mapclassify
import numpy as np
import pandas as pd
import pytest
import shapely

import cim
import layers
from cim.views import (
    choropleth_view,
    classify,
    coverage_view,
)
from cim.views.style import format_bounds

WUHAN_BUILDINGS = Path(__file__).parent / "data" / "wuhan_guanggu_buildings.geojson"


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
    bins = mapclassify.Quantiles(data["built_km2"].to_numpy(), k=5).bins
    assert len({f"{b:,.1f}" for b in bins}) < len(bins)  # the old one-decimal legend merged them
    labels = [label for label in legend_labels(deck.description) if label != "无数据"]
    uppers = [float(label.split(" – ")[-1].replace(",", "")) for label in labels]
    assert len(set(labels)) == len(labels) == len(bins)
    np.testing.assert_allclose(uppers, bins, rtol=0.05)  # two significant digits at least
    assert "0.0 – 0.0" not in deck.description


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
