"""The simulation's report, chart and animated map, on a day built by hand in the contract's
shape (cim.simulation.SimulationResult): real frames, real sample incidents and stations."""

from __future__ import annotations

import importlib.util
import warnings
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

import layers
from cim.paths import SAMPLE_ROOT, SAMPLE_STORM
from cim.simulation.network import read_hyetograph
from cim.simulation.report import paired_differences, write_report
from cim.views import export_html, simulation_view
from cim.views.animation import CLEARED_SHOWN_S, PHASES, TRIP_KINDS, clock
from cim.views.html import _columnar
from tests.conftest import near_color, static_page

HOSTILE_ID = '=HYPERLINK("http://x")'
HOSTILE_TEXT = "<img src=x onerror=alert(1)> | **x**"
POLICIES = ("nearest", "moveup")
SEEDS = (0, 1)
HOURS = 3.0


def _trip(start, end) -> tuple[shapely.LineString, list[float]]:
    """An L-shaped route with its times at 30 km/h (the view needs only lines and times)."""
    corner = (end[0], start[1])
    line = shapely.LineString([start, corner, end])
    line = shapely.segmentize(line, 0.002)
    xy = shapely.get_coordinates(line)
    metres = np.r_[0, np.cumsum(np.hypot(*(np.diff(xy, axis=0) * [96_000, 111_000]).T))]
    return line, (metres / (30 / 3.6)).tolist()


def _kpis(log: pd.DataFrame) -> pd.DataFrame:
    """Long-format KPIs with a normal 95 % interval over the seeds, as the engine gives them."""
    rows = []
    groups = {"all": log} | {
        f"{col}={value}": part for col in ("kind", "district") for value, part in log.groupby(col)
    }
    for group, part in groups.items():
        for (policy, _), run in part.groupby(["policy", "seed"]):
            fire = run[run["kind"] == "fire"]
            values = {
                "response_p50_s": run["response_s"].median(),
                "response_p90_s": run["response_s"].quantile(0.9),
                "response_max_s": run["response_s"].max(),
                "queue_wait_mean_s": run["queue_wait_s"].mean(),
                "never_reached": float((~run["reached"]).sum()),
            }
            if group == "all":
                values["fire_5min_share"] = (fire["response_s"] <= 300).mean()
                values["utilisation"] = 0.3 if policy == "nearest" else 0.35
            rows += [dict(policy=policy, group=group, metric=m, value=v) for m, v in values.items()]
    frame = pd.DataFrame(rows).groupby(["policy", "metric", "group"], sort=False)["value"]
    kpis = frame.agg(["mean", "std", "count"]).reset_index()
    half = 1.96 * kpis["std"] / np.sqrt(kpis["count"])
    return kpis.assign(
        ci95_low=kpis["mean"] - half, ci95_high=kpis["mean"] + half, replications=kpis["count"]
    ).drop(columns=["std", "count"])


