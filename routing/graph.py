"""Road graphs: OSMnx-compatible ``MultiDiGraph`` from road layers or OSM files.

Nodes carry ``x``, ``y`` (lon, lat); edges carry ``length`` (m), ``speed_kph``,
``travel_time`` (s), ``highway``, ``road_class``, ``oneway``, ``name`` and ``geometry``
(a LineString from ``u`` to ``v``), so the graph works with osmnx's own functions.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

import layers
from layers.crs import metric_crs

__all__ = [
    "CLASS_SPEED_KPH",
    "UnreachableNodesWarning",
    "graph_from_osm",
    "graph_from_roads",
    "graph_from_sumo",
    "graph_from_tables",
    "parse_maxspeed",
]

# Design speeds of CJJ 37-2012 城市道路工程设计规范 (km/h), mid-range of each class:
# 快速路 60-100, 主干路 40-60, 次干路 30-50, 支路 20-40; "other" (service, living_street) at 20.
CLASS_SPEED_KPH = {
    "expressway": 80.0,
    "arterial": 50.0,
    "secondary": 40.0,
    "branch": 30.0,
    "other": 20.0,
}
_MPH = 1.609344
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")


def parse_maxspeed(value) -> float:
    """Speed in km/h from an OSM ``maxspeed`` value (mean of several, mph converted), else NaN.

    Examples
    --------
    >>> parse_maxspeed("40"), parse_maxspeed("30 mph"), parse_maxspeed("40;60"), parse_maxspeed(None)
    (40.0, 48.28032, 50.0, nan)
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, (int, float, np.number)):
        return float(value) if value > 0 else np.nan
    numbers = [float(n) for n in _NUMBERS.findall(str(value))]
    if not numbers:
        return np.nan
    speed = float(np.mean(numbers))
    return speed * _MPH if "mph" in str(value).lower() else speed


def _snap_endpoints(
    roads: gpd.GeoDataFrame, snap_m: float
) -> tuple[np.ndarray, np.ndarray, gpd.GeoSeries]:
    """Node ids for line ends: ends closer than ``snap_m`` metres become one node.

    Returns the ids of each line's start and end and the geometries with their ends moved onto
    the shared node, so that consecutive roads join exactly.
    """
    n = len(roads)
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(roads.geometry.values, 0)),
            shapely.get_coordinates(shapely.get_point(roads.geometry.values, -1)),
        ]
    )
    projected = gpd.GeoSeries(shapely.points(ends), crs=4326).to_crs(metric_crs(roads))
    xy = shapely.get_coordinates(projected.values)
    pairs = cKDTree(xy).query_pairs(r=max(snap_m, 1e-6), output_type="ndarray")
    adjacency = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(2 * n, 2 * n))
    _, ids = connected_components(adjacency, directed=False)
    first = np.full(ids.max() + 1, -1)
    first[ids[::-1]] = np.arange(2 * n)[::-1]  # the first end seen stands for its node
    node_xy = ends[first[ids]]
    geometries = []
    for i, line in enumerate(roads.geometry.values):
        coords = shapely.get_coordinates(line)
        coords[0], coords[-1] = node_xy[i], node_xy[n + i]
        geometries.append(shapely.LineString(coords))
    return ids[:n], ids[n:], gpd.GeoSeries(geometries, index=roads.index, crs=roads.crs)


def _warn_unreachable(graph: nx.MultiDiGraph, drop: bool) -> nx.MultiDiGraph:
    if graph.number_of_nodes() == 0:
        return graph
    core = max(nx.strongly_connected_components(graph), key=len)
    outside = graph.number_of_nodes() - len(core)
    if outside == 0:
        return graph
    share = outside / graph.number_of_nodes()
    if drop:
        warnings.warn(
            f"dropped {outside} nodes ({share:.1%}) outside the largest strongly connected component",
            stacklevel=3,
        )
        return graph.subgraph(core).copy()
    warnings.warn(
        f"{outside} of {graph.number_of_nodes()} nodes ({share:.1%}) lie outside the largest strongly connected "
        "component: some places there cannot be reached or left (one-way dead ends, islands); "
        "pass drop_unreachable=True to drop them",
        UnreachableNodesWarning,
        stacklevel=3,
    )
    return graph


class UnreachableNodesWarning(layers.CimWarning):
    """Part of the road graph cannot reach, or be reached from, the rest."""


