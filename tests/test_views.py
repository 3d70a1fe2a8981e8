import itertools
import re
from html import unescape

import geopandas as gpd
import numpy as np
import pydeck as pdk
import pytest
import shapely

import cim
from cim.coverage import sensor_coverage
from cim.response import dispatch_incidents
from cim.sample import synthetic_buildings
from cim.views import (
    choropleth_view,
    city_view,
    classify,
    compose,
    coverage_view,
    dispatch_view,
    export_html,
    service_area_view,
    waterlogging_view,
)
from cim.views.html import _columnar
from cim.views.layers import building_layer, path_layer
from cim.views.style import DEPTH_CLASSES, ETA_CLASSES, fixed_classes
from tests.conftest import CITY_VIEW_WITH_ROUTES, near_color, points

HOSTILE = "</script><script>document.title='x'</script>"
HOSTILE_TAG = "<img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture(scope="session")
def routes(city):
    return dispatch_incidents(city)


@pytest.fixture(scope="session")
def hostile_city(city):
    buildings = city.layer("buildings").head(30).copy()
    buildings["name"] = HOSTILE
    facilities = city.layer("facilities").head(5).copy()
    facilities["name"] = HOSTILE_TAG
    return cim.CityModel(
        {"roads": city.layer("roads"), "buildings": buildings, "facilities": facilities},
        name=HOSTILE_TAG,
    )


def test_city_view_has_the_layers_and_camera_presets(city, routes):
    deck = city_view(city, routes=routes)
    assert [layer.id for layer in deck.layers] == CITY_VIEW_WITH_ROUTES
    assert deck.initial_view_state.pitch == 50
    assert city_view(city, preset="2d").initial_view_state.pitch == 0
    assert deck.map_provider is None


def test_exported_html_references_no_other_file_or_host(city, routes, tmp_path):
    text = export_html(city_view(city, routes=routes), tmp_path / "map.html").read_text("utf-8")
    assert re.findall(r"<(?:script|link|img|iframe)[^>]*\b(?:src|href)\s*=", text) == []
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "createDeck" in text  # the deck.gl bundle is inline


def test_hostile_names_cannot_break_out_of_the_script(hostile_city, tmp_path):
    text = export_html(city_view(hostile_city), tmp_path / "map.html", title=HOSTILE).read_text(
        "utf-8"
    )
    assert HOSTILE not in text and HOSTILE_TAG not in text
    assert text.count("</script") == 2  # the ends of the bundle's block and of ours, nothing else


@pytest.mark.browser
def test_hostile_names_stay_text_in_the_browser(hostile_city, tmp_path, render):
    path = export_html(city_view(hostile_city), tmp_path / "map.html", title="安全测试")
    shown = render(  # a building's tooltip as the page shows it, then the page's title and panel
        path,
        draw=False,
        evaluate="""(async () => {
            const layer = window.cimDeck.props.layers.find(l => l.id === 'buildings');
            const tip = window.cimDeck.props.getTooltip({picked: true, object: layer.props.data[0]});
            const box = document.createElement('div');
            box.innerHTML = tip.html;
            await new Promise(resolve => setTimeout(resolve, 50));
            return {
                text: box.textContent,
                tags: [...box.querySelectorAll('*')].map(e => e.tagName),
                title: document.title,
                panel: document.getElementById('cim-panel').innerText,
            };
        })()""",
    )
    assert shown.title == "安全测试" and shown.errors == []
    tooltip = shown.value
    assert HOSTILE in tooltip["text"]
    assert set(tooltip["tags"]) <= {"B", "BR"}
    assert tooltip["title"] == "安全测试"
    assert HOSTILE_TAG in tooltip["panel"]


def changed_pixels(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 30).sum())


@pytest.fixture(scope="session")
def coverage_table(city):
    return sensor_coverage(city)


@pytest.fixture(scope="session")
def all_views(city, routes, coverage_table):
    stations = city.layer("facilities").query("kind == 'fire_station'").head(3)
    areas = city.router(profile="fire_engine").service_areas(stations, cutoffs=[180, 300])
    water = points(
        "w",
        [(104.05, 30.66), (104.07, 30.67), (104.09, 30.69), (104.06, 30.70)],
        depth_cm=[8.0, 18.0, 42.0, np.nan],
        name=["浅", "中", "深", "未知"],
    )
    flooded = gpd.GeoDataFrame(  # a flooded area, a blocked point and a flooded road
        {"depth_cm": [40.0, 60.0, 35.0], "closed_for": [["car"], ["car"], ["car"]]},
        geometry=[
            shapely.Point(104.07, 30.67).buffer(0.004),
            shapely.Point(104.08, 30.68),
            shapely.LineString([(104.045, 30.655), (104.055, 30.665)]),
        ],
        crs=4326,
    )
    city_3d = city_view(city, routes=routes)
    city_3d.layers.append(  # rows of a shape we do not encode travel as plain JSON
        pdk.Layer("ScatterplotLayer", [{"lonlat": [104.06, 30.66], "r": 50}], id="plain")
    )
    return {
        "city_3d": city_3d,
        "dispatch": dispatch_view(city, routes, closures=flooded),
        "choropleth": choropleth_view(
            city, "density_per_km2", level="community", data=coverage_table
        ),
        "waterlogging": waterlogging_view(city, points=water, closures=flooded),
        "coverage_units": coverage_view(city, coverage_table, level="street"),
        "coverage_ranges": coverage_view(city, mode="ranges"),
        "coverage_hexagons": coverage_view(city, mode="hexagons"),
        "service_areas": service_area_view(city, areas),
    }


