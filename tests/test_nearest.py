"""The k-nearest search behind dispatch and coverage against the full search (one scipy
Dijkstra per resource, every cost kept) and networkx: same resources, ranks and costs for
points part-way along streets, one-way and two-way, with closures, for k = 1 and k > 1."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from routing.closures import FLOODED_REACH_M


def scattered(city, count, prefix, seed):
    """Points within 60 m of the roads."""
    rng = np.random.default_rng(seed)
    roads = city.layer("roads").to_crs(4544).geometry.values
    picks = roads[rng.choice(len(roads), count)]
    at = shapely.line_interpolate_point(picks, rng.random(count), normalized=True)
    nudged = shapely.points(
        shapely.get_x(at) + rng.uniform(-60, 60, count),
        shapely.get_y(at) + rng.uniform(-60, 60, count),
    )
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i:03d}" for i in range(count)]}, geometry=nudged, crs=4544
    ).to_crs(4326)


@pytest.fixture(scope="session")
def places(city):
    return scattered(city, 80, "i", seed=4), scattered(city, 14, "s", seed=5)


def expected_ranking(router, incidents, resources, k, objective):
    """The k best resources per incident from the full cost matrix, ties to the lower id."""
    values = router.cost_matrix(resources, incidents, objective=objective).values
    ids = resources["id"].to_numpy()
    rows = []
    for j, incident in enumerate(incidents["id"]):
        finite = np.flatnonzero(np.isfinite(values[:, j]))
        ranked = sorted(finite, key=lambda i: (values[i, j], ids[i]))[:k]
        rows += [(incident, ids[i], rank + 1, values[i, j]) for rank, i in enumerate(ranked)]
    return rows


@pytest.mark.parametrize(
    ("k", "objective", "flooded"),
    [(1, "time", False), (3, "time", False), (3, "distance", False), (2, "time", True)],
)
def test_k_nearest_equals_the_full_search(city, places, k, objective, flooded):
    incidents, resources = places
    router = city.router("car")
    if flooded:
        spots = city.layer("waterlogging_points")
        router = router.with_closures(spots.assign(depth_cm=60), buffer_m=FLOODED_REACH_M)
        assert router.closures["closed_edges"].iat[0] > 0
    routes = router.dispatch(incidents, resources, k=k, objective=objective)
    found = routes[routes["rank"].notna()]
    expected = expected_ranking(router, incidents, resources, k, objective)
    assert list(zip(found["incident_id"], found["resource_id"], found["rank"], strict=True)) == [
        row[:3] for row in expected
    ]
    cost = (
        found["eta_s"]
        if objective == "time"
        else found["distance_m"] + (found["incident_snap_m"] + found["resource_snap_m"])
    )
    assert np.allclose(cost, [row[3] for row in expected], rtol=1e-9)
    # every route line runs along the road for the distance reported
    assert np.allclose(found.to_crs(router.metric_crs).length, found["distance_m"], rtol=1e-6)


def test_without_geometry_the_figures_are_the_same(city, places):
    incidents, resources = places
    router = city.router("fire_engine")
    full = router.dispatch(incidents, resources, k=2)
    bare = router.dispatch(incidents, resources, k=2, geometry=False)
    assert bare.geometry.isna().all() and bare.crs == full.crs
    assert bare.drop(columns="geometry").equals(full.drop(columns="geometry"))


def test_ties_go_to_the_lower_id_for_every_k(city):
    """Four stations on one spot: each rank takes the next id, whatever their order."""
    graph = city.graph
    node = next(iter(graph.nodes))
    spot = shapely.Point(graph.nodes[node]["x"], graph.nodes[node]["y"])
    stations = gpd.GeoDataFrame({"id": ["d", "b", "c", "a"]}, geometry=[spot] * 4, crs=4326)
    incidents = gpd.GeoDataFrame(
        {"id": ["x"]}, geometry=[shapely.Point(spot.x + 0.002, spot.y + 0.001)], crs=4326
    )
    routes = city.router("car").dispatch(incidents, stations, k=3)
    assert list(routes["resource_id"]) == ["a", "b", "c"]
    assert routes["eta_s"].nunique() == 1
