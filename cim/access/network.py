"""The city's walking network: its two-way walking graph and router, built once per city."""

from __future__ import annotations

import weakref

import routing
from cim.model import CityModel
from layers.standards import WALK_SPEED_MPS

__all__ = ["walking_router"]

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
