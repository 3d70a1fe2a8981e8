"""Road graphs: OSMnx-compatible ``MultiDiGraph`` from road layers or OSM files.

Nodes carry ``x``, ``y`` (lon, lat); edges carry ``length`` (m), ``speed_kph``,
``travel_time`` (s), ``highway``, ``road_class``, ``oneway``, ``name`` and ``geometry``
(a LineString from ``u`` to ``v``), so the graph works with osmnx's own functions.
"""

from __future__ import annotations

import re

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

import layers
from layers.crs import metric_crs

__all__ = ["CLASS_SPEED_KPH", "graph_from_osm", "graph_from_roads", "parse_maxspeed"]

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
_NODE_PRECISION = 7  # decimal degrees ≈ 1 cm: endpoints closer than this are one node


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


def _endpoint_ids(roads: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    starts = shapely.get_point(roads.geometry.values, 0)
    ends = shapely.get_point(roads.geometry.values, -1)
    keys = np.round(
        np.vstack([shapely.get_coordinates(starts), shapely.get_coordinates(ends)]), _NODE_PRECISION
    )
    _, ids = np.unique(keys, axis=0, return_inverse=True)
    ids = ids.ravel()
    return ids[: len(roads)], ids[len(roads) :]


def graph_from_roads(roads: gpd.GeoDataFrame) -> nx.MultiDiGraph:
    """Build a routable directed road graph from a roads layer.

    Node ids come from the layer's ``u`` / ``v`` columns when it has them (OSM node ids from
    :func:`layers.from_osm`); otherwise line endpoints that coincide (to about 1 cm) become
    one node. Two-way roads get an edge in each direction; ``oneway`` roads only along
    their geometry. Lengths are measured in the data's CGCS2000 Gauss-Kruger zone; speeds
    are ``maxspeed`` where tagged, else the CJJ 37-2012 design speed of the road class
    (:data:`CLASS_SPEED_KPH`).

    Parameters
    ----------
    roads : GeoDataFrame
        A roads layer (see ``layers.KINDS``); MultiLineStrings are split into parts.

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
        u, v = _endpoint_ids(roads)
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
    return graph


def graph_from_osm(path) -> nx.MultiDiGraph:
    """Routable graph of the drivable roads of an OSM XML file (see :func:`layers.from_osm`).

    Examples
    --------
    >>> G = graph_from_osm("tests/data/tiny.osm")
    >>> G.number_of_nodes(), G.number_of_edges()
    (3, 3)
    """
    return graph_from_roads(layers.from_osm(path)["roads"])
