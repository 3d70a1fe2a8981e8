"""Sensor counts per unit over a sensors table too large for one machine, on dask-geopandas.

The sensors come as GeoParquet partitions; each partition's points are joined to the units
with :func:`dask_geopandas.sjoin` (partitions whose bounding box meets no unit are skipped,
from the GeoParquet metadata), counted per unit and kind, and only those counts travel to
the client. The result equals the count columns of :func:`cim.coverage.sensor_coverage`
for the same sensors: online sensors only, a point on a border between two units counted
once (in the unit listed first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet
import shapely

import layers
from cim.coverage import TARGET_DENSITY, count_table
from cim.distributed.partitions import partition_paths
from cim.model import CityModel
from layers.units import UNIT_LAYERS, unit_layer

__all__ = ["sensor_counts"]

_COUNTS = {"level": "object", "unit": "int64", "kind": "object", "n": "int64"}


def _online(frame: gpd.GeoDataFrame, kinds: tuple[str, ...] | None):
    """The online sensors (of ``kinds``), as :func:`cim.coverage.sensor_coverage` counts them."""
    keep = frame["status"].astype(str).str.lower().eq("online")
    if kinds is not None:
        keep &= frame["kind"].isin(list(kinds))
    return frame[keep]


def _counts(joined: pd.DataFrame, level: str) -> pd.DataFrame:
    """Points per (unit, kind) from one partition's join: each point in its first unit."""
    first = joined.groupby(level=0, sort=False).agg(unit=("_unit", "min"), kind=("kind", "first"))
    counts = first.groupby(["unit", "kind"], sort=False).size().rename("n").reset_index()
    return counts.assign(level=level)[list(_COUNTS)].astype(_COUNTS)


def _kinds(frame: pd.DataFrame) -> pd.DataFrame:
    """The kinds present (counted with unit -1: in no unit, a kind still makes a column)."""
    return pd.DataFrame({"level": "", "unit": -1, "kind": frame["kind"].unique(), "n": 0}).astype(
        _COUNTS
    )


def _unreadable(where, err: Exception) -> layers.InputError:
    return layers.InputError(f"{where}: not a readable GeoParquet sensors partition ({err})")


def _file_kinds(path: str, kinds: tuple[str, ...] | None) -> pd.DataFrame:
    return _kinds(_online(pd.read_parquet(path, columns=["kind", "status"]), kinds))


def _in_process(path: Path, units: dict[str, gpd.GeoDataFrame], crs, kinds) -> pd.DataFrame:
    try:
        frame = gpd.read_parquet(path, columns=["kind", "status", "geometry"])
    except (ValueError, OSError, pyarrow.ArrowException) as err:
        raise _unreadable(path, err) from None
    points = _online(frame, kinds)
    points = points[["kind", "geometry"]].to_crs(crs)
    parts = [_kinds(points)]
    for level, shapes in units.items():
        joined = points.sjoin(shapes, predicate="intersects", how="inner")
        parts.append(_counts(joined, level))
    return pd.concat(parts, ignore_index=True)


def _on_cluster(paths: list[Path], units: dict[str, gpd.GeoDataFrame], crs, kinds, client):
    """One delayed count table per (partition, level), from dask-geopandas joins."""
    import dask
    import dask_geopandas

    for path in paths:  # a corrupt file is named here, before any work starts
        try:
            pyarrow.parquet.read_schema(path)
        except (OSError, pyarrow.ArrowException) as err:
            raise _unreadable(path, err) from None
    files = [str(p) for p in paths]
    # the kinds from their two text columns alone: no geometry read or projected for them
    delayed = [dask.delayed(_file_kinds)(path, kinds) for path in files]
    points = dask_geopandas.read_parquet(files, columns=["kind", "status", "geometry"])
    points = points.map_partitions(_online, kinds)[["kind", "geometry"]].to_crs(crs)
    for level, shapes in units.items():
        right = dask_geopandas.from_geopandas(shapes, npartitions=1)
        right.calculate_spatial_partitions()
        joined = dask_geopandas.sjoin(points, right, predicate="intersects", how="inner")
        delayed += joined.map_partitions(_counts, level, meta=_COUNTS).to_delayed()
    return client.compute(delayed)


def sensor_counts(
    city: CityModel,
    sensors,
    *,
    levels: Iterable[str] = tuple(UNIT_LAYERS),
    target_density: float = TARGET_DENSITY,
    kinds: Iterable[str] | None = None,
    client=None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Online sensors per unit and kind, and their density, from partitioned sensors.

    Parameters
    ----------
    city : CityModel
        Holds the unit layers of ``levels`` (and gives the metric CRS).
    sensors : path or glob
        GeoParquet partitions of a ``sensors`` layer (``kind``, ``status``, points in
        EPSG:4326), e.g. from :func:`cim.distributed.scale_data.write_scale_data`.
    levels, target_density, kinds
        As in :func:`cim.coverage.sensor_coverage`.
    client : distributed.Client, optional
        Run on this cluster with dask-geopandas; partition by partition here when None.
    progress : callable, optional
        Called with 1 as each partition (each partition and level on a cluster) is done.

    Returns
    -------
    DataFrame
        ``unit_code, level, name, area_km2, sensors, density_per_km2``, ``sensors_<kind>``
        per kind and ``below_target``: the same values as those columns of
        :func:`cim.coverage.sensor_coverage`.

    Examples
    --------
    >>> import cim
    >>> from cim.paths import SAMPLE_DIR
    >>> table = sensor_counts(cim.sample_city(), SAMPLE_DIR / "sensors.parquet", levels=["district"])
    >>> int(table["sensors"].sum())
    1305
    """
    paths = partition_paths(sensors)
    kinds = None if kinds is None else tuple(kinds)
    crs = city.metric_crs
    units = {}
    for level in levels:
        name = unit_layer(level)
        if name in city.layers:
            shapes = city.layer(name).to_crs(crs)
            units[level] = gpd.GeoDataFrame(
                {"_unit": np.arange(len(shapes))}, geometry=shapes.geometry.values, crs=crs
            )
    if not units:
        raise layers.MissingError(
            f"the city has none of the unit layers {', '.join(unit_layer(lv) for lv in levels)}"
        )
    if client is None:
        parts = []
        for path in paths:
            parts.append(_in_process(path, units, crs, kinds))
            if progress:
                progress(1)
    else:
        from distributed import as_completed

        parts = []
        for future in as_completed(_on_cluster(paths, units, crs, kinds, client)):
            parts.append(future.result())
            if progress:
                progress(1)
    counts = pd.concat(parts, ignore_index=True)
    all_kinds = sorted(counts["kind"].unique())
    return pd.concat(
        [
            _table(city, level, shapes, counts, all_kinds, target_density)
            for level, shapes in units.items()
        ],
        ignore_index=True,
    )


def _table(city, level, shapes, counts, all_kinds, target_density) -> pd.DataFrame:
    here = counts[counts["level"].eq(level)]
    units = city.layer(unit_layer(level))

    def per_unit(rows: pd.DataFrame) -> np.ndarray:
        return np.bincount(rows["unit"], weights=rows["n"], minlength=len(units)).astype(np.int64)

    per_kind = {k: per_unit(here[here["kind"].eq(k)]) for k in all_kinds}
    area = shapely.area(shapes.geometry.values)
    return count_table(units, level, area, per_kind, target_density=target_density)
