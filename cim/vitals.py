"""City vital signs (城市运行数字体征): indicators with thresholds, computed per spatial unit.

An :class:`Indicator` names a formula from :data:`FORMULAS` with its parameters, warn and
alarm thresholds with a direction, an update frequency and a data source. A registry of them
is read from YAML (:func:`load_registry`; ``cim/vitals.yaml`` ships 22). :func:`compute`
(or ``city.vitals(level)``) evaluates every indicator for each district, street, community or
grid cell, or for the whole city, and judges it ok / warn / alarm.

A ratio over an empty unit (no roads, no buildings) is not zero: its value is missing and
its status ``no_data``, with the reason in ``note``; so is an indicator whose source data is
absent (no shelters in ``facilities``). Points and buildings count in the unit that holds a
point on their surface; roads are cut at unit boundaries.
"""

from __future__ import annotations

import functools
import inspect
import math
import typing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import layers
import routing
from cim.atomic import atomic_path
from cim.config import check_fields, check_types, read_entries
from cim.coverage import LEVELS as UNIT_LAYERS
from cim.filters import FilterError, check_filter, filter_mask
from cim.model import CityModel
from layers.schema import FLOOR_HEIGHT_M

__all__ = [
    "DIMENSIONS",
    "FORMULAS",
    "LEVELS",
    "REGISTRY",
    "Indicator",
    "VitalsError",
    "compute",
    "load_registry",
    "save_snapshot",
]

REGISTRY = Path(__file__).with_name("vitals.yaml")
EDGE_M = 0.5  # a point this close to a unit counts in it (a station on the boundary road)
DIMENSIONS = ("公共管理", "公共服务", "公共安全", "经济运行")
DIRECTIONS = ("up", "down", "none")
LEVELS = ("city", *UNIT_LAYERS)
FILTERS = ("where", "targets_where", "stations")  # parameters that hold a cim.filters filter
COLUMNS = [
    "indicator_id",
    "unit_code",
    "level",
    "value",
    "status",
    "name",
    "unit",
    "dimension",
    "unit_name",
    "warn",
    "alarm",
    "note",
]


class VitalsError(layers.InputError):
    """A registry or formula that cannot be evaluated; the message says which and why."""


class _MissingDataError(Exception):
    """The source data of an indicator is absent: every unit gets ``no_data``."""


@dataclass(frozen=True)
class Indicator:
    """One vital sign: what it measures, how it is computed and when it is alarming."""

    id: str
    name: str
    unit: str
    dimension: str
    formula: str
    params: dict = field(default_factory=dict)
    direction: str = "none"
    warn: float | None = None
    alarm: float | None = None
    levels: tuple[str, ...] = LEVELS
    frequency: str = "daily"
    source: str = ""

    def __post_init__(self) -> None:
        where = f"indicator {self.id!r}"
        check_fields(self, label=where, error=VitalsError)
        if self.dimension not in DIMENSIONS:
            raise VitalsError(f"{where}: dimension must be one of {', '.join(DIMENSIONS)}")
        if self.direction not in DIRECTIONS:
            raise VitalsError(f"{where}: direction must be up, down or none")
        if self.formula not in FORMULAS:
            raise VitalsError(
                f"{where}: unknown formula {self.formula!r}; known: {', '.join(sorted(FORMULAS))}"
            )
        if self.direction != "none":
            if self.warn is None or self.alarm is None:
                raise VitalsError(f"{where}: direction {self.direction} needs warn and alarm")
            if (self.alarm > self.warn) == (self.direction == "up") and self.alarm != self.warn:
                raise VitalsError(
                    f"{where}: with direction {self.direction}, alarm ({self.alarm}) must lie "
                    f"{'below' if self.direction == 'up' else 'above'} warn ({self.warn})"
                )
        bad = set(self.levels) - set(LEVELS)
        if bad:
            raise VitalsError(f"{where}: unknown level {sorted(bad)[0]!r}; use {', '.join(LEVELS)}")
        self._check_params(where)

    def _check_params(self, where: str) -> None:
        """The formula's parameters: known names, every required one, their types, filters."""
        formula = FORMULAS[self.formula]
        accepted = {
            name: p for name, p in inspect.signature(formula).parameters.items() if name != "ctx"
        }
        unknown = [name for name in self.params if name not in accepted]
        if unknown:
            raise VitalsError(
                f"{where}: formula {self.formula!r} has no parameter {unknown[0]!r}; "
                f"it takes {', '.join(accepted)}"
            )
        missing = [n for n, p in accepted.items() if p.default is p.empty and n not in self.params]
        if missing:
            raise VitalsError(
                f"{where}: formula {self.formula!r} needs parameter {missing[0]!r}; "
                f"it takes {', '.join(accepted)}"
            )
        check_types(
            self.params, typing.get_type_hints(formula), label=f"{where}: params", error=VitalsError
        )
        profile = self.params.get("profile")
        if profile is not None and profile not in routing.PROFILES:
            raise VitalsError(
                f"{where}: unknown profile {profile!r}; choose one of {', '.join(routing.PROFILES)}"
            )
        for name in FILTERS:
            if self.params.get(name) is not None:
                try:
                    check_filter(self.params[name])
                except FilterError as err:
                    raise VitalsError(f"{where}: {name}: {err}") from None

    def status(self, values: pd.Series) -> pd.Series:
        """ok / warn / alarm per value, ``no_data`` where the value is missing."""
        out = pd.Series("ok", index=values.index, dtype=object)
        if self.direction == "up":
            out[values < self.warn] = "warn"
            out[values < self.alarm] = "alarm"
        elif self.direction == "down":
            out[values > self.warn] = "warn"
            out[values > self.alarm] = "alarm"
        out[values.isna()] = "no_data"
        return out


