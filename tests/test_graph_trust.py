"""The road graph on a user's own data: u/v checked against the line ends, lengths after the
join, only roads a motor vehicle may drive, and a warning when ``oneway`` is missing."""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

import cim
import layers
import routing
from cim.cli import app
from layers.crs import metric_crs
from routing.drivable import NOT_DRIVABLE
from tests.conftest import points

NETWORKS = "sample_data/networks"
LAT = 30.65
A, B, C, D = (104.06, LAT), (104.07, LAT), (104.08, LAT), (104.07, LAT + 0.01)


def roads_of(lines, **columns) -> gpd.GeoDataFrame:
    n = len(lines)
    data = {"highway": ["primary"] * n, "oneway": [False] * n, "name": None, "maxspeed": None}
    data.update(columns)
    return gpd.GeoDataFrame(data, geometry=[shapely.LineString(c) for c in lines], crs=4326)


def metric_length(lines) -> np.ndarray:
    lines = [
        line if isinstance(line, shapely.LineString) else shapely.LineString(line) for line in lines
    ]
    lines = gpd.GeoSeries(lines, crs=4326)
    return lines.to_crs(metric_crs(lines)).length.to_numpy()


def quiet(build, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", routing.UnreachableNodesWarning)
        return build(*args, **kwargs)


def reference_graph(lines, u, v, oneway) -> nx.DiGraph:
    """networkx graph with the true direction of each line and its metric length."""
    graph = nx.DiGraph()
    for a, b, length, one in zip(u, v, metric_length(lines), oneway, strict=True):
        for pair in [(a, b)] if one else [(a, b), (b, a)]:
            if pair not in graph.edges or graph.edges[pair]["length"] > length:
                graph.add_edge(*pair, length=length)
    return graph


# -- item 0: u/v are checked against the line ends ------------------------------------------


@pytest.mark.parametrize("oneway", [False, True])
def test_a_line_drawn_from_v_to_u_is_turned_round(oneway):
    # A - B - C, ids 1, 2, 3; the second line is drawn from C to B. Old code put node 2 at C
    # and node 3 at B, and dispatch from A to C returned 959 m instead of 1,918 m.
    roads = roads_of([[A, B], [C, B]], u=[1, 2], v=[2, 3], oneway=[oneway, oneway])
    graph = quiet(routing.graph_from_roads, roads)
    assert [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (1, 2, 3)] == [A, B, C]
    for u, v, data in graph.edges(data=True):
        line = data["geometry"].coords
        assert line[0] == (graph.nodes[u]["x"], graph.nodes[u]["y"])
        assert line[-1] == (graph.nodes[v]["x"], graph.nodes[v]["y"])
    truth = reference_graph([[A, B], [B, C]], [1, 2], [2, 3], [oneway, oneway])
    expected = nx.shortest_path_length(truth, 1, 3, weight="length")
    assert expected == pytest.approx(1918, abs=2)
    routes = routing.Router(graph).dispatch(
        points("i", [C], kind="fire", priority=1), points("s", [A]), objective="distance"
    )
    assert routes["distance_m"].iat[0] == pytest.approx(expected, rel=1e-9)


def test_a_line_not_at_its_nodes_is_refused_with_its_row():
    far = [(104.09, LAT + 0.02), (104.10, LAT + 0.02)]
    roads = roads_of([[A, B], [B, C], [C, D], far], u=[1, 2, 3, 1], v=[2, 3, 4, 2])
    roads.index = ["west", "east", "north", "astray"]
    with pytest.raises(layers.SchemaError, match=r"1 lines do not end at their u/v.*astray") as err:
        routing.graph_from_roads(roads)
    assert err.value.rows == ["astray"] and err.value.column == "u"


def test_sample_roads_with_half_the_lines_reversed_give_the_same_graph(city):
    # the sample is an OSMnx export (u, v, key); real exports draw many lines from v to u
    roads = city.layer("roads")
    flipped = roads.copy()
    flip = np.random.default_rng(12).random(len(roads)) < 0.5
    flipped.loc[flip, "geometry"] = roads.geometry[flip].reverse()
    graph, turned = quiet(routing.graph_from_roads, roads), quiet(routing.graph_from_roads, flipped)
    assert set(graph.edges(keys=True)) == set(turned.edges(keys=True))
    for edge in graph.edges(keys=True):
        assert turned.edges[edge]["length"] == pytest.approx(graph.edges[edge]["length"], rel=1e-9)
    # a line that touches no other keeps its drawn direction: its two ends cannot be told apart
    parts = nx.weakly_connected_components(graph)
    linked = [n for part in parts if len(part) > 2 for n in part]
    assert len(linked) > 0.99 * graph.number_of_nodes()
    assert all(graph.nodes[n] == turned.nodes[n] for n in linked)


@pytest.fixture(scope="session")
def jinan_part():
    """The directed Jinan network inside a 3 x 3 km window, as a roads layer with u/v."""
    nodes = pd.read_csv(f"{NETWORKS}/jinan_nodes.csv.gz").set_index("node_id")
    edges = pd.read_csv(f"{NETWORKS}/jinan_edges.csv.gz")
    inside = nodes.index[
        nodes["lon"].between(117.00, 117.032) & nodes["lat"].between(36.65, 36.677)
    ]
    edges = edges[edges["from_node"].isin(inside) & edges["to_node"].isin(inside)]
    edges = edges[edges["from_node"] != edges["to_node"]].reset_index(drop=True)
    start = nodes.loc[edges["from_node"], ["lon", "lat"]].to_numpy()
    end = nodes.loc[edges["to_node"], ["lon", "lat"]].to_numpy()
    roads = gpd.GeoDataFrame(
        {
            "u": edges["from_node"],
            "v": edges["to_node"],
            "highway": edges["highway"],
            "oneway": True,
            "name": None,
            "maxspeed": None,
        },
        geometry=shapely.linestrings(np.stack([start, end], axis=1)),
        crs=4326,
    )
    return nodes, roads


def test_jinan_lines_drawn_backwards_route_like_networkx_on_the_true_network(jinan_part):
    nodes, roads = jinan_part
    assert len(roads) > 1000
    truth = reference_graph(roads.geometry, roads["u"], roads["v"], roads["oneway"])
    flipped = roads.copy()
    flip = np.random.default_rng(7).random(len(roads)) < 0.4
    flipped.loc[flip, "geometry"] = roads.geometry[flip].reverse()
    graph = quiet(routing.graph_from_roads, flipped)
    for n in graph.nodes:
        assert (graph.nodes[n]["x"], graph.nodes[n]["y"]) == tuple(nodes.loc[n, ["lon", "lat"]])
    for source in list(truth.nodes)[:: len(truth) // 5][:5]:
        want = nx.single_source_dijkstra_path_length(truth, source, weight="length")
        got = nx.single_source_dijkstra_path_length(graph, source, weight="length")
        assert got.keys() == want.keys()
        assert all(got[t] == pytest.approx(want[t], rel=1e-9, abs=1e-6) for t in want)


def test_lengths_are_measured_after_the_ends_are_joined():
    gap = 0.000008  # about 0.8 m: within snap_m, so the ends are joined
    lines = [
        [A, (104.065, LAT + 0.002), B],
        [(B[0] + gap, LAT), C],
        [(C[0], LAT + gap), (104.075, LAT + 0.006), (D[0] + gap, D[1])],
        [D, (A[0], A[1] + gap)],
    ]
    graph = quiet(routing.graph_from_roads, roads_of(lines))
    assert graph.number_of_nodes() == 4
    edges = list(graph.edges(data=True))
    lengths = np.array([d["length"] for *_, d in edges])
    assert lengths == pytest.approx(metric_length(d["geometry"] for *_, d in edges), rel=1e-6)
    routes = routing.Router(graph).dispatch(
        points("i", [(104.079, LAT + 0.001)], kind="fire", priority=1),
        points("s", [(104.061, LAT)]),
        objective="distance",
    )
    assert routes["distance_m"].iat[0] == pytest.approx(metric_length(routes.geometry)[0], rel=1e-6)


# -- item 7: only roads a motor vehicle may drive ---------------------------------------------

BLOCK = [[A, B], [B, D], [A, (104.06, LAT + 0.01)], [(104.06, LAT + 0.01), D]]
NOT_ROADS = {
    "highway=footway": ([A, D], {"highway": "footway"}),
    "highway=steps": ([B, (104.06, LAT + 0.01)], {"highway": "steps"}),
    "railway=subway": ([A, (104.08, LAT + 0.01)], {"highway": None, "railway": "subway"}),
    "man_made=pier": ([C, (104.08, LAT - 0.005)], {"highway": None, "man_made": "pier"}),
    "access=private": ([B, C], {"highway": "service", "access": "private"}),
    "service=parking_aisle": ([D, C], {"highway": "service", "service": "parking_aisle"}),
    "highway=construction": ([A, C], {"highway": "construction"}),
}


def block_with_non_roads() -> gpd.GeoDataFrame:
    rows = [dict(highway="primary")] * len(BLOCK) + [tags for _, tags in NOT_ROADS.values()]
    columns = {
        c: [r.get(c) for r in rows] for c in ("highway", "railway", "man_made", "access", "service")
    }
    kept = roads_of(BLOCK + [line for line, _ in NOT_ROADS.values()], **columns)
    kept.loc[kept["highway"].isna(), "road_class"] = "other"
    kept.loc[kept["road_class"].isna(), "road_class"] = "arterial"
    return kept


def test_footways_steps_subway_lines_and_piers_are_left_out_and_counted():
    with pytest.warns(
        routing.ExcludedRoadsWarning, match=r"left 7 of 11 road lines out.*footway 1"
    ):
        graph = quiet(routing.graph_from_roads, block_with_non_roads())
    assert graph.graph["excluded"] == dict.fromkeys(NOT_ROADS, 1)
    assert {d["highway"] for *_, d in graph.edges(data=True)} == {"primary"}
    assert graph.number_of_nodes() == 4 and graph.number_of_edges() == 8
    # from A to D round the block, not across the footway
    truth = reference_graph(BLOCK, ["A", "B", "A", "E"], ["B", "D", "E", "D"], [False] * 4)
    routes = routing.Router(graph).dispatch(
        points("i", [D], kind="fire", priority=1), points("s", [A]), objective="distance"
    )
    expected = nx.shortest_path_length(truth, "A", "D", weight="length")
    assert routes["distance_m"].iat[0] == pytest.approx(expected, rel=1e-9)


def test_the_excluded_classes_can_be_kept():
    roads = block_with_non_roads()
    graph = quiet(routing.graph_from_roads, roads, exclude=NOT_DRIVABLE - {"footway"})
    assert "highway=footway" not in graph.graph["excluded"]
    assert any(d["highway"] == "footway" for *_, d in graph.edges(data=True))
    everything = quiet(routing.graph_from_roads, roads, exclude=())
    kept = {"highway=footway", "highway=steps", "highway=construction"}
    assert everything.graph["excluded"] == {k: 1 for k in NOT_ROADS if k not in kept}


def test_a_layer_of_footways_only_is_refused():
    with pytest.raises(layers.EmptyLayerError, match="no line is a road for motor vehicles"):
        routing.graph_from_roads(roads_of(BLOCK, highway=["footway"] * 4))


def test_the_cli_says_which_lines_it_left_out(tmp_path):
    roads = block_with_non_roads()
    city = cim.CityModel({"roads": roads}, name="block")
    folder = city.save(tmp_path / "city")
    pd.DataFrame({"id": ["i0"], "lon": [D[0]], "lat": [D[1]]}).to_csv(
        tmp_path / "i.csv", index=False
    )
    pd.DataFrame({"id": ["s0"], "lon": [A[0]], "lat": [A[1]]}).to_csv(
        tmp_path / "s.csv", index=False
    )
    result = CliRunner().invoke(
        app,
        ["dispatch", "--city", str(folder), "--incidents", str(tmp_path / "i.csv"),
         "--resources", str(tmp_path / "s.csv"), "--out", str(tmp_path / "out")],
    )  # fmt: skip
    text = " ".join(result.output.split())
    assert result.exit_code == 0, text
    assert "left 7 of 11 road lines out" in text and "highway=steps 1" in text


# -- item 8: no oneway column ------------------------------------------------------------------


def test_a_roads_layer_without_oneway_warns_that_every_road_is_two_way():
    roads = roads_of([[A, B], [B, C]]).drop(columns="oneway")
    with pytest.warns(layers.CimWarning, match=r"no 'oneway' column.*two-way"):
        graph = routing.graph_from_roads(roads)
    assert graph.number_of_edges() == 4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        routing.graph_from_roads(roads_of([[A, B], [B, C]]))
    assert not [w for w in caught if "oneway" in str(w.message)]
