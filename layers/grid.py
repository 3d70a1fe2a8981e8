"""Unit grids (万米单元网格, GB/T 30428.1): ~10,000 m² cells coded under their community."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.crs import metric_crs
from layers.errors import InputError
from layers.schema import LayerError, validate

__all__ = ["unit_grid"]


def unit_grid(
    area: gpd.GeoDataFrame, cell_size: float = 100.0, *, units: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Square cells of ``cell_size`` metres over ``area``, clipped to it and coded.

    Cells are laid out in the data's CGCS2000 Gauss-Kruger zone on a grid aligned to
    multiples of ``cell_size``. Each cell belongs to the unit (community) that holds its
    centre and is coded ``<unit code><4-digit sequence>`` (GB/T 30428.1: district, street,
    community, cell), numbered row by row from the south-west.

    Parameters
    ----------
    area : GeoDataFrame
        Polygons to cover (EPSG:4326).
    cell_size : float
        Cell side in metres (100 m gives the standard 10,000 m² cell).
    units : GeoDataFrame, optional
        Polygons with ``code`` to code the cells under (communities); ``area`` itself when
        it has a ``code`` column.

    Returns
    -------
    GeoDataFrame
        ``code, community_code, row, col, area_m2, geometry`` in EPSG:4326; cells whose
        centre lies in no unit are left out.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> block = gpd.GeoDataFrame({"code": ["510104003001"]},
    ...                          geometry=[shapely.box(104.07, 30.65, 104.075, 30.655)], crs=4326)
    >>> grid = unit_grid(block)
    >>> grid["code"].iloc[0], round(grid["area_m2"].max())
    ('5101040030010001', 10000)
    """
    if cell_size <= 0:
        raise InputError(f"cell_size must be positive metres, not {cell_size}")
    units = area if units is None else units
    if "code" not in units.columns:
        raise LayerError(
            "grid", "cells are coded under units with a 'code' column; pass units=communities"
        )
    crs = metric_crs(area)
    region = shapely.union_all(area.to_crs(crs).geometry.values)
    if region.is_empty:
        raise LayerError("grid", "the area is empty")
    minx, miny, maxx, maxy = region.bounds
    x0, y0 = np.floor(minx / cell_size) * cell_size, np.floor(miny / cell_size) * cell_size
    cols, rows = int(np.ceil((maxx - x0) / cell_size)), int(np.ceil((maxy - y0) / cell_size))
    if rows * cols > 20_000_000:
        raise InputError(
            f"{rows * cols:,} cells of {cell_size} m is too many; use a larger cell_size or a smaller area"
        )
    row, col = np.divmod(np.arange(rows * cols), cols)
    cells = shapely.box(
        x0 + col * cell_size,
        y0 + row * cell_size,
        x0 + (col + 1) * cell_size,
        y0 + (row + 1) * cell_size,
    )
    shapely.prepare(region)
    inside = shapely.intersects(region, cells)
    cells, row, col = shapely.intersection(cells[inside], region), row[inside], col[inside]
    grid = gpd.GeoDataFrame({"row": row, "col": col}, geometry=cells, crs=crs)
    grid = grid[~grid.geometry.is_empty & (grid.geometry.area > 0)]
    centres = grid.geometry.representative_point()
    owner = gpd.sjoin(
        gpd.GeoDataFrame(geometry=centres, crs=crs),
        units[["code", "geometry"]].to_crs(crs),
        predicate="within",
        how="inner",
    )
    owner = owner[~owner.index.duplicated()]
    grid = grid.loc[owner.index].assign(community_code=owner["code"].astype(str))
    grid = grid.sort_values(["community_code", "row", "col"])
    sequence = grid.groupby("community_code").cumcount() + 1
    if sequence.max() > 9999:
        raise InputError("more than 9,999 cells in one unit; the 4-digit cell code would overflow")
    grid["code"] = grid["community_code"] + sequence.map("{:04d}".format)
    grid["area_m2"] = grid.geometry.area
    grid = grid[["code", "community_code", "row", "col", "area_m2", "geometry"]].to_crs(4326)
    return validate(gpd.GeoDataFrame(pd.DataFrame(grid).reset_index(drop=True), crs=4326), "grid")
