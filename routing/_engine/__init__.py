"""The CSR routing engine behind :class:`routing.Router` (private: use the Router's methods).

- :mod:`~routing._engine.compiled`: the road graph compiled to arrays, and its weight matrices;
- :mod:`~routing._engine.snapping`: points onto their nearest edge;
- :mod:`~routing._engine.search`: one Dijkstra from all sources, and route assembly;
- :mod:`~routing._engine.nearest`: the k nearest sources of every target in one search;
- :mod:`~routing._engine.reach`: the edge pieces each source reaches within a budget;
- :mod:`~routing._engine.lines`: line geometry along edge pieces.
"""

from routing._engine.compiled import OBJECTIVES, CompiledGraph
from routing._engine.lines import lines_along
from routing._engine.nearest import nearest, node_nearest
from routing._engine.reach import reached_pieces
from routing._engine.search import RouteBatch, assemble, search
from routing._engine.snapping import nearest_nodes, snap

__all__ = [
    "OBJECTIVES",
    "CompiledGraph",
    "RouteBatch",
    "assemble",
    "lines_along",
    "nearest",
    "nearest_nodes",
    "node_nearest",
    "reached_pieces",
    "search",
    "snap",
]
