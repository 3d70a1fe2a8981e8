"""A city saved with a graph of its own loads that graph as osmnx.graph_from_gdfs makes it."""

from __future__ import annotations

import geopandas as gpd
import osmnx as ox
import pytest

import cim
import layers
import routing

LONELY = 10**9  # a node on no road


@pytest.fixture(scope="session")
def saved_with_graph(grid, tmp_path_factory):
    """The block's roads and its graph, with a node on no road and nulls in both tables."""
    graph = routing.graph_from_roads(grid)
    first = next(iter(graph.edges(keys=True)))
    graph.edges[first]["lanes"] = 2  # the other edges have none
    graph.add_node(LONELY, x=104.05, y=30.64)
    city = cim.CityModel({"roads": grid}, graph=graph, name="block")
    return city.save(tmp_path_factory.mktemp("block") / "city"), graph


def test_a_saved_graph_loads_as_osmnx_builds_it(saved_with_graph):
    folder, given = saved_with_graph
    loaded = cim.CityModel.load(folder, cache=False).graph
    nodes = gpd.read_parquet(folder / "graph_nodes.parquet")
    edges = gpd.read_parquet(folder / "graph_edges.parquet")
    plain = ox.graph_from_gdfs(nodes, edges)
    # the same nodes and edges in the same order, their values of the same types (repr)
    assert repr(list(loaded.nodes(data=True))) == repr(list(plain.nodes(data=True)))
    edges = [list(g.edges(keys=True, data=True)) for g in (loaded, plain)]
    assert repr(edges[0]) == repr(edges[1]) and edges[0] == edges[1]
    assert loaded.graph == plain.graph
    assert loaded.number_of_edges() == given.number_of_edges() and LONELY in loaded
    lanes = [d["lanes"] for *_, d in loaded.edges(data=True) if "lanes" in d]
    assert lanes == [2]  # the other edges' nulls left out


def test_graph_files_that_are_not_a_graph_are_refused_in_one_line(saved_with_graph, tmp_path):
    folder, _ = saved_with_graph
    broken = cim.CityModel.load(folder, cache=False)
    broken.save(tmp_path / "city")
    edges = gpd.read_parquet(tmp_path / "city" / "graph_edges.parquet")
    edges.reset_index().to_parquet(tmp_path / "city" / "graph_edges.parquet")  # no u, v, key
    with pytest.raises(layers.InputError, match=r"city: its graph files are not .* save the model"):
        cim.CityModel.load(tmp_path / "city", cache=False)
