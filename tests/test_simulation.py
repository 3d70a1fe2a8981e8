"""The emergency-response simulation (cim.simulation) against queueing theory and the Router.

The Erlang C tests run the real engine on a hand-made block of four streets with one fire
station: every call is at the station, so the Router gives zero travel and the station's
units are the c servers of an M/M/c (or M/D/1) queue.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats

import cim
import layers
from cim.simulation import POLICIES, SimulationError, compare, simulate
from cim.simulation.fleet import build_fleet
from cim.simulation.incidents import fit_rates
from cim.simulation.network import NetworkStates, read_hyetograph
from cim.simulation.report import queue_waits

SERVICE_S = 60.0  # mean on-scene time of the queueing tests
CORNER = (104.060, 30.650)


@pytest.fixture(scope="session")
def station(grid):
    """``station(c)``: the block of streets with one fire station of ``c`` units at a corner."""
    cities: dict[int, cim.CityModel] = {}

    def _station(units: int) -> cim.CityModel:
        if units not in cities:
            cities[units] = _station_city(grid, units)
        return cities[units]

    return _station


def _station_city(roads: gpd.GeoDataFrame, units: int) -> cim.CityModel:
    facilities = gpd.GeoDataFrame(
        {"id": ["st"], "kind": ["fire_station"], "name": ["站"], "units": [units]},
        geometry=[shapely.Point(CORNER)],
        crs=4326,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", layers.CimWarning)
        return cim.CityModel({"roads": roads, "facilities": facilities}, name="block")


def _queue(city, c: int, rho: float, *, calls: int, replications: int, law: str):
    """Mean wait and share waiting per replication, of the calls after the first fifth of each
    run (the queue starts empty) and before its last tenth (calls then may still wait)."""
    rate_per_h = rho * c / SERVICE_S * 3600
    hours = calls / rate_per_h / replications
    rates = pd.DataFrame({"hour": range(24), "kind": "fire", "rate_per_h": rate_per_h})
    service = (
        {"distribution": "exponential", "mean_s": SERVICE_S}
        if law == "M"
        else {"distribution": "fixed", "value_s": SERVICE_S}
    )
    result = simulate(
        city,
        hours=hours,
        rates=rates,
        sites=gpd.GeoDataFrame(geometry=[shapely.Point(CORNER)], crs=4326),
        on_scene={"fire": service},
        response={"fire": "fire_engine"},
        replications=replications,
        seed=1,
        paths="none",
    )
    log = result.log
    assert (log["travel_s"].dropna() == 0).all()
    middle = log[log["call_s"].between(0.2 * hours * 3600, 0.9 * hours * 3600)]
    assert middle["reached"].all()
    by = middle.groupby("replication")["queue_wait_s"]
    return by.mean().to_numpy(), by.apply(lambda w: (w > 0).mean()).to_numpy()


def _ci(values: np.ndarray) -> tuple[float, float, float]:
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean(), values.mean() - half, values.mean() + half


def _erlang_c(c: int, rho: float) -> float:
    """Probability that a call waits in an M/M/c queue at utilisation ``rho``."""
    a = c * rho
    last = a**c / math.factorial(c) / (1 - rho)
    return last / (sum(a**k / math.factorial(k) for k in range(c)) + last)


FIGURES: list[str] = []


@pytest.mark.parametrize(
    ("c", "rho", "calls"),
    [
        (1, 0.5, 2000),
        (1, 0.8, 5000),
        (2, 0.5, 2000),
        (2, 0.8, 5000),
        (5, 0.5, 6000),
        (5, 0.8, 5000),
    ],
)
def test_queue_waits_match_erlang_c(station, c, rho, calls):
    wait, waited = _queue(station(c), c, rho, calls=calls, replications=5, law="M")
    p_wait = _erlang_c(c, rho)
    mean_wait = p_wait * SERVICE_S / (c * (1 - rho))
    w, w_low, w_high = _ci(wait)
    p, p_low, p_high = _ci(waited)
    FIGURES.append(
        f"M/M/{c} rho={rho}: W {w:.1f} [{w_low:.1f}, {w_high:.1f}] vs {mean_wait:.1f} s; P(wait) {p:.3f} [{p_low:.3f}, {p_high:.3f}] vs {p_wait:.3f}"
    )
    print(FIGURES[-1])
    assert w_low <= mean_wait <= w_high
    assert p_low <= p_wait <= p_high
    assert w_high - w_low < 2 * mean_wait  # the interval excludes no wait and twice the wait


def test_deterministic_service_matches_pollaczek_khinchine(station):
    rho = 0.8
    wait, waited = _queue(station(1), 1, rho, calls=10000, replications=5, law="D")
    mean_wait = rho * SERVICE_S / (2 * (1 - rho))  # M/D/1: half the M/M/1 wait
    w, w_low, w_high = _ci(wait)
    print(f"M/D/1 rho={rho}: W {w:.1f} [{w_low:.1f}, {w_high:.1f}] vs {mean_wait:.1f} s")
    assert w_low <= mean_wait <= w_high
    assert w_high < rho * SERVICE_S / (1 - rho)  # clearly below the M/M/1 wait
    assert _ci(waited)[1] <= rho <= _ci(waited)[2]


def _every_kind_in_turn(incidents: gpd.GeoDataFrame, per_kind: int) -> gpd.GeoDataFrame:
    """``per_kind`` incidents of each kind, the kinds taking turns, an hour apart."""
    picked = incidents.groupby("kind", sort=True).head(per_kind).copy()
    picked["turn"] = picked.groupby("kind").cumcount()
    picked = picked.sort_values(["turn", "kind"]).drop(columns="turn")
    start = pd.Timestamp("2026-07-15 00:10")
    picked["reported_at"] = start + pd.to_timedelta(np.arange(len(picked)), "h")
    return picked


def test_one_call_at_a_time_is_answered_in_the_routers_dispatch_eta(city):
    calls = _every_kind_in_turn(city.layer("incidents"), 2)
    far = city.layer("incidents").query("id == 'INC-0036'")  # beyond the snap limit
    calls = pd.concat([calls, far.assign(reported_at=pd.Timestamp("2026-07-15 08:30"))])
    result = simulate(city, hours=10, incidents=calls, seed=3)
    log = result.log.set_index("incident_id")
    facilities = city.layer("facilities")
    assert len(log) == len(calls) == 9
    for incident in calls.itertuples():
        row = log.loc[incident.id]
        profile = cim.response.RESPONSE[incident.kind]
        stations = facilities[facilities["kind"].isin(city.router(profile).profile.stations)]
        hour = int(row["call_s"] // 3600) % 24
        routes = city.router(profile, hour=hour).dispatch(
            calls[calls["id"] == incident.id], stations
        )
        first = routes.iloc[0]
        if pd.isna(first["eta_s"]):
            assert not row["reached"] and row["reason"] == f"unreachable: {first['reason']}"
            continue
        assert row["queue_wait_s"] == 0
        assert row["response_s"] == pytest.approx(first["eta_s"], rel=1e-12, abs=1e-9)
        assert row["station_id"] == first["resource_id"]
        path = result.paths.loc[row["path_id"]]
        assert path.geometry.hausdorff_distance(first.geometry) < 1e-9
        assert path["times_s"][0] == 0 and path["times_s"][-1] == pytest.approx(row["travel_s"])
    assert log["reached"].sum() == 8


def test_a_storm_from_hour_3_changes_the_routes_of_later_trips_only(city):
    storm = pd.DataFrame({"hour": [3, 4], "rain_mm_h": [90.0, 100 / 3]})  # the water stays
    flooded = NetworkStates(city, ["ambulance"], hours=5, rain=storm).barriers(3)
    # medical calls where the flood lengthens the ambulances' way: grid cells the storm delays
    cells = city.layer("grid")
    cells = cells[
        cells.intersects(flooded.to_crs(city.metric_crs).buffer(800).to_crs(4326).union_all())
    ]
    bases = city.layer("facilities").query("kind in ['ambulance_base', 'hospital']")
    points = cells.geometry.representative_point()
    dry_s = city.router("ambulance").cost_matrix(bases, points).values.min(axis=0)
    wet_s = (
        city.router("ambulance").with_closures(flooded, buffer_m=0.5).cost_matrix(bases, points)
    ).values.min(axis=0)
    sites = cells[(wet_s > dry_s + 1) & np.isfinite(wet_s)]
    assert len(sites) >= 3
    rates = fit_rates(city.layer("incidents"), per_day=150).query("kind == 'medical'")
    options = {"hours": 5, "rates": rates, "seed": 11, "sites": sites, "paths": "none"}
    wet = simulate(city, rain=storm, **options)
    dry = simulate(city, **options)
    hours = wet.closures_by_hour.groupby("hour")["closed_edges"].sum()
    assert (hours.loc[:2] == 0).all() and (hours.loc[3:] > 0).all()
    assert (dry.closures_by_hour["closed_edges"] == 0).all()
    pair = wet.log.merge(dry.log, on="incident_id", suffixes=("_wet", "_dry"))
    same = (pair["unit_id_wet"] == pair["unit_id_dry"]) & (
        pair["dispatch_s_wet"] == pair["dispatch_s_dry"]
    )
    before = pair["dispatch_s_wet"] < 3 * 3600
    assert same[before].all() and before.sum() > 5
    assert (pair.loc[before, "travel_s_wet"] == pair.loc[before, "travel_s_dry"]).all()
    later = pair[same & ~before]
    assert (later["travel_s_wet"] > later["travel_s_dry"]).sum() >= 1
    assert (later["travel_s_wet"] >= later["travel_s_dry"] - 1e-9).all()  # closures never help
    early = [r.moves[r.moves["depart_s"] < 3 * 3600].drop(columns="path_id") for r in (wet, dry)]
    pd.testing.assert_frame_equal(*early)


def test_the_same_seed_gives_the_same_day_and_every_policy_the_same_calls(city):
    options = {"hours": 2, "incidents_per_day": 300, "seed": 5, "paths": "none"}
    every = compare(city, policies=list(POLICIES), replications=2, **options)
    assert every.policies == ("nearest", "priority", "batch", "moveup")
    calls = ["replication", "seed", "incident_id", "kind", "priority", "call_s", "lon", "lat"]
    streams = [g[calls].reset_index(drop=True) for _, g in every.log.groupby("policy")]
    for stream in streams[1:]:
        pd.testing.assert_frame_equal(stream, streams[0])
    lost = every.log[~every.log["reached"]]  # places no unit reaches, each for its own reason
    why = [g[["replication", "incident_id", "reason"]] for _, g in lost.groupby("policy")]
    for reasons in why[1:]:
        assert reasons.to_numpy().tolist() == why[0].to_numpy().tolist()
    assert why[0]["reason"].nunique() >= 2
    # seed 6 again, alone: the very same day, its move-ups on coverage times of its own (the
    # route numbers differ: the study numbers the routes of all its runs)
    once = simulate(city, policy="moveup", **{**options, "seed": 6})
    moveup = every.log[every.log["policy"] == "moveup"]
    again = moveup[moveup["replication"] == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        again.assign(path_id=again["path_id"] >= 0),
        once.log.assign(replication=1, path_id=once.log["path_id"] >= 0),
    )
    moves = every.moves[(every.moves["policy"] == "moveup") & (every.moves["replication"] == 1)]
    pd.testing.assert_frame_equal(
        moves.reset_index(drop=True).drop(columns="path_id"),
        once.moves.assign(replication=1).drop(columns="path_id"),
    )
    assert (once.moves["kind"] == "move_up").any()
    first = moveup[moveup["replication"] == 0]
    assert not np.array_equal(first["call_s"], once.log["call_s"])
    kpis = every.kpis.set_index(["policy", "metric", "group"])
    assert (kpis.xs("all", level="group")["replications"] == 2).all()
    low, mean, high = kpis.loc[
        ("nearest", "response_p50_s", "all"), ["ci95_low", "mean", "ci95_high"]
    ]
    assert low <= mean <= high
    batch = every.log[every.log["policy"] == "batch"]
    assert (batch["queue_wait_s"].dropna() > 0).mean() > 0.9  # every call waits for its round
    waits = queue_waits(every.log).set_index("policy")
    assert waits.loc["batch", "waited for a free unit (%)"] < 50
    assert 0 < waits.loc["batch", "batching hold mean (min)"] <= 1
    assert waits.loc["nearest", "waited for a free unit (%)"] < 50


def test_moveup_moves_the_unit_that_covers_the_most_demand():
    from cim.simulation.fleet import Unit
    from cim.simulation.policies import MoveUp

    units = [Unit(f"u{i}", "fire_engine", f"s{s}", s, s, s) for i, s in enumerate([0, 0, 1])]
    idle = {0: units[:2], 1: [units[2]], 2: [], 3: []}
    # sites 0-1 near station 0, site 2 near station 1, sites 3-5 near station 3, 6 near 2
    reach = np.full((4, 7), 900.0)
    reach[0, [0, 1]] = reach[1, 2] = reach[3, [3, 4, 5]] = reach[2, 6] = 200.0
    move_s = np.full((4, 4), 400.0)
    unit, to = MoveUp().relocate(idle, reach, np.ones(7), move_s)
    assert (unit.id, to) == ("u1", 3)  # the second unit of station 0 covers three more sites
    assert MoveUp().relocate(idle, reach, np.ones(7), move_s, coming=frozenset({3}))[1] == 2
    alone = {0: units[:1], 1: [units[2]], 2: [], 3: []}  # no station has a unit to spare
    assert MoveUp().relocate(alone, reach, np.ones(7), move_s) is None


def test_an_unknown_policy_is_refused_with_the_valid_names(city):
    with pytest.raises(
        SimulationError,
        match="unknown policy 'fastest'; choose one of nearest, priority, batch, moveup",
    ):
        simulate(city, policy="fastest", hours=1)


@pytest.mark.parametrize(
    ("rain", "message"),
    [
        (
            {"hour": [2, 3, 4], "rain_mm_h": [10, -5, 20]},
            "rain_mm_h must be a number ≥ 0; hours 3 have -5",
        ),
        (
            {"hour": [2, 3, 6, 7], "rain_mm_h": [10, 20, 20, 5]},
            "hours 4, 5 are missing between hours 2 and 7",
        ),
        ({"hour": [1], "mm": [3]}, "needs columns 'hour' and 'rain_mm_h'"),
    ],
)
def test_a_bad_hyetograph_is_refused_naming_the_hours(city, tmp_path, rain, message):
    path = tmp_path / "rain.csv"
    pd.DataFrame(rain).to_csv(path, index=False)
    with pytest.raises(SimulationError, match=message) as caught:
        simulate(city, rain=path, hours=1)
    assert str(path) in str(caught.value)
    with pytest.raises(SimulationError, match=message):
        read_hyetograph(pd.DataFrame(rain))


def test_a_fleet_without_units_is_refused(city):
    facilities = city.layer("facilities").assign(units=0)
    with pytest.raises(SimulationError, match=r"the fleet has no units.*set the 'units' column"):
        simulate(city, facilities=facilities, hours=1)
    assert len(build_fleet(city.layer("facilities")).units) == 72


def test_a_kind_no_unit_serves_is_logged_as_never_reached(city):
    calls = city.layer("incidents").head(4).copy()
    calls.loc[calls.index[:2], "kind"] = "earthquake"
    calls["reported_at"] = pd.Timestamp("2026-07-15 01:00") + pd.to_timedelta(range(4), "h")
    log = simulate(city, incidents=calls, hours=6).log.set_index("incident_id")
    quake = log[log["kind"] == "earthquake"]
    assert len(quake) == 2 and not quake["reached"].any()
    assert (quake["reason"] == "no unit serves kind 'earthquake'").all()
    assert (quake["unit_id"] == "").all() and (quake["path_id"] == -1).all()
    assert log.loc[log["kind"] != "earthquake", "reached"].all()


@pytest.fixture(scope="session")
def jinan(made_once) -> cim.CityModel:
    from tests.test_second_city import _make_city

    folder, _ = made_once("jinan_city", _make_city)
    return cim.CityModel.load(folder / "city")


def test_a_storm_day_on_jinan_answers_calls_and_says_why_it_missed_some(jinan):
    storm = pd.DataFrame({"hour": [1, 2], "rain_mm_h": [80.0, 60.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", layers.CimWarning)
        result = compare(jinan, hours=2, replications=2, rain=storm, incidents_per_day=360, seed=2)
    log = result.log
    assert set(log["kind"]) == {"fire", "medical"} and log["reached"].mean() > 0.5
    assert (result.closures_by_hour.query("hour >= 1")["closed_edges"] > 0).any()
    missed = log[~log["reached"]]
    assert (missed["reason"] != "").all()
    south = missed[missed["district"] == "南片"]  # the district without a road
    assert len(south) and south["reason"].str.contains("beyond the snap limit").all()
    assert set(result.kpis["policy"]) == {"nearest", "moveup"}


def test_replayed_calls_need_no_grid_and_their_places_are_the_move_up_demand(city):
    bare = cim.CityModel({name: city.layer(name) for name in ("roads", "facilities")}, name="bare")
    result = compare(bare, incidents=city.layer("incidents"), hours=3, replications=1)
    assert len(result.log) and result.log["reached"].any()
    with pytest.raises(SimulationError, match=r"cim simulate --incidents FILE"):
        simulate(
            bare, hours=1, rates=pd.DataFrame({"hour": [0], "kind": ["fire"], "rate_per_h": [1.0]})
        )
    with pytest.raises(SimulationError, match=r"--incidents FILE, or incidents= in Python"):
        simulate(bare, hours=1)
