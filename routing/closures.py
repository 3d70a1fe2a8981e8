"""Road closures: flooded areas, blocked streets and slow zones applied to a compiled graph."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio.errors
import shapely

import layers
from routing._engine import CompiledGraph
from routing.profiles import Profile

__all__ = ["FLOODED_REACH_M", "closure_effect", "read_barriers"]

# how far a flooded road part reaches as a barrier: its own road, and crossings at a flooded
# junction, not a dry road that merely runs within a few metres
FLOODED_REACH_M = 0.5

BARRIER_FORMATS = "GeoJSON, GeoPackage, Shapefile or GeoParquet"


def read_barriers(path) -> gpd.GeoDataFrame:
    """Read barriers (closed, flooded or slow areas) from a file, in EPSG:4326.

    GeoParquet (``.parquet``) or anything GDAL reads (GeoJSON, GeoPackage, Shapefile);
    columns ``depth_cm``, ``factor`` and ``buffer_m`` are used as
    :meth:`routing.Router.with_closures` says.

    Raises
    ------
    layers.InputError
        Naming the file: missing, unreadable, without features, geometry or CRS.

    Examples
    --------
    >>> import tempfile, geopandas as gpd, shapely
    >>> path = tempfile.mkdtemp() + "/flood.geojson"
    >>> gpd.GeoDataFrame({"depth_cm": [40]}, geometry=[shapely.Point(104.07, 30.66)],
    ...                  crs=4326).to_file(path)
    >>> read_barriers(path)["depth_cm"].tolist()
    [40]
    """
    path = Path(path)
    if not path.is_file():
        raise layers.InputError(f"no barriers file {path}", source=str(path))
    try:
        frame = (
            gpd.read_parquet(path)
            if path.suffix.lower() in (".parquet", ".geoparquet")
            else gpd.read_file(path)
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as err:
        reason = str(err).split(";")[0].splitlines()[0]
        raise layers.InputError(
            f"{path} cannot be read as {BARRIER_FORMATS} ({reason})", source=str(path)
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise layers.InputError(
            f"{path} has no geometry; barriers are points, lines or polygons in {BARRIER_FORMATS}",
            source=str(path),
        )
    if frame.empty:
        raise layers.InputError(f"{path} holds no barriers", source=str(path))
    missing = np.flatnonzero(frame.geometry.isna() | frame.geometry.is_empty)
    if len(missing):
        raise layers.InputError(
            f"{path}: features {', '.join(str(i + 1) for i in missing[:5])} (counting from 1) "
            "have no readable geometry; fix or remove them",
            source=str(path),
        )
    if frame.crs is None:
        raise layers.InputError(
            f"{path} carries no CRS; set it, e.g. ogr2ogr -a_srs EPSG:4326 fixed.gpkg {path}",
            source=str(path),
        )
    return layers.to_wgs84(frame, kind="barriers")


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
    blocked : float array (edges x 2)
        Per closed edge, the span ``[start, end]`` (fractions along it) the closing
        barriers cover; NaN rows for open edges.
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
    blocked = np.full((len(engine.lines), 2), np.nan)
    shut = closes[barrier_ix]
    lines, inside = (
        engine.lines[edge_ix[shut]],
        shapely.intersection(engine.lines[edge_ix[shut]], shapes[barrier_ix[shut]]),
    )
    coords, which = shapely.get_coordinates(inside, return_index=True)
    at = shapely.line_locate_point(lines[which], shapely.points(coords), normalized=True)
    edges = edge_ix[shut][which]
    blocked[edges] = np.inf, -np.inf
    np.minimum.at(blocked[:, 0], edges, at)
    np.maximum.at(blocked[:, 1], edges, at)
    # an edge only touched (no overlap found) is closed along its whole length
    touched = np.unique(edge_ix[shut])
    unspanned = touched[~np.isfinite(blocked[touched, 0])]
    blocked[unspanned] = 0.0, 1.0
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
    return blocked, edge_factor, report
