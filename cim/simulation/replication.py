"""The discrete-event engine on SimPy: calls come in, units are sent, travel, work and return.

One replication (:class:`Replication`) replays one incident stream under one policy. A call is
queued and the policy decides (:mod:`cim.simulation.policies`); a unit sent travels for the
time the Router gives for its trip's start hour (:mod:`cim.simulation.travel`), works on
scene, carries the patient to the nearest hospital when the incident's draw says so, and is
then free where it stands: it takes a waiting call from there, or drives back to its post.
A unit whose way home is closed waits where it is (and can be sent from there) and tries
again at the next hour. The simulation stops at the horizon: calls still waiting then are
never reached ("still queued at end", or why no unit could reach them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import simpy

from cim.simulation.fleet import Fleet, Unit
from cim.simulation.policies import Call
from cim.simulation.travel import Travel

__all__ = ["LOG_COLUMNS", "MOVE_COLUMNS", "DayResult", "Replication"]

LOG_COLUMNS = [
    "policy",
    "replication",
    "seed",
    "incident_id",
    "kind",
    "priority",
    "district",
    "lon",
    "lat",
    "call_s",
    "dispatch_s",
    "arrive_s",
    "clear_s",
    "unit_id",
    "station_id",
    "queue_wait_s",
    "travel_s",
    "response_s",
    "path_id",
    "reached",
    "reason",
]
MOVE_COLUMNS = ["policy", "replication", "unit_id", "kind", "path_id", "depart_s", "arrive_s"]


@dataclass
class DayResult:
    """What one replication gives: its log, its unit trips, and each unit's busy time."""

    log: pd.DataFrame
    moves: pd.DataFrame
    busy: pd.DataFrame


