"""15-minute living circles on the walking network (issue 19)."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pytest
import shapely

import layers
import routing

TINY_OSM = Path(__file__).parent / "data" / "tiny.osm"


def _roads(rows):
    """A roads layer from (highway, oneway, extra tags, coordinates) rows."""
    return gpd.GeoDataFrame(
        [
            {"highway": h, "oneway": o, "name": None, "maxspeed": None, **tags}
            for h, o, tags, _ in rows
        ],
        geometry=[shapely.LineString(c) for *_, c in rows],
        crs=4326,
    )


def test_the_walking_graph_is_two_way_and_leaves_out_motorways_and_bare_trunk_roads():
    a, b, c, d, e = (
        (104.060, 30.650),
        (104.061, 30.650),
        (104.062, 30.650),
        (104.063, 30.650),
        (104.064, 30.650),
    )
    roads = _roads(
        [
            ("residential", True, {}, [a, b]),  # one-way for cars
            ("footway", False, {}, [b, c]),
            ("trunk", False, {"sidewalk": "both"}, [c, d]),
            ("trunk", False, {}, [d, e]),
            ("motorway", True, {}, [a, e]),
            ("steps", False, {"foot": "no"}, [b, d]),
        ]
    )
    with pytest.warns(routing.ExcludedRoadsWarning, match="3 of 6 road lines"):
        graph = routing.walking_graph(roads, speed_mps=1.0)
    assert graph.graph["excluded"] == {
        "highway=trunk without sidewalk": 1,
        "highway=motorway": 1,
        "foot=no": 1,
    }
    assert sorted(d["highway"] for *_, d in graph.edges(data=True)) == sorted(
        ["residential", "footway", "trunk"] * 2
    )
    for u, v, data in graph.edges(data=True):
        assert graph.has_edge(v, u)
        assert data["travel_time"] == pytest.approx(data["length"] / 1.0)
    # a–b–c–d walk end to end both ways; e is not reached at all
    ends = {n for n, deg in graph.degree() if deg == 2}
    assert (
        len(ends) == 2 and nx.has_path(graph, *ends) and nx.has_path(graph, *reversed(list(ends)))
    )


def test_the_walking_graph_from_osm_takes_footways_and_walks_one_way_streets_both_ways():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walking = routing.walking_graph_from_osm(TINY_OSM)
        driving = routing.graph_from_osm(TINY_OSM)
    highways = [d["highway"] for *_, d in walking.edges(data=True)]
    assert highways.count("footway") == 2 and highways.count("residential") == 2
    assert "footway" not in [d["highway"] for *_, d in driving.edges(data=True)]
    assert walking.graph["excluded"] == {"access=private": 1}
    assert walking.graph["walk_speed_mps"] == layers.standards.WALK_SPEED_MPS


def test_a_pedestrian_needs_a_positive_speed():
    with pytest.raises(layers.InputError, match="speed_mps"):
        routing.pedestrian(0)