@pytest.mark.browser
def test_every_view_draws_offline_and_differs_from_every_other(all_views, tmp_path, render):
    shots = {}
    for name, deck in all_views.items():
        state = PAGE_STATE if name == "city_3d" else "({})"  # picking and rows cost seconds
        shown = render(
            export_html(deck, tmp_path / f"{name}.html"), evaluate=f"[{DRAWN_ONCE}, {state}]"
        )
        assert shown.offline, (name, shown.errors, shown.requests)
        assert shown.drawn > 20_000, name
        shots[name] = shown.pixels
        (layers_drawn, drawable), state = shown.value
        if name == "coverage_hexagons":  # deck.gl draws again when the hexagons' bins are ready
            assert drawable <= layers_drawn < 2 * drawable
        else:
            assert layers_drawn == drawable > 0, name  # each layer once (see html.py)
        if name == "city_3d":
            assert_rows_rebuilt(deck, state["rows"])
            assert_buildings_and_routes_drawn(shown, state)
    for (a, pa), (b, pb) in itertools.combinations(shots.items(), 2):
        assert changed_pixels(pa, pb) > 5_000, (a, b)


def test_the_3d_choropleth_raises_each_unit_by_its_value(city, coverage_table):
    """Drawn like the extruded buildings of the 3D city view (rendered in the test above);
    a 2D city coloured by height is rendered in test_city_settings."""
    flat = choropleth_view(city, "density_per_km2", level="community", data=coverage_table)
    tilted = choropleth_view(
        city, "density_per_km2", level="community", data=coverage_table, preset="3d"
    )
    assert (flat.initial_view_state.pitch, tilted.initial_view_state.pitch) == (0, 50)
    units = tilted.layers[-1]
    assert units.extruded and units.get_elevation == "@@=height" and not flat.layers[-1].extruded
    colors = [tuple(row["color"]) for row in flat.layers[-1].data]
    assert colors == [tuple(row["color"]) for row in units.data]
    height_of = {
        c: {row["height"] for row in units.data if tuple(row["color"]) == c} for c in colors
    }
    assert all(len(h) == 1 for h in height_of.values())  # one height a class
    assert len({h for (h,) in height_of.values()}) == len(height_of) >= 2


# layers deck.gl drew since the page opened, and those it can draw
DRAWN_ONCE = """[window.cimDeck.stats.get('Layers rendered').count,
    window.cimDeck.layerManager.getLayers().filter(layer => layer.isDrawable).length]"""
# the rows deck.gl holds, and how many objects of a layer the picking pass finds on screen
PAGE_STATE = """(() => {
    const deck = window.cimDeck;
    const onScreen = id => deck.pickObjects(
        {x: 0, y: 0, width: deck.width, height: deck.height, layerIds: [id]}).length;
    return {
        rows: Object.fromEntries(deck.props.layers.map(l => [l.id, l.props.data])),
        onScreen: {buildings: onScreen('buildings'), routes: onScreen('routes')},
    };
})()"""


def assert_buildings_and_routes_drawn(shown, state: dict) -> None:
    assert state["onScreen"]["buildings"] > 100
    assert state["onScreen"]["routes"] > 5
    route_pixels = sum(near_color(shown.pixels, color, 20) for _, _, color in ETA_CLASSES)
    assert route_pixels > 500


def flat(value) -> list[float]:
    if isinstance(value, list):
        return [x for item in value for x in flat(item)]
    return [value]


def assert_rows_rebuilt(deck: pdk.Deck, rows: dict) -> None:
    """The page rebuilds exactly the rows Python built, layer by layer."""
    for layer in deck.layers:
        got = rows[layer.id]
        assert len(got) == len(layer.data), layer.id
        for mine, theirs in zip(layer.data, got, strict=True):
            assert set(mine) == set(theirs), layer.id
            for key, value in mine.items():
                if key in ("color", "line"):
                    assert theirs[key] == [*value, 255][:4]
                elif isinstance(value, str):
                    assert theirs[key] == value
                else:
                    np.testing.assert_allclose(flat(theirs[key]), flat(value), rtol=1e-6, atol=1e-7)


