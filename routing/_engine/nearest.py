"""The ``k`` nearest sources of every target, in one search from all sources at once.

A multi-source Dijkstra that keeps up to ``k`` labels per node, each from a different source:
labels leave the heap by (cost, source
tie rank), and a node takes a label only while it has fewer than ``k`` and none from that
source. A source among a node's ``k`` nearest is among the ``k`` nearest of every node on its
shortest path there, so the labels are exact; with ``k = 1`` this is one plain multi-source
Dijkstra. Each label keeps the edge it came by, so routes are walked back only for the pairs
chosen, and only when their lines are wanted; their seconds and metres along the road are
summed during the search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from routing._engine.compiled import CompiledGraph
from routing._engine.lines import lines_along
from routing._engine.search import RouteBatch, direct, joins
from routing.batch import Snapped

__all__ = ["nearest", "node_nearest"]


@dataclass
class _Labels:
    source: np.ndarray  # nodes x k: the source of each label, -1 where there is none
    cost: np.ndarray  # nodes x k: its cost, the source's gap included
    seconds: np.ndarray  # nodes x k: seconds along the road
    metres: np.ndarray  # nodes x k: metres along the road
    came_by: np.ndarray  # nodes x k: the edge it came by, or -1 - the seed it starts from


def _open_csr(engine: CompiledGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The open edges as CSR arrays: row offsets per node, head node and edge of each arc."""
    if engine._open_csr is None:
        edge = np.flatnonzero(engine.is_open)
        edge = edge[np.argsort(engine.edge_u[edge], kind="stable")]
        indptr = np.zeros(len(engine.nodes) + 1, dtype=np.int64)
        np.cumsum(np.bincount(engine.edge_u[edge], minlength=len(engine.nodes)), out=indptr[1:])
        engine._open_csr = (indptr, engine.edge_v[edge], edge)
    return engine._open_csr


def _labels(engine: CompiledGraph, seeds: pd.DataFrame, tie_rank, k: int, objective: str):
    indptr, head, edge_of = _open_csr(engine)
    edge, share = seeds["edge"].to_numpy(), (seeds["end"] - seeds["start"]).to_numpy()
    from routing._engine.kernels import k_labels

    found = k_labels(
        indptr,
        head,
        edge_of,
        engine.cost(objective),
        engine.travel_time,
        engine.length,
        seeds[["point", "node"]].to_numpy(dtype=np.int64),
        np.column_stack(
            [seeds["cost"], share * engine.travel_time[edge], share * engine.length[edge]]
        ),
        np.asarray(tie_rank, dtype=np.int64),
        k,
        len(engine.nodes),
    )
    return _Labels(*found)


def _seeded(engine: CompiledGraph, sources: Snapped, tie_rank, k: int, objective: str):
    """The labels of every node from the sources (their gaps counted), and the seeds."""
    source_gap = engine.gap_cost(sources, objective)
    seeds = joins(engine, sources, engine.cost(objective), leaving=True)
    seeds = seeds.assign(cost=seeds["cost"] + source_gap[seeds["point"].to_numpy()])
    seeds = seeds.reset_index(drop=True)
    return _labels(engine, seeds, tie_rank, k, objective), seeds


