"""Waterlogging (内涝): depressions of a DEM, ponding in a rainfall scenario, roads it closes.

A DEM GeoTIFF is read with rasterio; depressions (sinks) are found by filling the surface
to its spill levels (priority-flood, :mod:`cim.priority_flood`) and measured:
depth and storage volume. A rainfall scenario (intensity, duration, runoff coefficient,
drainage capacity) sends each cell's excess runoff to its nearest depression (a planning
simplification of flow routing) and fills it along its own elevation-volume curve. Roads
under water get the depth found along them; a road deeper than a profile's
``max_water_depth_cm`` is closed for it (GB 51222-2017 calls a lane waterlogged above 15 cm).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import ndimage

import layers
import routing
from cim.atomic import atomic_path
from layers.crs import metric_crs
from layers.standards import WATERLOGGED_CM
from routing.closures import FLOODED_REACH_M

if TYPE_CHECKING:
    import rasterio

__all__ = [
    "DEM",
    "FLOODED_REACH_M",
    "WATERLOGGED_CM",
    "Basins",
    "Readings",
    "check_coverage",
    "classify_readings",
    "depressions",
    "find_basins",
    "ponding",
    "read_dem",
    "road_closures",
    "synthetic_dem",
]


class DEMError(layers.InputError):
    """The elevation model cannot be used as it is."""


@dataclass
class DEM:
    """Elevations (metres, float32 or float64; NaN where unknown) on a square grid in a metric CRS.

    ``synthetic`` is true when the GeoTIFF is tagged ``SYNTHETIC=yes`` (as
    :func:`synthetic_dem` tags its output): made up, not surveyed.
    """

    elevation: np.ndarray
    transform: rasterio.Affine
    crs: CRS
    synthetic: bool = False

    @property
    def cell_m(self) -> float:
        return abs(self.transform.a)

    @property
    def cell_area(self) -> float:
        return abs(self.transform.a * self.transform.e)


def read_dem(path) -> DEM:
    """Read a single-band DEM GeoTIFF.

    Nodata cells become NaN and act as outlets (water reaching them leaves the map). The DEM
    must carry a projected CRS with square pixels; reproject others first, e.g.
    ``gdalwarp -t_srs EPSG:4544 -tr 5 5 in.tif out.tif``. Its CRS need not be the layers':
    ponds come back in EPSG:4326 and roads are projected into the DEM's CRS when compared.

    The elevations keep the band's precision in the narrowest float type that holds every
    value exactly: a float32 band stays float32 (half the memory of float64, and the filling,
    depressions and ponding work in it), 8- and 16-bit integers become float32, wider
    integers and float64 become float64.

    Examples
    --------
    >>> from cim.sample import SAMPLE_DEM
    >>> read_dem(SAMPLE_DEM).elevation.dtype
    dtype('float32')
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such DEM: {path}")
    import rasterio  # rasterio loads when a DEM is used, not with the module

    with rasterio.open(path) as source:
        if source.crs is None:
            raise DEMError(
                f"{path}: the DEM has no CRS; assign one before use (gdal_edit.py -a_srs EPSG:4544)"
            )
        crs = CRS.from_user_input(source.crs.to_wkt())
        if not crs.is_projected:
            raise DEMError(
                f"{path}: the DEM is in {crs.name}, not a projected CRS in metres; reproject it (gdalwarp -t_srs EPSG:4544)"
            )
        a, e = source.transform.a, source.transform.e
        if not np.isclose(abs(a), abs(e), rtol=1e-6) or source.transform.b or source.transform.d:
            raise DEMError(
                f"{path}: pixels are {abs(a):g} x {abs(e):g} m or rotated; resample to square pixels (gdalwarp -tr)"
            )
        dtype = np.promote_types(source.dtypes[0], np.float32)
        if dtype.kind != "f":
            raise DEMError(
                f"{path}: the band holds {source.dtypes[0]} values, not elevations; "
                "write it as float32 (gdal_translate -ot Float32)"
            )
        elevation = source.read(1, masked=True, out_dtype=dtype).filled(np.nan)
        synthetic = source.tags().get("SYNTHETIC", "").lower() == "yes"
    if np.isnan(elevation).all():
        raise DEMError(f"{path}: every cell is nodata")
    return DEM(elevation, source.transform, crs, synthetic)


