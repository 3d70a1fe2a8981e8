"""Road closures: flooded areas, blocked streets and slow zones applied to a compiled graph."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import layers
from routing.compiled import CompiledGraph
from routing.profiles import Profile

__all__ = ["closure_effect"]


def _column(barriers: gpd.GeoDataFrame, name: str, default: float) -> np.ndarray:
    if name not in barriers.columns:
        return np.full(len(barriers), default)
    values = pd.to_numeric(barriers[name], errors="coerce")
    bad = barriers[name].notna() & values.isna()
    if bad.any() or (values < 0).any():
        raise layers.SchemaError(
            "barriers",
            f"column {name!r} must hold numbers ≥ 0 (rows {list(barriers.index[bad | (values < 0)][:5])})",
            column=name,
        )
    return values.fillna(default).to_numpy(dtype=float)


def closure_effect(
    engine: CompiledGraph, barriers: gpd.GeoDataFrame, profile: Profile, *, buffer_m: float = 5.0
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Which edges a set of barriers closes or slows for one vehicle profile.

    Each barrier (Point, LineString or Polygon) touches the edges it intersects; points and
    lines reach ``buffer_m`` metres (or the row's own ``buffer_m``). A barrier with a water
    ``depth_cm`` closes its edges only for profiles that cannot pass that depth
    (``Profile.max_water_depth_cm``) and leaves them open for the others; one with a
    ``factor`` multiplies their travel time (2 = half speed); one with neither closes them.

    Returns
    -------
    closed : bool array per edge
    factor : float array per edge (1 where unaffected)
    report : DataFrame, one row per barrier: ``edges`` touched and whether it ``closes``
    """
    barriers = layers.to_wgs84(barriers, kind="barriers")
    if len(barriers) == 0:
        raise layers.EmptyLayerError("barriers", "no barriers given")
    empty = barriers.geometry.isna() | barriers.geometry.is_empty
    if empty.any():
        raise layers.GeometryError(
            "barriers",
            f"rows {list(barriers.index[empty][:5])} have no geometry",
            rows=barriers.index[empty],
        )
    depth = _column(barriers, "depth_cm", np.nan)
    factor = _column(barriers, "factor", np.nan)
    reach = _column(barriers, "buffer_m", buffer_m)
    shapes = shapely.transform(
        barriers.geometry.values,
        lambda c: np.column_stack(engine.to_metric.transform(c[:, 0], c[:, 1])),
    )
    polygonal = np.isin(shapely.get_type_id(shapes), [3, 6])
    shapes = np.where(polygonal, shapes, shapely.buffer(shapes, reach))
    barrier_ix, edge_ix = shapely.STRtree(engine.lines).query(shapes, predicate="intersects")

    too_deep = ~np.isnan(depth) & (depth > profile.max_water_depth_cm)
    closes = np.where(np.isnan(depth), np.isnan(factor), too_deep)
    closed = np.zeros(len(engine.lines), dtype=bool)
    closed[edge_ix[closes[barrier_ix]]] = True
    slowing = ~closes & ~np.isnan(factor)
    edge_factor = np.ones(len(engine.lines))
    hit = slowing[barrier_ix]
    np.maximum.at(edge_factor, edge_ix[hit], factor[barrier_ix[hit]])
    report = pd.DataFrame(
        {
            "barrier": barriers.index,
            "edges": np.bincount(barrier_ix, minlength=len(barriers)),
            "closes": closes,
            "depth_cm": depth,
            "factor": factor,
        }
    )
    return closed, edge_factor, report
