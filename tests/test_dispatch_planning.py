"""Closures, allocation, service areas and coverage."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import layers
import routing
from tests.conftest import points


@pytest.fixture(scope="session")
def car_route(city):
    """A car route of the sample city between a fire station and a fire, with a spot to flood."""
    stations = city.layer("facilities").query("kind == 'fire_station'")
    fires = city.layer("incidents").query("kind == 'fire'")
    routes = city.router("car").dispatch(fires, stations)
    route = routes.loc[routes["distance_m"].idxmax()]
    line = gpd.GeoSeries([route.geometry], crs=4326).to_crs(4544).iloc[0]
    flood = line.interpolate(0.5, normalized=True).buffer(40)
    return route, fires.set_index("id").loc[[route.incident_id]].reset_index(), stations, flood


def flood_layer(polygon, depth_cm):
    return gpd.GeoDataFrame({"depth_cm": [depth_cm]}, geometry=[polygon], crs=4544).to_crs(4326)


def test_flood_closes_roads_for_cars_but_not_for_fire_engines(city, car_route):
    _, fire, stations, flood = car_route
    water = flood_layer(flood, 40)  # GB 51222 waterlogging; cars stop at 30 cm, engines at 50 cm
    car = city.router("car")
    car_flooded = car.with_closures(water)
    assert car_flooded.closures["closes"].all() and car_flooded.closures["closed_edges"].iat[0] > 0
    before = car.dispatch(fire, stations)
    after = car_flooded.dispatch(fire, stations)
    detour = gpd.GeoSeries([after.geometry.iat[0]], crs=4326).to_crs(4544).iloc[0]
    assert not detour.intersects(flood)
    assert gpd.GeoSeries([before.geometry.iat[0]], crs=4326).to_crs(4544).iloc[0].intersects(flood)
    assert after["eta_s"].iat[0] > before["eta_s"].iat[0]

    engine = city.router("fire_engine")
    engine_flooded = engine.with_closures(water)
    assert not engine_flooded.closures["closes"].any()
    same = routing.compare_dispatch(
        engine.dispatch(fire, stations), engine_flooded.dispatch(fire, stations)
    )
    assert same["delay_s"].iat[0] == pytest.approx(0.0) and not same["rerouted"].iat[0]
    changed = routing.compare_dispatch(before, after)
    assert changed["rerouted"].iat[0] and changed["delay_s"].iat[0] > 0


def test_deep_water_closes_roads_for_fire_engines_too(city, car_route):
    *_, flood = car_route
    assert city.router("fire_engine").with_closures(flood_layer(flood, 80)).closures["closes"].all()


def test_slow_zones_scale_travel_time(grid):
    router = routing.Router(routing.graph_from_roads(grid))
    zone = gpd.GeoDataFrame(
        {"factor": [2.0]}, geometry=[shapely.box(104.059, 30.649, 104.061, 30.661)], crs=4326
    )
    incidents, resources = points("i", [(104.060, 30.6595)]), points("r", [(104.060, 30.6505)])
    base = router.dispatch(incidents, resources, objective="distance").iloc[0]
    slow = router.with_closures(zone).dispatch(incidents, resources, objective="distance").iloc[0]
    assert slow.distance_m == pytest.approx(base.distance_m)
    assert slow.eta_s == pytest.approx(2 * base.eta_s)


def test_bad_barriers_are_explained(city):
    router = city.router("car")
    with pytest.raises(layers.CRSError, match="no CRS"):
        router.with_closures(
            gpd.GeoDataFrame({"depth_cm": [40]}, geometry=[shapely.Point(104.07, 30.67)])
        )
    with pytest.raises(layers.SchemaError, match="depth_cm"):
        router.with_closures(
            gpd.GeoDataFrame({"depth_cm": [-5]}, geometry=[shapely.Point(104.07, 30.67)], crs=4326)
        )


def test_optimal_allocation_beats_greedy_on_a_constructed_case(grid):
    router = routing.Router(routing.graph_from_roads(grid))
    # A is a little closer to S1 than to S2; B is right next to S1 and far from S2
    incidents = points("i", [(104.060, 30.6540), (104.060, 30.6510)], priority=[1, 1])
    incidents["id"] = ["A", "B"]
    incidents["reported_at"] = pd.to_datetime(["2026-07-15 08:00", "2026-07-15 08:01"])
    stations = points("s", [(104.060, 30.6505), (104.060, 30.6600)], units=[1, 1])
    result = router.allocate(incidents, stations)
    plan = result.plan.set_index(["method", "incident_id"])["resource_id"]
    assert plan["greedy"].to_dict() == {"A": "s0", "B": "s1"}
    assert plan["optimal"].to_dict() == {"A": "s1", "B": "s0"}
    totals = result.totals
    assert totals.loc["optimal", "weighted_eta_s"] < 0.7 * totals.loc["greedy", "weighted_eta_s"]


def test_optimal_allocation_is_never_worse_than_greedy(city):
    rng = np.random.default_rng(5)
    router = city.router("ambulance")
    facilities = city.layer("facilities").query("kind in ['hospital', 'ambulance_base']")
    incidents = city.layer("incidents")
    for _ in range(8):
        some = incidents.sample(25, random_state=int(rng.integers(1e6))).assign(
            priority=rng.integers(1, 4, 25)
        )
        units = facilities.sample(6, random_state=int(rng.integers(1e6))).assign(
            units=rng.integers(1, 4, 6)
        )
        totals = router.allocate(some, units).totals
        assert totals.loc["optimal", "served"] >= totals.loc["greedy", "served"]
        if totals.loc["optimal", "served"] == totals.loc["greedy", "served"]:
            assert (
                totals.loc["optimal", "weighted_eta_s"]
                <= totals.loc["greedy", "weighted_eta_s"] + 1e-6
            )


def test_scarce_units_go_to_the_most_urgent(grid):
    router = routing.Router(routing.graph_from_roads(grid))
    incidents = points("i", [(104.060, 30.6510), (104.060, 30.6590)], priority=[3, 1])
    station = points("s", [(104.060, 30.6505)], units=[1])
    plan = (
        router.allocate(incidents, station)
        .plan.query("method == 'optimal'")
        .set_index("incident_id")
    )
    assert plan.loc["i1", "resource_id"] == "s0" and plan.loc["i0", "resource_id"] is None


def test_service_areas_grow_with_time_and_follow_the_roads(city):
    station = city.layer("facilities").query("kind == 'fire_station'").head(1)
    areas = city.router("fire_engine").service_areas(station, cutoffs=[120, 300])
    small, large = areas.geometry.iloc[0], areas.geometry.iloc[1]
    assert list(areas["cutoff"]) == [120, 300]
    assert areas["area_km2"].iloc[0] < areas["area_km2"].iloc[1]
    assert large.buffer(1e-6).contains(small)
    assert large.distance(station.geometry.iloc[0]) < 0.001
    assert large.area < 0.8 * large.convex_hull.area  # shaped by the streets, not a hull


def test_coverage_times_agree_with_dispatch_and_show_the_gaps(city):
    stations = city.layer("facilities").query("kind == 'fire_station'")
    buildings = city.layer("buildings").head(60)
    router = city.router("fire_engine")
    covered = router.coverage(stations, buildings, cutoff=300)
    targets = gpd.GeoDataFrame(
        {"id": buildings["id"]}, geometry=buildings.geometry.representative_point(), crs=4326
    )
    routes = router.dispatch(targets, stations).set_index("incident_id")
    assert np.allclose(
        covered["eta_s"].to_numpy(),
        routes.loc[buildings["id"], "eta_s"].to_numpy(),
        rtol=1e-9,
        equal_nan=True,
    )
    assert covered["covered"].equals(covered["eta_s"] <= 300)
    assert list(covered["unit_id"]) == list(routes.loc[buildings["id"], "resource_id"])
