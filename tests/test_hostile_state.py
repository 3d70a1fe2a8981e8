"""Hostile state: a DEM of another place, non-finite scenarios, event logs written at once or
damaged, unusable closure files, and city models whose save was killed midway (issue 11)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

import cim
import layers
from cim.events import EventLog
from cim.sample import SAMPLE_DEM, synthetic_events
from cim.waterlogging import DEM, DEMError, check_coverage, ponding, read_dem, road_closures
from tests.test_waterlogging import pit_dem, write_dem

SAMPLE_EVENTS = Path(__file__).parent.parent / "sample_data" / "events_synthetic.csv"


def run(invoke, *args):
    """``cim ARGS`` by conftest's ``invoke`` (on the session's sample city), and its output
    with the whitespace folded."""
    result = invoke(*args)
    return result, " ".join(result.output.split())


def assert_clean_failure(result, text: str, *needles: str) -> None:
    """Exit 1 with an ``error:`` line carrying every needle, and no traceback."""
    assert result.exit_code == 1, text
    assert isinstance(result.exception, SystemExit), result.exception
    assert "error:" in text and "Traceback" not in text
    for needle in needles:
        assert needle in text, (needle, text)


# -- 11: a DEM that misses the city, non-finite scenarios ----------------------------------


def test_flood_refuses_a_dem_of_another_place(tmp_path, invoke):
    z = np.full((100, 100), 500.0)
    z[40:60, 40:60] -= 1.0  # a pit that would pond if the DEM were used
    far = write_dem(tmp_path / "far.tif", z, origin=(607980.0, 3401400.0), cell=10.0)
    out = tmp_path / "o"
    result, text = run(
        invoke, "flood", "--rain-mm-h", "60", "--hours", "1", "--dem", far, "--out", out
    )
    assert_clean_failure(
        result, text, "the DEM covers 0% of the roads' length", "the roads lon 103.988"
    )
    dem_extent = re.search(r"it spans lon ([\d.]+)–([\d.]+), lat ([\d.]+)–([\d.]+)", text)
    assert dem_extent and 105.5 < float(dem_extent[1]) < float(dem_extent[2]) < 106.5
    assert not out.exists()


@pytest.fixture(scope="session")
def jinan(tmp_path_factory) -> Path:
    """A saved model of a second real city: roads of Jinan from its road-network tables."""
    nodes = pd.read_csv("sample_data/networks/jinan_nodes.csv.gz").set_index("node_id")
    edges = pd.read_csv("sample_data/networks/jinan_edges.csv.gz").head(400)
    edges = edges[edges["from_node"] != edges["to_node"]]
    ends = [nodes.loc[edges[c], ["lon", "lat"]].to_numpy() for c in ("from_node", "to_node")]
    roads = gpd.GeoDataFrame(
        {"highway": edges["highway"], "oneway": False, "name": None, "maxspeed": None},
        geometry=shapely.linestrings(np.stack(ends, axis=1)),
        crs=4326,
    )
    return cim.CityModel({"roads": roads}, name="jinan").save(
        tmp_path_factory.mktemp("jinan") / "city"
    )


def test_flood_on_another_city_needs_its_own_dem(jinan, tmp_path, invoke):
    out = tmp_path / "o"
    result, text = run(
        invoke, "flood", "--rain-mm-h", "60", "--hours", "1", "--city", jinan, "--out", out
    )
    assert_clean_failure(result, text, "this city has no DEM", "--dem")
    result, text = run(
        invoke, "flood", "--rain-mm-h", "60", "--hours", "1", "--city", jinan, "--dem", SAMPLE_DEM,
        "--out", out,
    )  # fmt: skip
    assert_clean_failure(
        result, text, "the DEM covers 0%", "it spans lon 104.039", "the roads lon 117."
    )
    assert not out.exists()


def test_a_dem_that_covers_too_little_of_the_city_is_refused_with_the_share(city):
    sample = read_dem(SAMPLE_DEM)
    assert check_coverage(sample, city.layer("roads")) > 0.9
    corner = DEM(sample.elevation[:200, :200].copy(), sample.transform, sample.crs)
    holes = DEM(sample.elevation.copy(), sample.transform, sample.crs)
    holes.elevation[200:, :] = np.nan  # nodata over most of the city
    for dem in (corner, holes):
        with pytest.raises(DEMError, match=r"the DEM covers \d+% of the roads' length") as caught:
            road_closures(city.layer("roads"), dem, np.zeros_like(dem.elevation))
        share = float(re.search(r"covers (\d+)%", str(caught.value))[1]) / 100
        assert 0 < share < 0.5
        assert share == pytest.approx(
            check_coverage(dem, city.layer("roads"), min_share=0), abs=0.01
        )


@pytest.mark.parametrize(
    "scenario",
    [
        {"rain_mm_h": np.inf},
        {"rain_mm_h": np.nan},
        {"hours": np.inf},
        {"drainage_mm_h": np.nan},
        {"runoff": np.nan},
    ],
)
def test_non_finite_scenarios_are_refused(tmp_path, scenario):
    options = {"rain_mm_h": 60.0, "hours": 1.0, "runoff": 0.9, "drainage_mm_h": 30.0, **scenario}
    name = next(iter(scenario))
    with pytest.raises(
        layers.InputError, match=f"{name} (must be a finite number|is a coefficient)"
    ):
        ponding(pit_dem(tmp_path), **options)


def test_flood_refuses_infinite_rain(tmp_path, invoke):
    out = tmp_path / "o"
    result, text = run(invoke, "flood", "--rain-mm-h", "inf", "--hours", "1", "--out", out)
    assert_clean_failure(result, text, "rain_mm_h must be a finite number ≥ 0, not inf")
    assert not out.exists()


# -- 12 and 14: event logs written at once, damaged, or not event logs ---------------------


def _holds_open(pid: int, path: Path) -> bool:
    folder = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for fd in folder.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if os.readlink(fd) == str(path.resolve()):
                    return True
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to watch the log")
def test_two_ingests_of_overlapping_files_into_one_log_at_once_both_finish(city, tmp_path):
    events = synthetic_events(city, 120, seed=11)
    first, second, db = tmp_path / "first.csv", tmp_path / "second.csv", tmp_path / "events.db"
    events.iloc[:80].to_csv(first, index=False)
    events.iloc[40:].to_csv(second, index=False)
    EventLog(db).close()
    command = [
        sys.executable,
        "-m",
        "cim.cli",
        "events",
        "ingest",
        "--db",
        str(db),
        "--batch",
        "20",
    ]
    # Hold the write lock until both have opened the log: both then find the 40 shared ids
    # missing and race to write them.
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        workers = [
            subprocess.Popen(
                [*command, str(source)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for source in (first, second)
        ]
        deadline = time.monotonic() + 300
        while not all(_holds_open(w.pid, db) for w in workers):
            assert all(w.poll() is None for w in workers), "an ingest ended before opening the log"
            assert time.monotonic() < deadline, "the ingests never opened the log"
            time.sleep(0.02)
        holder.execute("ROLLBACK")
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, out + err
    counts = [
        tuple(
            map(
                int,
                re.search(
                    r"(\d+) events logged .* (\d+) already in the log", " ".join(out.split())
                ).groups(),
            )
        )
        for out, _ in outputs
    ]
    assert [logged + skipped for logged, skipped in counts] == [80, 80]
    assert sum(logged for logged, _ in counts) == 120
    with EventLog(db) as log:
        logged, steps = log.events(), log.transitions()
    assert sorted(logged["id"]) == sorted(events["id"])
    reported = steps[steps["status"] == "reported"]
    assert reported["event_id"].is_unique and set(reported["event_id"]) == set(events["id"])
    assert not steps.duplicated(["event_id", "status"]).any()


def _batch(ids) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = pd.DataFrame(
        {
            "id": ids,
            "source": "patrol",
            "reported_at": "2026-07-15T08:00:00",
            "text": "路边着火冒烟",
            "status": "reported",
        }
    )
    steps = pd.DataFrame(
        {"event_id": ids, "status": "reported", "at": "2026-07-15T08:00:00", "note": None}
    )
    return rows, steps


def test_a_batch_whose_ids_another_writer_logged_first_adds_only_the_rest(tmp_path):
    db = tmp_path / "events.db"
    with EventLog(db) as one, EventLog(db) as other:
        assert one.write(*_batch(["a", "b"])) == {"a", "b"}
        assert other.write(*_batch(["b", "c"])) == {"c"}
        assert sorted(one.events()["id"]) == ["a", "b", "c"]
        assert sorted(one.transitions()["event_id"]) == ["a", "b", "c"]


@pytest.fixture(scope="session")
def truncated_bytes(tmp_path_factory) -> bytes:
    """The first half of a log of 3000 events."""
    whole = tmp_path_factory.mktemp("log") / "whole.db"
    with EventLog(whole) as log:
        log.write(*_batch([f"e{i:05d}" for i in range(3000)]))
    data = whole.read_bytes()
    return data[: len(data) // 2]


@pytest.fixture
def truncated_log(tmp_path, truncated_bytes) -> Path:
    cut = tmp_path / "truncated.db"
    cut.write_bytes(truncated_bytes)
    return cut


def _not_an_event_log(kind: str, tmp_path: Path, truncated_log: Path) -> Path:
    if kind == "truncated":
        return truncated_log
    path = tmp_path / f"{kind}.db"
    if kind == "empty":
        path.touch()
    elif kind == "garbage":
        path.write_bytes(os.urandom(5000))
    elif kind == "text":
        path.write_text("id,source\n1,patrol\n", "utf-8")
    elif kind == "another database":
        with contextlib.closing(sqlite3.connect(path)) as other:
            other.execute("CREATE TABLE parcels (code TEXT, area REAL)")
            other.execute("INSERT INTO parcels VALUES ('510107', 12.5)")
            other.commit()
    elif kind == "folder":
        path.mkdir()
    return path


KINDS = ["empty", "garbage", "text", "truncated", "another database", "folder"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_that_is_not_an_event_log_is_refused_and_left_alone(kind, tmp_path, truncated_log):
    path = _not_an_event_log(kind, tmp_path, truncated_log)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(layers.InputError, match="not an event log") as caught:
        EventLog(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert (path.read_bytes() if path.is_file() else None) == before


def test_a_missing_log_is_created_even_in_a_new_folder(tmp_path):
    db = tmp_path / "logs" / "2026" / "events.db"
    with EventLog(db) as log:
        assert log.events().empty
    assert sorted(p.name for p in db.parent.iterdir()) == ["events.db"]


@pytest.mark.parametrize("kind", ["empty", "garbage", "truncated"])
def test_events_commands_refuse_a_damaged_log_in_one_line(kind, tmp_path, truncated_log, invoke):
    db = _not_an_event_log(kind, tmp_path, truncated_log)
    before = db.read_bytes()
    out = tmp_path / "report"
    result, text = run(invoke, "events", "report", "--db", db, "--out", out)
    assert_clean_failure(result, text, f"{db} is", "not an event log")
    assert not out.exists()
    result, text = run(invoke, "events", "ingest", SAMPLE_EVENTS, "--db", db)
    assert_clean_failure(result, text, f"{db} is", "not an event log")
    assert db.read_bytes() == before


# -- 12: --closures files that cannot be used ---------------------------------------------


@pytest.fixture(scope="session")
def points_csv(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("points")
    incidents, resources = folder / "incidents.csv", folder / "resources.csv"
    pd.DataFrame({"id": ["i1", "i2"], "lon": [104.07, 104.09], "lat": [30.66, 30.68]}).to_csv(
        incidents, index=False
    )
    pd.DataFrame({"id": ["r1"], "lon": [104.08], "lat": [30.67]}).to_csv(resources, index=False)
    return incidents, resources


def _closures_file(kind: str, folder: Path) -> Path:
    point = shapely.Point(104.07, 30.66)
    if kind == "missing":
        return folder / "flood.geojson"
    if kind == "not json":
        path = folder / "flood.geojson"
        path.write_text('{"type": "FeatureCollection", "features": [', "utf-8")
    elif kind == "no geometry":
        path = folder / "flood.geojson"
        path.write_text(
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"properties": {"depth_cm": 40}, "geometry": null}]}',
            "utf-8",
        )
    elif kind == "a table":
        path = folder / "flood.csv"
        path.write_text("depth_cm\n40\n", "utf-8")
    elif kind == "no features":
        path = folder / "flood.geojson"
        path.write_text('{"type": "FeatureCollection", "features": []}', "utf-8")
    elif kind == "no CRS":
        path = folder / "flood.gpkg"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "'crs' was not provided": the point
            gpd.GeoDataFrame({"depth_cm": [40]}, geometry=[point]).to_file(path)
    elif kind == "bad parquet":
        path = folder / "flood.parquet"
        path.write_bytes(b"PAR1 not really")
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("missing", "no barriers file"),
        ("not json", "cannot be read as GeoJSON"),
        ("no geometry", "features 1 (counting from 1) have no readable geometry"),
        ("a table", "has no geometry"),
        ("no features", "holds no barriers"),
        ("no CRS", "carries no CRS"),
        ("bad parquet", "cannot be read as GeoJSON"),
    ],
)
def test_dispatch_refuses_an_unusable_closures_file_in_one_line(
    kind, says, points_csv, tmp_path, invoke
):
    incidents, resources = points_csv
    closures = _closures_file(kind, tmp_path)
    result, text = run(
        invoke,
        "dispatch",
        "--incidents",
        incidents,
        "--resources",
        resources,
        "--closures",
        closures,
        "--out",
        tmp_path / "o",
    )
    assert_clean_failure(result, text, str(closures), says)


# -- 13: saves killed midway ---------------------------------------------------------------


@pytest.fixture
def versions(city) -> tuple[cim.CityModel, cim.CityModel]:
    facilities = city.layer("facilities")
    return cim.CityModel({"facilities": facilities}), cim.CityModel(
        {"facilities": facilities.head(7)}
    )


def _rows(path: Path) -> int:
    return len(cim.CityModel.load(path).layer("facilities"))


def test_a_save_killed_between_its_renames_is_undone_by_the_next_load(versions, tmp_path):
    previous, new = versions
    path = previous.save(tmp_path / "city")
    new.save(tmp_path / "staged")
    # the state a save leaves when killed after setting the old copy aside, before moving the new in
    os.replace(path, tmp_path / ".city.old")
    os.replace(tmp_path / "staged", tmp_path / f".city.{'ab' * 16}.tmp")
    assert _rows(path) == len(previous.layer("facilities"))
    assert path.is_dir() and not (tmp_path / ".city.old").exists()
    new.save(path)
    assert _rows(path) == 7 and sorted(p.name for p in tmp_path.iterdir()) == ["city"]


def test_a_stale_old_copy_does_not_stop_the_next_save(versions, tmp_path):
    previous, new = versions
    path = previous.save(tmp_path / "city")
    previous.save(tmp_path / ".city.old")  # killed after the second rename, before the clean-up
    new.save(path)
    assert _rows(path) == 7 and sorted(p.name for p in tmp_path.iterdir()) == ["city"]


def test_a_save_removes_its_orphan_temp_folders_and_nothing_else(versions, tmp_path):
    previous, new = versions
    path = previous.save(tmp_path / "city")
    orphans = [tmp_path / f".city.{h * 32}.tmp" for h in "0f"]
    others = [
        tmp_path / ".city.notes.tmp",
        tmp_path / f".city.{'0' * 32}.tmp.keep",
        tmp_path / f".town.{'0' * 32}.tmp",
        tmp_path / f"city.{'0' * 32}.tmp",
    ]
    for folder in orphans + others:
        folder.mkdir()
        (folder / "facilities.parquet").write_bytes(b"partial")
    new.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["city", *(p.name for p in others)])


SAVER = """
import sys
import cim
model = cim.CityModel.load(sys.argv[1])
while True:
    model.save(sys.argv[2])
"""


def test_saves_killed_midway_lose_nothing_and_leave_nothing(city, tmp_path):
    source = cim.CityModel(
        {name: city.layer(name) for name in ("roads", "buildings", "facilities", "districts")}
    ).save(tmp_path / "source")
    expected = cim.CityModel.load(source)
    folder = tmp_path / "models"
    target = folder / "city"

    def writing() -> bool:
        """A save is under way: the model exists and a temp folder holds two files or more."""
        with contextlib.suppress(FileNotFoundError):
            return target.exists() and any(
                entry.name.endswith(".tmp") and len(list(entry.iterdir())) >= 2
                for entry in folder.iterdir()
            )
        return False

    for _ in range(2):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(source), str(target)])
        deadline = time.monotonic() + 300
        try:
            while not writing():
                assert saver.poll() is None, "the saver stopped"
                assert time.monotonic() < deadline, "the saver never got going"
                time.sleep(0.005)
        finally:
            saver.send_signal(signal.SIGKILL)
            saver.wait()
        loaded = cim.CityModel.load(target)
        for name, gdf in expected.layers.items():
            assert_geodataframe_equal(loaded.layer(name), gdf)
    expected.save(target)
    assert [p.name for p in folder.iterdir()] == ["city"]
