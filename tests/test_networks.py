"""The three real networks: import, and dispatch identical to networkx on 1,000 pairs each."""

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

import routing
from routing._engine import nearest_nodes

NETWORKS = {
    "chengdu_osm": None,  # the sample city's graph
    "wuhou_sumo": lambda: routing.graph_from_sumo("sample_data/networks/chengdu_wuhou.net.xml.gz"),
    "jinan_tables": lambda: routing.graph_from_tables(
        "sample_data/networks/jinan_nodes.csv.gz", "sample_data/networks/jinan_edges.csv.gz"
    ),
}


@pytest.fixture(scope="session", params=list(NETWORKS))
def network(request, city):
    build = NETWORKS[request.param]
    if build is None:
        return city.graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build()


def points_at(graph, nodes, prefix):
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(len(nodes))], "units": 1},
        geometry=[shapely.Point(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes],
        crs=4326,
    )


@pytest.mark.parametrize("objective", ["distance", "time"])
def test_a_thousand_pairs_equal_networkx(network, objective):
    rng = np.random.default_rng(42)
    core = sorted(max(nx.strongly_connected_components(network), key=len), key=str)
    stations = [core[i] for i in rng.choice(len(core), 10, replace=False)]  # one search each
    incidents = [core[i] for i in rng.choice(len(core), 100, replace=False)]  # in networkx
    router = routing.Router(network, profile="ambulance")
    routes = router.dispatch(
        points_at(network, incidents, "i"),
        points_at(network, stations, "r"),
        k=10,
        objective=objective,
    )
    assert len(routes) == 1000 and routes["reason"].isna().all()

    weight = "length"
    if objective == "time":
        edges = list(network.edges(keys=True, data=True))
        kph = router.profile.speeds(  # the profile's speeds, for every edge at once
            [d["speed_kph"] for *_, d in edges], [d["road_class"] for *_, d in edges]
        )
        seconds = {
            (u, v, k): d["length"] / (s / 3.6) for (u, v, k, d), s in zip(edges, kph, strict=True)
        }

        def weight(u, v, data):
            return min(seconds[u, v, key] for key in data)

    snapped = router._engine.nodes[
        nearest_nodes(
            router._engine,
            *np.array([[network.nodes[n]["x"], network.nodes[n]["y"]] for n in stations]).T,
        )[0]
    ]
    targets = router._engine.nodes[
        nearest_nodes(
            router._engine,
            *np.array([[network.nodes[n]["x"], network.nodes[n]["y"]] for n in incidents]).T,
        )[0]
    ]
    column = "distance_m" if objective == "distance" else "eta_s"
    for r, source in enumerate(snapped):
        expected = nx.single_source_dijkstra_path_length(network, source, weight=weight)
        mine = routes[routes["resource_id"] == f"r{r}"].set_index("incident_id")[column]
        for i, target in enumerate(targets):
            assert mine[f"i{i}"] == pytest.approx(expected[target], rel=1e-9, abs=1e-9)


def test_sumo_import_keeps_direction_names_and_speeds():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = routing.graph_from_sumo("sample_data/networks/chengdu_wuhou.net.xml.gz")
    names = {d.get("name") for *_, d in graph.edges(data=True)}
    assert {"人民南路四段", "二环路南三段"} <= names
    speeds = [d["speed_kph"] for *_, d in graph.edges(data=True)]
    assert 20 < np.median(speeds) < 80
    lon, lat = np.mean([[d["x"], d["y"]] for _, d in graph.nodes(data=True)], axis=0)
    assert 104.03 < lon < 104.09 and 30.61 < lat < 30.66  # Wuhou district centre


def test_unreachable_nodes_are_counted_and_can_be_dropped():
    with pytest.warns(routing.UnreachableNodesWarning, match=r"916 of 12766 nodes"):
        graph = routing.graph_from_tables(
            "sample_data/networks/jinan_nodes.csv.gz", "sample_data/networks/jinan_edges.csv.gz"
        )
    with pytest.warns(UserWarning, match="dropped 916 nodes"):
        core = routing.graph_from_tables(
            "sample_data/networks/jinan_nodes.csv.gz",
            "sample_data/networks/jinan_edges.csv.gz",
            drop_unreachable=True,
        )
    assert core.number_of_nodes() == 11850 == graph.number_of_nodes() - 916
    assert nx.is_strongly_connected(core)


def test_line_ends_within_the_tolerance_are_joined():
    gap = 0.000005  # about half a metre
    roads = gpd.GeoDataFrame(
        {
            "highway": ["primary", "primary"],
            "oneway": [False, False],
            "name": ["a", "b"],
            "maxspeed": [None, None],
        },
        geometry=[
            shapely.LineString([(104.06, 30.65), (104.07, 30.65)]),
            shapely.LineString([(104.07 + gap, 30.65), (104.08, 30.65)]),
        ],
        crs=4326,
    )
    assert routing.graph_from_roads(roads, snap_m=1.0).number_of_nodes() == 3
    with pytest.warns(routing.UnreachableNodesWarning):
        assert routing.graph_from_roads(roads, snap_m=0.1).number_of_nodes() == 4
