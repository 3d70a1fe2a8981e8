"""Coordinate systems: Chinese web-map offsets (GCJ-02, BD-09), metric zones, sanity checks.

GCJ-02 ("Mars coordinates", used by Amap, Tencent and Google China) is WGS84 with a
deliberate non-linear offset of a few hundred metres inside China; BD-09 (Baidu) adds a
second offset on top of GCJ-02. Neither has an EPSG code, so pyproj cannot convert them;
the formulas below are the published ones. The inverse of GCJ-02 has no closed form and is
solved by fixed-point iteration until the forward transform reproduces the input to well
under a millimetre.

All functions are vectorised: they take scalars or array-likes and return arrays.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from layers.errors import InputError

__all__ = [
    "SOURCE_CRS_ALIASES",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_misalignment",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "metric_crs",
    "out_of_china",
    "transform_geometries",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_INVERSE_TOLERANCE_DEG = 1e-10  # ~0.01 mm
_INVERSE_MAX_ITER = 30

SOURCE_CRS_ALIASES = {
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj": "gcj02",
    "amap": "gcj02",
    "mars": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
}


def out_of_china(lon, lat) -> np.ndarray:
    """Whether points lie outside the rough bounding box where GCJ-02 offsets apply.

    Outside it, GCJ-02 and BD-09 coordinates are plain WGS84 by convention.

    Examples
    --------
    >>> out_of_china([104.07, 2.35], [30.67, 48.85]).tolist()
    [False, True]
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return ~((lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271))


def _gcj02_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    sin, pi = np.sin, np.pi
    common = (20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * sin(y * pi) + 40.0 * sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * sin(y / 12.0 * pi) + 320.0 * sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * sin(x * pi) + 40.0 * sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * sin(x / 12.0 * pi) + 300.0 * sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon, lat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 lon/lat to GCJ-02 (Amap, Tencent).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(128.543, 37.065)
    >>> round(float(lon), 6), round(float(lat), 6)
    (128.548205, 37.065651)
    """
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 lon/lat to WGS84, iterating the inverse to sub-millimetre accuracy.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(*wgs84_to_gcj02(104.0657, 30.6595))
    >>> round(float(lon), 7), round(float(lat), 7)
    (104.0657, 30.6595)
    """
    lon, lat = _arrays(lon, lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(_INVERSE_MAX_ITER):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if np.nanmax(np.abs(np.concatenate([elon.ravel(), elat.ravel(), [0.0]]))) < (
            _INVERSE_TOLERANCE_DEG
        ):
            break
    return wlon, wlat


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 lon/lat to BD-09 (Baidu).

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(128.543, 37.065)
    >>> round(float(lon), 6), round(float(lat), 6)
    (128.549447, 37.071134)
    """
    lon, lat = _arrays(lon, lat)
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 (Baidu) lon/lat to GCJ-02.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(128.543, 37.065)
    >>> round(float(lon), 6), round(float(lat), 6)
    (128.536589, 37.058755)
    """
    lon, lat = _arrays(lon, lat)
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 lon/lat to WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 lon/lat to BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


_CONVERSIONS = {
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("bd09", "wgs84"): bd09_to_wgs84,
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
}


def transform_geometries(geometries, source: str, target: str = "wgs84"):
    """Convert an array of shapely geometries between ``"wgs84"``, ``"gcj02"`` and ``"bd09"``.

    Examples
    --------
    >>> import shapely
    >>> [p] = transform_geometries([shapely.Point(104.0681, 30.6570)], "gcj02")
    >>> round(p.x, 4), round(p.y, 4)
    (104.0656, 30.6594)
    >>> [q] = transform_geometries([p], "wgs84", "gcj02")
    >>> round(q.x, 4), round(q.y, 4)
    (104.0681, 30.657)
    """
    convert = _CONVERSIONS[source, target]

    def _xy(coords: np.ndarray) -> np.ndarray:
        lon, lat = convert(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geometries, dtype=object), _xy)


def metric_crs(data) -> CRS:
    """The CGCS2000 3-degree Gauss-Kruger CRS (EPSG:4534-4554) whose zone holds the data.

    Parameters
    ----------
    data : GeoDataFrame, GeoSeries, or float
        Layer in EPSG:4326 (the centre of its bounds picks the zone), or a longitude.

    Examples
    --------
    >>> metric_crs(104.07).to_epsg()
    4544
    """
    if isinstance(data, (int, float, np.floating)):
        lon = float(data)
    else:
        if data.crs is not None and not data.crs.is_geographic:
            return data.crs
        minx, _, maxx, _ = data.total_bounds
        lon = (minx + maxx) / 2.0
    if not 73.5 <= lon <= 136.5:
        raise InputError(
            f"longitude {lon:.3f} is outside China's CGCS2000 3-degree zones (75E-135E); "
            "project with an appropriate UTM zone instead (gdf.estimate_utm_crs())"
        )
    central = round(lon / 3.0) * 3
    return _gauss_kruger(4534 + (central - 75) // 3)


@lru_cache(maxsize=32)
def _gauss_kruger(epsg: int) -> CRS:
    return CRS.from_epsg(epsg)


def gcj02_misalignment(
    gdf, reference, *, sample: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """Deprecated: use :func:`layers.alignment.gcj02_alignment`, which also sees off-road layers.

    Samples up to ``sample`` vertices of ``gdf`` and measures their median distance to the
    nearest reference geometry, once as given and once after GCJ-02 → WGS84. Data that
    lines up four times better after conversion (and by more than 10 m) is mislabelled.
    Points off the roads (facilities, addresses, buildings) are not caught this way.

    Returns
    -------
    (float, float) or None
        The two median distances in metres when the data looks like GCJ-02, else None.
    """
    warnings.warn(
        "layers.crs.gcj02_misalignment is deprecated and misses off-road layers; use "
        "layers.alignment.gcj02_alignment(gdf, reference).looks_gcj02",
        DeprecationWarning,
        stacklevel=2,
    )
    coords = shapely.get_coordinates(np.asarray(gdf.geometry.values))
    if len(coords) == 0 or len(reference) == 0 or out_of_china(*coords.mean(axis=0)):
        return None
    rng = np.random.default_rng(seed)
    coords = coords[rng.choice(len(coords), size=min(sample, len(coords)), replace=False)]
    metric = metric_crs(float(coords[:, 0].mean()))
    ref = reference.geometry.to_crs(metric).values
    tree = shapely.STRtree(ref)

    def median_distance(lon, lat) -> float:
        pts = gpd.GeoSeries(shapely.points(lon, lat), crs=4326).to_crs(metric).values
        _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
        return float(np.median(dist))

    as_given = median_distance(coords[:, 0], coords[:, 1])
    converted = median_distance(*gcj02_to_wgs84(coords[:, 0], coords[:, 1]))
    if converted * 4 < as_given and as_given - converted > 10:
        return as_given, converted
    return None
