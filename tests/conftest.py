"""Shared fixtures: the sample city, and a real headless Chromium for the HTML tests."""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import cim
from cim.views.style import BACKGROUND

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-gpu-compositing",  # WebGL still through SwiftShader; the page composited on the CPU
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RENDER_TIMEOUT_MS = 60_000  # a first frame of software WebGL on a loaded 2-core machine
CITY_VIEW_WITH_ROUTES = ["districts", "roads", "buildings", "routes", "facilities", "incidents"]
# deck.gl has drawn a frame, every layer's data is in, and no further frame is pending
SETTLED = """() => document.body.dataset.rendered === 'true'
    && window.cimDeck.layerManager.getLayers().every(layer => layer.isLoaded)
    && !window.cimDeck.needsRedraw({clearRedrawFlags: false})"""


def pytest_collection_modifyitems(items):
    """Tests that drive the browser run first.

    They take most of the suite's time. ``make test`` runs pytest-xdist with ``--dist
    loadgroup --no-loadscope-reorder``: each worker is handed the next test (or the next
    ``xdist_group``, tests sharing an expensive module fixture) when it is free, so the long
    ones are shared out first and the short ones fill the gaps, instead of one worker being
    left with renders at the end. Their expensive fixtures are session-scoped or made once, so
    moving them builds nothing twice and no worker waits for another's.
    """
    items.sort(key=lambda item: "render" not in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def city() -> cim.CityModel:
    return cim.sample_city()


@pytest.fixture(scope="session")
def invoke(city):
    """Run ``cim ARGS`` in-process on the session's sample city, its console 200 columns wide."""
    from rich.console import Console
    from typer.testing import CliRunner

    import cim.cli
    import cim.sample

    def _invoke(*args):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(cim.sample, "sample_city", lambda: city)  # the commands import it
            patch.setattr(cim.cli, "console", Console(width=200, soft_wrap=True))
            return CliRunner().invoke(cim.cli.app, [str(a) for a in args])

    return _invoke


@pytest.fixture(scope="session")
def made_once(tmp_path_factory):
    """``made_once(name, make)``: a folder ``make(folder)`` fills once per test run.

    pytest-xdist workers each build their own session fixtures, so an expensive output that
    tests on two workers read (a CLI run's folder) would be made twice. Here the first worker
    to ask makes it in the run's shared temp folder, under a lock, and the others wait and
    read it. ``make`` returns a JSON value (the run's stdout, say), returned with the folder.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent  # the run's folder, above each worker's
    else:
        shared = tmp_path_factory.mktemp("made_once")

    def _made_once(name: str, make) -> tuple[Path, object]:
        folder, made = shared / name, shared / f"{name}.json"
        with open(shared / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not made.exists():
                shutil.rmtree(folder, ignore_errors=True)  # a worker that failed half way
                folder.mkdir()
                made.write_text(json.dumps(make(folder)), "utf-8")
        return folder, json.loads(made.read_text("utf-8"))

    return _made_once


@pytest.fixture(scope="session")
def demo(made_once, invoke):
    """``cim demo`` on the sample, run once per test run: (its folder, its output)."""

    def make(folder: Path) -> str:
        result = invoke("demo", "--out", folder / "out")
        assert result.exit_code == 0, result.output
        return result.stdout

    folder, stdout = made_once("demo", make)
    return folder / "out", stdout


@dataclass
class Rendered:
    pixels: np.ndarray | None  # H x W x 3; None when the page was not left to draw
    requests: list[str]
    errors: list[str]
    title: str
    value: object = None
    later: np.ndarray | None = None  # the pixels after ``then`` ran

    @property
    def offline(self) -> bool:
        """No script error, and no request but for the file itself."""
        return self.errors == [] and all(url.startswith("file://") for url in self.requests)

    @property
    def drawn(self) -> int:
        """Pixels that differ from the page background: what deck.gl drew."""
        return int((np.abs(self.pixels.astype(int) - BACKGROUND).max(axis=2) > 30).sum())


def _chromium() -> str | None:
    for candidate in (
        os.environ.get("CIM_CHROMIUM"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None:
        message = "no Chromium found (apt-get install chromium, or set CIM_CHROMIUM)"
        if os.environ.get("CIM_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def render(browser):
    """Open an HTML file offline, wait until deck.gl has settled, return pixels and requests."""
    from PIL import Image

    def _render(
        path: Path,
        *,
        width: int = 1000,
        height: int = 700,
        html: str | None = None,
        evaluate: str | None = None,
        then: str | None = None,
        draw: bool = True,
    ) -> Rendered:
        """``then``: a script to run after the first screenshot; the page settles again and a
        second screenshot (``later``) is taken, in the same page: one load, two frames.
        ``draw=False``: the page's scripts run but get no animation frame, so deck.gl never
        draws (no pixels), for claims about what the page holds."""
        if html is not None:
            Path(path).write_text(html, encoding="utf-8")
        context = browser.new_context(offline=True, viewport={"width": width, "height": height})
        context.set_default_timeout(RENDER_TIMEOUT_MS)
        requests: list[str] = []
        errors: list[str] = []
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        if not draw:
            page.add_init_script("window.requestAnimationFrame = () => 0;")
        page.goto(Path(path).resolve().as_uri())
        shots = []
        if draw:
            page.wait_for_function(SETTLED, polling="raf")
            shots.append(page.screenshot())
        if then:
            page.evaluate(then)
            page.wait_for_function(SETTLED, polling="raf")
            shots.append(page.screenshot())
        title = page.title()
        value = page.evaluate(evaluate) if evaluate else None
        context.close()
        pixels = [np.asarray(Image.open(io.BytesIO(png)).convert("RGB")) for png in shots]
        first, later = [*pixels, None, None][:2]
        return Rendered(first, requests, errors, title, value, later)

    return _render


def static_page(path: Path) -> str:
    """The text of an exported page, checked without a browser (see :func:`static_page_text`)."""
    return static_page_text(Path(path).read_text(encoding="utf-8"))


def static_page_text(html: str) -> str:
    """One self-contained page that forbids requests and builds a deck with layers (the views'
    own renders are in test_views)."""
    assert "<script src=" not in html and "createDeck" in html
    assert "default-src 'none'" in html and '"layers":[{"@@type":' in html
    return html


def near_color(pixels: np.ndarray, color, tolerance: int = 40) -> int:
    """How many pixels lie within ``tolerance`` (per channel) of ``color``."""
    return int(np.all(np.abs(pixels.astype(int) - np.asarray(color)) <= tolerance, axis=2).sum())


def points(prefix: str, coords, **columns) -> gpd.GeoDataFrame:
    data = {"id": [f"{prefix}{i}" for i in range(len(coords))], **columns}
    return gpd.GeoDataFrame(data, geometry=[shapely.Point(c) for c in coords], crs=4326)


@pytest.fixture(scope="session")
def grid() -> gpd.GeoDataFrame:
    """A block: west and east streets, a one-way north street (eastbound), a south street."""
    a, b = (104.060, 30.650), (104.060, 30.660)
    c, d = (104.070, 30.650), (104.070, 30.660)
    return gpd.GeoDataFrame(
        {
            "highway": ["primary", "residential", "tertiary", "service"],
            "oneway": [False, False, True, False],
            "name": ["西街", "东街", "北横街", "南横街"],
            "maxspeed": [None, "20", None, None],
        },
        geometry=[shapely.LineString(p) for p in ([a, b], [c, d], [b, d], [a, c])],
        crs=4326,
    )