def load_registry(path=REGISTRY) -> dict[str, Indicator]:
    """Indicators from a YAML file with a top-level ``indicators:`` list.

    Examples
    --------
    >>> registry = load_registry()
    >>> len(registry), registry["sensor_density"].name
    (22, '物联感知设备密度')
    """
    registry: dict[str, Indicator] = {}
    for indicator in read_entries(
        path, Indicator, key="indicators", what="indicator", name="id", error=VitalsError
    ):
        if indicator.id in registry:
            raise VitalsError(f"{path}: indicator {indicator.id!r}: the id is used twice")
        registry[indicator.id] = indicator
    return registry


class _Context:
    """The units of one level in a metric CRS, and the per-unit sums the formulas share."""

    def __init__(self, city: CityModel, level: str) -> None:
        self.city = city
        present = city.layers
        name = next((n for n in ("roads", "buildings", "districts") if n in present), None)
        if name is None:
            raise layers.EmptyLayerError("city", "vital signs need roads, buildings or districts")
        reference = present[name]
        self.crs = city.metric_crs
        if level == "city":
            if "districts" in present:
                shape = shapely.union_all(present["districts"].to_crs(self.crs).geometry.values)
            else:
                shape = shapely.convex_hull(
                    shapely.union_all(reference.to_crs(self.crs).geometry.values)
                )
            units = gpd.GeoDataFrame(
                {"code": ["city"], "name": [city.name]}, geometry=[shape], crs=self.crs
            )
        else:
            units = city.layer(UNIT_LAYERS[level]).to_crs(self.crs)
            if "name" not in units:
                units = units.assign(name=None)
        self.units = units[["code", "name", "geometry"]].assign(code=units["code"].astype(str))
        self.index = pd.Index(self.units["code"])
        self.area_km2 = pd.Series(self.units.area.to_numpy() / 1e6, index=self.index)

    def rows(self, layer: str, where: str | None = None) -> gpd.GeoDataFrame:
        """The layer in the metric CRS with its unit in ``_unit``, filtered by ``where``."""
        frame = self._placed(layer)
        if where is None:
            return frame
        try:
            return frame[filter_mask(frame.drop(columns="_unit"), where, layer=layer)]
        except FilterError as err:
            raise VitalsError(str(err)) from None

    @functools.cache  # noqa: B019  (one context per compute call)
    def _placed(self, layer: str) -> gpd.GeoDataFrame:
        """Each row of ``layer`` with the unit holding a point on its surface, within
        ``EDGE_M``; on a shared edge, the first unit. Projected and joined once per layer."""
        if layer not in self.city.layers:
            raise _MissingDataError(f"the city has no {layer} layer")
        frame = self.city.layer(layer).to_crs(self.crs)
        points = gpd.GeoDataFrame(geometry=frame.geometry.representative_point(), crs=self.crs)
        joined = points.sjoin(
            self.units[["code", "geometry"]], predicate="dwithin", distance=EDGE_M, how="left"
        )
        return frame.assign(_unit=joined.groupby(level=0)["code"].first().reindex(frame.index))

    def total(self, frame: gpd.GeoDataFrame, values=1.0) -> pd.Series:
        """Sum of ``values`` (1 a row by default) over the rows of ``frame`` per unit."""
        weights = pd.Series(values, index=frame.index, dtype=float)
        return weights.groupby(frame["_unit"]).sum().reindex(self.index, fill_value=0.0)

    def count(self, layer: str, where: str | None = None) -> pd.Series:
        return self.total(self.rows(layer, where))

    @functools.cached_property
    def road_km(self) -> pd.Series:
        return self.length("roads")

    def length(self, layer: str) -> pd.Series:
        lines = self.rows(layer)
        pairs = lines[["geometry"]].sjoin(self.units[["code", "geometry"]], predicate="intersects")
        cut = shapely.intersection(
            pairs.geometry.to_numpy(),
            self.units.set_index("code").geometry.loc[pairs["code"]].to_numpy(),
        )
        return (
            # to the millimetre: a road ending on a boundary leaves float dust next door
            pd.Series(np.round(shapely.length(cut), 3) / 1000.0, index=pairs["code"].to_numpy())
            .groupby(level=0)
            .sum()
            .reindex(self.index, fill_value=0.0)
        )

    def floor_area(self, layer: str, where: str | None = None) -> pd.Series:
        buildings = self.rows(layer, where)
        unknown = pd.Series(np.nan, index=buildings.index)  # a layer without the column
        floors = pd.to_numeric(buildings.get("floors", unknown), errors="coerce")
        heights = pd.to_numeric(buildings.get("height_m", unknown), errors="coerce")
        floors = floors.fillna((heights / FLOOR_HEIGHT_M).round()).fillna(1.0).clip(lower=1.0)
        return self.total(buildings, buildings.area * floors)

    @functools.cached_property
    def first_units(self) -> pd.DataFrame:
        from cim.response import dispatch_incidents

        routes = dispatch_incidents(self.city)
        first = routes[routes["rank"].isna() | (routes["rank"] == 1)]
        return first.drop_duplicates("incident_id").set_index("incident_id")


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, missing (not zero, not infinite) where the denominator is 0."""
    return numerator / denominator.where(denominator > 0)


def _count(ctx: _Context, *, layer: str, where: str | None = None) -> pd.Series:
    return ctx.count(layer, where)


def _count_per_area(ctx: _Context, *, layer: str, where: str | None = None) -> pd.Series:
    return _ratio(ctx.count(layer, where), ctx.area_km2)


def _count_per_road_km(ctx: _Context, *, layer: str, where: str | None = None) -> pd.Series:
    return _ratio(ctx.count(layer, where), ctx.road_km)


def _share(ctx: _Context, *, layer: str, where: str) -> pd.Series:
    return _ratio(ctx.count(layer, where), ctx.count(layer))


def _per_10k(ctx: _Context, *, layer: str, per: str, where: str | None = None) -> pd.Series:
    return _ratio(ctx.count(layer, where) * 10_000, ctx.count(per))


def _length_per_area(ctx: _Context, *, layer: str) -> pd.Series:
    return _ratio(ctx.length(layer), ctx.area_km2)


def _footprint_share(ctx: _Context, *, layer: str) -> pd.Series:
    buildings = ctx.rows(layer)
    return _ratio(ctx.total(buildings, buildings.area / 1e6), ctx.area_km2)


def _floor_area_ratio(ctx: _Context, *, layer: str) -> pd.Series:
    return _ratio(ctx.floor_area(layer) / 1e6, ctx.area_km2)


def _floor_area_share(ctx: _Context, *, layer: str, where: str) -> pd.Series:
    return _ratio(ctx.floor_area(layer, where), ctx.floor_area(layer))


def _near_share(
    ctx: _Context,
    *,
    layer: str,
    targets: str,
    targets_where: str,
    distance_m: float,
    where: str | None = None,
) -> pd.Series:
    found = ctx.rows(targets, targets_where)
    if found.empty:
        raise _MissingDataError(f"no {targets} with {targets_where}")
    rows = ctx.rows(layer, where)
    tree = shapely.STRtree(found.geometry.to_numpy())
    hits = tree.query(rows.geometry.to_numpy(), predicate="dwithin", distance=distance_m)
    near = np.zeros(len(rows), dtype=float)
    near[np.unique(hits[0])] = 1.0
    return _ratio(ctx.total(rows, near), ctx.total(rows))


def _reached_share(
    ctx: _Context, *, layer: str, stations: str, profile: str, cutoff_s: float
) -> pd.Series:
    units = ctx.rows("facilities", stations)
    if units.empty:
        raise _MissingDataError(f"no facilities with {stations}")
    rows = ctx.rows(layer)
    covered = ctx.city.router(profile=profile).coverage(
        units.to_crs(4326), rows.to_crs(4326), cutoff=cutoff_s
    )
    return _ratio(ctx.total(rows, covered["covered"].to_numpy(dtype=float)), ctx.total(rows))


def _incidents_with_eta(ctx: _Context, where: str | None) -> tuple[gpd.GeoDataFrame, pd.Series]:
    incidents = ctx.rows("incidents", where)
    eta = ctx.first_units["eta_s"].reindex(incidents["id"]).to_numpy()
    return incidents, pd.Series(eta, index=incidents.index)


def _mean_eta(ctx: _Context, *, where: str | None = None) -> pd.Series:
    incidents, eta = _incidents_with_eta(ctx, where)
    reached = eta.notna()
    minutes = ctx.total(incidents[reached], eta[reached] / 60.0)
    return _ratio(minutes, ctx.total(incidents[reached]))


def _eta_within_share(ctx: _Context, *, cutoff_s: float, where: str | None = None) -> pd.Series:
    incidents, eta = _incidents_with_eta(ctx, where)
    return _ratio(ctx.total(incidents, (eta <= cutoff_s).astype(float)), ctx.total(incidents))


FORMULAS = {
    "count": _count,
    "count_per_area": _count_per_area,
    "count_per_road_km": _count_per_road_km,
    "share": _share,
    "per_10k": _per_10k,
    "length_per_area": _length_per_area,
    "footprint_share": _footprint_share,
    "floor_area_ratio": _floor_area_ratio,
    "floor_area_share": _floor_area_share,
    "near_share": _near_share,
    "reached_share": _reached_share,
    "mean_eta": _mean_eta,
    "eta_within_share": _eta_within_share,
}


def _empty_note(value: float, note: str | None) -> str | None:
    if note:
        return note
    return (
        "empty unit: nothing to divide by"
        if isinstance(value, float) and math.isnan(value)
        else None
    )


def compute(
    city: CityModel,
    level: str = "district",
    *,
    registry: dict[str, Indicator] | None = None,
    indicators: list[str] | None = None,
) -> pd.DataFrame:
    """Every indicator of ``registry`` for every unit of ``level``.

    Parameters
    ----------
    city : CityModel
    level : {"city", "district", "street", "community", "grid"}
    registry : dict, optional
        From :func:`load_registry`; the shipped indicators by default.
    indicators : list of str, optional
        Compute only these ids.

    Returns
    -------
    DataFrame
        ``indicator_id, unit_code, level, value, status`` (ok / warn / alarm / no_data), then
        ``name, unit, dimension, unit_name, warn, alarm, note``.

    Examples
    --------
    >>> import cim
    >>> table = cim.sample_city().vitals("city", indicators=["sensor_online_share"])
    >>> table[["indicator_id", "unit_code", "value", "status"]].round(3).to_dict("records")
    [{'indicator_id': 'sensor_online_share', 'unit_code': 'city', 'value': 0.948, 'status': 'warn'}]
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    registry = load_registry() if registry is None else registry
    chosen = list(registry) if indicators is None else indicators
    unknown = [i for i in chosen if i not in registry]
    if unknown:
        raise KeyError(f"unknown indicator {unknown[0]!r}; known: {', '.join(registry)}")
    ctx = _Context(city, level)
    frames = []
    for indicator in (registry[i] for i in chosen if level in registry[i].levels):
        note = None
        try:
            values = FORMULAS[indicator.formula](ctx, **indicator.params)
        except _MissingDataError as err:
            values, note = pd.Series(np.nan, index=ctx.index), str(err)
        except VitalsError as err:
            raise VitalsError(f"indicator {indicator.id!r}: {err}") from None
        values = values.reindex(ctx.index).astype(float)
        frames.append(
            pd.DataFrame(
                {
                    "indicator_id": indicator.id,
                    "unit_code": ctx.index,
                    "level": level,
                    "value": values.to_numpy(),
                    "status": indicator.status(values).to_numpy(),
                    "name": indicator.name,
                    "unit": indicator.unit,
                    "dimension": indicator.dimension,
                    "unit_name": ctx.units["name"].to_numpy(),
                    "warn": indicator.warn,
                    "alarm": indicator.alarm,
                    "note": [_empty_note(v, note) for v in values],
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def save_snapshot(table: pd.DataFrame, path, *, at: datetime | None = None) -> pd.DataFrame:
    """Append ``table`` with a ``computed_at`` time to the history in ``path`` (Parquet).

    The file is rewritten atomically, so a crash leaves the previous history whole.
    Returns the whole history, ready for trends (``history.pivot_table(...)``).

    Examples
    --------
    >>> import cim, tempfile
    >>> table = cim.sample_city().vitals("city", indicators=["sensor_density"])
    >>> path = tempfile.mkdtemp() + "/vitals.parquet"
    >>> _ = save_snapshot(table, path, at=datetime(2026, 7, 1, tzinfo=timezone.utc))
    >>> len(save_snapshot(table, path)["computed_at"].unique())
    2
    """
    stamp = pd.Timestamp(at or datetime.now(timezone.utc))
    snapshot = table.assign(computed_at=stamp)
    path = Path(path)
    history = pd.concat([pd.read_parquet(path), snapshot]) if path.exists() else snapshot
    history = history.reset_index(drop=True)
    with atomic_path(path) as tmp:
        history.to_parquet(tmp, index=False)
    return history
