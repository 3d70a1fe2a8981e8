"""Optimal allocation of scarce units when incidents compete for them (最优配备)."""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

__all__ = ["PRIORITY_WEIGHT", "Allocation", "assign_greedy", "assign_optimal", "priority_weights"]

PRIORITY_WEIGHT = {1: 4.0, 2: 2.0, 3: 1.0}  # priority 1 is the most urgent; lower ones weigh 1


class Allocation(NamedTuple):
    """The optimal plan beside the greedy nearest-first one.

    ``plan`` has one row per incident and method (``optimal`` / ``greedy``) with the unit
    sent (None where none could be), its ETA and route; ``totals`` has, per method, the
    number of incidents served and the total priority-weighted ETA.
    """

    plan: gpd.GeoDataFrame
    totals: pd.DataFrame


def priority_weights(priority: pd.Series, weights: dict[int, float] | None = None) -> np.ndarray:
    """Weight of each incident's ETA in the objective, from its priority (1 highest)."""
    table = PRIORITY_WEIGHT if weights is None else weights
    return priority.map(lambda p: table.get(int(p), min(table.values()))).to_numpy(dtype=float)


def _slots(units: np.ndarray) -> np.ndarray:
    """Resource position of each vehicle: a resource with 3 units gives 3 slots."""
    return np.repeat(np.arange(len(units)), units)


def assign_optimal(eta: np.ndarray, weight: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Resource for each incident minimising total weighted ETA (-1: none).

    ``eta`` is resources x incidents (inf where unreachable). As many incidents as possible
    are served, the most heavily weighted first when units run short; among those plans the
    total weighted ETA is minimal (``scipy.optimize.linear_sum_assignment``).

    Columns are the vehicle slots plus one "unserved" column per incident, which costs more
    than any real route (times the incident's weight); impossible cells are forbidden.
    """
    slots = _slots(units)
    count = len(weight)
    served_cost = eta[slots].T * weight[:, None]  # incidents x slots
    reachable = np.isfinite(served_cost)
    longest = served_cost[reachable].max() if reachable.any() else 1.0
    unserved = (longest + 1.0) * 10.0  # per unit of weight
    forbidden = unserved * weight.max() * (count + 1) * 10.0
    cost = np.full((count, len(slots) + count), forbidden)
    cost[:, : len(slots)] = np.where(reachable, served_cost, forbidden)
    cost[np.arange(count), len(slots) + np.arange(count)] = weight * unserved
    rows, cols = linear_sum_assignment(cost)
    chosen = np.full(count, -1)
    served = cols < len(slots)
    chosen[rows[served]] = slots[cols[served]]
    return chosen


def assign_greedy(eta: np.ndarray, order: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Nearest available unit for each incident in turn (``order``: most urgent first)."""
    left = units.astype(int).copy()
    chosen = np.full(eta.shape[1], -1)
    for incident in order:
        options = np.where(left > 0, eta[:, incident], np.inf)
        best = int(np.argmin(options))
        if np.isfinite(options[best]):
            chosen[incident] = best
            left[best] -= 1
    return chosen