@pytest.fixture(scope="session")
def day(city) -> SimpleNamespace:
    """Two policies on two seeds over three hours: 60 sample incidents a seed, trips out and
    back from the sample's fire stations and ambulance bases, a storm that closes roads."""
    incidents = city.layer("incidents")
    facilities = city.layer("facilities")
    stations = facilities[facilities["kind"].isin(["fire_station", "ambulance_base"])]
    xy = shapely.get_coordinates(incidents.geometry)
    home = shapely.get_coordinates(stations.geometry)
    logs, moves, paths = [], [], []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        calls = np.sort(rng.uniform(0, HOURS * 3600 - 1800, len(incidents)))
        waits = np.where(rng.random(len(calls)) < 0.3, rng.uniform(0, 600, len(calls)), 0.0)
        for policy in POLICIES:
            wait = waits / 2 if policy == "moveup" else waits
            for i, (row, call) in enumerate(zip(incidents.itertuples(), calls, strict=True)):
                reached = i not in (3, 7)
                station = int(np.argmin(np.hypot(*(home - xy[i]).T)))
                line, times = _trip(tuple(home[station]), tuple(xy[i]))
                dispatch = call + wait[i] if reached else np.nan
                arrive = dispatch + times[-1]
                clear = arrive + 1200.0
                if reached:
                    out_id, back_id = len(paths), len(paths) + 1
                    paths += [(line, times), (line.reverse(), times)]
                    for kind, path_id, depart, end in (
                        ("to_scene", out_id, dispatch, arrive),
                        ("return", back_id, clear, clear + times[-1]),
                    ):
                        moves.append((policy, seed, f"unit-{station}", kind, path_id, depart, end))
                logs.append(
                    {
                        "policy": policy,
                        "replication": SEEDS.index(seed),
                        "seed": seed,
                        "incident_id": HOSTILE_ID if i == 0 else row.id,
                        "kind": row.kind,
                        "priority": int(row.priority),
                        "district": HOSTILE_TEXT if i % 2 else "锦江区",
                        "lon": xy[i, 0],
                        "lat": xy[i, 1],
                        "call_s": call,
                        "dispatch_s": dispatch,
                        "arrive_s": arrive,
                        "clear_s": clear,
                        "unit_id": f"unit-{station}" if reached else "",
                        "station_id": str(stations["id"].iat[station]),
                        "queue_wait_s": wait[i] if reached else np.nan,
                        "travel_s": times[-1] if reached else np.nan,
                        "response_s": arrive - call,
                        "path_id": out_id if reached else -1,
                        "reached": reached,
                        "reason": ""
                        if reached
                        else ("no unit serves kind 'x'" if i == 3 else HOSTILE_TEXT),
                    }
                )
    log = pd.DataFrame(logs)
    return SimpleNamespace(
        log=log,
        moves=pd.DataFrame(
            moves,
            columns=["policy", "replication", "unit_id", "kind", "path_id", "depart_s", "arrive_s"],
        ).assign(replication=lambda m: m["replication"].map(SEEDS.index)),
        paths=gpd.GeoDataFrame(
            {"times_s": [t for _, t in paths]}, geometry=[g for g, _ in paths], crs=4326
        ).rename_axis("path_id"),
        kpis=_kpis(log),
        rain=pd.DataFrame({"hour": [8, 9, 10, 11], "rain_mm_h": [4.0, 38.5, 12.0, 0.0]}),
        closures_by_hour=pd.DataFrame(
            {
                "hour": [9, 9, 10],
                "profile": ["car", "fire_engine", "car"],
                "closed_edges": [41, 9, 12],
            }
        ),
        policies=POLICIES,
        seeds=SEEDS,
        hours=HOURS,
        start_hour=8,
    )


@pytest.fixture(scope="session")
def report(day, tmp_path_factory):
    return write_report(day, tmp_path_factory.mktemp("simulation"), notes=[HOSTILE_TEXT])


def test_report_compares_the_policies_with_intervals_and_escapes_user_text(report, day):
    text = report["markdown"].read_text("utf-8")
    assert "| metric | nearest | moveup |" in text
    p90 = day.kpis.query("policy == 'moveup' and group == 'all' and metric == 'response_p90_s'")
    mean, low, high = (p90[c].iat[0] / 60 for c in ("mean", "ci95_low", "ci95_high"))
    assert "| response p90 (min) | " in text and f"{mean:.1f} ({low:.1f} – {high:.1f})" in text
    assert "## Paired differences from nearest (same seeds)" in text
    assert "moveup − nearest | mean queue wait (min)" in text
    for heading in ("By incident kind", "By district", "Queue waits", "Never reached"):
        assert heading.lower().split()[-1] in text.lower()
    assert "| 9 | 38.5 | 41 | 9 |" in text  # hour, rain, closed for car and for fire engines
    assert "54.5 mm in 3 wet hours of the 3 simulated (08:00 to 11:00)" in text
    assert "| 10 | 12.0 |" in text and "| 11 |" not in text and "outside the simulated" not in text
    assert "no unit serves kind 'x'" in text
    assert (
        HOSTILE_TEXT not in text and "&lt;img src=x onerror=alert(1)&gt; \\| \\*\\*x\\*\\*" in text
    )
    assert f"![响应时间分布 · response times per policy]({report['chart'].name})" in text
    assert "turnout (出动" in text and "optimistic by about the turnout time" in text
    assert "seconds since the start of the run (08:00 of the first simulated day)" in text


def test_the_fire_cover_sentence_cuts_its_interval_as_the_tables_do(day, tmp_path):
    fire = (day.kpis["metric"] == "fire_5min_share") & (day.kpis["policy"] == "nearest")
    wide = day.kpis.copy()
    wide.loc[fire, ["mean", "ci95_low", "ci95_high"]] = [0.167, -1.951, 2.284]
    paths = write_report(SimpleNamespace(**{**vars(day), "kpis": wide}), tmp_path)
    text = paths["markdown"].read_text("utf-8")
    assert "nearest 16.7 (0.0 – 100.0) %" in text and "-195.1" not in text
    assert "kpis.csv keeps the raw t-interval bounds" in text
    assert "**Only 2 replications: the 95 % intervals are wide" in text
    assert pd.read_csv(paths["kpis"]).query("metric == 'fire_5min_share'")["ci95_low"].min() < 0


