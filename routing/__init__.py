"""Road graphs, vehicle profiles, the routing batch API and emergency dispatch.

Analyses build on :class:`Router`'s public batch methods: :meth:`Router.snap` (a
:class:`Snapped`), :meth:`Router.cost_matrix` (a :class:`CostMatrix`) and
:meth:`Router.reach`. The CSR engine behind them (``routing._engine``) is private.

>>> import routing
>>> sorted(routing.PROFILES)
['ambulance', 'car', 'fire_engine', 'police']
"""

from routing.allocation import Allocation
from routing.batch import SNAP_CLOSED, SNAP_FAR, SNAP_NO_ROAD, CostMatrix, Snapped
from routing.closures import read_barriers
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
from routing.walking import not_walkable, pedestrian, walking_graph, walking_graph_from_osm

__all__ = [
    "CLASS_SPEED_KPH",
    "DISPATCH_COLUMNS",
    "NOT_DRIVABLE",
    "PROFILES",
    "SNAP_CLOSED",
    "SNAP_FAR",
    "SNAP_LIMIT_M",
    "SNAP_NO_ROAD",
    "Allocation",
    "CostMatrix",
    "ExcludedRoadsWarning",
    "Profile",
    "Router",
    "Snapped",
    "UnreachableNodesWarning",
    "compare_dispatch",
    "first_units",
    "get_profile",
    "graph_from_osm",
    "graph_from_roads",
    "graph_from_sumo",
    "graph_from_tables",
    "not_walkable",
    "parse_maxspeed",
    "pedestrian",
    "read_barriers",
    "walking_graph",
    "walking_graph_from_osm",
]
