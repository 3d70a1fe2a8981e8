"""Simulation studies: replications of a day under one or more policies, on common seeds.

:func:`simulate` runs one policy, :func:`compare` several; both return a
:class:`SimulationResult`. Replication ``r`` uses seed ``seed + r``: the incident stream
(times, places, kinds, on-scene times, transports) is drawn from that seed alone, so every
policy run on it meets the very same incidents (common random numbers), and the difference
between two policies is measured on paired days.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import layers
from cim.model import CityModel
from cim.simulation.errors import SimulationError
from cim.simulation.fleet import Fleet, build_fleet
from cim.simulation.incidents import (
    draw_service,
    fit_rates,
    load_on_scene,
    poisson_incidents,
    replay_incidents,
)
from cim.simulation.kpis import KPI_COLUMNS, replication_kpis, summarise
from cim.simulation.network import NetworkStates
from cim.simulation.policies import get_policy
from cim.simulation.replication import LOG_COLUMNS, MOVE_COLUMNS, Replication
from cim.simulation.travel import Travel

__all__ = ["SimulationResult", "compare", "simulate"]

_STREAM = 16  # the incident stream's generator is seeded with (seed, _STREAM)


@dataclass
class SimulationResult:
    """What a simulation study gives (see the fields' meaning in ``notes/sim_contract.md``).

    Attributes
    ----------
    log : DataFrame
        One row per (policy, replication, incident): times of call, dispatch, arrival and
        clearance (``call_s`` …: seconds since the start of the run, ``start_hour``:00 of the
        first simulated day; NaN when it did not happen), unit, station, queue wait, travel
        and response time, the route's ``path_id`` (-1 when none), ``reached`` and the
        ``reason`` when not. ``response_s`` is call to arrival: the queue wait (call to
        dispatch) plus the travel. Call handling and turnout are not modelled (a free unit
        leaves when the call comes), so a 5-minute share counted on it is optimistic by the
        turnout time that 建标 152-2017's 5 minutes include.
    moves : DataFrame
        One row per unit trip: ``to_scene``, ``to_hospital``, ``return`` or ``move_up``.
    paths : GeoDataFrame
        Route lines by ``path_id`` with ``times_s`` per vertex (for the first replication's
        trips unless ``paths="all"``).
    kpis : DataFrame
        ``policy, metric, group, mean, ci95_low, ci95_high, replications``
        (:mod:`cim.simulation.kpis`).
    rain : DataFrame or None
        The hyetograph used.
    closures_by_hour : DataFrame
        ``hour, profile, closed_edges``.
    """

    log: pd.DataFrame
    moves: pd.DataFrame
    paths: gpd.GeoDataFrame
    kpis: pd.DataFrame
    rain: pd.DataFrame | None
    closures_by_hour: pd.DataFrame
    policies: tuple[str, ...]
    seeds: tuple[int, ...]
    hours: float
    start_hour: int


def _default_sites(city: CityModel) -> gpd.GeoDataFrame | None:
    for name in ("grid", "districts"):
        if name in city.layers:
            return city.layer(name)
    return None


class _Study:
    """What every replication of a study shares: fleet, network, parameters."""

    def __init__(
        self,
        city: CityModel,
        *,
        hours: float,
        start_hour: int,
        rain=None,
        incidents=None,
        rates=None,
        incidents_per_day=None,
        sites=None,
        on_scene=None,
        response=None,
        facilities=None,
        dem=None,
    ):
        if not (np.isfinite(hours) and hours > 0):
            raise SimulationError(f"hours must be a number > 0, not {hours!r}")
        if not 0 <= int(start_hour) <= 23:
            raise SimulationError(f"start_hour is an hour of day, 0-23, not {start_hour!r}")
        self.city, self.hours, self.start_hour = city, float(hours), int(start_hour)
        facilities = city.layer("facilities") if facilities is None else facilities
        self.fleet: Fleet = build_fleet(facilities, response=response)
        self.on_scene = load_on_scene(on_scene)
        self.table = None
        if isinstance(incidents, str | Path):
            incidents = layers.load("incidents", incidents)
        if incidents is not None:
            self.table = incidents
        elif rates is None:
            if "incidents" not in city.layers:
                raise SimulationError(
                    f"{city.name}: no incidents layer to fit call rates from; give a table of "
                    "calls to replay (cim simulate --incidents FILE, or incidents= in Python), "
                    "add an incidents layer to the city, or pass rates= (hour, kind, "
                    "rate_per_h) in Python"
                )
            rates = fit_rates(city.layer("incidents"), per_day=incidents_per_day)
        self.rates = rates
        self.sites = _default_sites(city) if sites is None else layers.to_wgs84(sites, kind="sites")
        if self.sites is None and self.table is None:
            raise SimulationError(
                f"{city.name}: generating calls needs sites to place them in and the city has "
                "no 'grid' or 'districts' layer; add one to the city, pass sites= (polygons or "
                "points, optional 'weight') in Python, or replay a table of calls "
                "(cim simulate --incidents FILE)"
            )
        if self.sites is None:  # replayed calls only: their own places are the demand
            self.demand = (self.table.geometry.representative_point(), np.ones(len(self.table)))
        else:
            weight = (
                pd.to_numeric(self.sites["weight"], errors="coerce").fillna(0).to_numpy(float)
                if "weight" in self.sites.columns
                else np.ones(len(self.sites))
            )
            self.demand = (self.sites.geometry.representative_point(), weight)
        if rain is not None and dem is None and city.settings.dem is None:
            raise SimulationError(
                f"{city.name}: rain needs a DEM for the ponding model and this city has none; "
                "pass one (cim simulate --dem FILE.tif, or dem= in Python: a projected GeoTIFF "
                "covering the roads) or save the city with CitySettings(dem=...)"
            )
        self.districts = city.layer("districts") if "districts" in city.layers else None
        profiles = {u.profile for u in self.fleet.units}
        self.states = NetworkStates(
            city, profiles, hours=self.hours, start_hour=self.start_hour, rain=rain, dem=dem
        )
        carried = {k for k, spec in self.on_scene.items() if spec.get("transport_share", 0) > 0}
        self.anchors = {
            p: np.concatenate(
                [
                    self.fleet.stations[p],
                    self.fleet.hospitals
                    if any(self.fleet.response.get(k) == p for k in carried)
                    else [],
                ]
            ).astype(int)
            for p in profiles
        }
        self.coverage: dict[tuple, np.ndarray] = {}  # anchors to demand, per network state

    def calls(self, seed: int) -> pd.DataFrame:
        """The incident stream of ``seed``, with each call's profile, place and service."""
        rng = np.random.default_rng([seed, _STREAM])
        if self.table is not None:
            calls = replay_incidents(self.table, hours=self.hours, start_hour=self.start_hour)
        else:
            calls = poisson_incidents(
                self.rates, self.sites, hours=self.hours, start_hour=self.start_hour, rng=rng
            )
        kinds = calls["kind"].to_numpy(dtype=object)
        places, where = self._places(calls)
        service = draw_service(kinds, self.on_scene, rng)
        staffed = {u.profile for u in self.fleet.units}
        profile = calls["kind"].map(self.fleet.response)
        served = profile.isin(staffed)
        unknown = sorted(set(kinds[served.to_numpy()]) - set(self.on_scene))
        if unknown:
            raise SimulationError(
                f"on-scene times: incident kind(s) {', '.join(map(repr, unknown))} have no "
                "parameters; add them to the on_scene YAML (distribution and its parameters)"
            )
        reason = np.where(served, "", [f"no unit serves kind {k!r}" for k in kinds]).astype(object)
        frame = pd.DataFrame(
            {
                "incident_id": calls["id"].to_numpy(),
                "kind": kinds,
                "priority": calls["priority"].to_numpy(dtype=int),
                "call_s": calls["call_s"].to_numpy(dtype=float),
                "lon": calls.geometry.x.to_numpy(),
                "lat": calls.geometry.y.to_numpy(),
                "profile": profile.where(served, None).to_numpy(),
                "place": places,
                "district": self._districts(calls),
                "reason": reason,
            }
        )
        return pd.concat([frame, service], axis=1), where

    def _places(self, calls: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each call's place, and the coordinates of every place: the fleet's places, then
        each point where calls are, once (a call at a station or hospital is at that place)."""
        fleet = shapely.get_coordinates(self.fleet.places.geometry.values)
        every = np.concatenate([fleet, shapely.get_coordinates(calls.geometry.values)])
        _, first, inverse = np.unique(every, axis=0, return_index=True, return_inverse=True)
        first_of_each = first[inverse.ravel()]
        new = np.unique(first_of_each[len(fleet) :])
        new = new[new >= len(fleet)]
        number = np.arange(len(every))
        number[new] = len(fleet) + np.arange(len(new))
        return number[first_of_each][len(fleet) :], np.concatenate([fleet, every[new]])

    def _districts(self, calls: gpd.GeoDataFrame) -> np.ndarray:
        if self.districts is None or len(calls) == 0:
            return np.full(len(calls), "", dtype=object)
        joined = gpd.sjoin(
            calls[["geometry"]],
            self.districts[["name", "geometry"]],
            how="left",
            predicate="within",
        )
        first = joined[~joined.index.duplicated()]["name"]
        return first.fillna("").astype(str).reindex(calls.index).to_numpy(dtype=object)

    def travel(self, calls: pd.DataFrame, where: np.ndarray) -> Travel:
        """A travel model over the places at ``where`` (lon, lat rows)."""
        places = gpd.GeoDataFrame(geometry=shapely.points(where), crs=4326)
        return Travel(self.states, places, self.anchors, calls, coverage=self.coverage)


def _run(
    city: CityModel,
    policies,
    *,
    hours,
    rain,
    incidents,
    seed,
    replications,
    start_hour,
    progress,
    paths,
    **options,
) -> SimulationResult:
    if int(replications) < 1:
        raise SimulationError(f"replications must be at least 1, not {replications!r}")
    if paths not in ("first", "all", "none"):
        raise SimulationError(f"paths is 'first', 'all' or 'none', not {paths!r}")
    chosen = [get_policy(p) for p in policies]
    names = [p.name for p in chosen]
    if len(set(names)) != len(names):
        raise SimulationError(f"policies are named twice: {', '.join(names)}")
    study = _Study(
        city, hours=hours, start_hour=start_hour, rain=rain, incidents=incidents, **options
    )
    horizon_s = study.hours * 3600
    seeds = [int(seed) + r for r in range(int(replications))]
    logs, moves, routes, per_rep = [], [], [], []
    travel, points, offset, drawn = None, None, 0, 0
    steps = list(enumerate(seeds))
    if progress:
        from rich.progress import track

        steps = track(steps, description="simulating", total=len(steps))
    for r, s in steps:
        calls, here = study.calls(s)
        # a replayed table has the same places every time: keep their known times
        if travel is None or not np.array_equal(here, points):
            if travel is not None:
                offset, drawn = offset + len(travel.trips), 0
            travel, points = study.travel(calls, here), here
        for policy in chosen:
            day = Replication(
                study.fleet, calls, travel, policy, horizon_s=horizon_s, demand=study.demand
            )
            result = day.run()
            tag = {"policy": policy.name, "replication": r}
            log = result.log.assign(**tag, seed=s)
            log["path_id"] = np.where(log["path_id"] >= 0, log["path_id"] + offset, -1)
            logs.append(log[LOG_COLUMNS])
            trips = result.moves.assign(**tag)
            trips["path_id"] += offset
            moves.append(trips[MOVE_COLUMNS])
            per_rep.append(replication_kpis(result.log, result.busy, horizon_s).assign(**tag))
        if paths == "all" or (paths == "first" and r == 0):
            routes.append(travel.paths(range(drawn, len(travel.trips)), offset=offset))
            drawn = len(travel.trips)
    kpis = (
        summarise(pd.concat(per_rep, ignore_index=True))
        if per_rep
        else pd.DataFrame(columns=KPI_COLUMNS)
    )
    paths_frame = (
        pd.concat(routes) if routes else gpd.GeoDataFrame({"times_s": []}, geometry=[], crs=4326)
    )
    return SimulationResult(
        log=pd.concat(logs, ignore_index=True),
        moves=pd.concat(moves, ignore_index=True),
        paths=gpd.GeoDataFrame(paths_frame, geometry="geometry", crs=4326),
        kpis=kpis,
        rain=study.states.rain,
        closures_by_hour=study.states.closures_by_hour,
        policies=tuple(names),
        seeds=tuple(seeds),
        hours=study.hours,
        start_hour=study.start_hour,
    )


def simulate(
    city: CityModel,
    *,
    hours: float = 24.0,
    policy="nearest",
    rain=None,
    incidents=None,
    seed: int = 0,
    replications: int = 1,
    start_hour: int = 0,
    progress: bool = False,
    rates: pd.DataFrame | None = None,
    incidents_per_day: float | None = None,
    sites: gpd.GeoDataFrame | None = None,
    on_scene=None,
    response: dict[str, str] | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    dem=None,
    paths: str = "first",
) -> SimulationResult:
    """Simulate ``hours`` of emergency response in ``city`` under one dispatch ``policy``.

    Parameters
    ----------
    city : CityModel
        Needs ``roads`` and ``facilities``; its ``incidents`` (to fit call rates) and
        ``grid`` or ``districts`` (where generated calls fall) unless given below.
    hours : float
        Length of the simulated period.
    policy : str or policy object
        A name in :data:`cim.simulation.POLICIES` (``nearest``, ``priority``, ``batch``,
        ``moveup``) or an object with ``assign`` (:mod:`cim.simulation.policies`).
    rain : DataFrame or path, optional
        Hyetograph ``hour, rain_mm_h`` (:func:`cim.simulation.network.read_hyetograph`):
        the ponding model runs hour by hour and closes flooded roads (needs a DEM: the
        city's settings DEM, or ``dem``).
    incidents : GeoDataFrame or path, optional
        A table to replay (``id, kind, priority, reported_at``: the incidents layer, or
        ``cim.events`` rows); else calls are generated (Poisson by hour and kind).
    seed, replications : int
        Replication ``r`` uses seed ``seed + r``.
    start_hour : int
        Hour of day at which the simulation starts.
    progress : bool
        Show a progress bar over the replications.
    rates : DataFrame, optional
        ``hour, kind, rate_per_h[, priority]`` for generated calls; fitted from the city's
        incidents layer by default (:func:`cim.simulation.incidents.fit_rates`).
    incidents_per_day : float, optional
        Scale the fitted rates to this many calls a day.
    sites : GeoDataFrame, optional
        Where generated calls fall, with optional ``weight``; also the demand the
        ``moveup`` policy covers. The city's unit grid (or districts) by default.
    on_scene : path or dict, optional
        On-scene time parameters per kind (:data:`cim.simulation.incidents.ON_SCENE`).
    response : dict, optional
        Incident kind → vehicle profile (:data:`cim.response.RESPONSE`).
    facilities : GeoDataFrame, optional
        The fleet's stations; the city's ``facilities`` by default.
    dem : path, optional
        The DEM for ``rain``.
    paths : {"first", "all", "none"}
        Which replications' route lines to draw into ``paths`` (every trip has a
        ``path_id`` either way).

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import cim
    >>> result = simulate(cim.sample_city(), hours=2, incidents_per_day=240, seed=1)
    >>> result.policies, bool(result.log["reached"].any())
    (('nearest',), True)
    """
    return _run(
        city,
        [policy],
        hours=hours,
        rain=rain,
        incidents=incidents,
        seed=seed,
        replications=replications,
        start_hour=start_hour,
        progress=progress,
        paths=paths,
        rates=rates,
        incidents_per_day=incidents_per_day,
        sites=sites,
        on_scene=on_scene,
        response=response,
        facilities=facilities,
        dem=dem,
    )


def compare(
    city: CityModel,
    *,
    policies=("nearest", "moveup"),
    replications: int = 20,
    seed: int = 0,
    hours: float = 24.0,
    rain=None,
    incidents=None,
    progress: bool = False,
    **options,
) -> SimulationResult:
    """Run several policies on the same seeds (common random numbers); options as
    :func:`simulate`.

    Every policy meets the same incidents in replication ``r`` (seed ``seed + r``), so the
    rows of ``kpis`` can be compared policy against policy.

    Examples
    --------
    >>> import cim
    >>> both = compare(cim.sample_city(), hours=1, replications=2, incidents_per_day=120)
    >>> both.policies, sorted(both.kpis["policy"].unique())
    (('nearest', 'moveup'), ['moveup', 'nearest'])
    """
    return _run(
        city,
        list(policies),
        hours=hours,
        rain=rain,
        incidents=incidents,
        seed=seed,
        replications=replications,
        start_hour=options.pop("start_hour", 0),
        progress=progress,
        paths=options.pop("paths", "first"),
        **options,
    )