def check_coverage(dem: DEM, roads: gpd.GeoDataFrame, *, min_share: float = 0.5) -> float:
    """Share of the road length that lies on DEM cells with data; too little is a :class:`DEMError`.

    Each road counts by its length at its midpoint. A DEM of another place (or mostly nodata
    over the city) would otherwise give ponds and flooded roads that mean nothing.

    Raises
    ------
    DEMError
        When the share is below ``min_share``, giving the DEM's extent and the roads' (lon/lat).

    Examples
    --------
    >>> import cim
    >>> from cim.sample import SAMPLE_DEM
    >>> round(check_coverage(read_dem(SAMPLE_DEM), cim.sample_city().layer("roads")), 2)
    0.91
    """
    import rasterio.transform

    metric = roads.geometry.to_crs(dem.crs).values
    length = shapely.length(metric)
    middle = shapely.get_coordinates(shapely.line_interpolate_point(metric, 0.5, normalized=True))
    rows, cols = (
        np.asarray(v, dtype=int)
        for v in rasterio.transform.rowcol(dem.transform, *middle.T, op=np.floor)
    )
    height, width = dem.elevation.shape
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    on_data = np.zeros(len(length), dtype=bool)
    on_data[inside] = ~np.isnan(dem.elevation[rows[inside], cols[inside]])
    share = float(length[on_data].sum() / length.sum())
    if share < min_share:
        left, bottom, right, top = rasterio.transform.array_bounds(height, width, dem.transform)
        to_lonlat = Transformer.from_crs(dem.crs, 4326, always_xy=True)
        extent = to_lonlat.transform_bounds(left, bottom, right, top)
        raise DEMError(
            f"the DEM covers {share:.0%} of the roads' length (at least {min_share:.0%} needed): "
            f"it spans {_lonlat(extent)}, the roads {_lonlat(roads.total_bounds)}; "
            "use a DEM of this city (cim flood --dem)"
        )
    return share


