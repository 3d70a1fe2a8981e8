"""Road graphs: OSMnx-compatible ``MultiDiGraph`` from road layers or OSM files.

Nodes carry ``x``, ``y`` (lon, lat); edges carry ``length`` (m), ``speed_kph``,
``travel_time`` (s), ``highway``, ``road_class``, ``oneway``, ``name`` and ``geometry``
(a LineString from ``u`` to ``v``), so the graph works with osmnx's own functions.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection
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
from layers.standards import CLASS_SPEED_KPH
from routing.drivable import NOT_DRIVABLE, excluded_counts, excluded_roads

__all__ = [
    "CLASS_SPEED_KPH",
    "ExcludedRoadsWarning",
    "UnreachableNodesWarning",
    "graph_from_osm",
    "graph_from_roads",
    "graph_from_sumo",
    "graph_from_tables",
    "parse_maxspeed",
]

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


def _end_rows(line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of each line's first and last point in ``shapely.get_coordinates(..., return_index=True)``."""
    last = np.flatnonzero(np.r_[line[1:] != line[:-1], True])
    return np.r_[0, last[:-1] + 1], last


def _ends(lines: np.ndarray) -> np.ndarray:
    """Lon/lat of each line's first point, then of each line's last point (2n x 2)."""
    coords, line = shapely.get_coordinates(lines, return_index=True)
    return coords[np.concatenate(_end_rows(line))]


def _clusters(xy: np.ndarray, snap_m: float) -> np.ndarray:
    """Cluster id of each point: points chained by gaps under ``snap_m`` metres share one."""
    pairs = cKDTree(xy).query_pairs(r=max(snap_m, 1e-6), output_type="ndarray")
    size = len(xy)
    adjacency = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(size, size))
    return connected_components(adjacency, directed=False)[1]


def _runs_backwards(
    u: np.ndarray, v: np.ndarray, xy: np.ndarray, cluster: np.ndarray, labels
) -> np.ndarray:
    """Which lines are drawn from their ``v`` node to their ``u`` node.

    ``xy`` (metric) and ``cluster`` hold each line's start, then each line's end. A node id
    sits at the cluster that most of its lines reach; a node at one line only (a dead end) sits
    at the end its neighbour leaves free, or where the line starts (``u``) or ends (``v``) when
    neither node is placed. Lines whose ends are not at their ``u`` and ``v`` nodes are refused;
    a line whose both ends fall in one cluster is turned the way its ends are nearer its nodes.
    """
    n = len(u)
    start, end = cluster[:n], cluster[n:]
    reached = (
        pd.DataFrame(
            {
                "node": np.concatenate([u, u, v, v]),
                "cluster": np.concatenate([start, end, start, end]),
                "row": np.tile(np.arange(n), 4),
            }
        )
        .drop_duplicates()
        .groupby(["node", "cluster"])
        .size()
        .rename("lines")
        .reset_index()
        .sort_values(["node", "lines"], ascending=[True, False], kind="stable")
    )
    rank = reached.groupby("node").cumcount()
    best, second = reached[rank == 0].set_index("node"), reached[rank == 1].set_index("node")
    clear = best["lines"] > second["lines"].reindex(best.index, fill_value=0)
    at = best.loc[clear, "cluster"].to_dict()
    placed = pd.Series(u).map(at).notna() & pd.Series(v).map(at).notna()
    for i in np.flatnonzero(~placed.to_numpy()):
        if u[i] in at and v[i] not in at:
            at[v[i]] = start[i] if at[u[i]] == end[i] else end[i]
        elif v[i] in at and u[i] not in at:
            at[u[i]] = end[i] if at[v[i]] == start[i] else start[i]
        elif u[i] not in at and v[i] not in at:
            at[u[i]], at[v[i]] = start[i], end[i]
    at_u, at_v = pd.Series(u).map(at).to_numpy(), pd.Series(v).map(at).to_numpy()
    forward = (at_u == start) & (at_v == end)
    backward = (at_u == end) & (at_v == start) & ~forward
    bad = np.flatnonzero(~(forward | backward))
    if len(bad):
        shown = ", ".join(f"{labels[i]} (u={u[i]}, v={v[i]})" for i in bad[:5])
        raise layers.SchemaError(
            "roads",
            f"{len(bad)} lines do not end at their u/v nodes, which the other lines place "
            f"elsewhere (rows {shown}{', …' if len(bad) > 5 else ''}); fix u/v or the geometry "
            "of those rows, or drop the u and v columns to join lines by their ends",
            column="u",
            rows=[labels[i] for i in bad],
        )
    short = (start == end) & (u != v)
    if short.any():
        backward[short] = _nearer_reversed(u, v, xy, backward, short)
    return backward


def _nearer_reversed(
    u: np.ndarray, v: np.ndarray, xy: np.ndarray, backward: np.ndarray, short: np.ndarray
) -> np.ndarray:
    """For the ``short`` lines, whether their ends lie nearer their nodes when reversed.

    The nodes are placed by the other lines, whose direction is known (``backward``).
    """
    n = len(u)
    start = np.where(backward[:, None], xy[n:], xy[:n])
    end = np.where(backward[:, None], xy[:n], xy[n:])
    sure = ~short
    placed = (
        pd.DataFrame(
            np.vstack([start[sure], end[sure]]),
            index=np.concatenate([u[sure], v[sure]]),
            columns=["x", "y"],
        )
        .groupby(level=0)
        .first()
    )
    at_u, at_v = placed.reindex(u[short]).to_numpy(), placed.reindex(v[short]).to_numpy()
    first, last = xy[:n][short], xy[n:][short]

    def gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.nan_to_num(np.hypot(*(a - b).T))

    return gap(last, at_u) + gap(first, at_v) < gap(first, at_u) + gap(last, at_v)