def test_rows_of_an_unknown_shape_are_left_as_json():
    assert _columnar([{"lonlat": [104.0, 30.0]}]) is None
    assert _columnar([{"tip": "a"}, {"other": 1}]) is None
    encoded = _columnar([{"tip": "a", "height": 3.5}, {"tip": None, "height": 4}])
    assert encoded["length"] == 2 and encoded["columns"]["tip"]["table"][-1] is None


@pytest.mark.browser
def test_100k_buildings_fit_in_25_mb_and_the_browser_rebuilds_every_row(tmp_path, render):
    """The rows the page builds, with deck.gl kept from drawing: buildings are drawn in the
    every-view test, and a first frame of 100k extruded ones takes SwiftShader ~20 s."""
    buildings = synthetic_buildings(100_000)
    deck = compose(
        [building_layer(buildings)], bounds=buildings.total_bounds, title="10 万栋", preset="3d"
    )
    path = export_html(deck, tmp_path / "100k.html")
    assert path.stat().st_size <= 25e6
    shown = render(
        path,
        evaluate="(() => { const d = window.cimDeck.props.layers[0].props.data; "
        "return [d.length, d[99999].polygon[0][0], d[99999].height]; })()",
        draw=False,
    )
    assert shown.errors == []
    count, corner, height = shown.value
    last = deck.layers[0].data[-1]
    assert count == 100_000
    np.testing.assert_allclose(corner, last["polygon"][0][0], atol=1e-7)
    assert height == pytest.approx(last["height"], rel=1e-6)


@pytest.mark.browser
def test_the_15_cm_rule_draws_a_dark_ring(city, tmp_path, render):
    at = {16.0: (104.065, 30.665), 15.0: (104.095, 30.685), 5.0: (104.08, 30.70)}
    water = points("w", list(at.values()), depth_cm=list(at))
    near = cim.CityModel({"roads": city.layer("roads").cx[104.06:104.10, 30.66:30.71]})
    shown = render(
        export_html(waterlogging_view(near, points=water), tmp_path / "w.html"),
        evaluate=f"{[list(c) for c in at.values()]}.map(c => window.cimDeck.getViewports()[0].project(c))",
    )

    def dark_pixels(depth: float) -> int:  # near the disc of that depth, in screen pixels
        x, y = np.round(shown.value[list(at).index(depth)]).astype(int)
        return near_color(
            shown.pixels[max(y - 60, 0) : y + 60, max(x - 60, 0) : x + 60], (40, 20, 20), 25
        )

    assert dark_pixels(16.0) - dark_pixels(15.0) > 300  # a 4 px ring round a 30 px disc


def test_classes_follow_mapclassify_and_the_fixed_rules():
    values = np.arange(1.0, 21.0)
    quantiles = classify(values, scheme="quantiles", k=4)
    import mapclassify  # after cim.views.style has loaded it, which defers its numba compile

    assert quantiles.index.tolist() == mapclassify.Quantiles(values, k=4).yb.tolist()
    depth = fixed_classes([0, 15, 15.01, 30, 50, 51, np.nan], DEPTH_CLASSES)
    assert depth.index.tolist() == [0, 0, 1, 1, 2, 3, -1]
    assert depth.legend[-1][0] == "无数据"
    many = classify([f"类{i}" for i in range(12)] + [None])
    assert many.labels[-1] == "其他" and many.index[-1] == -1 and len(many.colors) == 11
    with pytest.raises(ValueError, match="every value is missing"):
        classify([np.nan, np.nan])


def test_choropleth_by_a_text_column_and_clear_errors(city):
    deck = choropleth_view(city, "name", level="district")
    assert "锦江区" in deck.description
    with pytest.raises(KeyError, match=r"no column 'population'.*code"):
        choropleth_view(city, "population", level="district")
    with pytest.raises(ValueError, match="level must be one of"):
        choropleth_view(city, "name", level="province")
    with pytest.raises(ValueError, match="preset must be one of"):
        city_view(city, preset="4d")


def test_views_take_layers_in_a_projected_crs(city):
    roads = city.layer("roads").head(50)
    projected = path_layer(roads.to_crs(4544), id="r").data[0]["path"][0]
    np.testing.assert_allclose(projected, path_layer(roads, id="r").data[0]["path"][0], atol=2e-6)


def test_a_view_shows_inline_in_jupyter_without_a_cdn(city):
    shown = city_view(city, preset="2d")._repr_html_()
    assert shown.startswith('<iframe srcdoc="') and shown.count('"') == 6
    page = unescape(re.search(r'srcdoc="([^"]*)"', shown).group(1))
    assert "createDeck" in page and "default-src 'none'" in page
    assert re.findall(r"<(?:script|link|img|iframe)[^>]*\b(?:src|href)\s*=", page) == []
