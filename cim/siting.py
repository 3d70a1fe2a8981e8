"""Where to add sensors or stations: maximal covering (MCLP) and set covering (LSCP).

The optimisation is spopt's, solved with pulp's bundled CBC; the cost matrix is network
travel (metres or seconds) from every candidate site to every demand point
(:meth:`routing.Router.cost_matrix`, one batched search). Existing facilities are kept, so
results say what the new ones add. spopt and pulp load on the first solve (1.5 s), not with
the modules that import this one (the vital signs, the living circles).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

import layers
from cim.model import CityModel
from layers.standards import FIRE_RESPONSE_S

__all__ = [
    "Siting",
    "covered_share",
    "maximal_covering",
    "set_covering",
    "site_fire_stations",
    "site_sensors",
]


class Siting(NamedTuple):
    """New sites and what they change: ``covered_before`` / ``covered_after`` are shares of
    the demand weight within reach."""

    sites: gpd.GeoDataFrame
    covered_before: float
    covered_after: float


def _solved(model):
    import pulp

    model.solve(pulp.PULP_CBC_CMD(msg=False))
    return model


def _left_open(cover: np.ndarray, existing: np.ndarray, weights: np.ndarray):
    """What the ``existing`` facilities leave to decide in a covering problem.

    The demand rows they do not cover and some candidate can, identical rows merged into one
    with their weights summed, over the candidates that cover any of them. The optimum of
    this smaller problem is the optimum of the whole: every other row is covered (or not)
    whatever is chosen, and a row's constraint depends only on which candidates cover it.
    Returns the rows (bool), their weights, and the kept candidates' column numbers.
    """
    open_rows = cover.any(axis=1) & ~cover[:, existing].any(axis=1)
    rows, inverse = np.unique(cover[open_rows], axis=0, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=weights[open_rows], minlength=len(rows))
    useful = np.flatnonzero(~existing & rows.any(axis=0))
    return rows[:, useful], summed, useful


def _chosen(model, columns: np.ndarray) -> np.ndarray:
    return columns[[bool(var.value()) for var in model.fac_vars]]


def maximal_covering(
    cost: np.ndarray, weights: np.ndarray, radius: float, count: int, existing: np.ndarray
) -> np.ndarray:
    """Facilities (columns of ``cost``: demand x candidates) chosen by MCLP, existing included.

    Returns a bool mask over candidates of the open facilities (``existing`` are forced open
    and count towards ``count``). spopt solves only what the existing ones leave open
    (:func:`_left_open`); when no more than the new facilities asked for can add coverage,
    they all open, and the rest of ``count`` goes to the first other candidates.
    """
    open_ = existing.copy()
    new = count - int(existing.sum())
    rows, summed, useful = _left_open(cost <= radius, existing, weights)
    if len(useful) > new > 0:
        from spopt.locate import MCLP

        model = MCLP.from_cost_matrix(np.where(rows, 0.0, 1.0), summed, 0.5, p_facilities=new)
        open_[_chosen(_solved(model), useful)] = True
    elif new > 0:
        open_[useful] = True
        open_[np.flatnonzero(~open_)[: new - len(useful)]] = True
    return open_


def set_covering(cost: np.ndarray, radius: float, existing: np.ndarray) -> np.ndarray:
    """Fewest facilities (columns of ``cost``) putting every demand row within ``radius``.

    Rows no candidate covers are left out; spopt solves only what the existing facilities
    leave open (:func:`_left_open`).
    """
    open_ = existing.copy()
    rows, _, useful = _left_open(cost <= radius, existing, np.ones(len(cost)))
    if len(rows):
        from spopt.locate import LSCP

        open_[_chosen(_solved(LSCP.from_cost_matrix(np.where(rows, 0.0, 1.0), 0.5)), useful)] = True
    return open_


def _candidates(city: CityModel, count: int, seed: int) -> gpd.GeoDataFrame:
    """Candidate sites: road-graph nodes of the main connected part, a spread-out sample."""
    graph = city.graph
    nodes = pd.DataFrame(
        [(n, d["x"], d["y"]) for n, d in graph.nodes(data=True)], columns=["node", "x", "y"]
    )
    picked = nodes.sample(min(count, len(nodes)), random_state=seed)
    return gpd.GeoDataFrame(
        {"site": picked["node"].astype(str).to_numpy()},
        geometry=gpd.points_from_xy(picked["x"], picked["y"]),
        crs=4326,
    )


def _sites(
    existing: gpd.GeoDataFrame, city: CityModel, candidates: int, seed: int
) -> gpd.GeoDataFrame:
    """Existing facilities first (kept open), then the candidate sites."""
    kept = gpd.GeoDataFrame(
        {"site": existing["id"].astype(str)}, geometry=existing.geometry, crs=4326
    )
    return pd.concat([kept, _candidates(city, candidates, seed)], ignore_index=True)


def _costs(
    city: CityModel, profile: str, sources: gpd.GeoDataFrame, demand: gpd.GeoSeries, objective: str
) -> np.ndarray:
    """Demand x sources network cost; every point joins its nearest road, however far."""
    matrix = city.router(profile).cost_matrix(
        sources, demand, objective=objective, max_snap_m=np.inf
    )
    return matrix.values.T


def covered_share(cost: np.ndarray, open_: np.ndarray, radius: float, weights: np.ndarray) -> float:
    """Share of the demand ``weights`` (rows of ``cost``) within ``radius`` of an open facility.

    >>> covered_share(np.array([[1.0, 9.0], [9.0, 9.0]]), np.array([True, False]), 5, np.ones(2))
    0.5
    """
    if not open_.any() or not weights.sum():
        return 0.0
    within = (cost[:, open_] <= radius).any(axis=1)
    return float(weights[within].sum() / weights.sum())


def site_sensors(
    city: CityModel,
    count: int,
    *,
    kind: str = "camera",
    range_m: float | None = None,
    candidates: int = 400,
    seed: int = 0,
) -> Siting:
    """Where ``count`` new road-side sensors of ``kind`` watch the most buildings (MCLP).

    A building counts as watched when a sensor is within ``range_m`` metres along the road
    network (the kind's usual range by default); existing online sensors of that kind stay.

    Examples
    --------
    >>> import cim
    >>> found = site_sensors(cim.sample_city(), 5, candidates=150)
    >>> len(found.sites), found.covered_after >= found.covered_before
    (5, True)
    """
    sensors = city.layer("sensors")
    existing = sensors[(sensors["kind"] == kind) & (sensors["status"] == "online")]
    radius = float(range_m if range_m is not None else existing["range_m"].median())
    sites = _sites(existing, city, candidates, seed)
    demand = city.layer("buildings").geometry.representative_point()
    cost = _costs(city, "car", sites, demand, "distance")
    weights = np.ones(len(demand))
    kept = np.arange(len(sites)) < len(existing)
    open_ = maximal_covering(cost, weights, radius, int(kept.sum()) + count, kept)
    new = open_ & ~kept
    return Siting(
        sites[new].assign(kind=kind, range_m=radius).reset_index(drop=True),
        covered_share(cost, kept, radius, weights),
        covered_share(cost, open_, radius, weights),
    )


def site_fire_stations(
    city: CityModel, *, cutoff: float = FIRE_RESPONSE_S, candidates: int = 400, seed: int = 0
) -> Siting:
    """The fewest new fire stations putting every reachable building within ``cutoff`` s (LSCP).

    Travel times are the fire-engine profile's; the 5-minute rule of 建标 152-2017 is the
    default. Buildings no site can reach at all are left out of the demand; when none can
    be reached (every road a loop, say), no station is added and a warning says so.
    """
    facilities = city.layer("facilities")
    existing = facilities[facilities["kind"] == "fire_station"]
    sites = _sites(existing, city, candidates, seed)
    demand = city.layer("buildings").geometry.representative_point()
    cost = _costs(city, "fire_engine", sites, demand, "time")
    coverable = (cost <= cutoff).any(axis=1)
    if not coverable.any():
        warnings.warn(
            f"no building can be reached within {cutoff:g} s from any site: no station is added",
            layers.CimWarning,
            stacklevel=2,
        )
    cost = cost[coverable]
    kept = np.arange(len(sites)) < len(existing)
    weights = np.ones(len(cost))
    open_ = set_covering(cost, cutoff, kept)
    new = open_ & ~kept
    return Siting(
        sites[new].assign(kind="fire_station").reset_index(drop=True),
        covered_share(cost, kept, cutoff, weights),
        covered_share(cost, open_, cutoff, weights),
    )