def _join(lines: np.ndarray, ids: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, dict]:
    """Lines with their ends moved onto their nodes, and each node's lon/lat.

    ``ids`` and ``ends`` hold the node id and point of each line's start, then of each end;
    a node stands where its first end is.
    """
    n = len(lines)
    first = pd.Series(np.arange(2 * n)).groupby(ids).first()
    position = dict(zip(first.index, map(tuple, ends[first.to_numpy()]), strict=True))
    node_xy = ends[first.reindex(ids).to_numpy()]
    coords, line = shapely.get_coordinates(lines, return_index=True)
    first_row, last_row = _end_rows(line)
    coords[first_row], coords[last_row] = node_xy[:n], node_xy[n:]
    return shapely.linestrings(coords, indices=line), position


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


class ExcludedRoadsWarning(layers.CimWarning):
    """Road lines no motor vehicle may drive were left out of the graph (counted per reason)."""


def left_out(reason: pd.Series, *, graph: str, one: str, many: str, hint: str = "") -> dict:
    """Refuse a roads layer whose every line ``reason`` leaves out; else warn of those left out.

    ``reason`` is None for a line kept; ``one`` / ``many`` name what a kept line is ("a way
    for pedestrians" / "ways for pedestrians"). Returns :func:`excluded_counts`.
    """
    excluded = excluded_counts(reason)
    listed = ", ".join(f"{k} {v}" for k, v in excluded.items())
    if reason.notna().all():
        raise layers.EmptyLayerError("roads", f"no line is {one} ({listed}){hint}")
    if excluded:
        warnings.warn(
            f"left {int(reason.notna().sum())} of {len(reason)} road lines out of the {graph} "
            f"as no {many} ({listed}){hint}",
            ExcludedRoadsWarning,
            stacklevel=3,
        )
    return excluded


def graph_from_roads(
    roads: gpd.GeoDataFrame,
    *,
    snap_m: float = 1.0,
    drop_unreachable: bool = False,
    exclude: Collection[str] = NOT_DRIVABLE,
) -> nx.MultiDiGraph:
    """Build a routable directed road graph from a roads layer.

    Only roads a motor vehicle may drive become edges: footways, steps, cycleways, platforms,
    subway lines, piers, ways under construction, areas and ways closed by ``access`` tags are
    left out (see :mod:`routing.drivable`); ``G.graph["excluded"]`` counts them per reason and
    an :class:`ExcludedRoadsWarning` says so. Line ends closer than ``snap_m`` metres are one
    node and the lines are moved onto it (topology repair); given ``u`` / ``v`` columns (OSM
    node ids from :func:`layers.from_osm`, OSMnx exports) name the nodes instead, checked
    against the line ends: a line drawn from ``v`` to ``u`` is reversed, one whose ends are not
    at its nodes is refused. Lengths are measured after the join, in the data's CGCS2000
    Gauss-Kruger zone, so an edge's ``length`` is the length of its ``geometry``. Two-way roads
    get an edge in each direction; ``oneway`` roads only from ``u`` to ``v`` (along their
    geometry). Speeds are ``maxspeed`` where tagged, else the CJJ 37-2012 design speed of the
    road class (:data:`CLASS_SPEED_KPH`).

    Parameters
    ----------
    roads : GeoDataFrame
        A roads layer (see ``layers.KINDS``); MultiLineStrings are split into parts.
    snap_m : float
        Tolerance in metres for joining line ends into nodes, and for matching line ends to
        their ``u`` / ``v`` nodes.
    drop_unreachable : bool
        Drop the nodes outside the largest strongly connected component. Either way an
        :class:`UnreachableNodesWarning` says how many there are.
    exclude : collection of str
        ``highway`` values that are no roads for motor vehicles, default
        :data:`routing.drivable.NOT_DRIVABLE`; pass ``()`` to keep every class (the access,
        area and service tag rules still apply; drop those columns to ignore them).

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
    crs = metric_crs(roads)
    reason = excluded_roads(roads, exclude=exclude)
    excluded = left_out(
        reason,
        graph="graph",
        one="a road for motor vehicles",
        many="roads for motor vehicles",
        hint="; pass exclude= to keep some classes",
    )
    roads = roads[reason.isna().to_numpy()]
    roads = roads[roads.geometry.to_crs(crs).length.to_numpy() > 0]
    labels, roads = roads.index.to_numpy(), roads.reset_index(drop=True)
    lines = np.array(roads.geometry.values, dtype=object)
    xy = shapely.get_coordinates(
        gpd.GeoSeries(shapely.points(_ends(lines)), crs=4326).to_crs(crs).values
    )
    cluster = _clusters(xy, snap_m)
    if {"u", "v"} <= set(roads.columns) and roads[["u", "v"]].notna().all().all():
        u, v = roads["u"].to_numpy(), roads["v"].to_numpy()
        backward = _runs_backwards(u, v, xy, cluster, labels)
        lines[backward] = shapely.reverse(lines[backward])
        ids = np.concatenate([u, v])
    else:
        ids = cluster
    lines, position = _join(lines, ids, _ends(lines))
    n = len(lines)
    u, v = ids[:n], ids[n:]
    roads = roads.set_geometry(gpd.GeoSeries(lines, crs=roads.crs))
    length = roads.geometry.to_crs(crs).length.to_numpy()
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

    graph = nx.MultiDiGraph(crs="epsg:4326", excluded=excluded)
    graph.add_edges_from(edges)
    nx.set_node_attributes(graph, {n: {"x": x, "y": y} for n, (x, y) in position.items()})
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
