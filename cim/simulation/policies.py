"""Dispatch policies: who is sent to which call, and where idle units wait.

A policy is a small object with one method, ``assign(calls, units, eta)``: given the calls
waiting (:class:`Call`, in the order they came), the units free to go and the travel time of
each unit to each call (``eta``: units x calls seconds, inf where no route), it returns the
(call, unit) pairs to send now. The engine asks it whenever a call comes in or a unit comes
free, or, for a policy with an ``interval_s``, every that many seconds. :class:`MoveUp`
adds ``relocate`` for idle units. :data:`POLICIES` names them for ``simulate(policy=...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cim.simulation.errors import SimulationError
from cim.simulation.fleet import Unit
from layers.standards import FIRE_RESPONSE_S
from routing.allocation import assign_optimal, priority_weights

__all__ = ["POLICIES", "Batch", "Call", "MoveUp", "Nearest", "Priority", "get_policy"]


@dataclass(frozen=True)
class Call:
    """A call waiting for a unit: its position in the log, call time, priority and id."""

    index: int
    call_s: float
    priority: int
    id: str


def _greedy(order: Sequence[int], eta: np.ndarray, units: Sequence[Unit], calls) -> list:
    """Each call in ``order`` gets the nearest unit still free (ties: station id, unit id)."""
    if len(units) == 1:
        reach = np.isfinite(eta[0])
        first = next((c for c in order if reach[c]), None)
        return [] if first is None else [(calls[first], units[0])]
    tie = np.empty(len(units), dtype=int)
    tie[sorted(range(len(units)), key=lambda u: units[u].sort_key)] = np.arange(len(units))
    free = np.ones(len(units), dtype=bool)
    reachable = np.isfinite(eta)
    pairs = []
    for c in order:
        options = np.flatnonzero(free & reachable[:, c])
        if len(options) == 0:
            continue
        best = options[eta[options, c] == eta[options, c].min()]
        chosen = best[np.argmin(tie[best])]
        free[chosen] = False
        pairs.append((calls[c], units[chosen]))
        if not free.any():
            break
    return pairs


class Nearest:
    """The nearest free unit to each call, calls served first come first served.

    A call is sent the free unit with the shortest travel time at once; when no unit of its
    profile is free (or none can reach it) it waits in a FIFO queue, and each unit that comes
    free (cleared at a scene, or back at its station) goes to the oldest waiting call it can
    reach, from where it is.
    """

    name = "nearest"
    interval_s: float | None = None

    def assign(self, calls: Sequence[Call], units: Sequence[Unit], eta: np.ndarray) -> list:
        order = sorted(range(len(calls)), key=lambda c: (calls[c].call_s, calls[c].id))
        return _greedy(order, eta, units, calls)


class Priority:
    """As :class:`Nearest`, but the queue is served by priority (1 first), then first come.

    Only the order of waiting calls changes: a call that finds a free unit is sent it at once.
    """

    name = "priority"
    interval_s: float | None = None

    def assign(self, calls: Sequence[Call], units: Sequence[Unit], eta: np.ndarray) -> list:
        order = sorted(
            range(len(calls)), key=lambda c: (calls[c].priority, calls[c].call_s, calls[c].id)
        )
        return _greedy(order, eta, units, calls)


class Batch:
    """Calls held for up to ``interval_s`` seconds, then assigned jointly and optimally.

    Every ``interval_s`` (60 s by default) the waiting calls and the free units (idle at their
    station, or cleared at a scene since the last round) are matched by
    :func:`routing.allocation.assign_optimal`, the assignment behind :meth:`routing.Router.allocate`:
    as many calls served as units allow, the most urgent first, with the least total
    priority-weighted travel time (priority 1 weighs 4, 2 weighs 2, lower 1). A unit cleared at a
    scene and not sent in the round goes home.
    """

    name = "batch"

    def __init__(self, interval_s: float = 60.0):
        self.interval_s = float(interval_s)

    def assign(self, calls: Sequence[Call], units: Sequence[Unit], eta: np.ndarray) -> list:
        weight = priority_weights(pd.Series([c.priority for c in calls]))
        chosen = assign_optimal(eta, weight, np.ones(len(units), dtype=int))
        return [(calls[c], units[u]) for c, u in enumerate(chosen) if u >= 0]


class MoveUp(Nearest):
    """Nearest dispatch, and cover moves: when a station empties, an idle unit moves up.

    After each dispatch, for each profile whose stations are not all manned, the move of
    one idle unit from a manned station to an empty one that most raises the demand covered is
    made, if it raises it at all. Demand is the incident sites' weight; a site is covered when
    some manned station (one with an idle unit at it) reaches it within ``cutoff_s``, the
    5-minute rule of 建标 152-2017 (:data:`layers.standards.FIRE_RESPONSE_S`), in the network of
    the current hour. Ties go to the shorter move, then station ids. The moving unit is out of
    service until it arrives; its new station becomes its post, where it returns after calls.
    """

    name = "moveup"

    def __init__(self, cutoff_s: float = FIRE_RESPONSE_S):
        self.cutoff_s = float(cutoff_s)

    def relocate(
        self,
        idle: dict[int, list[Unit]],
        reach: np.ndarray,
        weight: np.ndarray,
        move_s: np.ndarray,
    ) -> tuple[Unit, int] | None:
        """The one move to make now, or None.

        Parameters
        ----------
        idle : dict
            Station position (0 … stations-1) → the units idle at it (empty when none).
        reach : ndarray
            Stations x demand sites, travel seconds.
        weight : ndarray
            Demand weight per site.
        move_s : ndarray
            Stations x stations, travel seconds of a move.
        """
        manned = {s for s, units in idle.items() if units}
        empty = sorted(set(idle) - manned)
        if not manned or not empty:
            return None
        within = reach <= self.cutoff_s

        def covered(stations: set[int]) -> float:
            if not stations:
                return 0.0
            return float(weight[within[sorted(stations)].any(axis=0)].sum())

        now = covered(manned)
        best, best_key = None, None
        for donor in sorted(manned):
            kept = manned if len(idle[donor]) > 1 else manned - {donor}
            for to in empty:
                if not np.isfinite(move_s[donor, to]):
                    continue
                gain = covered(kept | {to}) - now
                key = (-gain, move_s[donor, to], donor, to)
                if gain > 1e-9 and (best_key is None or key < best_key):
                    best, best_key = (max(idle[donor], key=lambda u: u.sort_key), to), key
        return best


POLICIES: dict[str, type] = {p.name: p for p in (Nearest, Priority, Batch, MoveUp)}
"""The policies by name: ``nearest``, ``priority``, ``batch`` and ``moveup``."""


def get_policy(policy):
    """A policy object from its name in :data:`POLICIES` (an object passes through).

    Examples
    --------
    >>> get_policy("batch").interval_s
    60.0
    >>> get_policy("closest")
    Traceback (most recent call last):
    ...
    cim.simulation.errors.SimulationError: unknown policy 'closest'; choose one of nearest, priority, batch, moveup
    """
    if not isinstance(policy, str):
        if not callable(getattr(policy, "assign", None)):
            raise SimulationError(
                f"a policy needs an assign(calls, units, eta) method; {policy!r} has none"
            )
        return policy
    if policy not in POLICIES:
        raise SimulationError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    return POLICIES[policy]()
