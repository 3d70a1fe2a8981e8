"""What sources reach within a budget over the compiled roads, as pieces of edges."""

from __future__ import annotations

import numpy as np

from routing._engine.compiled import CompiledGraph
from routing._engine.search import _Search, search
from routing.batch import Snapped

__all__ = ["bounded_search", "pieces_within", "reached_pieces"]


def reached_pieces(
    engine: CompiledGraph, sources: Snapped, cutoff: np.ndarray, objective: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The road each source reaches within its own ``cutoff``, as edge pieces.

    An edge reached part-way counts up to where the cutoff falls, and so does the source's
    own edge, after the time (or metres) spent on the source's gap to its road. One search
    from all sources, stopped at the largest cutoff. Returns ``(source, edge, start, end)``
    arrays (fractions along each edge).
    """
    found = bounded_search(engine, sources, objective, float(np.max(cutoff, initial=0)))
    return pieces_within(engine, found, cutoff)


_NO_TARGETS = Snapped(
    np.empty(0, dtype=np.int64), np.empty(0), np.empty(0), np.empty(0, dtype=object)
)


def bounded_search(
    engine: CompiledGraph, sources: Snapped, objective: str, limit: float
) -> _Search:
    """A search from ``sources`` (to no target) that stops at cost ``limit``."""
    return search(engine, sources, _NO_TARGETS, objective, limit=limit)


def pieces_within(engine: CompiledGraph, found: _Search, cutoff: np.ndarray):
    """:func:`reached_pieces` of a search already made (bounded by at least ``cutoff``)."""
    n, cost = found.nodes, engine.cost(found.objective)
    at_node = found.distances[:, engine.edge_u]  # sources x edges
    source, edge = np.nonzero((at_node < cutoff[:, None]) & engine.is_open[None, :])
    share = np.minimum(
        1.0, (cutoff[source] - at_node[source, edge]) / np.maximum(cost[edge], 1e-12)
    )
    budget = cutoff - found.source_gap
    links = found.links[found.links["row"].to_numpy() >= n]  # each source's way onto its road
    first = links["row"].to_numpy() - n
    links, first = links[budget[first] > 0], first[budget[first] > 0]
    e, a = links["edge"].to_numpy(), links["start"].to_numpy()
    b = np.minimum(links["end"].to_numpy(), a + budget[first] / np.maximum(cost[e], 1e-12))
    return (
        np.concatenate([source, first]).astype(np.int64),
        np.concatenate([edge, e]).astype(np.int64),
        np.concatenate([np.zeros(len(edge)), a]),
        np.concatenate([share, b]),
    )
