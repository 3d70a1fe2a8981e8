"""Road graphs, vehicle profiles and emergency dispatch.

>>> import routing
>>> sorted(routing.PROFILES)
['ambulance', 'car', 'fire_engine', 'police']
"""

from routing.allocation import Allocation
from routing.closures import read_barriers
from routing.compiled import CompiledGraph
from routing.drivable import NOT_DRIVABLE
from routing.graph import (
    CLASS_SPEED_KPH,
    ExcludedRoadsWarning,
    UnreachableNodesWarning,
    graph_from_osm,
    graph_from_roads,
    graph_from_sumo,
    graph_from_tables,
    parse_maxspeed,
)
from routing.profiles import PROFILES, Profile, get_profile
from routing.router import DISPATCH_COLUMNS, SNAP_LIMIT_M, Router, compare_dispatch, first_units

__all__ = [
    "CLASS_SPEED_KPH",
    "DISPATCH_COLUMNS",
    "NOT_DRIVABLE",
    "PROFILES",
    "SNAP_LIMIT_M",
    "Allocation",
    "CompiledGraph",
    "ExcludedRoadsWarning",
    "Profile",
    "Router",
    "UnreachableNodesWarning",
    "compare_dispatch",
    "first_units",
    "get_profile",
    "graph_from_osm",
    "graph_from_roads",
    "graph_from_sumo",
    "graph_from_tables",
    "parse_maxspeed",
    "read_barriers",
]
