"""Reference layers: the trusted WGS84 layers that place others, and the city's extent.

A city's roads, buildings and unit polygons (districts, streets, communities, grid) are
the ground truth other layers are checked against: rows outside the extent they span
(plus a margin) are not in the city, rows that fall inside it only with lon and lat
swapped were written the wrong way round, and a layer that lines up with them only after
a GCJ-02 → WGS84 conversion is mislabelled (:mod:`layers.alignment`).

>>> import geopandas as gpd, shapely
>>> roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(104.05, 30.65), (104.13, 30.73)])],
...                          crs=4326)
>>> extent = city_extent(roads)
>>> extent.contains([104.07, 2.35], [30.67, 48.85]).tolist()
[True, False]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from layers.errors import InputError

__all__ = [
    "MARGIN_M",
    "UNIT_LINKS",
    "Extent",
    "References",
    "city_extent",
    "is_unit_layer",
    "located_rows",
    "swapped_rows",
]

MARGIN_M = 2000.0
UNIT_LINKS = ("parent_code", "community_code")
_METRES_PER_DEGREE = 111_320.0


def _family(gdf: gpd.GeoDataFrame) -> str:
    types = set(shapely.get_type_id(np.asarray(gdf.geometry.values, dtype=object)).tolist())
    types.discard(-1)  # missing
    if types and types <= {1, 5}:
        return "lines"
    if types and types <= {3, 6}:
        return "polygons"
    return "other"


def is_unit_layer(gdf: gpd.GeoDataFrame) -> bool:
    """Whether a polygon layer is a unit layer: ``code`` plus ``parent_code`` or ``community_code``."""
    return "code" in gdf.columns and any(link in gdf.columns for link in UNIT_LINKS)


@dataclass(frozen=True)
class References:
    """Trusted WGS84 layers sorted by what they are: lines (roads), areas (buildings), units.

    Build one with :meth:`of` from a GeoDataFrame, a list of them or a mapping name → layer.
    """

    lines: tuple[gpd.GeoDataFrame, ...] = ()
    areas: tuple[gpd.GeoDataFrame, ...] = ()
    units: tuple[gpd.GeoDataFrame, ...] = ()

    @classmethod
    def of(cls, reference) -> References:
        """Sort ``reference`` (None, a GeoDataFrame, a list or a mapping of them) by role.

        Polygon layers with ``code`` and ``parent_code`` (or ``community_code``) are units;
        other polygons are areas such as buildings; point layers cannot place anything.

        Examples
        --------
        >>> import geopandas as gpd, shapely
        >>> roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326)
        >>> len(References.of({"roads": roads}).lines)
        1
        """
        if reference is None:
            return cls()
        if isinstance(reference, References):
            return reference
        if isinstance(reference, gpd.GeoDataFrame):
            found = [reference]
        elif isinstance(reference, Mapping):
            found = list(reference.values())
        else:
            found = list(reference)
        lines, areas, units = [], [], []
        for gdf in found:
            if not isinstance(gdf, gpd.GeoDataFrame):
                raise InputError(
                    f"reference: expected GeoDataFrames (roads, buildings, units), got {type(gdf).__name__}"
                )
            family = _family(gdf)
            if gdf.empty:
                continue
            if family == "lines":
                lines.append(gdf)
            elif family == "polygons":
                (units if is_unit_layer(gdf) else areas).append(gdf)
            else:
                raise InputError(
                    "reference: a reference layer must be lines (roads) or polygons (buildings, "
                    f"units), not {', '.join(sorted(set(gdf.geom_type)))}",
                    source="reference",
                )
        return cls(tuple(lines), tuple(areas), tuple(units))

    @property
    def all(self) -> tuple[gpd.GeoDataFrame, ...]:
        return self.lines + self.areas + self.units

    def __bool__(self) -> bool:
        return bool(self.all)


@dataclass(frozen=True)
class Extent:
    """A lon/lat box around the city: its reference layers' bounds plus a margin in metres."""

    bounds: tuple[float, float, float, float]
    margin_m: float

    def contains(self, x, y) -> np.ndarray:
        """Which (lon, lat) pairs lie inside the box (NaN is outside)."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        minx, miny, maxx, maxy = self.bounds
        return (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)

    def __str__(self) -> str:
        minx, miny, maxx, maxy = self.bounds
        return (
            f"lon {minx:.4f}…{maxx:.4f}, lat {miny:.4f}…{maxy:.4f}: the reference layers' "
            f"bounds + {self.margin_m / 1000:g} km"
        )


def city_extent(reference, *, margin_m: float = MARGIN_M) -> Extent | None:
    """The box that holds the city: the reference layers' bounds grown by ``margin_m``.

    Parameters
    ----------
    reference : GeoDataFrame, list or mapping of them, or References
        The city's trusted layers (roads, buildings, districts …) in EPSG:4326.
    margin_m : float
        How far beyond the bounds a row may lie, in metres (2 km by default).

    Returns
    -------
    Extent or None
        None when there is no reference to span an extent.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(104.05, 30.65), (104.13, 30.73)])],
    ...                          crs=4326)
    >>> [round(v, 3) for v in city_extent(roads, margin_m=1000).bounds]
    [104.04, 30.641, 104.14, 30.739]
    """
    refs = References.of(reference)
    if not refs:
        return None
    bounds = np.array([gdf.total_bounds for gdf in refs.all])
    minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
    maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
    dlat = margin_m / _METRES_PER_DEGREE
    coslat = max(np.cos(np.radians(max(abs(miny), abs(maxy)))), 0.01)
    dlon = dlat / coslat
    return Extent(
        (float(minx - dlon), float(miny - dlat), float(maxx + dlon), float(maxy + dlat)), margin_m
    )


def _valid(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (np.abs(x) <= 180) & (np.abs(y) <= 90)


def swapped_rows(x, y, extent: Extent | None = None) -> np.ndarray:
    """Rows whose lon/lat were written as (lat, lon).

    Without an extent: the latitude is out of range but the swapped pair is valid, e.g.
    lon 30.66, lat 104.07. With the city's extent: the row lies outside it and the swapped
    pair lies inside.

    Examples
    --------
    >>> swapped_rows([104.07, 30.66, 0.0], [30.66, 104.07, 0.0]).tolist()
    [False, True, False]
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if extent is None:
        return ~_valid(x, y) & _valid(y, x)
    return ~extent.contains(x, y) & extent.contains(y, x)


def located_rows(geometries) -> tuple[np.ndarray, np.ndarray]:
    """A representative (x, y) per geometry (its bounds' centre; NaN when missing or empty)."""
    bounds = shapely.bounds(np.asarray(geometries, dtype=object))
    return (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
