"""Per-city settings: saved with the model, and used by addresses, analyses and maps.

The second real city is Wuhan Optics Valley (``tests/data/wuhan_guanggu_buildings.geojson``,
OSM via Tilezen, ODbL: 265 buildings, 178 without a height); the metric CRS case is Lujiazui
in Shanghai, at 121.5005°E, between two Gauss-Kruger zones.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

import cim
import layers
from cim.address import ADDRESS_FIELDS, AddressBase, parse, parse_many
from cim.cli import app
from cim.coverage import sensor_coverage
from cim.sample import SAMPLE_DEM, SAMPLE_SETTINGS
from cim.views import city_view, coverage_view, export_html
from cim.views.style import MISSING_COLOR
from tests.conftest import near_color, points

WUHAN_BUILDINGS = Path(__file__).parent / "data" / "wuhan_guanggu_buildings.geojson"
LUJIAZUI = shapely.box(121.4955, 31.2300, 121.5055, 31.2420)  # centre 121.5005°E


@pytest.fixture(scope="session")
def wuhan_buildings() -> gpd.GeoDataFrame:
    return layers.load("buildings", WUHAN_BUILDINGS)


def lujiazui(**settings) -> cim.CityModel:
    """Lujiazui as one district polygon with four sensors of the user's own (no synthetic flag)."""
    district = gpd.GeoDataFrame(
        {"code": ["310115000000"], "name": ["浦东新区"], "parent_code": ["310100000000"]},
        geometry=[LUJIAZUI],
        crs=4326,
    )
    sensors = points(
        "s",
        [(121.498, 31.233), (121.503, 31.236), (121.501, 31.240), (121.504, 31.232)],
        kind=["camera", "camera", "water_level", "air"],
        range_m=[80.0, 80.0, 300.0, 500.0],
        status=["online"] * 4,
    )
    return cim.CityModel(
        {"districts": district, "sensors": sensors},
        name="lujiazui",
        settings=cim.CitySettings(**settings),
    )


# -- settings saved with the model ------------------------------------------------------------


def test_settings_round_trip_through_save_and_load(tmp_path, wuhan_buildings):
    dem = tmp_path / "dems" / "wuhan_dem.tif"
    settings = cim.CitySettings(
        home="湖北省武汉市",
        credits="© OpenStreetMap contributors (ODbL), via Tilezen",
        metric_crs="EPSG:4547",
        dem=dem,
    )
    city = cim.CityModel({"buildings": wuhan_buildings}, name="wuhan", settings=settings)
    city.save(tmp_path / "wuhan")

    manifest = json.loads((tmp_path / "wuhan" / "manifest.json").read_text("utf-8"))
    assert manifest["settings"] == {
        "home": "湖北省武汉市",
        "credits": "© OpenStreetMap contributors (ODbL), via Tilezen",
        "metric_crs": 4547,
        "dem": "../dems/wuhan_dem.tif",  # beside the city folder: it moves with it
    }
    loaded = cim.CityModel.load(tmp_path / "wuhan")
    assert loaded.settings == settings and loaded.name == "wuhan"
    assert loaded.settings.dem == dem.resolve()


def test_a_manifest_without_settings_loads_with_none(tmp_path, wuhan_buildings):
    path = cim.CityModel({"buildings": wuhan_buildings}).save(tmp_path / "old")
    manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    del manifest["settings"]  # as written before settings existed
    (path / "manifest.json").write_text(json.dumps(manifest), "utf-8")

    city = cim.CityModel.load(path)
    assert city.settings == cim.CitySettings()
    assert city.metric_crs.to_epsg() == 4547  # auto-picked: Wuhan, 114°E


