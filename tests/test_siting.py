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


@pytest.mark.parametrize("seed", range(5))
def test_mclp_matches_a_brute_force_optimum(seed):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 100, (12, 7))
    weights = rng.integers(1, 10, 12).astype(float)
    existing = np.zeros(7, dtype=bool)
    existing[0] = True
    open_ = maximal_covering(cost, weights, 35.0, 3, existing)
    assert open_.sum() == 3 and open_[0]
    found = weights[(cost[:, open_] <= 35.0).any(axis=1)].sum()
    assert found == brute_force_mclp(cost, weights, 35.0, 3, existing)


def test_lscp_uses_the_fewest_facilities_that_cover_everything():
    rng = np.random.default_rng(1)
    cost = rng.uniform(0, 100, (15, 6))
    open_ = set_covering(cost, 60.0, np.zeros(6, dtype=bool))
    assert (cost[:, open_] <= 60.0).any(axis=1).all()
    smaller = [
        c
        for k in range(1, int(open_.sum()))
        for c in combinations(range(6), k)
        if (cost[:, list(c)] <= 60.0).any(axis=1).all()
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
