"""The walking network: which ways a pedestrian may use, and the pedestrian profile.

A walking graph is two-way everywhere (``oneway`` binds cars, not people on foot) and holds
footways, paths, steps, pedestrian and living streets, crossings and every ordinary street;
it leaves out motorways, trunk roads without a sidewalk, ways closed to people on foot
(``foot=no``, ``access=no/private`` unless ``foot`` allows), areas and the classes OSMnx's
``network_type="walk"`` drops (cycleways, platforms, ways under construction …). Edges take
the walking speed (:data:`layers.standards.WALK_SPEED_MPS`, 1.2 m/s) for their
``travel_time``; :func:`pedestrian` is the matching :class:`routing.Profile`.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pandas as pd

import layers
from layers.osm import WALK_TAGS, walkways_from_osm
from layers.standards import WALK_SPEED_MPS, WATERLOGGED_CM
from routing.drivable import _text
from routing.graph import graph_from_roads, left_out
from routing.profiles import Profile

__all__ = [
    "NEEDS_SIDEWALK",
    "NOT_WALKABLE",
    "not_walkable",
    "pedestrian",
    "walking_graph",
    "walking_graph_from_osm",
]

# OSMnx 2.1's walk filter (osmnx._overpass._get_network_filter) drops these highway values,
# motorways among them; the non-road lines of "all lines" exports are no ways either.
NOT_WALKABLE = frozenset(
    {
        "abandoned",
        "bus_guideway",
        "construction",
        "cycleway",
        "disused",
        "light_rail",
        "motorway",
        "motorway_link",
        "no",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "rail",
        "railway",
        "razed",
        "subway",
        "tram",
    }
)
# Trunk roads (城市快速路 in Chinese OSM) are walkable only where a sidewalk is tagged on them
NEEDS_SIDEWALK = frozenset({"trunk", "trunk_link"})
_SIDEWALK = frozenset({"both", "left", "right", "yes"})
_FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
_CLOSED = frozenset({"no", "private"})


def not_walkable(roads: pd.DataFrame) -> pd.Series:
    """Why each road row is no way for a pedestrian (``"highway=motorway"``), else None.

    Parameters
    ----------
    roads : DataFrame
        Road rows with a ``highway`` column and any of ``foot``, ``sidewalk``, ``access``,
        ``area`` (:data:`layers.osm.WALK_TAGS`).

    Examples
    --------
    >>> roads = pd.DataFrame({"highway": ["footway", "trunk", "trunk", "motorway", "service"],
    ...                       "sidewalk": [None, "both", None, None, None],
    ...                       "access": [None, None, None, None, "private"]})
    >>> not_walkable(roads).tolist()
    [None, None, 'highway=trunk without sidewalk', 'highway=motorway', 'access=private']
    """
    highway = _text(roads, "highway")
    foot, sidewalk = _text(roads, "foot"), _text(roads, "sidewalk")
    allowed = foot.isin(_FOOT_ALLOWED)
    reason = pd.Series(None, index=roads.index, dtype=object)

    def mark(rows: pd.Series, label) -> None:
        rows = rows & reason.isna()
        reason[rows] = label[rows] if isinstance(label, pd.Series) else label

    parts = highway.str.split(";")
    mark(parts.map(lambda p: all(h.strip() in NOT_WALKABLE for h in p)), "highway=" + highway)
    mark(
        highway.isin(NEEDS_SIDEWALK) & ~sidewalk.isin(_SIDEWALK) & ~allowed,
        "highway=" + highway + " without sidewalk",
    )
    mark(foot.eq("no"), "foot=no")
    area, access = _text(roads, "area"), _text(roads, "access")
    mark(area.eq("yes"), "area=yes")
    mark(access.isin(_CLOSED) & ~allowed, "access=" + access)
    return reason.astype(object).where(reason.notna(), None)


def pedestrian(speed_mps: float = WALK_SPEED_MPS) -> Profile:
    """The profile of a person on foot at ``speed_mps`` on every way, and over the gap from a
    door to its way.

    Examples
    --------
    >>> walker = pedestrian(1.0)
    >>> walker.name, walker.max_speed_kph, walker.speeds([50.0, 20.0], ["arterial", "other"]).tolist()
    ('pedestrian', 3.6, [3.6, 3.6])
    """
    if not speed_mps > 0:
        raise layers.InputError(f"speed_mps must be a walking speed in m/s > 0, not {speed_mps!r}")
    kph = float(speed_mps) * 3.6
    return Profile(
        "pedestrian",
        "步行",
        max_speed_kph=kph,
        max_water_depth_cm=WATERLOGGED_CM,
        access_speed_kph=kph,
    )


def walking_graph(
    roads: gpd.GeoDataFrame,
    *,
    speed_mps: float = WALK_SPEED_MPS,
    snap_m: float = 1.0,
    drop_unreachable: bool = False,
) -> nx.MultiDiGraph:
    """The two-way walking graph of a roads layer.

    Rows no pedestrian may use (:func:`not_walkable`) are left out, counted per reason in
    ``G.graph["excluded"]`` and in an :class:`routing.ExcludedRoadsWarning`; every other
    row is an edge in both directions, whatever its ``oneway``. Edges carry ``length`` and
    ``travel_time`` at ``speed_mps`` (``speed_kph`` is the walking speed);
    ``G.graph["walk_speed_mps"]`` keeps it. Line ends closer than ``snap_m`` join, as in
    :func:`routing.graph_from_roads`.

    Examples
    --------
    >>> import shapely, warnings
    >>> roads = gpd.GeoDataFrame(
    ...     {"highway": ["residential", "motorway"], "oneway": [True, True], "name": ["a", "b"],
    ...      "maxspeed": [None, None]},
    ...     geometry=[shapely.LineString([(104.06, 30.64), (104.06, 30.641)]),
    ...               shapely.LineString([(104.07, 30.64), (104.07, 30.65)])], crs=4326)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     G = walking_graph(roads)
    >>> G.number_of_edges(), G.graph["excluded"], round(G.edges[0, 1, 0]["travel_time"])
    (2, {'highway=motorway': 1}, 92)
    """
    walker = pedestrian(speed_mps)
    roads = layers.validate(roads, "roads")
    reason = not_walkable(roads)
    excluded = left_out(
        reason, graph="walking graph", one="a way for pedestrians", many="ways for pedestrians"
    )
    kept = roads[reason.isna().to_numpy()]
    # the pedestrian's rules are applied: the vehicle rules of graph_from_roads must not be
    tags = ["vehicle", "motor_vehicle", "motorcar", "emergency", "railway", "man_made", *WALK_TAGS]
    kept = kept.drop(columns=[c for c in tags if c in kept.columns]).assign(
        oneway=False, maxspeed=None
    )
    graph = graph_from_roads(kept, snap_m=snap_m, drop_unreachable=drop_unreachable, exclude=())
    metres_per_s = walker.max_speed_kph / 3.6
    for _, _, data in graph.edges(data=True):
        data["speed_kph"] = walker.max_speed_kph
        data["travel_time"] = data["length"] / metres_per_s
    graph.graph.update(excluded=excluded, walk_speed_mps=float(speed_mps))
    return graph


def walking_graph_from_osm(
    path, *, speed_mps: float = WALK_SPEED_MPS, drop_unreachable: bool = False
) -> nx.MultiDiGraph:
    """The walking graph of an OSM XML file (every highway way: :func:`layers.osm.walkways_from_osm`).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     G = walking_graph_from_osm("tests/data/tiny.osm")
    >>> G.number_of_edges(), G.graph["excluded"]
    (8, {'access=private': 1})
    """
    return walking_graph(
        walkways_from_osm(path), speed_mps=speed_mps, drop_unreachable=drop_unreachable
    )