def test_a_storm_outside_the_simulated_hours_is_not_reported_as_if_it_fell(day, tmp_path):
    late = pd.DataFrame({"hour": range(15, 21), "rain_mm_h": [5.0, 20, 40, 30, 10, 5]})
    text = write_report(SimpleNamespace(**{**vars(day), "rain": late}), tmp_path)[
        "markdown"
    ].read_text("utf-8")
    assert "All 110.0 mm of the hyetograph fall outside the simulated hours (08:00 to 11:00" in text
    assert "--start-hour" in text and "No rain within the simulated hours." in text
    assert "110.0 mm in" not in text
    partly = pd.DataFrame({"hour": [10, 11, 12], "rain_mm_h": [10.0, 20.0, 30.0]})
    text = write_report(SimpleNamespace(**{**vars(day), "rain": partly}), tmp_path / "b")[
        "markdown"
    ].read_text("utf-8")
    assert "Of the rain, 50.0 mm of the hyetograph fall outside" in text
    assert "10.0 mm in 1 wet hours of the 1 simulated" in text


def test_never_reached_calls_are_told_apart_by_cause(day, tmp_path):
    reasons = {
        3: "unreachable: 812 m from the nearest road, beyond the snap limit of 300 m (max_snap_m)",
        7: "still queued at end",
    }
    log = day.log.copy()
    for i, reason in reasons.items():
        log.loc[log["incident_id"] == log["incident_id"].unique()[i], "reason"] = reason
    text = write_report(SimpleNamespace(**{**vars(day), "log": log}), tmp_path)[
        "markdown"
    ].read_text("utf-8")
    assert "| nearest | unreachable location (data) | unreachable: 812 m" in text
    assert "| nearest | no unit free before the end | still queued at end |" in text
    assert "not a busy fleet" in text


def test_tables_are_written_safe_for_spreadsheets_and_the_log_kept_as_it_is(report, day):
    kpis = pd.read_csv(report["kpis"])
    assert len(kpis) == len(day.kpis) and set(kpis["policy"]) == set(POLICIES)
    log = pd.read_parquet(report["log"])
    pd.testing.assert_frame_equal(log, day.log)
    raw = report["kpis"].read_text("utf-8")
    assert "district='" not in raw  # no user text starts a cell with a formula prefix here
    everyone = day.log.assign(reached=True, reason="")  # and no row to divide by
    safe = write_report(
        SimpleNamespace(
            **{**vars(day), "kpis": day.kpis.assign(group=HOSTILE_ID), "log": everyone}
        ),
        report["kpis"].parent / "again",
    )
    assert pd.read_csv(safe["kpis"])["group"].iat[0] == "'" + HOSTILE_ID
    assert "Every incident was reached." in safe["markdown"].read_text("utf-8")


def test_the_chart_draws_every_policy_and_its_chinese_labels(report, day, tmp_path):
    from cim.simulation.report import COLORS, response_chart

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        path = response_chart(day.log, tmp_path / "chart.png", policies=POLICIES)
    pixels = np.asarray(Image.open(path).convert("RGB"))
    for color in COLORS[: len(POLICIES)]:
        rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
        assert near_color(pixels, rgb, 30) > 200, color


def test_paired_differences_are_seed_by_seed_with_a_t_interval(day):
    paired = paired_differences(day.log, POLICIES).set_index("metric")
    wait = paired.loc["mean queue wait (min)"]
    runs = day.log.groupby(["policy", "seed"])["queue_wait_s"].mean() / 60
    diff = runs["moveup"] - runs["nearest"]  # moveup halves every wait of the same seed
    half = 12.7062 * diff.std() / np.sqrt(2)  # t(0.975, 1 degree of freedom)
    assert wait["mean"] == pytest.approx(diff.mean()) and wait["mean"] < 0
    assert (wait["ci95_low"], wait["ci95_high"]) == pytest.approx(
        (diff.mean() - half, diff.mean() + half), rel=1e-4
    )
    assert paired.loc["never reached", "mean"] == 0


