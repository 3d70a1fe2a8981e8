import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

import layers
import routing
from tests.conftest import points

GEOD = Geod(ellps="WGS84")


def node_points(graph, nodes, prefix, **columns):
    return points(prefix, [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes], **columns)


def test_graph_from_roads_merges_endpoints_and_respects_oneway(grid):
    graph = routing.graph_from_roads(grid)
    assert graph.number_of_nodes() == 4
    assert graph.number_of_edges() == 7  # three two-way streets and one one-way street
    north_east = [(u, v) for u, v, d in graph.edges(data=True) if d["name"] == "北横街"]
    assert len(north_east) == 1
    u, v = north_east[0]
    assert graph.nodes[u]["x"] < graph.nodes[v]["x"]


def test_edge_lengths_and_speeds_follow_the_standard_and_maxspeed(grid):
    graph = routing.graph_from_roads(grid)
    for _, _, data in graph.edges(data=True):
        (x0, y0), (x1, y1) = data["geometry"].coords
        assert data["length"] == pytest.approx(GEOD.inv(x0, y0, x1, y1)[2], rel=2e-3)
        expected_speed = {"西街": 50.0, "东街": 20.0, "北横街": 30.0, "南横街": 20.0}[data["name"]]
        assert data["speed_kph"] == expected_speed
        assert data["travel_time"] == pytest.approx(data["length"] / (expected_speed / 3.6))


def test_osm_node_ids_are_kept(city):
    graph = city.graph
    roads = city.layer("roads")
    assert set(roads["u"]) | set(roads["v"]) == set(graph.nodes)


def test_graph_is_osmnx_compatible(city):
    import osmnx as ox

    nodes, edges = ox.graph_to_gdfs(city.graph)
    assert {"x", "y"} <= set(nodes.columns)
    assert {"length", "travel_time", "highway", "oneway", "geometry"} <= set(edges.columns)


def test_maxspeed_parsing():
    assert routing.parse_maxspeed("60") == 60.0
    assert routing.parse_maxspeed("30 mph") == pytest.approx(48.28, abs=0.01)
    assert np.isnan(routing.parse_maxspeed("signals"))


def test_profiles_scale_speeds_and_cap_them():
    fire = routing.get_profile("fire_engine")
    assert fire.speeds([30.0, 100.0], ["branch", "expressway"]).tolist() == [22.5, 80.0]
    assert fire.max_water_depth_cm > routing.get_profile("car").max_water_depth_cm
    with pytest.raises(ValueError, match="choose one of car"):
        routing.get_profile("tank")


def random_pairs(graph, count, seed):
    rng = np.random.default_rng(seed)
    core = sorted(max(nx.strongly_connected_components(graph), key=len))
    return [core[i] for i in rng.choice(len(core), count)], [
        core[i] for i in rng.choice(len(core), count)
    ]


def test_distances_equal_networkx_on_the_chengdu_graph(city):
    graph = city.graph
    targets, sources = random_pairs(graph, 12, seed=7)
    router = routing.Router(graph, profile="car")
    routes = router.dispatch(
        node_points(graph, targets, "i"),
        node_points(graph, sources, "r"),
        k=len(sources),
        objective="distance",
    )
    assert len(routes) == 144
    checked = 0
    for row in routes.itertuples():
        source = sources[int(row.resource_id[1:])]
        target = targets[int(row.incident_id[1:])]
        expected = nx.shortest_path_length(graph, source, target, weight="length")
        assert abs(row.distance_m - expected) <= 1e-9 * max(expected, 1.0)
        checked += 1
    assert checked >= 100


def test_fire_engine_times_equal_networkx_with_the_profile_weights(city):
    graph = city.graph
    profile = routing.get_profile("fire_engine")

    def engine_time(u, v, data):
        return min(
            d["length"] / (profile.speeds([d["speed_kph"]], [d["road_class"]])[0] / 3.6)
            for d in data.values()
        )

    targets, sources = random_pairs(graph, 10, seed=11)
    routes = routing.Router(graph, profile=profile).dispatch(
        node_points(graph, targets, "i"), node_points(graph, sources, "r"), k=10
    )
    for row in routes.itertuples():
        source, target = sources[int(row.resource_id[1:])], targets[int(row.incident_id[1:])]
        expected = nx.shortest_path_length(graph, source, target, weight=engine_time)
        assert row.eta_s == pytest.approx(expected, rel=1e-9)


