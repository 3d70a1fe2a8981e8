"""Vital signs with layers too large for one machine (tens of millions of sensors).

Each GeoParquet partition of a large point layer is placed in the units of the level on a
worker, by :func:`cim.vitals.place` (the rule :func:`cim.vitals.compute` uses), and only each
row's unit and the columns the indicators' filters read come back; the indicators are then
computed by :func:`cim.vitals.compute` with those rows standing in for the layer, so the
values, statuses and notes are the ones an in-process run on the whole layer gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow
import pyarrow.parquet

import layers
from cim.distributed.partitions import partition_paths
from cim.filters import filter_columns
from cim.model import CityModel
from cim.vitals import FILTERS, Indicator, compute, load_registry, place
from layers.units import UNIT_LAYERS

__all__ = ["COUNTING", "vital_signs"]

COUNTING = ("count", "count_per_area", "count_per_road_km", "share", "per_10k")


def _uses(indicator: Indicator, layer: str) -> bool:
    return layer in indicator.params.values()


def _columns(indicators: list[Indicator], layer: str) -> list[str]:
    """The columns of ``layer`` that the indicators' filters read."""
    columns: dict[str, None] = {}
    for indicator in indicators:
        if indicator.params.get("layer") != layer:
            continue
        for name in FILTERS:
            if indicator.params.get(name):
                columns.update(dict.fromkeys(filter_columns(indicator.params[name])[0]))
    return list(columns)


def _read(path: Path, columns: list[str]) -> gpd.GeoDataFrame:
    try:
        present = set(pyarrow.parquet.read_schema(path).names)
        return gpd.read_parquet(path, columns=[c for c in columns if c in present] + ["geometry"])
    except (ValueError, OSError, pyarrow.ArrowException) as err:
        raise layers.InputError(f"{path}: not a readable GeoParquet partition ({err})") from None


def _placed(path: Path, columns: list[str], units: gpd.GeoDataFrame) -> pd.DataFrame:
    """One partition's rows: their filter columns and ``_unit`` (runs on a worker)."""
    frame = _read(path, columns).to_crs(units.crs).reset_index(drop=True)
    unit = place(frame, units)
    return pd.DataFrame(frame.drop(columns="geometry")).assign(_unit=unit)


def _stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The partitions' rows as one frame, numbered from 0 (rows are told apart by number)."""
    return pd.concat(parts, ignore_index=True)


def vital_signs(
    city: CityModel,
    level: str = "district",
    *,
    partitioned: Mapping[str, object],
    registry: dict[str, Indicator] | None = None,
    indicators: list[str] | None = None,
    client=None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """:func:`cim.vitals.compute` with some layers read from GeoParquet partitions.

    Parameters
    ----------
    city : CityModel
        The city: its units, roads, buildings and the layers not given as partitions.
    level : {"district", "street", "community", "grid"}
        The units (``city`` is not offered: its one unit is built from the roads).
    partitioned : dict
        Layer name → a folder, glob or list of its GeoParquet partitions (e.g. ``sensors``).
        The indicators on such a layer must count rows (:data:`COUNTING`).
    registry, indicators
        As in :func:`cim.vitals.compute`; by default every indicator of the registry.
    client : distributed.Client, optional
        Where the partitions are placed; here when None.
    progress : callable, optional
        Called with 1 as each partition is placed.

    Returns
    -------
    DataFrame
        As :func:`cim.vitals.compute`.

    Examples
    --------
    >>> import cim
    >>> from cim.paths import SAMPLE_DIR
    >>> city = cim.sample_city()
    >>> table = vital_signs(city, "district", indicators=["sensor_online_share"],
    ...                     partitioned={"sensors": SAMPLE_DIR / "sensors.parquet"})
    >>> table.equals(city.vitals("district", indicators=["sensor_online_share"]))
    True
    """
    if level not in UNIT_LAYERS:
        raise layers.InputError(
            f"level must be one of {', '.join(UNIT_LAYERS)} for partitioned layers, not {level!r}"
        )
    registry = load_registry() if registry is None else registry
    chosen = [registry[i] for i in (list(registry) if indicators is None else indicators)]
    for name in partitioned:
        for indicator in chosen:
            if _uses(indicator, name) and indicator.formula not in COUNTING:
                raise layers.InputError(
                    f"indicator {indicator.id!r} computes {indicator.formula} on {name}, which "
                    f"needs the whole layer; a partitioned layer serves {', '.join(COUNTING)}"
                )
    units = city.layer(UNIT_LAYERS[level]).to_crs(city.metric_crs)
    units = units[["code", "geometry"]].assign(code=units["code"].astype(str))
    placed = {}
    for name, source in partitioned.items():
        paths = partition_paths(source)
        columns = _columns(chosen, name)
        if client is None:
            parts = []
            for path in paths:
                parts.append(_placed(path, columns, units))
                if progress:
                    progress(1)
        else:
            from distributed import as_completed

            shared = client.scatter(units, broadcast=True, hash=False)
            futures = [client.submit(_placed, p, columns, shared, pure=False) for p in paths]
            for future in as_completed(futures):
                future.result()  # raises a partition's error here
                if progress:
                    progress(1)
            parts = client.gather(futures)
        placed[name] = _stack(parts)
    return compute(city, level, registry=registry, indicators=indicators, placed=placed)