def test_trip_timestamps_travel_as_one_binary_series():
    encoded = _columnar([{"timestamps": [0.0, 1.5, 3]}, {"timestamps": []}])
    assert encoded["columns"]["timestamps"]["kind"] == "series"
    assert _columnar([{"lonlat": [104.0, 30.0]}]) is None  # float32 would blur coordinates


def test_the_view_builds_trips_and_incident_phases_from_one_run(city, day):
    deck = simulation_view(city, day, policy="moveup", replication=1, at_s=3600)
    trips = next(layer for layer in deck.layers if layer.id == "trips")
    moves = day.moves.query("policy == 'moveup' and replication == 1")
    assert len(trips.data) == len(moves)
    first = moves.iloc[0]
    expected = first["depart_s"] + np.asarray(day.paths.loc[first["path_id"], "times_s"])
    np.testing.assert_allclose(trips.data[0]["timestamps"], expected)
    assert trips.data[0]["color"] == TRIP_KINDS[first["kind"]][1]
    rows = next(layer for layer in deck.layers if layer.id == "incidents").data
    run = day.log.query("policy == 'moveup' and replication == 1")
    missed = run[~run["reached"]].iloc[0]
    never = [r for r in rows if r["color"][:3] == PHASES["never"][1]]
    assert len(never) == 2 and never[0]["shown_from"] == pytest.approx(missed["call_s"])
    assert never[0]["shown_until"] > HOURS * 3600
    cleared = [r for r in rows if r["color"][:3] == PHASES["cleared"][1]]
    assert cleared[0]["shown_until"] - cleared[0]["shown_from"] == pytest.approx(CLEARED_SHOWN_S)
    assert deck.timeline.at_s == 3600 and deck.timeline.origin_s == 8 * 3600
    assert "第 2 次重复" in deck.description  # replication 1 is the second, counted from 1
    assert f"报警：{clock(8 * 3600 + missed['call_s'])}" in never[0]["tip"]  # time of day
    reached = SimpleNamespace(**{**vars(day), "log": run.assign(reached=True)})
    view = simulation_view(city, reached, policy="moveup", replication=1)
    rows = next(layer for layer in view.layers if layer.id == "incidents")
    assert all(r["shown_from"] < r["shown_until"] for r in rows.data)  # none but real phases
    with pytest.raises(ValueError, match="policy 'batch' is not in the result"):
        simulation_view(city, day, policy="batch")
    with pytest.raises(ValueError, match="replication 5 is not in the result"):
        simulation_view(city, day, replication=5)
    kept = day.moves.query("replication == 0")["path_id"]
    first_only = SimpleNamespace(**{**vars(day), "paths": day.paths.loc[kept]})
    with pytest.raises(ValueError, match="route lines of replication 1 of 'nearest' were not kept"):
        simulation_view(city, first_only, replication=1)


def changed_pixels(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 30).sum())


@pytest.mark.browser
def test_the_animated_map_plays_offline_and_its_frames_differ_over_time(
    city, day, tmp_path, render
):
    early, late = 1800.0, 2.0 * 3600
    path = export_html(simulation_view(city, day, at_s=early), tmp_path / "map.html")
    shown = render(
        path,
        then=f"window.cimTimeline.show({late})",
        evaluate="""(async () => {
            const clock = document.getElementById('cim-clock').textContent;
            const layer = id => window.cimDeck.props.layers.find(l => l.id === id);
            const seen = [layer('incidents').props.data.length, layer('trips').props.currentTime];
            const first = layer('trips').props.data[0].timestamps;
            const frame = () => new Promise(resolve => requestAnimationFrame(resolve));
            const before = window.cimTimeline.time();
            window.cimTimeline.play();  // until the clock moves (a frame or two), not longer
            for (let i = 0; i < 30 && window.cimTimeline.time() === before; i++) await frame();
            window.cimTimeline.pause();
            return {clock, seen, first, played: window.cimTimeline.time()};
        })()""",
    )
    assert shown.offline, (shown.errors, shown.requests)
    assert shown.drawn > 20_000
    assert changed_pixels(shown.pixels, shown.later) > 200
    assert shown.value["clock"] == clock(8 * 3600 + late) == "10:00"
    run = day.log.query("policy == 'nearest' and replication == 0")
    calls, clears = run["call_s"], run["clear_s"].fillna(np.inf) + CLEARED_SHOWN_S
    open_late = int(((calls <= late) & (late < clears)).sum())
    assert shown.value["seen"] == [open_late, late]
    assert shown.value["played"] > late
    move = day.moves.query("policy == 'nearest' and replication == 0").iloc[0]
    times = move["depart_s"] + np.asarray(day.paths.loc[move["path_id"], "times_s"])
    np.testing.assert_allclose(shown.value["first"], times, atol=0.01)  # float32 of a day's seconds


