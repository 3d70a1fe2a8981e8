"""LOD1 prisms: building footprints in a metric CRS extruded from the ground to their height.

The CityJSON and 3D Tiles writers share these solids. A building that cannot be extruded
(no height, an invalid footprint, one that collapses on the millimetre grid) is listed in
``skipped`` with the reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from layers.standards import FLOOR_HEIGHT_M

__all__ = [
    "GROUND",
    "ROOF",
    "SURFACE_TYPES",
    "WALL",
    "Prisms",
    "height_basis",
    "prisms",
    "surfaces",
]

GRID_M = 0.001  # vertices are kept on a millimetre grid (CityJSON's transform scale)
SURFACE_TYPES = ("GroundSurface", "WallSurface", "RoofSurface")
GROUND, WALL, ROOF = range(3)
_ESTIMATED = ("level", "floor", "层数", "estimate", "synthetic")
SKIPPED_COLUMNS = ["row", "id", "reason"]


def height_basis(buildings: pd.DataFrame) -> pd.Series:
    """How each building's ``height_m`` was found: ``measured``, ``floors`` or ``estimate``.

    ``height_estimated`` (bool) wins where present; else ``height_source`` is read (``osm:height``
    is measured, ``osm:building:levels`` and ``层数`` are floors, ``synthetic:estimate`` an
    estimate); else a height equal to ``floors`` × 3 m counts as from floors. Rows without a
    height are None.

    Examples
    --------
    >>> frame = pd.DataFrame({"height_m": [15.0, 9.0, None],
    ...                       "height_source": ["osm:height", "osm:building:levels", None]})
    >>> height_basis(frame).tolist()
    ['measured', 'floors', None]
    """
    height = pd.to_numeric(buildings.get("height_m"), errors="coerce")
    if height is None:
        return pd.Series(None, index=buildings.index, dtype=object)
    basis = pd.Series("measured", index=buildings.index, dtype=object)
    if "height_source" in buildings.columns:
        source = buildings["height_source"].astype("string").str.lower().fillna("")
        from_floors = source.str.contains("level|floor|层数", regex=True)
        estimate = source.str.contains("estimate|synthetic", regex=True)
        basis[from_floors] = "floors"
        basis[estimate & ~from_floors] = "estimate"
    elif "floors" in buildings.columns:
        floors = pd.to_numeric(buildings["floors"], errors="coerce")
        basis[np.isclose(height, floors * FLOOR_HEIGHT_M)] = "floors"
    if "height_estimated" in buildings.columns:
        flagged = buildings["height_estimated"].fillna(False).astype(bool)
        basis[~flagged & basis.ne("measured")] = "measured"
        basis[flagged & basis.eq("measured")] = "estimate"
    return basis.where(height.notna(), None)


@dataclass(frozen=True)
class Prisms:
    """Buildings ready to extrude.

    Attributes
    ----------
    footprints : GeoDataFrame
        The buildings that can be extruded, in ``crs``, footprints oriented (exterior
        counter-clockwise) and snapped to the millimetre grid; ``height_m`` > 0,
        ``height_basis`` (:func:`height_basis`) and ``height_estimated`` (not measured).
    skipped : DataFrame
        ``row, id, reason`` of the buildings left out.
    crs : pyproj.CRS
        The metric CRS of ``footprints``.
    """

    footprints: gpd.GeoDataFrame
    skipped: pd.DataFrame
    crs: CRS


def prisms(buildings: gpd.GeoDataFrame, crs) -> Prisms:
    """The buildings of a layer as footprints in ``crs`` with a height, and those left out.

    Examples
    --------
    >>> import shapely
    >>> b = gpd.GeoDataFrame({"id": ["a", "b"], "height_m": [10.0, None]},
    ...                      geometry=[shapely.box(104.06, 30.65, 104.0601, 30.6501)] * 2, crs=4326)
    >>> p = prisms(b, 4544)
    >>> p.footprints["id"].tolist(), p.skipped["reason"].tolist()
    (['a'], ['no height: height_m and floors are empty'])
    """
    crs = CRS.from_user_input(crs)
    frame = buildings.reset_index(drop=True)
    basis = height_basis(frame)
    height = pd.to_numeric(frame.get("height_m"), errors="coerce")
    projected = frame.geometry.to_crs(crs).values
    snapped = shapely.orient_polygons(shapely.set_precision(projected, GRID_M))
    reasons: list[str | None] = []
    for original, geometry, h in zip(projected, snapped, height, strict=True):
        reasons.append(_why_not(original, geometry, h))
    reasons_arr = np.array(reasons, dtype=object)
    keep = pd.isna(reasons_arr)
    ids = frame["id"] if "id" in frame.columns else pd.Series(frame.index, dtype=object)
    skipped = pd.DataFrame(
        {"row": frame.index[~keep], "id": ids[~keep].to_numpy(), "reason": reasons_arr[~keep]},
        columns=SKIPPED_COLUMNS,
    )
    footprints = gpd.GeoDataFrame(
        frame.drop(columns=frame.geometry.name)[keep].assign(
            height_m=height[keep],
            height_basis=basis[keep],
            height_estimated=basis[keep].ne("measured"),
        ),
        geometry=snapped[keep],
        crs=crs,
    )
    return Prisms(footprints, skipped, crs)


def _why_not(original, geometry, height: float) -> str | None:
    if original is None or original.is_empty:
        return "no footprint"
    if original.geom_type not in ("Polygon", "MultiPolygon"):
        return f"footprint is a {original.geom_type}, not a polygon"
    if not original.is_valid:
        return f"footprint invalid: {shapely.is_valid_reason(original)}"
    if geometry.is_empty or geometry.area <= 0:
        return "footprint collapses on the millimetre grid"
    if not geometry.is_valid or geometry.geom_type not in ("Polygon", "MultiPolygon"):
        return "footprint invalid on the millimetre grid"
    if pd.isna(height):
        return "no height: height_m and floors are empty"
    if height <= 0:
        return f"height {height:g} m: nothing to extrude"
    return None


def _rings(polygon: shapely.Polygon) -> list[np.ndarray]:
    return [np.asarray(ring.coords)[:-1, :2] for ring in (polygon.exterior, *polygon.interiors)]


def surfaces(polygon: shapely.Polygon, height: float) -> Iterator[tuple[int, list[np.ndarray]]]:
    """The faces of the LOD1 prism over ``polygon``: ``(kind, rings)``, rings as (n, 3) arrays.

    ``kind`` is :data:`GROUND`, :data:`WALL` or :data:`ROOF`. The polygon must be oriented
    (exterior counter-clockwise, holes clockwise); faces then point out of the solid (ground
    down, roof up, walls outward), as CityJSON and glTF want.

    Examples
    --------
    >>> faces = list(surfaces(shapely.box(0, 0, 2, 3).reverse(), 10.0))
    >>> [k for k, _ in faces].count(WALL), faces[-1][1][0][:, 2].tolist()
    (4, [10.0, 10.0, 10.0, 10.0])
    """
    polygon = shapely.orient_polygons(polygon)
    rings = _rings(polygon)
    yield GROUND, [np.column_stack([r[::-1], np.zeros(len(r))]) for r in rings]
    for ring in rings:
        following = np.roll(ring, -1, axis=0)
        for a, b in zip(ring, following, strict=True):
            yield (
                WALL,
                [np.array([[*a, 0.0], [*b, 0.0], [*b, height], [*a, height]])],
            )
    yield ROOF, [np.column_stack([r, np.full(len(r), height)]) for r in rings]