class Replication:
    """One replication: the SimPy environment, the units' processes and the log arrays."""

    def __init__(
        self,
        fleet: Fleet,
        calls: pd.DataFrame,
        travel: Travel,
        policy,
        *,
        horizon_s: float,
        demand: tuple[gpd.GeoSeries, np.ndarray] | None,
    ):
        self.env = simpy.Environment()
        self.fleet, self.calls, self.travel, self.policy = fleet, calls, travel, policy
        self.horizon_s = horizon_s
        self.demand = demand
        self.units = [replace(u) for u in fleet.units]
        self.by_profile: dict[str, list[Unit]] = {}
        for unit in self.units:
            self.by_profile.setdefault(unit.profile, []).append(unit)
        n = len(calls)
        self.place = calls["place"].to_numpy()
        self.profile = calls["profile"].to_numpy()
        self.places, self.profiles = self.place.tolist(), self.profile.tolist()
        self.dispatch_s, self.arrive_s, self.clear_s = (np.full(n, np.nan) for _ in range(3))
        self.travel_s = np.full(n, np.nan)
        self.unit_id = np.full(n, "", dtype=object)
        self.station_id = np.full(n, "", dtype=object)
        self.path_id = np.full(n, -1, dtype=int)
        self.reason = calls["reason"].to_numpy(dtype=object).copy()
        self.on_scene_s = calls["on_scene_s"].to_numpy(dtype=float)
        self.transport = calls["transport"].to_numpy(dtype=bool)
        self.handover_s = calls["handover_s"].to_numpy(dtype=float)
        self.queue: list[int] = []
        self.moves: list[tuple] = []
        self._homing: set[str] = set()
        self._calls = [
            Call(i, float(c), int(p), str(k))
            for i, (c, p, k) in enumerate(
                zip(calls["call_s"], calls["priority"], calls["incident_id"], strict=True)
            )
        ]
        self.event_driven = getattr(policy, "interval_s", None) is None

    # -- the clock ---------------------------------------------------------------------------
    @property
    def slot(self) -> int:
        return int(self.env.now // 3600)

    def _state(self, unit: Unit, state: str) -> None:
        now = self.env.now
        if unit.state == "idle" and state != "idle":
            unit.busy_since = now
        elif unit.state != "idle" and state == "idle":
            unit.busy_s += now - unit.busy_since
        unit.state = state

    def _trip(self, unit: Unit, kind: str, source: int, target: int, seconds: float) -> int:
        path = self.travel.path_id(unit.profile, self.slot, source, target, seconds)
        self.moves.append((unit.id, kind, path, self.env.now, self.env.now + seconds))
        return path

    # -- decisions ---------------------------------------------------------------------------
    def step(self, freed: list[Unit] | None = None) -> None:
        """Ask the policy to send units to waiting calls, then send home the units that came
        free away from their post (``freed``, or all) and were not sent."""
        self.decide()
        self.release(self.units if freed is None else freed)

    def decide(self) -> None:
        if not self.queue:
            return
        for profile in sorted({self.profiles[i] for i in self.queue}):
            free = [u for u in self.by_profile[profile] if u.state == "idle"]
            if not free:
                continue
            waiting = [i for i in self.queue if self.profiles[i] == profile]
            eta = self.travel.times(
                profile, self.slot, [u.place for u in free], [self.places[i] for i in waiting]
            )
            calls = [self._calls[i] for i in waiting]
            pairs = self.policy.assign(calls, free, eta)
            row = {u.id: r for r, u in enumerate(free)}
            column = {i: c for c, i in enumerate(waiting)}
            for call, unit in pairs:
                self.send(unit, call.index, float(eta[row[unit.id], column[call.index]]))
            if pairs and hasattr(self.policy, "relocate"):
                self.cover(profile)

    def release(self, units: list[Unit]) -> None:
        for unit in units:
            if unit.state == "idle" and unit.place != unit.post and unit.id not in self._homing:
                self._homing.add(unit.id)
                self.env.process(self.go_home(unit))

    def cover(self, profile: str) -> None:
        """Move-up: relocate idle units while the policy finds a move that covers more."""
        stations = self.fleet.stations[profile]
        sites, weight = self.demand
        reach = self.travel.coverage(profile, self.slot, sites)[: len(stations)]
        move_s = self.travel.times(profile, self.slot, stations, stations)
        index = {place: s for s, place in enumerate(stations)}
        while True:
            idle = {s: [] for s in range(len(stations))}
            for unit in self.by_profile[profile]:
                if unit.state == "idle" and unit.place == unit.post and unit.post in index:
                    idle[index[unit.post]].append(unit)
            move = self.policy.relocate(idle, reach, weight, move_s)
            if move is None:
                return
            unit, to = move
            seconds = float(move_s[index[unit.post], to])
            self._state(unit, "relocating")
            self._trip(unit, "move_up", unit.place, int(stations[to]), seconds)
            unit.post = int(stations[to])
            self.env.process(self.relocation(unit, seconds))

    def send(self, unit: Unit, i: int, seconds: float) -> None:
        self.queue.remove(i)
        now = self.env.now
        self.dispatch_s[i], self.travel_s[i], self.arrive_s[i] = now, seconds, now + seconds
        self.unit_id[i], self.station_id[i] = unit.id, unit.station_id
        self.path_id[i] = self._trip(unit, "to_scene", unit.place, self.places[i], seconds)
        self._state(unit, "en_route")
        self.env.process(self.mission(unit, i, seconds))

    # -- processes ---------------------------------------------------------------------------
    def arrivals(self):
        for i, call_s in enumerate(self.calls["call_s"].to_numpy()):
            yield self.env.timeout(call_s - self.env.now)
            if self.reason[i]:
                continue
            self.queue.append(i)
            if self.event_driven:
                self.decide()

    def ticks(self):
        while True:
            yield self.env.timeout(self.policy.interval_s)
            self.step()

    def mission(self, unit: Unit, i: int, seconds: float):
        yield self.env.timeout(seconds)
        self._state(unit, "on_scene")
        unit.place = self.places[i]
        yield self.env.timeout(self.on_scene_s[i])
        hospitals = self.fleet.hospitals
        if self.transport[i] and len(hospitals):
            to = self.travel.times(unit.profile, self.slot, [unit.place], hospitals)[0]
            if np.isfinite(to).any():
                h = int(np.argmin(to))
                self._state(unit, "transporting")
                self._trip(unit, "to_hospital", unit.place, hospitals[h], float(to[h]))
                yield self.env.timeout(to[h])
                unit.place = hospitals[h]
                yield self.env.timeout(self.handover_s[i])
        self.clear_s[i] = self.env.now
        self._state(unit, "idle")
        if self.event_driven:
            self.step([unit])

    def go_home(self, unit: Unit):
        while True:
            seconds = float(
                self.travel.times(unit.profile, self.slot, [unit.place], [unit.post])[0, 0]
            )
            if np.isfinite(seconds):
                break
            yield self.env.timeout((self.slot + 1) * 3600 - self.env.now)
            if unit.state != "idle" or unit.place == unit.post:
                self._homing.discard(unit.id)
                return
        self._homing.discard(unit.id)
        self._state(unit, "returning")
        self._trip(unit, "return", unit.place, unit.post, seconds)
        yield self.env.timeout(seconds)
        unit.place = unit.post
        self._state(unit, "idle")
        if self.event_driven:
            self.decide()

    def relocation(self, unit: Unit, seconds: float):
        yield self.env.timeout(seconds)
        unit.place = unit.post
        self._state(unit, "idle")
        if self.event_driven:
            self.decide()

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> DayResult:
        self.env.process(self.arrivals())
        if not self.event_driven:
            self.env.process(self.ticks())
        self.env.run(until=self.horizon_s)
        self._unreached()
        for unit in self.units:
            if unit.state != "idle":
                unit.busy_s += self.horizon_s - unit.busy_since
        calls = self.calls
        log = pd.DataFrame(
            {
                "incident_id": calls["incident_id"].to_numpy(),
                "kind": calls["kind"].to_numpy(),
                "priority": calls["priority"].to_numpy(dtype=int),
                "district": calls["district"].to_numpy(),
                "lon": calls["lon"].to_numpy(),
                "lat": calls["lat"].to_numpy(),
                "call_s": calls["call_s"].to_numpy(),
                "dispatch_s": self.dispatch_s,
                "arrive_s": self.arrive_s,
                "clear_s": self.clear_s,
                "unit_id": self.unit_id,
                "station_id": self.station_id,
                "queue_wait_s": self.dispatch_s - calls["call_s"].to_numpy(),
                "travel_s": self.travel_s,
                "response_s": self.arrive_s - calls["call_s"].to_numpy(),
                "path_id": self.path_id,
                "reached": ~np.isnan(self.arrive_s),
                "reason": self.reason,
            }
        )
        moves = pd.DataFrame(self.moves, columns=MOVE_COLUMNS[2:])
        busy = pd.DataFrame(
            {
                "unit_id": [u.id for u in self.units],
                "profile": [u.profile for u in self.units],
                "busy_s": [u.busy_s for u in self.units],
            }
        )
        return DayResult(log, moves, busy)

    def _unreached(self) -> None:
        """The reason of each call still waiting at the end."""
        lost: dict[tuple, list[int]] = {}
        for i in self.queue:
            profile = self.profile[i]
            slot = int(self.calls["call_s"].iat[i] // 3600)
            stations = self.fleet.stations[profile]
            if np.isfinite(self.travel.times(profile, slot, stations, [self.place[i]])).any():
                self.reason[i] = "still queued at end"
            else:
                lost.setdefault(self.travel.states.key(profile, slot), []).append(i)
        for key, rows in lost.items():
            why = self.travel.why_unreachable(key, self.place[rows], self.fleet.stations[key[0]])
            for i, reason in zip(rows, why, strict=True):
                self.reason[i] = f"unreachable: {reason}"
