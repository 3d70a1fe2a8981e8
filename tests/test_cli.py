import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

CIM = Path(sys.executable).with_name("cim")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CIM), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout


def test_demo_writes_the_dispatch_report(demo, city):
    out, stdout = demo
    assert {p.name for p in out.iterdir()} == {
        "routes.csv",
        "routes.geojson",
        "report.md",
        "map.html",
    }
    routes = pd.read_csv(out / "routes.csv")
    assert list(routes.columns[:5]) == ["incident_id", "resource_id", "rank", "eta_s", "distance_m"]
    assert set(routes["incident_id"]) == set(city.layer("incidents")["id"])
    geo = gpd.read_file(out / "routes.geojson")
    assert len(geo) == len(routes) and geo.crs.to_epsg() == 4326
    assert np.allclose(geo.to_crs(4544).length, routes["distance_m"], rtol=1e-6)
    report = (out / "report.md").read_text("utf-8")
    assert "Fire cover (建标 152-2017: 5 minutes)" in report and "synthetic=True" in report
    assert "done in" in stdout and "First unit by incident kind" in stdout


@pytest.mark.browser
def test_demo_map_renders_offline(demo, render):
    out, _ = demo
    shown = render(out / "map.html")
    assert shown.errors == [] and all(url.startswith("file://") for url in shown.requests)
    background = np.array([247, 248, 250])
    assert (np.abs(shown.pixels.astype(int) - background).max(axis=2) > 30).sum() > 20_000


def test_demo_fails_clearly_when_it_cannot_write(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    result = run("demo", "--out", str(blocker))
    assert result.returncode == 1
    assert "error:" in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_cli_lists_its_commands():
    result = run("--help")
    assert result.returncode == 0 and "demo" in result.stdout
