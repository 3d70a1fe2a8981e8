"""Road graphs, vehicle profiles and emergency dispatch.

>>> import routing
>>> sorted(routing.PROFILES)
['ambulance', 'car', 'fire_engine', 'police']
"""

from routing.compiled import CompiledGraph
from routing.graph import CLASS_SPEED_KPH, graph_from_osm, graph_from_roads, parse_maxspeed
from routing.profiles import PROFILES, Profile, get_profile
from routing.router import DISPATCH_COLUMNS, Router

__all__ = [
    "CLASS_SPEED_KPH",
    "DISPATCH_COLUMNS",
    "PROFILES",
    "CompiledGraph",
    "Profile",
    "Router",
    "get_profile",
    "graph_from_osm",
    "graph_from_roads",
    "parse_maxspeed",
]
