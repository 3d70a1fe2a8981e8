import re

import numpy as np
import pytest

import cim
from cim.response import dispatch_incidents
from cim.views import city_view, export_html
from cim.views.style import ETA_CLASSES
from tests.conftest import near_color

HOSTILE = "</script><script>document.title='x'</script>"
HOSTILE_TAG = "<img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture(scope="module")
def routes(city):
    return dispatch_incidents(city)


@pytest.fixture(scope="module")
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
    assert [layer.id for layer in deck.layers] == [
        "districts",
        "roads",
        "buildings",
        "routes",
        "facilities",
        "incidents",
    ]
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
def test_hostile_names_stay_text_in_the_browser(hostile_city, tmp_path, render, browser):
    path = export_html(city_view(hostile_city), tmp_path / "map.html", title="安全测试")
    shown = render(path)
    assert shown.title == "安全测试" and shown.errors == []
    page = browser.new_page()
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-rendered=true]", timeout=60_000)
    tooltip = page.evaluate(
        """(id) => {
            const layer = window.cimDeck.props.layers.find(l => l.id === id);
            const tip = window.cimDeck.props.getTooltip({picked: true, object: layer.props.data[0]});
            const box = document.createElement('div');
            box.innerHTML = tip.html;
            return {text: box.textContent, tags: [...box.querySelectorAll('*')].map(e => e.tagName)};
        }""",
        "buildings",
    )
    assert HOSTILE in tooltip["text"]
    assert set(tooltip["tags"]) <= {"B", "BR"}
    assert page.title() == "安全测试"
    panel = page.inner_text("#cim-panel")
    assert HOSTILE_TAG in panel
    page.close()


def changed_pixels(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 30).sum())


@pytest.mark.browser
def test_offline_render_draws_buildings_and_routes(city, routes, tmp_path, render):
    full = city_view(city, routes=routes)
    shots = {}
    for name, drop in (("full", None), ("no_buildings", "buildings"), ("no_routes", "routes")):
        deck = city_view(city, routes=routes)
        deck.layers = [layer for layer in full.layers if layer.id != drop]
        shots[name] = render(export_html(deck, tmp_path / f"{name}.html"))
    for shot in shots.values():
        assert shot.errors == []
        assert all(url.startswith("file://") for url in shot.requests)
    background = np.array([247, 248, 250])
    assert (np.abs(shots["full"].pixels.astype(int) - background).max(axis=2) > 30).sum() > 20_000
    assert changed_pixels(shots["full"].pixels, shots["no_buildings"].pixels) > 500
    assert changed_pixels(shots["full"].pixels, shots["no_routes"].pixels) > 500
    route_colors = [color for _, _, color in ETA_CLASSES]
    drawn = sum(near_color(shots["full"].pixels, c, 20) for c in route_colors)
    assert drawn > 5 * max(
        sum(near_color(shots["no_routes"].pixels, c, 20) for c in route_colors), 1
    )


@pytest.mark.browser
def test_views_render_differently_in_2d_and_3d(city, tmp_path, render):
    flat = render(export_html(city_view(city, preset="2d"), tmp_path / "flat.html")).pixels
    tilted = render(export_html(city_view(city), tmp_path / "tilted.html")).pixels
    assert changed_pixels(flat, tilted) > 10_000
