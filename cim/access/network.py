"""The city's walking network: its two-way walking graph and router, built once per city."""

from __future__ import annotations

import weakref

import geopandas as gpd
import numpy as np
import shapely

import layers
import routing
from cim.model import CityModel
from layers.reference import city_extent
from layers.standards import WALK_SPEED_MPS

__all__ = ["walking_origin", "walking_router"]

# per city: the roads layer the walking graph was built from, and its router per speed
_ROUTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def walking_router(city: CityModel, *, speed_mps: float = WALK_SPEED_MPS) -> routing.Router:
    """A pedestrian :class:`routing.Router` on the walking graph of the city's roads.

    The graph (:func:`routing.walking_graph`) is built on first use and kept for the city
    until its roads layer is replaced; other speeds reuse it. Its warnings (ways left out,
    places cut off) are raised once, when it is built.

    Examples
    --------
    >>> import cim
    >>> router = walking_router(cim.sample_city())
    >>> router.profile.name, router.graph.graph["walk_speed_mps"]
    ('pedestrian', 1.2)
    """
    walker = routing.pedestrian(speed_mps)
    roads = city.layer("roads")
    built_from, routers = _ROUTERS.get(city, (None, {}))
    if built_from is not roads:
        routers = {None: routing.Router(routing.walking_graph(roads), profile=walker)}
        _ROUTERS[city] = (roads, routers)
    if speed_mps not in routers:
        routers[speed_mps] = routers[None].with_profile(walker)
    return routers[speed_mps]


def walking_origin(
    city: CityModel,
    point,
    *,
    speed_mps: float = WALK_SPEED_MPS,
    max_snap_m: float = routing.SNAP_LIMIT_M,
) -> shapely.Point:
    """``point`` (a shapely Point, a (lon, lat) pair or ``"LON,LAT"``) checked as a place to
    walk from: two numbers, a valid lon/lat, inside the city's extent and within
    ``max_snap_m`` of a walkable way; else :class:`layers.InputError` saying which.

    Examples
    --------
    >>> import cim
    >>> walking_origin(cim.sample_city(), "104.07,30.67").wkt
    'POINT (104.07 30.67)'
    >>> walking_origin(cim.sample_city(), "117.0,36.6")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    layers.errors.InputError: the walking origin (CLI: --from) 117.0,36.6 lies outside ...
    """
    if isinstance(point, shapely.Point):
        values = [point.x, point.y]
    else:
        parts = point.split(",") if isinstance(point, str) else list(point)
        try:
            values = [float(v) for v in parts]
        except (TypeError, ValueError):
            values = []
    shown = point if isinstance(point, str) else ",".join(f"{v:g}" for v in values)
    if len(values) != 2 or not all(np.isfinite(values)):
        raise layers.InputError(
            f"the walking origin (CLI: --from) must be two numbers LON,LAT "
            f"(e.g. 104.07,30.66), not {shown!r}"
        )
    lon, lat = values
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise layers.InputError(
            f"the walking origin (CLI: --from) {shown} is not a lon/lat: lon must be within "
            "±180 and lat within ±90 (LON first, e.g. 104.07,30.66)"
        )
    extent = city_extent(city.references())
    if extent is not None and not extent.contains([lon], [lat])[0]:
        raise layers.InputError(
            f"the walking origin (CLI: --from) {shown} lies outside {city.name} ({extent}); "
            "give a point inside the city"
        )
    origin = shapely.Point(lon, lat)
    router = walking_router(city, speed_mps=speed_mps)
    snapped = router.snap(gpd.GeoSeries([origin], crs=4326), max_snap_m=max_snap_m)
    if snapped.cut_off[0] is not None:
        raise layers.InputError(
            f"the walking origin (CLI: --from) {shown} is {snapped.distance_m[0]:,.0f} m from "
            f"the nearest walkable way, beyond the snap limit of {max_snap_m:g} m; give a "
            "point on or near a street"
        )
    return origin
