from itertools import combinations

import numpy as np
import pytest

from cim.siting import maximal_covering, set_covering, site_fire_stations, site_sensors


def brute_force_mclp(cost, weights, radius, count, existing):
    best = -1.0
    free = [j for j in range(cost.shape[1]) if not existing[j]]
    for extra in combinations(free, count - int(existing.sum())):
        open_ = existing.copy()
        open_[list(extra)] = True
        best = max(best, weights[(cost[:, open_] <= radius).any(axis=1)].sum())
    return best


def repeated_rows(rng, rows: int, columns: int) -> np.ndarray:
    """Costs with repeated demand rows, rows no candidate reaches (inf) and a NaN."""
    cost = rng.uniform(0, 100, (rows, columns))
    cost = cost[rng.integers(0, rows, rows + 8)]
    cost[:2] = np.inf
    cost[3, 1] = np.nan
    return cost


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("existing_count", [0, 1, 2])
def test_mclp_matches_a_brute_force_optimum(seed, existing_count):
    rng = np.random.default_rng(seed)
    cost = repeated_rows(rng, 12, 7)
    weights = rng.integers(1, 10, len(cost)).astype(float)
    existing = np.arange(7) < existing_count
    count = existing_count + 2
    open_ = maximal_covering(cost, weights, 35.0, count, existing)
    assert open_.sum() == count and open_[existing].all()
    found = weights[(cost[:, open_] <= 35.0).any(axis=1)].sum()
    assert found == brute_force_mclp(cost, weights, 35.0, count, existing)


def test_mclp_opens_every_candidate_that_helps_and_fills_up_the_count():
    cost = np.full((4, 6), 99.0)
    cost[0, 3] = cost[1, 0] = 1.0  # column 0 existing; only column 3 adds coverage
    open_ = maximal_covering(cost, np.ones(4), 5.0, 4, np.arange(6) < 1)
    assert open_.tolist() == [True, True, True, True, False, False]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("existing_count", [0, 2])
def test_lscp_uses_the_fewest_facilities_that_cover_everything(seed, existing_count):
    rng = np.random.default_rng(seed)
    cost = repeated_rows(rng, 15, 6)
    existing = np.arange(6) < existing_count
    open_ = set_covering(cost, 60.0, existing)
    coverable = (cost <= 60.0).any(axis=1)
    assert open_[existing].all()
    assert (cost[coverable][:, open_] <= 60.0).any(axis=1).all()
    free = [j for j in range(6) if not existing[j]]
    smaller = [
        c
        for k in range(int(open_.sum() - existing.sum()))
        for c in combinations(free, k)
        if (cost[coverable][:, list(c) + list(np.flatnonzero(existing))] <= 60.0).any(axis=1).all()
    ]
    assert smaller == []


def test_new_sensors_improve_coverage_on_the_sample(city):
    found = site_sensors(city, 8, candidates=200)
    assert len(found.sites) == 8
    assert found.covered_after > found.covered_before
    existing = set(city.layer("sensors")["id"])
    assert not set(found.sites["site"]) & existing


def test_new_fire_stations_bring_every_reachable_building_within_five_minutes(city):
    found = site_fire_stations(city, candidates=200)
    assert found.covered_after == 1.0 and found.covered_before < 1.0
    assert (found.sites["kind"] == "fire_station").all() and len(found.sites) >= 1
