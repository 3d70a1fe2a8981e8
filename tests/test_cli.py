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


@pytest.fixture
def address_table(tmp_path):
    path = tmp_path / "in.csv"
    pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "address": ["成都市金牛区永陵路10号永陵公园", "", "🐼🐼", "四川省成都市锦江区"],
        }
    ).to_csv(path, index=False)
    return path


def test_address_parse_writes_fields_and_an_error_report(address_table, tmp_path):
    out = tmp_path / "parsed.parquet"
    result = run("address", "parse", str(address_table), str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    parsed = pd.read_parquet(out)
    assert parsed.loc[0, ["district", "road", "road_no", "poi"]].tolist() == [
        "金牛区",
        "永陵路",
        "10号",
        "永陵公园",
    ]
    errors = pd.read_csv(tmp_path / "parsed.errors.csv")
    assert errors["row"].tolist() == [1, 2]
    assert errors["reason"].tolist() == ["empty", "no address characters"]
    assert "parsed 2 of 4" in result.stdout


def test_address_geocode_writes_points_and_unmatched_rows(address_table, tmp_path):
    out = tmp_path / "geocoded.csv"
    result = run("address", "geocode", str(address_table), str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    found = pd.read_csv(out)
    assert found["match_level"].tolist() == ["road_no", "none", "none", "district"]
    assert found.loc[0, ["lon", "lat"]].notna().all() and found.loc[1, ["lon", "lat"]].isna().all()
    assert pd.read_csv(tmp_path / "geocoded.errors.csv")["row"].tolist() == [1, 2]


def test_address_parse_names_a_missing_column(address_table, tmp_path):
    result = run(
        "address", "parse", str(address_table), str(tmp_path / "out.csv"), "--column", "addr"
    )
    assert result.returncode == 1 and "no column 'addr'" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_address_parse_refuses_an_unknown_output_format_before_working(address_table, tmp_path):
    result = run("address", "parse", str(address_table), str(tmp_path / "out.txt"))
    assert result.returncode == 1 and "use a .csv or .parquet file" in result.stdout
    assert "parsing" not in result.stdout