def test_simulate_compares_policies_on_the_same_seeds_and_writes_every_file(invoke, tmp_path):
    out = tmp_path / "run"
    args = (
        "--hours",
        1,
        "--incidents-per-day",
        240,
        "--replications",
        2,
        "--seed",
        3,
        "--out",
        out,
    )
    result = invoke("simulate", "--policy", "nearest,moveup", *args)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "kpis.csv",
        "incidents_log.parquet",
        "response_times.png",
        "report.md",
        "map.html",
    }
    log = pd.read_parquet(out / "incidents_log.parquet")
    assert set(log["seed"]) == {3, 4} and set(log["policy"]) == {"nearest", "moveup"}
    calls = log.pivot_table(index=["seed", "incident_id"], columns="policy", values="call_s")
    assert len(calls) and calls["nearest"].equals(calls["moveup"])  # common random numbers
    assert "| metric | nearest | moveup |" in (out / "report.md").read_text("utf-8")
    assert "response p90 (min)" in result.output and "moveup" in result.output
    assert "Only 2 replications: the 95 % intervals are wide" in result.output
    page = static_page(out / "map.html")
    assert 'id="cim-timeline"' in page and "TripsLayer" in page


def test_simulate_refuses_a_bad_policy_or_storm_with_the_fix(invoke, tmp_path):
    result = invoke("simulate", "--policy", "nearest,closest", "--out", tmp_path / "a")
    assert result.exit_code == 1
    assert (
        "unknown policy 'closest'; choose one of nearest, priority, batch, moveup" in result.output
    )
    storm = tmp_path / "storm.csv"
    storm.write_text("hour,rain_mm_h\n0,5\n1,-3\n", encoding="utf-8")
    result = invoke("simulate", "--hours", 1, "--rain", storm, "--out", tmp_path / "b")
    assert result.exit_code == 1 and "rain_mm_h must be a number ≥ 0" in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_sample_storm_is_the_one_its_script_writes_and_the_engine_reads():
    spec = importlib.util.spec_from_file_location("build_storm", SAMPLE_ROOT / "build_storm.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    storm = read_hyetograph(SAMPLE_STORM)
    pd.testing.assert_frame_equal(storm, build.hyetograph(), check_dtype=False)
    assert storm["rain_mm_h"].sum() == pytest.approx(build.depth_mm(360.0), abs=0.2)  # 6 h
    assert storm["rain_mm_h"].max() == pytest.approx(build.depth_mm(60.0), abs=0.1)  # its peak hour


def test_simulate_replays_a_csv_of_calls_read_with_its_crs(invoke, city, tmp_path):
    table = city.layer("incidents")
    calls = table.drop(columns="geometry").assign(lon=table.geometry.x, lat=table.geometry.y)
    path = tmp_path / "calls.csv"
    calls.to_csv(path, index=False)
    out = tmp_path / "run"
    result = invoke(
        "simulate", "--incidents", path, "--hours", 2, "--replications", 1, "--out", out
    )
    assert result.exit_code == 0, result.output
    log = pd.read_parquet(out / "incidents_log.parquet")
    assert set(log["incident_id"]) <= set(calls["id"]) and len(log) > 0
    help_text = invoke("simulate", "--help").output
    assert "--crs" in help_text and "--encoding" in help_text and "reported_at" in help_text


def test_rain_without_a_dem_names_the_cli_option(invoke, city, tmp_path):
    from cim.model import CityModel
    from cim.settings import CitySettings
    from cim.simulation import simulate

    bare = CityModel(
        {name: city.layer(name) for name in ("roads", "facilities", "incidents", "grid")},
        name="bare",
        settings=CitySettings(),
    )
    with pytest.raises(layers.InputError, match=r"--dem FILE\.tif, or dem= in Python"):
        simulate(bare, hours=1, rain=pd.DataFrame({"hour": [0], "rain_mm_h": [10.0]}))
    assert "--dem" in invoke("simulate", "--help").output