def synthetic_dem(
    path,
    bounds: tuple[float, float, float, float],
    *,
    crs: int | str | CRS | None = None,
    elevation_m: tuple[float, float] = (512.0, 496.0),
    rivers: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    sinks: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    roads: gpd.GeoDataFrame | None = None,
    street_sinks: int = 6,
    seed: int | np.random.Generator = 0,
    description: str = "synthetic DEM for demonstrations and tests; not survey data",
) -> Path:
    """Write a plausible DEM of ``bounds`` (10 m cells), tagged ``SYNTHETIC=yes``.

    For a city without a surveyed DEM, to show the flood method: a plane falling from
    ``elevation_m[0]`` at the north-west corner to ``elevation_m[1]`` at the south-east,
    shallow valleys (4 m) along ``rivers``, smooth noise (about 0.2 m standard deviation),
    and sinks up to 1.2 m deep at ``sinks`` and 0.8 m deep at the middle of ``street_sinks``
    random ``roads``. The grid extends 200 m beyond ``bounds`` on every side. The sample's
    DEM (``sample_data/build_sample.py``) and the test city of Jinan are made by it.

    Parameters
    ----------
    path : str or Path
        The GeoTIFF to write (atomically).
    bounds : tuple of float
        ``(west, south, east, north)`` in lon/lat (EPSG:4326).
    crs : optional
        The DEM's projected CRS (anything pyproj reads); the CGCS2000 3-degree zone of
        ``bounds`` by default (:func:`layers.crs.metric_crs`).
    elevation_m : tuple of float
        Height of the plane at the north-west and at the south-east corner.
    rivers, sinks, roads : GeoDataFrame or GeoSeries, optional
        River lines, points of known ponding, and roads for the random street sinks
        (any CRS).
    street_sinks : int
        How many roads get a sink at their middle.
    seed : int or numpy.random.Generator
        Seeds the noise and the choice of street sinks.
    description : str
        The GeoTIFF's ``DESCRIPTION`` tag.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "dem.tif"
    >>> dem = read_dem(synthetic_dem(path, (117.01, 36.65, 117.02, 36.66), seed=1))
    >>> dem.crs.to_epsg(), dem.cell_m, dem.synthetic
    (4548, 10.0, True)
    """
    import rasterio.features
    import rasterio.transform

    rng = np.random.default_rng(seed)
    crs = CRS.from_user_input(crs) if crs is not None else metric_crs((bounds[0] + bounds[2]) / 2)
    cell, margin = 10.0, 200.0
    x0, y0, x1, y1 = gpd.GeoSeries([shapely.box(*bounds)], crs=4326).to_crs(crs).total_bounds
    x0, y0 = np.floor(x0 / cell) * cell - margin, np.floor(y0 / cell) * cell - margin
    x1, y1 = np.ceil(x1 / cell) * cell + margin, np.ceil(y1 / cell) * cell + margin
    cols, rows = int((x1 - x0) / cell), int((y1 - y0) / cell)
    transform = rasterio.transform.from_origin(x0, y1, cell, cell)
    gx, gy = np.meshgrid(x0 + (np.arange(cols) + 0.5) * cell, y1 - (np.arange(rows) + 0.5) * cell)
    high, low = elevation_m
    z = high - (high - low) * (((gx - x0) / (x1 - x0)) + ((y1 - gy) / (y1 - y0))) / 2
    if rivers is not None and len(rivers):
        river = rasterio.features.rasterize(
            [(g, 1) for g in rivers.to_crs(crs).geometry],
            out_shape=(rows, cols),
            transform=transform,
            fill=0,
        )
        distance = ndimage.distance_transform_edt(river == 0) * cell
        z -= 4.0 * np.exp(-distance / 120.0)
    z += ndimage.gaussian_filter(rng.normal(size=(rows, cols)), sigma=25) * 15.0
    pits = [] if sinks is None else [(p, 1.2) for p in sinks.to_crs(crs).geometry]
    if roads is not None and street_sinks > 0 and len(roads):
        street = (
            roads.to_crs(crs)
            .sample(min(street_sinks, len(roads)), random_state=int(rng.integers(1 << 30)))
            .geometry.interpolate(0.5, normalized=True)
        )
        pits += [(p, 0.8) for p in street]
    for point, depth in pits:
        r = np.hypot(gx - point.x, gy - point.y)
        z -= np.where(r < 60, depth * np.cos(np.clip(r / 60, 0, 1) * np.pi / 2) ** 2, 0.0)
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": "float32",
        "crs": crs.srs,
        "transform": transform,
        "nodata": -9999.0,
        "compress": "deflate",
        "predictor": 3,
    }
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as target:
        target.write(np.round(z, 2).astype(np.float32), 1)
        target.update_tags(SYNTHETIC="yes", DESCRIPTION=description)
    return Path(path)


def _lonlat(bounds) -> str:
    west, south, east, north = bounds
    return f"lon {west:.3f}–{east:.3f}, lat {south:.3f}–{north:.3f}"


def _filled(dem: DEM) -> np.ndarray:
    """The DEM with every depression filled to its spill level; nodata and the edge drain."""
    from cim.priority_flood import fill_depressions  # numba loads when a DEM is filled

    return fill_depressions(dem.elevation)


def depressions(dem: DEM, *, min_depth_m: float = 0.05) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Depressions deeper than ``min_depth_m``: id, depth, area, storage volume, polygon.

    Returns the depressions (EPSG:4326), with ``synthetic`` true when the DEM is
    (:attr:`DEM.synthetic`, so that maps and files say so), and a label raster (0 outside
    depressions).
    """
    import rasterio.features

    depth = _filled(dem) - dem.elevation
    labels, count = ndimage.label(np.nan_to_num(depth) > 1e-9)
    if count:
        deepest = ndimage.maximum(depth, labels, index=np.arange(1, count + 1))
        keep = np.flatnonzero(deepest >= min_depth_m) + 1
        labels = np.where(np.isin(labels, keep), labels, 0)
        labels, count = ndimage.label(labels > 0)
    index = np.arange(1, count + 1)
    frame = pd.DataFrame(
        {
            "id": index,
            "max_depth_m": ndimage.maximum(depth, labels, index).astype(float) if count else [],
            "area_m2": ndimage.sum(np.ones_like(depth), labels, index) * dem.cell_area
            if count
            else [],
            "storage_m3": ndimage.sum(np.nan_to_num(depth), labels, index) * dem.cell_area
            if count
            else [],
        }
    )
    shapes = {
        int(v): shapely.geometry.shape(g)
        for g, v in rasterio.features.shapes(
            labels.astype(np.int32), mask=labels > 0, transform=dem.transform
        )
    }
    geometry = [shapes.get(i, shapely.Polygon()) for i in index]
    found = gpd.GeoDataFrame(frame.assign(synthetic=dem.synthetic), geometry=geometry, crs=dem.crs)
    return found.to_crs(4326), labels


class Basins(NamedTuple):
    """What every rainfall scenario on one DEM shares: its depressions (:func:`depressions`),
    their label raster, and the depression each cell's runoff goes to (its nearest)."""

    depressions: gpd.GeoDataFrame
    labels: np.ndarray
    catchment: np.ndarray