def graph_from_roads(
    roads: gpd.GeoDataFrame, *, snap_m: float = 1.0, drop_unreachable: bool = False
) -> nx.MultiDiGraph:
    """Build a routable directed road graph from a roads layer.

    Node ids come from the layer's ``u`` / ``v`` columns when it has them (OSM node ids from
    :func:`layers.from_osm`); otherwise line ends closer than ``snap_m`` metres become one
    node and the lines are moved onto it (topology repair). Two-way roads get an edge in each direction; ``oneway`` roads only along
    their geometry. Lengths are measured in the data's CGCS2000 Gauss-Kruger zone; speeds
    are ``maxspeed`` where tagged, else the CJJ 37-2012 design speed of the road class
    (:data:`CLASS_SPEED_KPH`).

    Parameters
    ----------
    roads : GeoDataFrame
        A roads layer (see ``layers.KINDS``); MultiLineStrings are split into parts.
    snap_m : float
        Tolerance for joining line ends into nodes when there are no ``u``/``v`` columns.
    drop_unreachable : bool
        Drop the nodes outside the largest strongly connected component. Either way an
        :class:`UnreachableNodesWarning` says how many there are.

    Returns
    -------
    networkx.MultiDiGraph

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> roads = gpd.GeoDataFrame(
    ...     {"highway": ["primary"], "oneway": [False], "name": ["人民南路"], "maxspeed": [None]},
    ...     geometry=[shapely.LineString([(104.06, 30.64), (104.06, 30.65)])], crs=4326)
    >>> G = graph_from_roads(roads)
    >>> G.number_of_nodes(), G.number_of_edges(), round(G.edges[0, 1, 0]["travel_time"])
    (2, 2, 80)
    """
    roads = layers.validate(roads, "roads").explode(index_parts=False)
    length = roads.geometry.to_crs(metric_crs(roads)).length.to_numpy()
    roads, length = roads[length > 0].reset_index(drop=True), length[length > 0]
    if {"u", "v"} <= set(roads.columns) and roads[["u", "v"]].notna().all().all():
        u, v = roads["u"].to_numpy(), roads["v"].to_numpy()
    else:
        u, v, geometry = _snap_endpoints(roads, snap_m)
        roads = roads.set_geometry(geometry)
    speed = roads["maxspeed"].map(parse_maxspeed)
    speed = speed.fillna(roads["road_class"].map(CLASS_SPEED_KPH)).to_numpy(dtype=float)
    travel_time = length / (speed / 3.6)

    attributes = roads.drop(columns=[c for c in ("u", "v", "key") if c in roads.columns])
    records = attributes.to_dict("records")
    edges = []
    for i, record in enumerate(records):
        record.update(
            length=float(length[i]), speed_kph=float(speed[i]), travel_time=float(travel_time[i])
        )
        edges.append((u[i], v[i], record))
        if not record["oneway"]:
            twin = dict(record, geometry=record["geometry"].reverse())
            edges.append((v[i], u[i], twin))

    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_edges_from(edges)
    first = shapely.get_coordinates(shapely.get_point(roads.geometry.values, 0))
    last = shapely.get_coordinates(shapely.get_point(roads.geometry.values, -1))
    coords = {
        **dict(zip(v, map(tuple, last), strict=True)),
        **dict(zip(u, map(tuple, first), strict=True)),
    }
    nx.set_node_attributes(graph, {n: {"x": x, "y": y} for n, (x, y) in coords.items()})
    return _warn_unreachable(graph, drop_unreachable)


def graph_from_sumo(path, *, drop_unreachable: bool = False) -> nx.MultiDiGraph:
    """Routable graph of a SUMO ``.net.xml`` network (see :func:`layers.from_sumo`).

    Examples
    --------
    >>> G = graph_from_sumo("sample_data/networks/chengdu_wuhou.net.xml.gz")
    >>> G.number_of_edges()
    852
    """
    return graph_from_roads(layers.from_sumo(path), drop_unreachable=drop_unreachable)


def graph_from_tables(
    nodes,
    edges,
    *,
    node_id: str = "node_id",
    source: str = "from_node",
    target: str = "to_node",
    drop_unreachable: bool = False,
) -> nx.MultiDiGraph:
    """Routable graph from a node table (id, lon, lat) and a directed edge table.

    Each edge row is one direction of travel (a two-way street is two rows), drawn as a
    straight line between its nodes (self-loops are dropped); ``highway``, ``road_class``, ``name`` and ``maxspeed``
    columns are used when present. Tables may be DataFrames or CSV paths (``.csv.gz`` too).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     G = graph_from_tables("sample_data/networks/jinan_nodes.csv.gz", "sample_data/networks/jinan_edges.csv.gz")
    >>> G.number_of_nodes(), G.number_of_edges()
    (12766, 28574)
    """
    nodes = pd.read_csv(nodes) if isinstance(nodes, (str, Path)) else nodes
    edges = pd.read_csv(edges) if isinstance(edges, (str, Path)) else edges
    for table, columns in ((nodes, (node_id, "lon", "lat")), (edges, (source, target))):
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise layers.SchemaError(
                "roads", f"table needs columns {', '.join(columns)}; missing {', '.join(missing)}"
            )
    position = nodes.set_index(node_id)[["lon", "lat"]]
    unknown = ~edges[source].isin(position.index) | ~edges[target].isin(position.index)
    if unknown.any():
        raise layers.SchemaError(
            "roads",
            f"{int(unknown.sum())} edges name nodes missing from the node table (rows {list(edges.index[unknown][:5])})",
        )
    loops = edges[source] == edges[target]
    if loops.any():
        warnings.warn(
            f"dropped {int(loops.sum())} self-loop edges: they have no shape in a node table and no shortest path uses them",
            stacklevel=2,
        )
        edges = edges[~loops]
    start, end = position.loc[edges[source]].to_numpy(), position.loc[edges[target]].to_numpy()
    roads = gpd.GeoDataFrame(
        {
            "u": edges[source].to_numpy(),
            "v": edges[target].to_numpy(),
            "oneway": True,
            **{
                c: edges[c].to_numpy()
                for c in ("highway", "road_class", "name", "maxspeed")
                if c in edges.columns
            },
        },
        geometry=shapely.linestrings(np.stack([start, end], axis=1)),
        crs=4326,
    )
    if "highway" not in roads.columns and "road_class" not in roads.columns:
        roads["road_class"] = "branch"
    return graph_from_roads(roads, drop_unreachable=drop_unreachable)


def graph_from_osm(path) -> nx.MultiDiGraph:
    """Routable graph of the drivable roads of an OSM XML file (see :func:`layers.from_osm`).

    Examples
    --------
    >>> G = graph_from_osm("tests/data/tiny.osm")
    >>> G.number_of_nodes(), G.number_of_edges()
    (3, 3)
    """
    return graph_from_roads(layers.from_osm(path)["roads"])
