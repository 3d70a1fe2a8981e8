"""What a station reaches: service-area polygons and coverage of buildings or grid cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from routing.compiled import CompiledGraph, Snapped

__all__ = ["coverage_times", "reached_pieces", "service_area_polygons"]


def reached_pieces(
    engine: CompiledGraph, sources: Snapped, cutoff: np.ndarray, objective: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The road each source reaches within its own ``cutoff``, as edge pieces.

    An edge reached part-way counts up to where the cutoff falls, and so does the source's
    own edge, after the time (or metres) spent on the source's gap to its road. Returns
    ``(source, edge, start, end)`` arrays (fractions along each edge).
    """
    empty = Snapped(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))
    found = engine.search(sources, empty, objective)
    n, cost = len(engine.nodes), engine.cost(objective)
    at_node = found.distances[:, engine.edge_u]  # sources x edges
    source, edge = np.nonzero((at_node < cutoff[:, None]) & engine.is_open[None, :])
    share = np.minimum(
        1.0, (cutoff[source] - at_node[source, edge]) / np.maximum(cost[edge], 1e-12)
    )
    budget = cutoff - found.source_gap
    first = [
        (row - n, e, a, min(b, a + budget[row - n] / max(cost[e], 1e-12)))
        for (row, _), (e, a, b) in found.pieces.items()
        if row >= n and budget[row - n] > 0
    ]
    starts = np.array(first, dtype=float).reshape(-1, 4)
    return (
        np.concatenate([source, starts[:, 0]]).astype(np.int64),
        np.concatenate([edge, starts[:, 1]]).astype(np.int64),
        np.concatenate([np.zeros(len(edge)), starts[:, 2]]),
        np.concatenate([share, starts[:, 3]]),
    )


def service_area_polygons(
    engine: CompiledGraph, sources: Snapped, cutoffs, objective: str, *, buffer_m: float
) -> list[tuple[int, float, shapely.Geometry]]:
    """For each source and cutoff, the area within ``buffer_m`` of the road reached in time.

    Built from the reached edges themselves (see :func:`reached_pieces`), not a convex hull,
    so rivers and one-way streets shape the area. Returns ``(source position, cutoff,
    polygon in EPSG:4326)``.
    """
    out = []
    count = len(sources.edge)
    for cutoff in sorted(cutoffs):
        source, edge, start, end = reached_pieces(
            engine, sources, np.full(count, float(cutoff)), objective
        )
        lines = engine.lines_along(np.arange(len(edge)), edge, start, end, len(edge), lonlat=False)
        for s in range(count):
            mine = lines[source == s]
            area = (
                shapely.union_all(shapely.buffer(mine, buffer_m))
                if len(mine)
                else shapely.Polygon()
            )
            out.append(
                (
                    s,
                    cutoff,
                    shapely.transform(
                        area,
                        lambda c: np.column_stack(engine.to_lonlat.transform(c[:, 0], c[:, 1])),
                    ),
                )
            )
    return sorted(out, key=lambda r: (r[1], r[0]))


def coverage_times(
    engine: CompiledGraph, sources: Snapped, targets: Snapped, objective: str
) -> pd.DataFrame:
    """Cost from the nearest source to every target, and which source that is (-1 if none)."""
    reach = engine.search(sources, targets, objective).reach(len(engine.nodes))
    best = np.argmin(reach, axis=0)
    cost = reach[best, np.arange(reach.shape[1])]
    return pd.DataFrame({"source": np.where(np.isfinite(cost), best, -1), "cost": cost})