def node_nearest(
    engine: CompiledGraph, sources: Snapped, *, k: int, objective: str, tie_rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` cheapest sources of every node: sources (nodes x k, -1 where fewer reach it)
    and their costs (inf there), cheapest first, ties to the lower ``tie_rank``."""
    labels, _ = _seeded(engine, sources, tie_rank, k, objective)
    return labels.source, labels.cost


def nearest(
    engine: CompiledGraph,
    sources: Snapped,
    targets: Snapped,
    *,
    k: int,
    objective: str,
    tie_rank: np.ndarray,
    lines: bool = True,
) -> tuple[RouteBatch, np.ndarray]:
    """The ``k`` cheapest sources for every target (ties to the lower ``tie_rank``), with routes.

    Costs and routes equal those of :func:`routing._engine.search.search`. Returns the
    batch, ordered by target then rank, with route lines only when ``lines`` is true; and
    per target whether any source reaches it.
    """
    cost = engine.cost(objective)
    source_gap = engine.gap_cost(sources, objective)
    target_gap = engine.gap_cost(targets, objective)
    labels, seeds = _seeded(engine, sources, tie_rank, k, objective)

    # every way into a target: a label at the node it joins, or a source on its own segment
    into = joins(engine, targets, cost, leaving=False)
    node = np.repeat(into["node"].to_numpy(), k)
    slot = np.tile(np.arange(k), len(into))
    piece = {name: np.repeat(into[name].to_numpy(), k) for name in ("edge", "start", "end")}
    share = piece["end"] - piece["start"]
    along = direct(engine, sources, targets, cost)
    e, along_share = along["edge"].to_numpy(), (along["end"] - along["start"]).to_numpy()
    candidates = pd.DataFrame(
        {
            "target": np.concatenate([np.repeat(into["point"].to_numpy(), k), along["target"]]),
            "source": np.concatenate([labels.source[node, slot], along["source"]]),
            "cost": np.concatenate(
                [
                    labels.cost[node, slot] + np.repeat(into["cost"].to_numpy(), k),
                    source_gap[along["source"].to_numpy()] + along["cost"].to_numpy(),
                ]
            ),
            "seconds": np.concatenate(
                [
                    labels.seconds[node, slot] + share * engine.travel_time[piece["edge"]],
                    along_share * engine.travel_time[e],
                ]
            ),
            "metres": np.concatenate(
                [
                    labels.metres[node, slot] + share * engine.length[piece["edge"]],
                    along_share * engine.length[e],
                ]
            ),
            "node": np.concatenate([node, np.full(len(along), -1)]),
            **{
                name: np.concatenate([piece[name], along[name].to_numpy()])
                for name in ("edge", "start", "end")
            },
        }
    )
    candidates = candidates[candidates["source"].to_numpy() >= 0]
    target, source = candidates["target"].to_numpy(), candidates["source"].to_numpy()
    total = candidates["cost"].to_numpy() + target_gap[target]
    tie = np.asarray(tie_rank)[source]
    # the cheapest way per (target, source), then the k cheapest sources per target
    order = np.lexsort((tie, total, source, target))
    best = order[_starts(target[order], source[order])]
    best = best[np.lexsort((tie[best], total[best], target[best]))]
    starts = np.flatnonzero(_starts(target[best]))
    rank = np.arange(len(best)) - np.repeat(starts, np.diff(np.r_[starts, len(best)]))
    chosen = candidates.iloc[best[rank < k]]
    rank = rank[rank < k] + 1
    target, source = chosen["target"].to_numpy(), chosen["source"].to_numpy()
    access = engine.gap_cost(sources, "time")[source] + engine.gap_cost(targets, "time")[target]
    reached = np.zeros(len(targets.edge), dtype=bool)
    reached[target] = True
    batch = RouteBatch(
        target=target,
        source=source,
        rank=rank,
        eta_s=chosen["seconds"].to_numpy() + access,
        distance_m=chosen["metres"].to_numpy(),
        access_s=access,
        geometry=_lines(engine, labels, seeds, chosen) if lines else None,
    )
    return batch, reached


def _starts(*keys: np.ndarray) -> np.ndarray:
    """Where a run of equal keys (sorted) begins."""
    first = np.ones(len(keys[0]), dtype=bool)
    for key in keys:
        first[1:] &= key[1:] == key[:-1]
    first[1:] = ~first[1:]
    return first


def _lines(
    engine: CompiledGraph, labels: _Labels, seeds: pd.DataFrame, chosen: pd.DataFrame
) -> np.ndarray:
    """The route line of each chosen way in: its labels walked back to the source's seed."""
    pieces = ["edge", "start", "end"]
    args = (
        labels.source,
        labels.came_by,
        engine.edge_u,
        seeds[pieces].to_numpy(dtype=float),
        chosen["source"].to_numpy(dtype=np.int64),
        chosen["node"].to_numpy(dtype=np.int64),
        chosen[pieces].to_numpy(dtype=float),
    )
    from routing._engine.kernels import walk_labels

    size = walk_labels(*args, False, np.empty((0, 4)))
    out = np.empty((size, 4))
    walk_labels(*args, True, out)
    route, edge = out[:, 0].astype(np.int64), out[:, 1].astype(np.int64)
    return lines_along(engine, route, edge, out[:, 2], out[:, 3], len(chosen))