def test_routes_follow_the_road_geometry(city):
    graph = city.graph
    targets, sources = random_pairs(graph, 15, seed=3)
    routes = routing.Router(graph).dispatch(
        node_points(graph, targets, "i"), node_points(graph, sources, "r"), k=1
    )
    metric = routes.to_crs(4544)
    assert np.allclose(metric.geometry.length, routes["distance_m"], rtol=1e-6)
    roads = shapely.STRtree(city.layer("roads").to_crs(4544).geometry.values)
    for line, row in zip(metric.geometry, routes.itertuples(), strict=True):
        source = graph.nodes[sources[int(row.resource_id[1:])]]
        target = graph.nodes[targets[int(row.incident_id[1:])]]
        assert line.coords[0] == pytest.approx(
            tuple(
                gpd.GeoSeries([shapely.Point(source["x"], source["y"])], crs=4326)
                .to_crs(4544)
                .iloc[0]
                .coords[0]
            )
        )
        assert (
            shapely.Point(line.coords[-1]).distance(
                gpd.GeoSeries([shapely.Point(target["x"], target["y"])], crs=4326)
                .to_crs(4544)
                .iloc[0]
            )
            < 1e-6
        )
        vertices = shapely.points(shapely.get_coordinates(line))
        _, off_road = roads.query_nearest(vertices, return_distance=True, all_matches=False)
        assert off_road.max() < 1e-6


def test_k_best_units_are_ranked_by_eta_with_ties_broken_by_id(grid):
    graph = routing.graph_from_roads(grid)
    incidents = points("i", [(104.060, 30.650)])
    resources = points(
        "r", [(104.070, 30.660), (104.060, 30.660), (104.060, 30.660)], units=[1, 1, 1]
    )
    resources["id"] = ["far", "b-near", "a-near"]
    routes = routing.Router(graph).dispatch(incidents, resources, k=3)
    assert routes["resource_id"].tolist() == ["a-near", "b-near", "far"]
    assert routes["rank"].tolist() == [1, 2, 3]
    assert routes["eta_s"].is_monotonic_increasing


def test_units_without_vehicles_are_not_sent(grid):
    graph = routing.graph_from_roads(grid)
    resources = points("r", [(104.060, 30.660), (104.070, 30.660)], units=[0, 2])
    routes = routing.Router(graph).dispatch(points("i", [(104.060, 30.650)]), resources)
    assert routes["resource_id"].tolist() == ["r1"]


def test_unreachable_incidents_stay_in_the_result_with_a_reason(grid):
    island = gpd.GeoDataFrame(
        {"highway": ["residential"], "oneway": [False], "name": ["孤岛路"], "maxspeed": [None]},
        geometry=[shapely.LineString([(104.09, 30.69), (104.091, 30.69)])],
        crs=4326,
    )
    graph = routing.graph_from_roads(pd.concat([grid, island], ignore_index=True))
    incidents = points("i", [(104.060, 30.650), (104.0905, 30.69)])
    routes = routing.Router(graph).dispatch(incidents, points("r", [(104.06, 30.66)], units=[1]))
    stranded = routes.set_index("incident_id").loc["i1"]
    assert pd.isna(stranded.resource_id) and np.isnan(stranded.eta_s)
    assert "cannot reach" in stranded.reason or "can reach" in stranded.reason
    empty = routing.Router(graph).dispatch(incidents, points("r", [(104.06, 30.66)], units=[0]))
    assert empty["reason"].eq("no resource with units > 0").all()


def test_oneway_streets_are_not_driven_backwards(grid):
    graph = routing.graph_from_roads(grid)
    # from the north-west corner east along the one-way street is direct; back west it is not allowed
    forward = routing.Router(graph).dispatch(
        points("i", [(104.070, 30.660)]), points("r", [(104.060, 30.660)]), objective="distance"
    )
    back = routing.Router(graph).dispatch(
        points("i", [(104.060, 30.660)]), points("r", [(104.070, 30.660)]), objective="distance"
    )
    assert back["distance_m"].iloc[0] > 2.5 * forward["distance_m"].iloc[0]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda g: g.drop(columns="id"), layers.SchemaError, "'id' column"),
        (lambda g: g.set_crs(None, allow_override=True), layers.CRSError, "no CRS"),
        (lambda g: g.iloc[:0], layers.EmptyLayerError, "no rows"),
        (
            lambda g: g.assign(geometry=[shapely.box(104.06, 30.65, 104.061, 30.651)]),
            layers.GeometryError,
            "not points",
        ),
    ],
)
def test_bad_dispatch_input_is_explained(grid, change, error, message):
    router = routing.Router(routing.graph_from_roads(grid))
    incidents = points("i", [(104.060, 30.650)])
    with pytest.raises(error, match=message):
        router.dispatch(change(incidents), points("r", [(104.06, 30.66)]))


