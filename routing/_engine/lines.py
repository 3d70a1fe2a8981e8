"""Line geometry along the compiled roads: route lines and reached pieces, all in one go.

A piece is an edge from one fraction along it to another; pieces with the same id join into
one LineString (a route). A compiled loop (:mod:`routing._engine.kernels`) copies each piece's vertices, with the two ends
interpolated where a piece stops part-way along its edge.
"""

from __future__ import annotations

import numpy as np
import shapely

from routing._engine.compiled import CompiledGraph

__all__ = ["lines_along"]


def _vertices(engine: CompiledGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All edge vertices, metric and lon/lat, each with ``edge + fraction along it``, and
    where each edge's vertices start."""
    if engine._vertex is None:
        coords, owner = shapely.get_coordinates(engine.lines, return_index=True)
        offsets = np.searchsorted(owner, np.arange(len(engine.lines) + 1))
        step = np.zeros(len(coords))
        step[1:] = np.hypot(*(coords[1:] - coords[:-1]).T)
        step[offsets[:-1]] = 0.0
        cumulative = np.cumsum(step)
        start_of = cumulative[offsets[:-1]]
        total = np.maximum(cumulative[offsets[1:] - 1] - start_of, 1e-12)
        fraction = np.clip((cumulative - start_of[owner]) / total[owner], 0.0, 1.0)
        lonlat = np.column_stack(engine.to_lonlat.transform(coords[:, 0], coords[:, 1]))
        engine._vertex = (coords, lonlat, owner + fraction, offsets)
    return engine._vertex


def lines_along(
    engine: CompiledGraph, route, edge, start, end, count, *, lonlat: bool = True
) -> np.ndarray:
    """LineStrings along edge pieces (``edge`` from fraction ``start`` to ``end``), one per
    ``route`` id (ids ascending, a route's pieces in order), built in one go; in EPSG:4326,
    or in the metric CRS with ``lonlat=False``."""
    metric, degrees, key, offsets = _vertices(engine)
    coords = degrees if lonlat else metric
    args = (
        coords,
        metric,
        key,
        offsets,
        np.asarray(route, dtype=np.int64),
        np.asarray(edge, dtype=np.int64),
        np.asarray(start, dtype=float),
        np.asarray(end, dtype=float),
    )
    from routing._engine.kernels import trace

    size = trace(*args, False, np.empty((0, 2)), np.empty(0, dtype=np.int64), np.empty(0, bool))
    out, owner, cut = np.empty((size, 2)), np.empty(size, dtype=np.int64), np.empty(size, bool)
    trace(*args, True, out, owner, cut)
    if lonlat:
        out[cut] = np.column_stack(engine.to_lonlat.transform(out[cut, 0], out[cut, 1]))
    new = np.ones(size, dtype=bool)
    new[1:] = owner[1:] != owner[:-1]
    lines = np.full(count, None, dtype=object)
    lines[owner[new]] = shapely.linestrings(out, indices=np.cumsum(new) - 1)
    return lines
