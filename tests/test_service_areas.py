"""Service areas built fast and still right: the plain union of piece buffers and networkx.

The reference for a polygon is the plain union of one ``buffer_m`` buffer per reached piece
(how the areas were built before they were made fast). Both are approximations of the true
set of points within ``buffer_m`` of the reached road: GEOS draws a round buffer with 8
segments a quarter circle, so its arcs are chords that fall short of the circle by up to
``r * (1 - cos(pi / 32))`` (0.12 m at 25 m). A difference smaller than that means nothing,
so it is the stated tolerance: each polygon lies within it of the other (both ways), and
their symmetric difference is below 1e-6 of the area.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

import routing.service_areas as service_areas
from routing._engine import lines_along, reached_pieces, search, snap
from routing.batch import Snapped
from routing.service_areas import service_area_polygons

BUFFER_M = 25.0
ARC_ERROR_M = BUFFER_M * (1 - np.cos(np.pi / (4 * 8)))
CUTOFFS_M = (1500.0, 3000.0)  # metres, so that networkx can check with the graph's lengths


@pytest.fixture(scope="session")
def stations(city):
    """The engine and four stations on graph nodes of the sample city's strong core."""
    graph = city.graph
    engine = city.router("fire_engine")._engine
    core = sorted(max(nx.strongly_connected_components(graph), key=len), key=str)
    nodes = [core[i] for i in np.random.default_rng(3).choice(len(core), 4, replace=False)]
    snapped = snap(
        engine, [graph.nodes[n]["x"] for n in nodes], [graph.nodes[n]["y"] for n in nodes]
    )
    return engine, nodes, snapped


def metric(engine, geometry):
    return shapely.transform(
        geometry, lambda c: np.column_stack(engine.to_metric.transform(c[:, 0], c[:, 1]))
    )


def plain_union(engine, snapped, cutoff):
    """One buffer per reached piece, unioned per source: the areas as they were built before."""
    count = len(snapped.edge)
    source, edge, start, end = reached_pieces(engine, snapped, np.full(count, cutoff), "distance")
    lines = lines_along(engine, np.arange(len(edge)), edge, start, end, len(edge), lonlat=False)
    return [shapely.union_all(shapely.buffer(lines[source == s], BUFFER_M)) for s in range(count)]


@pytest.mark.parametrize("tile_m", [150.0, 500.0])
def test_areas_equal_the_plain_union_of_piece_buffers_within_the_arc_error(
    stations, monkeypatch, tile_m
):
    engine, _, snapped = stations
    monkeypatch.setattr(service_areas, "TILE_M", tile_m)
    shared = []
    road = service_areas._Tiles.road
    monkeypatch.setattr(
        service_areas._Tiles, "road", lambda self, tile: shared.append(tile) or road(self, tile)
    )
    areas = service_area_polygons(engine, snapped, CUTOFFS_M, "distance", buffer_m=BUFFER_M)
    assert shared  # whole tiles were shared, not only single pieces buffered
    assert [(s, c) for s, c, _ in areas] == [(s, c) for c in CUTOFFS_M for s in range(4)]
    for cutoff in CUTOFFS_M:
        reference = plain_union(engine, snapped, cutoff)
        for s, c, area in areas:
            if c != cutoff:
                continue
            ours, theirs = metric(engine, area), reference[s]
            assert ours.area > 0.1e6
            assert theirs.buffer(ARC_ERROR_M).contains(ours)
            assert ours.buffer(ARC_ERROR_M).contains(theirs)
            assert shapely.symmetric_difference(ours, theirs).area < 1e-6 * theirs.area


def test_nodes_reached_in_networkx_are_inside_and_nodes_clearly_beyond_are_not(city, stations):
    engine, nodes, snapped = stations
    graph = city.graph
    ids = list(graph.nodes)
    points = shapely.points(
        np.column_stack(
            engine.to_metric.transform(
                [graph.nodes[n]["x"] for n in ids], [graph.nodes[n]["y"] for n in ids]
            )
        )
    )
    tree = shapely.STRtree(engine.lines)
    near_node, near_edge = tree.query(points, predicate="dwithin", distance=BUFFER_M + 1.0)
    areas = service_area_polygons(engine, snapped, CUTOFFS_M, "distance", buffer_m=BUFFER_M)
    for s, cutoff, area in areas:
        polygon = metric(engine, area).buffer(ARC_ERROR_M)
        reached = nx.single_source_dijkstra_path_length(
            graph, nodes[s], cutoff=cutoff, weight="length"
        )
        distance = np.array([reached.get(n, np.inf) for n in ids])
        inside = shapely.contains_xy(polygon, *shapely.get_coordinates(points).T)
        # beyond the cutoff, and no road within buffer_m of it is entered before the cutoff
        started = distance[engine.edge_u[near_edge]] < cutoff
        touched = np.zeros(len(ids), dtype=bool)
        touched[near_node[started]] = True
        beyond = (distance > cutoff) & ~touched
        assert (distance < cutoff).sum() > 50 and beyond.sum() > 50
        assert inside[distance < cutoff].all()
        assert not inside[beyond].any()


def test_a_search_can_stop_at_a_limit_and_agrees_with_the_full_one_below_it(stations):
    engine, _, snapped = stations
    none = Snapped(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0), np.empty(0, dtype=object))
    full = search(engine, snapped, none, "distance").distances
    bounded = search(engine, snapped, none, "distance", limit=2000.0).distances
    below = full <= 2000.0
    assert below.sum() > 100 and (~below & np.isfinite(full)).sum() > 100
    assert np.array_equal(bounded[below], full[below])
    assert np.isinf(bounded[~below]).all()


def test_each_piece_of_road_is_buffered_once_for_all_sources_and_cutoffs(stations, monkeypatch):
    """Two-way streets reached both ways, and whole tiles shared between sources and cutoffs,
    are buffered once, not once per piece, source and cutoff (the union of the buffers is the
    time it takes)."""
    engine, _, snapped = stations
    pieces = sum(
        len(reached_pieces(engine, snapped, np.full(4, cutoff), "distance")[0])
        for cutoff in CUTOFFS_M
    )
    buffered = []
    buffer = shapely.buffer
    monkeypatch.setattr(
        shapely, "buffer", lambda g, *a, **k: buffered.append(np.size(g)) or buffer(g, *a, **k)
    )
    service_area_polygons(engine, snapped, CUTOFFS_M, "distance", buffer_m=BUFFER_M)
    assert sum(buffered) < 0.7 * pieces
