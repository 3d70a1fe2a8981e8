import re
import subprocess
import sys
import traceback
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import cim.sample
from cim.cli import app
from cim.views.style import CLOSURE_COLOR, FACILITY_COLORS
from tests.conftest import CITY_VIEW_WITH_ROUTES, near_color, static_page

CIM = Path(sys.executable).with_name("cim")
RUNNER = CliRunner(env={"COLUMNS": "80"})  # the width rich falls back to off a terminal


SAMPLE: dict[str, cim.CityModel] = {}  # the session's sample city, once this module has run


@pytest.fixture(scope="session", autouse=True)
def sample(city):
    """Commands run on the sample read the session's loaded city (and its compiled road
    graph) instead of loading and compiling it again each run. Session-scoped, so it is set
    before the session's command-run fixtures below are made."""
    SAMPLE["city"] = city


def run(*args: str) -> subprocess.CompletedProcess:
    """Run ``cim`` in this process, with the exit code and streams the console script gives.

    An exception the CLI lets through ends the console script with its traceback on stderr;
    here it is put on stderr the same way, so "no traceback" checks keep their meaning.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cim.sample, "sample_city", lambda: SAMPLE["city"])
        result = RUNNER.invoke(app, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["cim", *args], result.exit_code, result.stdout, stderr)


def assert_report_embeds_a_map(out: Path) -> None:
    """report.md shows map.png, a PNG with a map drawn on it (not a blank canvas)."""
    from PIL import Image

    assert "](map.png)" in (out / "report.md").read_text("utf-8")
    pixels = np.asarray(Image.open(out / "map.png").convert("RGB")).astype(int)
    assert pixels.shape[0] >= 800 and pixels.shape[1] >= 800
    ink = np.abs(pixels - pixels[2, 2]).max(axis=2) > 40
    assert ink.mean() > 0.02


def test_demo_writes_the_dispatch_report(demo, city):
    out, stdout = demo
    assert {p.name for p in out.iterdir()} == {
        "routes.csv",
        "routes.geojson",
        "report.md",
        "map.html",
        "map.png",
    }
    assert_report_embeds_a_map(out)
    routes = pd.read_csv(out / "routes.csv")
    assert list(routes.columns[:5]) == ["incident_id", "resource_id", "rank", "eta_s", "distance_m"]
    assert set(routes["incident_id"]) == set(city.layer("incidents")["id"])
    geo = gpd.read_file(out / "routes.geojson")
    assert len(geo) == len(routes) and geo.crs.to_epsg() == 4326
    routed = routes["distance_m"].notna()  # 5 incidents lie beyond the 300 m snap limit
    assert np.allclose(geo.to_crs(4544).length[routed], routes["distance_m"][routed], rtol=1e-6)
    report = (out / "report.md").read_text("utf-8")
    assert "Fire cover (建标 152-2017: 5 minutes)" in report and "synthetic=True" in report
    assert "done in" in stdout and "First unit by incident kind" in stdout


def test_demo_map_is_the_offline_city_view_with_the_routes(demo):
    """The city view with routes, which test_views draws in the browser (layer by layer)."""
    out, _ = demo
    page = static_page(out / "map.html")
    layers = re.findall(r'"@@type":\s*"(\w+)"[^{}]*?"id":\s*"(\w+)"', page)
    assert [i for _, i in layers] == CITY_VIEW_WITH_ROUTES
    assert "成都样例城市 · 出警调度" in page


def test_demo_fails_clearly_when_it_cannot_write(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    result = run("demo", "--out", str(blocker))
    assert result.returncode == 1
    assert "error:" in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_the_installed_console_script_runs():
    result = subprocess.run([str(CIM), "--help"], capture_output=True, text=True, timeout=300)
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
    assert errors["row"].tolist() == ["line 3", "line 4"]
    assert errors["reason"].tolist() == ["empty", "no address characters"]
    assert "parsed 2 of 4" in result.stdout


def test_address_geocode_writes_points_and_unmatched_rows(address_table, tmp_path):
    out = tmp_path / "geocoded.csv"
    result = run("address", "geocode", str(address_table), str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    found = pd.read_csv(out)
    assert found["match_level"].tolist() == ["road_no", "none", "none", "district"]
    assert found.loc[0, ["lon", "lat"]].notna().all() and found.loc[1, ["lon", "lat"]].isna().all()
    assert pd.read_csv(tmp_path / "geocoded.errors.csv")["row"].tolist() == ["line 3", "line 4"]


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


@pytest.fixture(scope="session")
def dispatch_inputs(city, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dispatch_in")
    incidents = city.layer("incidents").head(10)
    table = pd.DataFrame(
        {
            "id": incidents["id"],
            "kind": incidents["kind"],
            "lon": incidents.geometry.x,
            "lat": incidents.geometry.y,
        }
    )
    broken = pd.DataFrame(
        {
            "id": [None, incidents["id"].iat[0], "BAD-1"],
            "kind": "fire",
            "lon": [104.07, 104.07, "east"],
            "lat": [30.67, 30.67, 30.67],
        }
    )
    pd.concat([table, broken]).to_csv(folder / "incidents.csv", index=False)
    stations = city.layer("facilities").query("kind == 'fire_station'")
    stations[["id", "name", "units", "geometry"]].to_file(folder / "stations.geojson")
    route = city.router("car").dispatch(incidents.head(1), stations).geometry.iat[0]
    middle = gpd.GeoSeries([route], crs=4326).to_crs(4544).iloc[0].interpolate(0.5, normalized=True)
    gpd.GeoDataFrame({"depth_cm": [40]}, geometry=[middle.buffer(40)], crs=4544).to_crs(
        4326
    ).to_file(folder / "flood.geojson")
    return folder


@pytest.fixture(scope="session")
def dispatched(dispatch_inputs, made_once):
    def make(folder: Path) -> str:
        result = run(
            "dispatch",
            "--incidents", str(dispatch_inputs / "incidents.csv"),
            "--resources", str(dispatch_inputs / "stations.geojson"),
            "--closures", str(dispatch_inputs / "flood.geojson"),
            "--k", "2",
            "--out", str(folder / "run"),
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    folder, stdout = made_once("dispatched", make)
    return folder / "run", stdout


def test_dispatch_lists_bad_rows_and_routes_the_rest(dispatched):
    out, stdout = dispatched
    routes = pd.read_csv(out / "routes.csv")
    assert routes["incident_id"].nunique() == 10 and routes["rank"].max() == 2
    bad = pd.read_csv(out / "bad_rows.csv")
    assert bad["reason"].tolist() == ["no id", "id repeats an earlier row", "no coordinates"]
    report = (out / "report.md").read_text("utf-8")
    assert "## Input rows left out (3)" in report and "## Closures: before / after" in report
    assert "left out: incidents.csv line 14" in stdout and "road segments closed for car" in stdout
    assert len(gpd.read_file(out / "routes.geojson")) == len(routes)
    assert_report_embeds_a_map(out)


def test_dispatch_maps_draw_the_closures_and_the_stations(dispatched):
    from PIL import Image

    out, _ = dispatched
    pixels = np.asarray(Image.open(out / "map.png").convert("RGB"))
    assert near_color(pixels, CLOSURE_COLOR, 20) > 100  # the 40 m flood and its legend entry
    assert near_color(pixels, FACILITY_COLORS["fire_station"], 20) > 300  # legend + triangles
    page = (out / "map.html").read_text("utf-8")
    assert '"closures_areas"' in page and "封闭或受阻" in page


@pytest.mark.browser
def test_dispatch_map_is_one_offline_page(dispatched):
    static_page(dispatched[0] / "map.html")


def test_dispatch_refuses_inputs_with_nothing_usable(tmp_path, dispatch_inputs):
    empty = tmp_path / "none.csv"
    pd.DataFrame({"id": [None], "lon": [104.0], "lat": [30.6]}).to_csv(empty, index=False)
    result = run(
        "dispatch",
        "--incidents",
        str(empty),
        "--resources",
        str(dispatch_inputs / "stations.geojson"),
        "--out",
        str(tmp_path / "o"),
    )
    assert result.returncode == 1 and "nothing to dispatch" in result.stdout


@pytest.fixture(scope="session")
def covered(made_once):
    def make(folder: Path) -> str:
        out = folder / "run"
        result = run(
            "coverage", "--out", str(out), "--target-density", "20", "--level", "community"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    folder, stdout = made_once("covered", make)
    return folder / "run", stdout


def test_coverage_writes_the_table_per_unit(covered, city):
    out, stdout = covered
    table = pd.read_csv(out / "coverage_by_unit.csv", dtype={"unit_code": str})
    required = ["unit_code", "level", "area_km2", "sensors", "density_per_km2", "covered_share"]
    assert list(table.columns[: len(required) + 1]) == [*required[:2], "name", *required[2:]]
    assert set(table["level"]) == {"grid", "community", "street", "district"}
    assert (table["below_target"] == (table["density_per_km2"] < 20)).all()
    assert len(table[table["level"] == "community"]) == len(city.layer("communities"))
    assert "Sensor coverage (target 20 per km²)" in stdout
    assert_report_embeds_a_map(out)
    assert "## Least covered: community" in (out / "report.md").read_text("utf-8")


@pytest.mark.browser
def test_coverage_map_is_one_offline_page(covered):
    static_page(covered[0] / "map.html")


def test_coverage_rejects_an_unknown_level(tmp_path):
    result = run("coverage", "--out", str(tmp_path / "o"), "--level", "province")
    assert result.returncode == 1 and "--level must be one of grid" in result.stdout


def test_flood_writes_ponds_closures_and_the_before_after_report(tmp_path):
    out = tmp_path / "flood"
    result = run("flood", "--rain-mm-h", "60", "--hours", "1", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    ponds = gpd.read_file(out / "ponding.geojson")
    closures = gpd.read_file(out / "closures.geojson")
    assert len(ponds) > 0 and (ponds["depth_cm"] > 0).all()
    assert {"depth_cm", "closed_for"} <= set(closures.columns) and len(closures) > 0
    deep = closures[closures["depth_cm"] > 50]
    assert deep["closed_for"].str.contains("fire_engine").all()
    between = closures[(closures["depth_cm"] > 30) & (closures["depth_cm"] <= 50)]
    assert (
        between["closed_for"].str.contains("car").all()
        and not between["closed_for"].str.contains("fire_engine").any()
    )
    report = (out / "report.md").read_text("utf-8")
    assert (
        "## Flooded roads by vehicle" in report
        and "## Dispatch before / after" in report
        and "synthetic" in report
    )
    assert_report_embeds_a_map(out)


def test_flood_refuses_a_bad_dem(tmp_path):
    bad = tmp_path / "dem.tif"
    bad.write_text("not a raster")
    result = run(
        "flood",
        "--rain-mm-h",
        "60",
        "--hours",
        "1",
        "--dem",
        str(bad),
        "--out",
        str(tmp_path / "o"),
    )
    assert (
        result.returncode == 1
        and "error:" in result.stdout
        and "Traceback" not in result.stdout + result.stderr
    )


def test_dispatch_works_without_incident_kinds(tmp_path, dispatch_inputs):
    plain = tmp_path / "plain.csv"
    pd.DataFrame({"id": ["a", "b"], "lon": [104.07, 104.09], "lat": [30.68, 30.70]}).to_csv(
        plain, index=False
    )
    result = run(
        "dispatch",
        "--incidents",
        str(plain),
        "--resources",
        str(dispatch_inputs / "stations.geojson"),
        "--out",
        str(tmp_path / "o"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert pd.read_csv(tmp_path / "o" / "routes.csv")["incident_id"].tolist() == ["a", "b"]
    assert "Fire cover" not in (tmp_path / "o" / "report.md").read_text("utf-8")


@pytest.fixture(scope="session")
def vital_signs(made_once):
    def make(folder: Path) -> str:
        out, history = folder / "run", folder / "history.parquet"
        for _ in range(2):
            result = run(
                "vitals", "--out", str(out), "--level", "street", "--history", str(history)
            )
            assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    folder, stdout = made_once("vital_signs", make)
    return folder / "run", folder / "history.parquet", stdout


def test_vitals_writes_every_indicator_per_unit(vital_signs, city):
    out, history, stdout = vital_signs
    table = pd.read_csv(out / "vitals.csv", dtype={"unit_code": str})
    assert list(table.columns[:5]) == ["indicator_id", "unit_code", "level", "value", "status"]
    assert len(table) == 22 * len(city.layer("streets"))
    assert set(table["status"]) <= {"ok", "warn", "alarm", "no_data"}
    assert table.loc[table["status"] == "no_data", "value"].isna().all()
    assert table.loc[table["status"] != "no_data", "value"].notna().all()
    assert len(pd.read_parquet(history)) == 2 * len(table)
    assert "## Units with the most alarms" in (out / "report.md").read_text("utf-8")
    assert "Vital signs per street: 22 indicators" in stdout


@pytest.mark.browser
def test_vitals_map_is_one_offline_page(vital_signs):
    static_page(vital_signs[0] / "map.html")


def test_vitals_refuses_a_bad_registry(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "indicators:\n  - {id: x, name: x, unit: x, dimension: 公共管理, formula: avg}\n"
    )
    result = run("vitals", "--out", str(tmp_path / "o"), "--registry", str(bad))
    assert result.returncode == 1 and "unknown formula 'avg'" in result.stdout


def test_events_ingest_and_report_on_the_sample(tmp_path):
    sample = Path(__file__).parent.parent / "sample_data" / "events_synthetic.csv"
    db, out = tmp_path / "events.db", tmp_path / "report"
    first = run("events", "ingest", str(sample), "--db", str(db))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "200 events logged" in " ".join(first.stdout.split())
    again = run("events", "ingest", str(sample), "--db", str(db))
    assert "0 events logged" in again.stdout and "200 already in the log" in " ".join(
        again.stdout.split()
    )
    report = run(
        "events", "report", "--db", str(db), "--out", str(out), "--now", "2026-07-15 12:00"
    )
    assert report.returncode == 0, report.stdout + report.stderr
    events = pd.read_csv(out / "events.csv")
    assert len(events) == 200 and events["id"].is_unique
    assert "## By class and department (GB/T 30428.2-2013)" in (out / "report.md").read_text(
        "utf-8"
    )
    missing = run("events", "report", "--db", str(tmp_path / "none.db"), "--out", str(out))
    assert missing.returncode == 1 and "run `cim events ingest` first" in " ".join(
        missing.stdout.split()
    )
