"""What a station reaches: service-area polygons and coverage of buildings or grid cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from routing.compiled import CompiledGraph, Snapped

__all__ = ["coverage_times", "service_area_polygons"]


def service_area_polygons(
    engine: CompiledGraph, sources: Snapped, cutoffs, objective: str, *, buffer_m: float
) -> list[tuple[int, float, shapely.Geometry]]:
    """For each source and cutoff, the area within ``buffer_m`` of the road reached in time.

    Built from the reached edges themselves (an edge reached part-way counts up to where the
    cutoff falls), not a convex hull, so rivers and one-way streets shape the area.
    Returns ``(source position, cutoff, polygon in EPSG:4326)``.
    """
    empty = Snapped(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))
    found = engine.search(sources, empty, objective)
    n, cost = len(engine.nodes), engine.cost(objective)
    starts = [(row - n, edge, a, b) for (row, _), (edge, a, b) in found.pieces.items() if row >= n]
    out = []
    for cutoff in sorted(cutoffs):
        for source in range(len(sources.edge)):
            at_node = found.distances[source, engine.edge_u]
            reached = np.flatnonzero(at_node < cutoff)
            share = np.minimum(1.0, (cutoff - at_node[reached]) / np.maximum(cost[reached], 1e-12))
            first = [
                (e, a, min(b, a + cutoff / max(cost[e], 1e-12)))
                for s, e, a, b in starts
                if s == source
            ]
            edge = np.concatenate([reached, [e for e, _, _ in first]]).astype(np.int64)
            start = np.concatenate([np.zeros(len(reached)), [a for _, a, _ in first]])
            end = np.concatenate([share, [b for _, _, b in first]])
            if len(edge) == 0:
                out.append((source, cutoff, shapely.Polygon()))
                continue
            lines = engine.lines_along(
                np.arange(len(edge)), edge, start, end, len(edge), lonlat=False
            )
            area = shapely.union_all(shapely.buffer(lines, buffer_m))
            out.append(
                (
                    source,
                    cutoff,
                    shapely.transform(
                        area,
                        lambda c: np.column_stack(engine.to_lonlat.transform(c[:, 0], c[:, 1])),
                    ),
                )
            )
    return out


def coverage_times(
    engine: CompiledGraph, sources: Snapped, targets: Snapped, objective: str
) -> pd.DataFrame:
    """Cost from the nearest source to every target, and which source that is (-1 if none)."""
    reach = engine.search(sources, targets, objective).reach(len(engine.nodes))
    best = np.argmin(reach, axis=0)
    cost = reach[best, np.arange(reach.shape[1])]
    return pd.DataFrame({"source": np.where(np.isfinite(cost), best, -1), "cost": cost})
