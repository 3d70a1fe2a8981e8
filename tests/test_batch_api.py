"""The public routing batch API (Router.snap, cost_matrix, reach) against plain references:
shapely's nearest line, networkx shortest paths, and networkx cutoff Dijkstra."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

import layers
import routing
from routing._engine import reached_pieces

GAP_M = 20.0


@pytest.fixture(scope="session")
def car(city):
    return city.router("car")


@pytest.fixture(scope="session")
def metric_lines(city, car):
    """Every edge's line in the router's metric CRS, in ``graph.edges(keys=True)`` order."""
    to_metric = Transformer.from_crs(4326, car.metric_crs, always_xy=True)
    graph = city.graph
    lines = [
        d.get("geometry")
        or shapely.LineString([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (u, v)])
        for u, v, d in graph.edges(data=True)
    ]
    return shapely.transform(
        np.array(lines, dtype=object),
        lambda c: np.column_stack(to_metric.transform(c[:, 0], c[:, 1])),
    )


def core_nodes(graph, count, seed):
    core = sorted(max(nx.strongly_connected_components(graph), key=len), key=str)
    return [core[i] for i in np.random.default_rng(seed).choice(len(core), count, replace=False)]


def at_nodes(graph, nodes, prefix):
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(len(nodes))]},
        geometry=[shapely.Point(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes],
        crs=4326,
    )


def beyond_dead_ends(graph, lines, crs, count):
    """Points ``GAP_M`` beyond the end of dead-end streets, along the street's last stretch:
    the nearest road to each is its dead-end node, no other road within 10 m more."""
    to_lonlat = Transformer.from_crs(crs, 4326, always_xy=True)
    edges = list(graph.edges)
    simple = nx.Graph(graph)
    found = []
    for node in sorted(graph.nodes, key=str):
        if simple.degree(node) != 1 or node not in max(
            nx.strongly_connected_components(graph), key=len
        ):
            continue
        mine = [i for i, (u, v, _) in enumerate(edges) if node in (u, v) and u != v]
        coords = shapely.get_coordinates(lines[mine[0]])
        end, before = (
            (coords[0], coords[1]) if edges[mine[0]][0] == node else (coords[-1], coords[-2])
        )
        step = (end - before) / np.hypot(*(end - before))
        point = shapely.Point(end + GAP_M * step)
        distance = shapely.distance(point, lines)
        others = np.delete(distance, mine)
        if np.allclose(distance[mine], GAP_M, atol=1e-6) and others.min() > GAP_M + 10:
            found.append((node, to_lonlat.transform(*point.coords[0])))
        if len(found) == count:
            break
    assert len(found) == count
    nodes, lonlat = zip(*found, strict=True)
    return list(nodes), gpd.GeoDataFrame(
        {"id": [f"t{i}" for i in range(count)]},
        geometry=[shapely.Point(p) for p in lonlat],
        crs=4326,
    )


def test_snap_finds_the_nearest_line_as_shapely_does(city, car, metric_lines):
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = city.layer("roads").total_bounds
    points = gpd.GeoSeries(
        gpd.points_from_xy(rng.uniform(minx, maxx, 12), rng.uniform(miny, maxy, 12)), crs=4326
    )
    points = gpd.GeoSeries([*points, shapely.Point(104.5, 30.66)], crs=4326)  # far from any road
    snapped = car.snap(points.to_crs(car.metric_crs))  # any CRS the data carries
    assert isinstance(snapped, routing.Snapped) and len(snapped) == len(points)
    metric = points.to_crs(car.metric_crs).values
    graph_edges = list(city.graph.edges)
    loops = np.array([u == v for u, v, _ in graph_edges])
    for i, point in enumerate(metric):
        distance = np.where(loops, np.inf, shapely.distance(point, metric_lines))
        assert snapped.distance_m[i] == pytest.approx(distance.min(), abs=1e-6)
        if distance.min() > routing.SNAP_LIMIT_M:
            assert snapped.edge[i] == -1 and snapped.cut_off[i] == routing.SNAP_FAR
            continue
        edge = snapped.edge[i]
        assert snapped.cut_off[i] is None
        assert distance[edge] == pytest.approx(distance.min(), abs=1e-6)
        along = shapely.line_locate_point(metric_lines[edge], point, normalized=True)
        assert snapped.fraction[i] == pytest.approx(along, abs=1e-6)
    assert snapped.cut_off[-1] == routing.SNAP_FAR
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapped.edge = snapped.edge  # a result, not a scratch pad


def engine_time(profile):
    def weight(u, v, data):
        return min(
            d["length"] / (profile.speeds([d["speed_kph"]], [d["road_class"]])[0] / 3.6)
            for d in data.values()
        )

    return weight


@pytest.mark.parametrize("objective", ["distance", "time"])
def test_cost_matrix_is_networkx_shortest_paths_plus_the_gap(city, car, metric_lines, objective):
    graph = city.graph
    sources = core_nodes(graph, 3, seed=7)
    ends, targets = beyond_dead_ends(graph, metric_lines, car.metric_crs, 4)
    far = gpd.GeoDataFrame({"id": ["far"]}, geometry=[shapely.Point(104.5, 30.66)], crs=4326)
    targets = gpd.GeoDataFrame(
        gpd.pd.concat([targets, far], ignore_index=True), geometry="geometry", crs=4326
    )
    matrix = car.cost_matrix(at_nodes(graph, sources, "s"), targets, objective=objective)
    assert isinstance(matrix, routing.CostMatrix) and matrix.objective == objective
    assert matrix.values.shape == (3, 5)
    assert matrix.to_frame().loc["s1", "t2"] == matrix.values[1, 2]
    assert list(matrix.target_ids) == ["t0", "t1", "t2", "t3", "far"]
    assert np.allclose(matrix.target_gap_m[:4], GAP_M, atol=1e-6)
    assert np.allclose(matrix.source_gap_m, 0, atol=1e-6)
    weight = "length" if objective == "distance" else engine_time(car.profile)
    gap = GAP_M if objective == "distance" else GAP_M / (car.profile.access_speed_kph / 3.6)
    for s, source in enumerate(sources):
        reached = nx.single_source_dijkstra_path_length(graph, source, weight=weight)
        expected = [reached[node] + gap for node in ends]
        assert matrix.values[s, :4] == pytest.approx(expected, rel=1e-9, abs=1e-6)
        assert np.isinf(matrix.values[s, 4])  # beyond the snap limit: no route


def test_reach_is_what_networkx_reaches_within_the_budget(city, car, metric_lines):
    graph = city.graph
    sources = core_nodes(graph, 3, seed=11)
    budget = np.array([400.0, 900.0, 1500.0])
    pieces = car.reach(at_nodes(graph, sources, "s"), budget)
    assert list(pieces.columns) == ["source_id", "edge", "start", "end", "geometry"]
    assert pieces.crs == car.metric_crs
    edges = list(graph.edges(data=True))
    for s, source in enumerate(sources):
        reached = nx.single_source_dijkstra_path_length(
            graph, source, cutoff=budget[s], weight="length"
        )
        expected = {
            i: min(1.0, (budget[s] - reached[u]) / d["length"])
            for i, (u, _, d) in enumerate(edges)
            if u in reached and reached[u] < budget[s]
        }
        mine = pieces[(pieces["source_id"] == f"s{s}") & (pieces["end"] > pieces["start"])]
        assert (mine["start"] == 0).all()  # a source on a node starts every piece at a node
        ours = mine.groupby("edge")["end"].max()
        assert len(expected) > 10
        assert sorted(ours.index) == sorted(expected)
        assert ours.to_numpy() == pytest.approx([expected[e] for e in ours.index], abs=1e-9)
    # each piece's line is its share of the edge
    share = (pieces["end"] - pieces["start"]).to_numpy()
    assert pieces.length.to_numpy() == pytest.approx(
        share * shapely.length(metric_lines[pieces["edge"].to_numpy()]), abs=1e-6
    )


def test_reach_gives_the_engines_reached_pieces_and_nothing_for_a_source_off_the_road(city, car):
    graph = city.graph
    sources = at_nodes(graph, core_nodes(graph, 2, seed=13), "s")
    off = gpd.GeoDataFrame({"id": ["off"]}, geometry=[shapely.Point(104.5, 30.66)], crs=4326)
    sources = gpd.GeoDataFrame(
        gpd.pd.concat([sources, off], ignore_index=True), geometry="geometry", crs=4326
    )
    budget = np.array([120.0, 300.0, 300.0])
    pieces = car.reach(sources, budget, objective="time")
    source, edge, start, end = reached_pieces(car._engine, car.snap(sources), budget, "time")
    assert pieces["source_id"].tolist() == sources["id"].to_numpy()[source].tolist()
    assert np.array_equal(pieces["edge"], edge)
    assert np.array_equal(pieces["start"], start) and np.array_equal(pieces["end"], end)
    assert "off" not in set(pieces["source_id"]) and len(pieces) > 0
    one_budget = car.reach(sources, 300.0, objective="time")
    assert set(one_budget["source_id"]) == {"s0", "s1"}
    with pytest.raises(layers.InputError, match="one per source"):
        car.reach(sources, [1.0, 2.0])
