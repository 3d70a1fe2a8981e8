"""Router.cost_rows (a cost matrix a few rows at a time) and Router.routes (many pairs at once)
against networkx and against the Router's own cost_matrix and dispatch."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

import layers
import routing
from tests.test_routing import node_points, random_pairs


def test_cost_rows_equal_the_cost_matrix_and_networkx(city):
    graph = city.graph
    targets, sources = random_pairs(graph, 12, seed=5)
    ends, starts = node_points(graph, targets, "t"), node_points(graph, sources, "s")
    router = routing.Router(graph, profile="car")
    rows = router.cost_rows(starts, ends, objective="distance")
    asked = [7, 2, 7, 11]
    whole = router.cost_matrix(starts, ends, objective="distance").values
    assert np.array_equal(rows.rows(asked), whole[asked])  # to the last bit
    assert rows.rows([]).shape == (0, 12) and list(rows.target_ids) == list(ends["id"])
    for s in asked:
        for t, target in enumerate(targets):
            expected = nx.shortest_path_length(graph, sources[s], target, weight="length")
            assert abs(rows.rows([s])[0, t] - expected) <= 1e-9 * max(expected, 1.0)
    with pytest.raises(IndexError, match="0 to 11"):
        rows.rows([12])


def test_routes_of_many_pairs_equal_dispatch_and_networkx(city):
    graph = city.graph
    targets, sources = random_pairs(graph, 10, seed=9)
    ends, starts = node_points(graph, targets, "t"), node_points(graph, sources, "s")
    far = layers.to_wgs84(city.layer("incidents").query("id == 'INC-0036'"), kind="incidents")
    ends.loc[len(ends)] = ["far", far.geometry.iat[0]]  # beyond the snap limit
    router = routing.Router(graph, profile="car")
    rng = np.random.default_rng(1)
    pairs = np.column_stack([rng.integers(0, 10, 40), rng.integers(0, 10, 40)])
    pairs = np.vstack([pairs, pairs[:3], [[4, 10]]])  # repeated pairs, and one without a route
    found = router.routes(starts, ends, pairs, objective="distance")
    assert len(found) == len(pairs) and found.crs.to_epsg() == 4326
    every = router.dispatch(ends, starts, k=len(starts), objective="distance")
    every = every.set_index(["resource_id", "incident_id"])
    for (s, t), row in zip(pairs[:-1], found.iloc[:-1].itertuples(), strict=True):
        assert (row.source_id, row.target_id) == (f"s{s}", f"t{t}")
        expected = nx.shortest_path_length(graph, sources[s], targets[t], weight="length")
        assert abs(row.distance_m - expected) <= 1e-9 * max(expected, 1.0)
        same = every.loc[(row.source_id, row.target_id)]
        assert row.eta_s == same["eta_s"] and row.distance_m == same["distance_m"]
        assert shapely.equals_exact(row.geometry, same["geometry"], tolerance=0)
    last = found.iloc[-1]
    assert np.isnan(last["eta_s"]) and last.geometry is None
    with pytest.raises(layers.InputError, match="targets positions must be 0 to 10"):
        router.routes(starts, ends, [[0, 11]])