def test_a_manifest_with_an_unknown_setting_is_refused_naming_the_file(tmp_path):
    path = cim.CityModel({"districts": lujiazui().layer("districts")}).save(tmp_path / "c")
    manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    manifest["settings"]["metric_crs"] = 4326  # degrees, not metres
    (path / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(layers.InputError, match=r"manifest\.json: city settings: metric_crs 4326"):
        cim.CityModel.load(path)
    manifest["settings"] = {"hom": "上海市"}
    (path / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(layers.InputError, match="unknown 'hom'; the settings are credits, dem"):
        cim.CityModel.load(path)


def test_the_sample_carries_its_own_settings():
    city = cim.sample_city()
    assert city.settings == SAMPLE_SETTINGS
    assert city.settings.home == "四川省成都市" and city.settings.dem == SAMPLE_DEM.resolve()
    assert "OpenStreetMap" in city.settings.credits and city.metric_crs.to_epsg() == 4544


def test_cim_flood_reads_the_dem_of_the_city_settings(tmp_path):
    missing = tmp_path / "lujiazui_dem.tif"
    lujiazui(dem=missing).save(tmp_path / "city")
    result = CliRunner().invoke(
        app,
        [
            "flood",
            "--rain-mm-h",
            "60",
            "--hours",
            "1",
            "--city",
            str(tmp_path / "city"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 1 and "lujiazui_dem.tif" in result.output, result.output


# -- metric CRS: auto-picked, overridable --------------------------------------------------------


def test_the_metric_crs_setting_is_used_by_an_analysis():
    auto, chosen = lujiazui(), lujiazui(metric_crs=4549)
    assert auto.metric_crs.to_epsg() == 4550  # 121.5005°E rounds to the 123°E zone
    assert chosen.metric_crs.to_epsg() == 4549

    def area_km2(epsg: int) -> float:
        return gpd.GeoSeries([LUJIAZUI], crs=4326).to_crs(epsg).area.iloc[0] / 1e6

    got = sensor_coverage(chosen, levels=["district"])["area_km2"].iloc[0]
    assert got == pytest.approx(area_km2(4549), rel=1e-9)
    assert got != pytest.approx(area_km2(4550), rel=1e-9)
    default = sensor_coverage(auto, levels=["district"])["area_km2"].iloc[0]
    assert default == pytest.approx(area_km2(4550), rel=1e-9)


# -- addresses: a district name that several cities share -----------------------------------------


@pytest.mark.parametrize(
    ("text", "home", "city", "code"),
    [
        ("青山区和平大道1号", "湖北省武汉市", "武汉市", "420107000000"),
        ("青山区和平大道1号", "420100000000", "武汉市", "420107000000"),
        ("青山区钢铁大街1号", "内蒙古自治区包头市", "包头市", "150204000000"),
        ("鼓楼区中山路1号", "福建省福州市", "福州市", "350102000000"),
        ("鼓楼区中山路1号", "徐州", "徐州市", "320302000000"),
    ],
)
def test_a_shared_district_name_is_coded_to_the_home_city(text, home, city, code):
    address = parse(text, home=home)
    assert (address.city, address.division_code, address.ambiguous) == (city, code, None)


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("青山区和平大道1号", ["包头市青山区", "武汉市青山区"]),
        ("鼓楼区中山路1号", ["南京市鼓楼区", "徐州市鼓楼区", "福州市鼓楼区", "开封市鼓楼区"]),
    ],
)
def test_without_a_home_a_shared_district_name_is_flagged_not_guessed(text, places):
    address = parse(text)
    assert address.district == text[:3] and address.road_no == "1号"
    assert (address.province, address.city, address.division_code) == (None, None, None)
    assert all(place in address.ambiguous for place in places)


def test_a_home_province_with_two_of_the_name_still_flags_them():
    address = parse("鼓楼区中山路1号", home="江苏省")
    assert address.city is None and address.ambiguous.startswith("鼓楼区 is in 2 places")
    assert "南京市鼓楼区" in address.ambiguous and "徐州市鼓楼区" in address.ambiguous


def test_a_home_that_is_no_one_division_is_refused():
    with pytest.raises(layers.InputError, match="home '青山区' is not one province, city"):
        parse("青山区和平大道1号", home="青山区")


def test_the_address_base_takes_home_from_the_city_settings(wuhan_buildings):
    texts = ["湖北省武汉市洪山区珞喻路1号", "湖北省武汉市洪山区关山大道2号"]
    addresses = points(
        "a",
        [(114.392, 30.509), (114.400, 30.505)],
        address=texts,
        **parse_many(texts)[list(ADDRESS_FIELDS)].to_dict("list"),
    )
    at_home = cim.CityModel(
        {"buildings": wuhan_buildings, "addresses": addresses},
        settings=cim.CitySettings(home="湖北省武汉市"),
    )
    nowhere = cim.CityModel({"buildings": wuhan_buildings, "addresses": addresses})
    query = ["青山区和平大道1号"]

    found = AddressBase.from_city(at_home).geocode(query).iloc[0]
    assert found["reason"] is None
    unsure = AddressBase.from_city(nowhere).geocode(query).iloc[0]
    assert "青山区 is in 2 places" in unsure["reason"] and "湖北省武汉市青山区" in unsure["reason"]


def test_cli_address_parse_reads_shared_names_with_home(tmp_path):
    source = tmp_path / "in.csv"
    pd.DataFrame({"address": ["青山区和平大道1号", "武侯区人民南路四段1号"]}).to_csv(source)
    runner = CliRunner()

    result = runner.invoke(app, ["address", "parse", str(source), str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    assert "1 rows name a district or town that several places have" in result.output
    plain = pd.read_csv(tmp_path / "a.csv")
    assert pd.isna(plain.loc[0, "city"]) and "武汉市青山区" in plain.loc[0, "ambiguous"]
    assert plain.loc[1, "city"] == "成都市"

    args = ["address", "parse", str(source), str(tmp_path / "b.csv"), "--home", "湖北省武汉市"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "b.csv").loc[0, "city"] == "武汉市"

    result = runner.invoke(app, [*args[:4], "--home", "火星市"])
    assert result.exit_code == 1 and "home '火星市' is not one province" in result.output


# -- maps: unknown heights, credits and the synthetic note from the data --------------------------


def test_buildings_without_height_are_their_own_class_counted_in_the_legend(wuhan_buildings):
    heights = wuhan_buildings["height_m"]
    unknown = int(heights.isna().sum() + (heights == 0).sum())  # a height of 0 m is no height
    assert unknown == 178 and len(wuhan_buildings) == 265
    city = cim.CityModel({"buildings": wuhan_buildings}, name="武汉光谷")

    deck = city_view(city, preset="2d", color_by="height")
    assert f"高度未知：{unknown} 栋" in deck.description
    assert [row["height"] > 0 for row in deck.layers[0].data].count(True) == 265 - unknown
    low = int(heights.between(0, 24, inclusive="right").sum())  # known heights only
    assert f"≤ 24 m 低层/多层：{low} 栋" in deck.description
    assert f"高度未知：{unknown} 栋" in city_view(city, preset="2d").description  # by use too
    assert "OpenStreetMap" not in deck.description  # the city claims no credits


def test_map_credits_come_from_the_city_and_are_escaped(tmp_path, wuhan_buildings):
    credits = '<img src=x onerror="alert(1)"> 武汉 & Tilezen'
    city = cim.CityModel({"buildings": wuhan_buildings}, settings=cim.CitySettings(credits=credits))
    deck = city_view(city, preset="2d")
    assert "数据：&lt;img src=x onerror=&quot;alert(1)&quot;&gt; 武汉 &amp; Tilezen" in (
        deck.description
    )
    assert "OpenStreetMap" not in deck.description
    page = export_html(deck, tmp_path / "map.html").read_text("utf-8")
    assert "<img src=x" not in page and 'onerror="alert' not in page


def test_the_synthetic_note_follows_the_synthetic_column(city):
    assert "合成数据：传感器 1377/1377" in coverage_view(city, mode="ranges").description
    own = cim.CityModel(
        {**city.layers, "sensors": city.layer("sensors").assign(synthetic=False)},
        settings=city.settings,
    )
    note = coverage_view(own, mode="ranges").description
    assert "传感器 " not in note and "OpenStreetMap" in note

    lujiazui_note = coverage_view(lujiazui(credits="浦东测试"), mode="ranges").description
    assert "合成" not in lujiazui_note and "数据：浦东测试" in lujiazui_note


@pytest.mark.browser
def test_buildings_of_unknown_height_are_drawn_grey_in_the_browser(
    wuhan_buildings, tmp_path, render
):
    city = cim.CityModel({"buildings": wuhan_buildings}, name="武汉光谷")
    path = export_html(city_view(city, preset="2d", color_by="height"), tmp_path / "h.html")
    shown = render(path)
    assert shown.offline
    # 2,606 grey pixels; about 600 (legend, text edges) when they were drawn in the ≤ 24 m class
    assert near_color(shown.pixels, MISSING_COLOR[:3], tolerance=12) > 1500