def find_basins(dem: DEM, *, min_depth_m: float = 0.05) -> Basins:
    """The depressions of ``dem`` deeper than ``min_depth_m`` and the catchment of each.

    :func:`ponding` finds them itself; pass them to it (``basins=``) when several scenarios
    run on one DEM, since they depend on the DEM alone.

    Examples
    --------
    >>> from cim.sample import SAMPLE_DEM
    >>> dem = read_dem(SAMPLE_DEM)
    >>> shared = find_basins(dem)
    >>> len(shared.depressions)
    257
    >>> [int(ponding(dem, rain_mm_h=r, hours=1, basins=shared)[0]["water_m3"].sum()) for r in (60, 120)]
    [30078, 30097]
    """
    found, labels = depressions(dem, min_depth_m=min_depth_m)
    _, nearest = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    return Basins(found, labels, labels[nearest[0], nearest[1]])


def ponding(
    dem: DEM,
    *,
    rain_mm_h: float,
    hours: float,
    runoff: float = 0.9,
    drainage_mm_h: float = 30.0,
    min_depth_m: float = 0.05,
    basins: Basins | None = None,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Water standing in each depression after a rainfall scenario.

    Excess rain ``(rain_mm_h * runoff - drainage_mm_h) * hours`` (never negative) falls on
    every cell and runs to the nearest depression, which fills up to its storage volume.
    ``basins`` (:func:`find_basins` of this DEM) saves finding the depressions again; then
    ``min_depth_m`` is the one they were found with.

    Returns
    -------
    (GeoDataFrame, ndarray)
        Per depression: ``inflow_m3``, ``water_m3``, ``level_m``, ``depth_cm`` (deepest water),
        ``synthetic`` (see :func:`depressions`) and the flooded extent as geometry
        (EPSG:4326); and the water-depth raster (metres).
    """
    for name, value in (
        ("rain_mm_h", rain_mm_h),
        ("hours", hours),
        ("drainage_mm_h", drainage_mm_h),
        ("min_depth_m", min_depth_m),
    ):
        if not (np.isfinite(value) and value >= 0):
            raise layers.InputError(f"{name} must be a finite number ≥ 0, not {value}")
    if not 0 <= runoff <= 1:
        raise layers.InputError(f"runoff is a coefficient between 0 and 1, not {runoff}")
    excess_m = max(0.0, rain_mm_h * runoff - drainage_mm_h) * hours / 1000.0
    if basins is None:
        if excess_m == 0:
            found, _ = depressions(dem, min_depth_m=min_depth_m)
            return _dry(found), np.zeros_like(dem.elevation)
        basins = find_basins(dem, min_depth_m=min_depth_m)
    found, labels, catchment = basins
    water = np.zeros_like(dem.elevation)
    if found.empty or excess_m == 0:
        return _dry(found), water
    import rasterio.features

    valid = ~np.isnan(dem.elevation)
    inflow = np.bincount(catchment[valid], minlength=len(found) + 1)[1:] * dem.cell_area * excess_m
    # each depression's cells, lowest first: one sort by (depression, height)
    cells = labels > 0
    heights, owner = dem.elevation[cells], labels[cells]
    order = np.lexsort((heights, owner))
    sorted_z = heights[order].astype(float)  # sums of many heights need float64
    bounds = np.searchsorted(owner[order], np.arange(1, len(found) + 2))
    levels = np.full(len(found), np.nan)
    stored, deepest = np.zeros(len(found)), np.zeros(len(found))
    for k in range(len(found)):
        z = sorted_z[bounds[k] : bounds[k + 1]]
        volume = np.minimum(inflow[k], found["storage_m3"].iat[k])
        # volume below level h with the j lowest cells wet: A * (j * h - sum(z[:j]))
        cumulative = np.cumsum(z)
        j = np.arange(1, len(z) + 1)
        reach = dem.cell_area * (j * np.append(z[1:], np.inf) - cumulative)
        wet = int(np.searchsorted(reach, volume)) + 1
        level = (volume / dem.cell_area + cumulative[wet - 1]) / wet
        levels[k], stored[k], deepest[k] = level, volume, level - z[0]
    water[cells] = np.maximum(0.0, levels[owner - 1] - heights)
    extent = {
        int(v): shapely.geometry.shape(g)
        for g, v in rasterio.features.shapes(
            labels.astype(np.int32), mask=water > 0, transform=dem.transform
        )
    }
    ponds = found.assign(inflow_m3=inflow, water_m3=stored, level_m=levels, depth_cm=deepest * 100)
    ponds = ponds.set_geometry(
        gpd.GeoSeries([extent.get(i, shapely.Polygon()) for i in ponds["id"]], crs=dem.crs)
        .to_crs(4326)
        .values
    )
    return ponds, water


def _dry(found: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return found.assign(inflow_m3=0.0, water_m3=0.0, level_m=np.nan, depth_cm=0.0)


def road_closures(
    roads: gpd.GeoDataFrame, dem: DEM, water: np.ndarray, *, profiles=None, min_share: float = 0.5
) -> gpd.GeoDataFrame:
    """Road segments under water, with the deepest water along them and who cannot pass.

    A DEM that covers less than ``min_share`` of the roads is refused (:func:`check_coverage`).

    Returns
    -------
    GeoDataFrame
        The flooded part of each affected road (EPSG:4326) with ``depth_cm``,
        ``waterlogged`` (deeper than 15 cm), ``closed_for`` (profiles whose
        ``max_water_depth_cm`` is exceeded) and ``buffer_m`` (:data:`FLOODED_REACH_M`);
        usable as barriers for :meth:`routing.Router.with_closures`, and saved as a file
        (``cim flood``'s closures.geojson) for ``cim dispatch --closures`` with the same effect.
    """
    import rasterio.features

    check_coverage(dem, roads, min_share=min_share)
    profiles = (
        list(routing.PROFILES.values())
        if profiles is None
        else [routing.get_profile(p) for p in profiles]
    )
    wet_shapes = [
        shapely.geometry.shape(g)
        for g, v in rasterio.features.shapes(
            np.uint8(water > 0), mask=water > 0, transform=dem.transform
        )
    ]
    columns = ["name", "highway", "depth_cm", "waterlogged", "closed_for", "buffer_m"]
    if not wet_shapes:
        return gpd.GeoDataFrame(columns=columns, geometry=[], crs=4326)
    wet = shapely.union_all(wet_shapes)
    metric = roads.to_crs(dem.crs)
    lines = shapely.intersection(metric.geometry.values, wet)
    hit = ~shapely.is_empty(lines)
    rows = []
    inverse = ~dem.transform
    for i in np.flatnonzero(hit):
        part = lines[i]
        steps = np.arange(0, part.length + dem.cell_m / 2, dem.cell_m / 2)
        points = shapely.get_coordinates(shapely.line_interpolate_point(part, steps))
        cols = inverse.a * points[:, 0] + inverse.b * points[:, 1] + inverse.c
        rows_ = inverse.d * points[:, 0] + inverse.e * points[:, 1] + inverse.f
        r = np.clip(np.floor(rows_).astype(int), 0, water.shape[0] - 1)
        c = np.clip(np.floor(cols).astype(int), 0, water.shape[1] - 1)
        depth_cm = float(water[r, c].max() * 100)
        if depth_cm <= 0:
            continue
        rows.append(
            {
                "name": metric["name"].iat[i] if "name" in metric.columns else None,
                "highway": metric["highway"].iat[i] if "highway" in metric.columns else None,
                "depth_cm": round(depth_cm, 1),
                "waterlogged": depth_cm > WATERLOGGED_CM,
                "closed_for": [p.name for p in profiles if depth_cm > p.max_water_depth_cm],
                "buffer_m": FLOODED_REACH_M,
                "geometry": part,
            }
        )
    if not rows:
        return gpd.GeoDataFrame(columns=columns, geometry=[], crs=4326)
    return gpd.GeoDataFrame(rows, crs=dem.crs).to_crs(4326)


class Readings(NamedTuple):
    """Classified water-level readings, a summary per sensor, and the rows left out."""

    readings: pd.DataFrame
    sensors: pd.DataFrame
    rejected: pd.DataFrame


def classify_readings(
    readings: pd.DataFrame, *, sensor_col: str = "sensor_id", profiles=None
) -> Readings:
    """Classify water-level readings by GB 51222's 15 cm rule and by the vehicles they stop.

    Parameters
    ----------
    readings : DataFrame
        ``sensor_id`` (or ``sensor_col``), ``observed_at`` and ``depth_cm`` per reading.

    Returns
    -------
    Readings
        ``readings`` with ``waterlogged`` (deeper than 15 cm) and ``closed_for``; ``sensors``
        with the latest and deepest reading and the time spent above 15 cm per sensor
        (readings taken as holding until the next one); ``rejected`` rows with the reason
        (no time, no depth, a negative depth). Nothing is dropped silently.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"sensor_id": ["w1", "w1", "w1"], "depth_cm": [5, 22, 40],
    ...                       "observed_at": ["2026-07-15 08:00", "2026-07-15 08:10", "2026-07-15 08:20"]})
    >>> result = classify_readings(table)
    >>> result.readings["waterlogged"].tolist(), float(result.sensors.loc["w1", "minutes_above_15cm"])
    ([False, True, True], 10.0)
    """
    for column in (sensor_col, "observed_at", "depth_cm"):
        if column not in readings.columns:
            raise layers.MissingError(
                f"readings need a {column!r} column; they have {', '.join(map(str, readings.columns))}"
            )
    profiles = (
        list(routing.PROFILES.values())
        if profiles is None
        else [routing.get_profile(p) for p in profiles]
    )
    table = readings.copy()
    table["observed_at"] = pd.to_datetime(table["observed_at"], errors="coerce")
    depth = pd.to_numeric(table["depth_cm"], errors="coerce")
    reason = pd.Series(None, index=table.index, dtype=object)
    for bad, why in (
        (table["observed_at"].isna(), "missing or unreadable time"),
        (depth.isna(), "missing or non-numeric depth"),
        (depth < 0, "negative depth"),
        (table[sensor_col].isna(), "no sensor id"),
    ):
        reason = reason.where(reason.notna() | ~bad, why)
    rejected = readings.loc[reason.notna()].assign(reason=reason.dropna())
    good = (
        table.loc[reason.isna()]
        .assign(depth_cm=depth[reason.isna()])
        .sort_values([sensor_col, "observed_at"])
    )
    good["waterlogged"] = good["depth_cm"] > WATERLOGGED_CM
    good["closed_for"] = good["depth_cm"].map(
        lambda d: [p.name for p in profiles if d > p.max_water_depth_cm]
    )
    held = good.groupby(sensor_col)["observed_at"].shift(-1) - good["observed_at"]
    good["_above_min"] = np.where(good["waterlogged"], held.dt.total_seconds().fillna(0) / 60, 0.0)
    grouped = good.groupby(sensor_col)
    sensors = pd.DataFrame(
        {
            "readings": grouped.size(),
            "latest_at": grouped["observed_at"].max(),
            "latest_cm": grouped["depth_cm"].last(),
            "max_cm": grouped["depth_cm"].max(),
            "minutes_above_15cm": grouped["_above_min"].sum(),
        }
    )
    sensors["waterlogged_now"] = sensors["latest_cm"] > WATERLOGGED_CM
    return Readings(
        good.drop(columns="_above_min").reset_index(drop=True),
        sensors,
        rejected.reset_index(drop=True),
    )
