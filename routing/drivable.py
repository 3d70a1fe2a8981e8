"""Which road rows a motor vehicle may drive: the road graph leaves out the others, by tag.

The rules follow OSMnx's ``network_type="drive_service"`` filter
(``osmnx._overpass._get_network_filter``, osmnx 2.1): every way is kept except those whose
``highway`` is one of :data:`NOT_DRIVABLE`, areas (``area=yes``), ways closed to motor traffic
by their access tags, and parking aisles / private service ways. Service roads are kept
(OSMnx's ``"drive"`` drops them): compound roads and fire lanes (消防车道, GB 50016-2014 §7.1)
are tagged ``highway=service`` and are how fire engines and ambulances reach buildings. Unlike
OSMnx, ``track`` is kept too (motor vehicles may use it; urban China has few), and an
``emergency=yes`` tag overrides ``access=no``, since every profile but ``car`` is an emergency
vehicle. Lines with no ``highway`` value but a ``railway`` or ``man_made`` tag (subway lines,
piers in an "all lines" export) are not roads. The same graph serves every vehicle profile.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from layers.osm import CLOSED_ACCESS, CLOSED_SERVICE

__all__ = ["NOT_DRIVABLE", "excluded_counts", "excluded_roads"]

# OSMnx drive_service's excluded highway values, plus the non-road lines that exports of "all
# lines" (e.g. Geofabrik's fclass) put under the same column.
NOT_DRIVABLE = frozenset(
    {
        "abandoned",
        "bridleway",
        "bus_guideway",
        "bus_stop",
        "construction",
        "corridor",
        "cycleway",
        "disused",
        "elevator",
        "escalator",
        "ferry",
        "footway",
        "light_rail",
        "no",
        "path",
        "pedestrian",
        "pier",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "rail",
        "railway",
        "razed",
        "rest_area",
        "services",
        "steps",
        "subway",
        "tram",
        "via_ferrata",
    }
)
# most specific first: the first one tagged decides (OSM access hierarchy)
_ACCESS_TAGS = ("motorcar", "motor_vehicle", "vehicle", "access")
_OPEN_TO_EMERGENCY = frozenset({"yes", "designated"})
_NOT_ROAD_TAGS = ("railway", "man_made")


def _text(roads: pd.DataFrame, column: str) -> pd.Series:
    if column not in roads.columns:
        return pd.Series("", index=roads.index)
    values = roads[column].astype("object")
    return values.where(values.notna(), "").astype(str).str.strip().str.lower()


def excluded_roads(roads: pd.DataFrame, *, exclude: Collection[str] = NOT_DRIVABLE) -> pd.Series:
    """Why each road row is no road for motor vehicles (``"highway=footway"``), else None.

    Parameters
    ----------
    roads : DataFrame
        Road rows with a ``highway`` column and any of ``area``, ``access``, ``vehicle``,
        ``motor_vehicle``, ``motorcar``, ``emergency``, ``service``, ``railway``, ``man_made``.
    exclude : collection of str
        ``highway`` values to leave out (a ``a;b`` value only when all its parts are);
        pass ``()`` to keep every class. The tag rules apply either way.

    Examples
    --------
    >>> roads = pd.DataFrame({"highway": ["primary", "footway", "service", "service"],
    ...                       "access": [None, None, "private", None],
    ...                       "service": [None, None, None, "driveway"]})
    >>> excluded_roads(roads).tolist()
    [None, 'highway=footway', 'access=private', None]
    >>> excluded_roads(roads, exclude=()).tolist()
    [None, None, 'access=private', None]
    """
    highway = _text(roads, "highway")
    exclude = {str(e).lower() for e in exclude}
    not_roads = [
        h for h in highway.unique() if h and all(p.strip() in exclude for p in h.split(";"))
    ]
    reason = pd.Series(None, index=roads.index, dtype=object)

    def mark(rows: pd.Series, label: pd.Series) -> None:
        rows = rows & reason.isna()
        reason[rows] = label[rows]

    mark(highway.isin(not_roads), "highway=" + highway)
    for tag in _NOT_ROAD_TAGS:
        value = _text(roads, tag)
        mark(highway.eq("") & value.ne("") & value.ne("no"), f"{tag}=" + value)
    area = _text(roads, "area")
    mark(area.eq("yes"), "area=" + area)
    decided = _text(roads, "emergency").isin(_OPEN_TO_EMERGENCY)
    for tag in _ACCESS_TAGS:
        value = _text(roads, tag)
        tagged = value.ne("") & ~decided
        mark(tagged & value.isin(CLOSED_ACCESS), f"{tag}=" + value)
        decided |= tagged
    service = _text(roads, "service")
    mark(service.isin(CLOSED_SERVICE), "service=" + service)
    return reason.astype(object).where(reason.notna(), None)


def excluded_counts(reason: pd.Series) -> dict[str, int]:
    """Rows left out per reason, most first (see :func:`excluded_roads`).

    >>> excluded_counts(pd.Series([None, "highway=steps", "highway=footway", "highway=steps"]))
    {'highway=steps': 2, 'highway=footway': 1}
    """
    counts = reason.dropna().value_counts()
    return {str(k): int(v) for k, v in counts.items()}