def test_bad_dispatch_options_are_explained(grid):
    router = routing.Router(routing.graph_from_roads(grid))
    incidents, resources = points("i", [(104.060, 30.650)]), points("r", [(104.06, 30.66)])
    with pytest.raises(ValueError, match="objective must be one of time, distance"):
        router.dispatch(incidents, resources, objective="cheapest")
    with pytest.raises(ValueError, match="k must be at least 1"):
        router.dispatch(incidents, resources, k=0)


def street_lengths(grid):
    graph = routing.graph_from_roads(grid)
    return {d["name"]: d["length"] for *_, d in graph.edges(data=True)}, graph


def test_offsets_along_the_edge_count(grid):
    lengths, graph = street_lengths(grid)
    west = lengths["西街"]
    routes = routing.Router(graph).dispatch(
        points("i", [(104.0601, 30.655)]), points("r", [(104.0599, 30.650)]), objective="distance"
    )
    row = routes.iloc[0]
    assert row.distance_m == pytest.approx(west / 2, rel=1e-4)
    assert row.incident_snap_m == pytest.approx(9.6, abs=0.2)  # 0.0001 degrees of longitude
    # the road part at 50 km/h, and the 9.6 m gap at the access speed (15 km/h)
    assert row.eta_s - row.access_s == pytest.approx(west / 2 / (50 / 3.6), rel=1e-4)
    assert row.access_s == pytest.approx((row.incident_snap_m + row.resource_snap_m) / (15 / 3.6))
    start, end = row.geometry.coords[0], row.geometry.coords[-1]
    assert start == pytest.approx((104.060, 30.650), abs=1e-7) and end == pytest.approx(
        (104.060, 30.655), abs=1e-6
    )


def test_two_points_on_one_street_go_straight_along_it(grid):
    lengths, graph = street_lengths(grid)
    routes = routing.Router(graph).dispatch(
        points("i", [(104.060, 30.658)]), points("r", [(104.060, 30.652)]), objective="distance"
    )
    assert routes["distance_m"].iloc[0] == pytest.approx(0.6 * lengths["西街"], rel=1e-4)
    back = routing.Router(graph).dispatch(
        points("i", [(104.060, 30.652)]), points("r", [(104.060, 30.658)]), objective="distance"
    )
    assert back["distance_m"].iloc[0] == pytest.approx(0.6 * lengths["西街"], rel=1e-4)


def test_a_one_way_street_is_not_driven_backwards_even_between_two_points_on_it(grid):
    lengths, graph = street_lengths(grid)
    # on the eastbound one-way 北横街: the unit at 3/4, the incident at 1/4 must go round the block
    routes = routing.Router(graph).dispatch(
        points("i", [(104.0625, 30.660)]), points("r", [(104.0675, 30.660)]), objective="distance"
    )
    around = (
        0.25 * lengths["北横街"]
        + lengths["东街"]
        + lengths["南横街"]
        + lengths["西街"]
        + 0.25 * lengths["北横街"]
    )
    assert routes["distance_m"].iloc[0] == pytest.approx(around, rel=1e-4)
    assert routes.to_crs(4544).geometry.length.iloc[0] == pytest.approx(around, rel=1e-4)


def test_rush_hour_slows_cars_more_than_emergency_vehicles(grid):
    graph = routing.graph_from_roads(grid)
    incidents, resources = points("i", [(104.060, 30.659)]), points("r", [(104.060, 30.651)])

    def eta(profile, hour):
        return (
            routing.Router(graph, profile=profile, hour=hour)
            .dispatch(incidents, resources)["eta_s"]
            .iat[0]
        )

    assert eta("car", 8) == pytest.approx(1.4 * eta("car", None))
    assert eta("ambulance", 8) == pytest.approx(1.15 * eta("ambulance", None))
    assert eta("car", 3) == pytest.approx(eta("car", None))
    with pytest.raises(ValueError, match="hour must be 0-23"):
        routing.Router(graph, hour=25)
