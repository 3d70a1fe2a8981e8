"""City vital signs (城市运行数字体征): indicators with thresholds, computed per spatial unit.

An :class:`Indicator` names a formula from :data:`FORMULAS` with its parameters, warn and
alarm thresholds with a direction, an update frequency and a data source. A registry of them
is read from YAML (:func:`load_registry`; ``cim/vitals.yaml`` ships 22). :func:`compute`
(or ``city.vitals(level)``) evaluates every indicator for each district, street, community or
grid cell, or for the whole city, and judges it ok / warn / alarm.

Points and buildings count in the unit that holds a point on their surface; roads are cut at
unit boundaries. Where the data cannot tell, the value is missing and the status ``no_data``
with the reason in ``note``, never a silent 0:

- a layer the city does not have (``the city has no waterlogging_points layer``), or source
  rows an indicator needs and cannot find anywhere (no shelters for ``shelter_500m_share``);
- a density of an inventory (``count_per_area``, ``count_per_road_km``) whose filter matches
  no row of the whole layer: ``the facilities layer has no rows with kind == 'hospital'`` says
  nothing about hospitals; once the layer lists one, a unit without any has a true 0;
- a column a layer may lack (:data:`OPTIONAL_COLUMNS`: ``building`` of buildings) that the
  layer lacks (``the buildings layer has no building column``); any other column a filter
  names and the layer lacks is an error, as a typo is;
- unknown values: a row missing a column its filter reads (``depth_cm`` for
  ``depth_cm > 15``) is neither counted nor in a share's denominator, and the note says how
  many (``1 of 3 waterlogging_points rows have no depth_cm: counted on the 2 known``); when
  every row of the unit is unknown, ``no_data``. A filter that names ``None`` decides missing
  values itself and leaves no row unknown;
- a unit the data does not cover, with no road and no building in it: a 0 found there is
  ``no_data``; what is found there (a sensor) stands;
- a ratio over an empty unit (no roads to divide by): ``empty unit``.

The city level is the union of the districts that hold a road or a building (a sample of two
districts is not judged over the whole prefecture) or, without districts, the convex hull of
the roads (of the buildings without roads), which may take in rivers and fields: the note of
an indicator divided by the area gives it (``area 1,790.0 km²: the convex hull of the roads``).
Rows that lie in no unit are never dropped silently: ``outside`` counts, per indicator, the
rows of the layers it adds up per unit that fall outside every unit.
"""

from __future__ import annotations

import collections
import functools
import inspect
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
from cim.access.network import walking_router
from cim.atomic import atomic_path
from cim.config import check_fields, check_types, read_entries
from cim.filters import FilterError, check_filter, filter_columns, filter_mask
from cim.model import CityModel
from layers.standards import FLOOR_HEIGHT_M
from layers.units import LEVELS, UNIT_LAYERS

__all__ = [
    "DIMENSIONS",
    "FORMULAS",
    "LEVELS",
    "REGISTRY",
    "Indicator",
    "VitalsError",
    "compute",
    "load_registry",
    "place",
    "save_snapshot",
]

REGISTRY = Path(__file__).with_name("vitals.yaml")
EDGE_M = 0.5  # a point this close to a unit counts in it (a station on the boundary road)
UNCOVERED = "no roads or buildings in this unit: the data does not cover it"
DIMENSIONS = ("公共管理", "公共服务", "公共安全", "经济运行")
DIRECTIONS = ("up", "down", "none")
FILTERS = ("where", "targets_where", "stations")  # parameters that hold a cim.filters filter
# Columns a layer may lack (OSM's building tag): a filter on one of them is no_data, not an error
OPTIONAL_COLUMNS = {"buildings": ("building", "floors")}
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
    "outside",
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
    """The units of one level in a metric CRS, the per-unit sums the formulas share, and what
    the current indicator met on the way: rows left out, unknown values, the area it used."""

    def __init__(self, city: CityModel, level: str, placed=None) -> None:
        self.city = city
        self.placed = dict(placed or {})
        present = city.layers
        name = next((n for n in ("roads", "buildings", "districts") if n in present), None)
        if name is None:
            raise layers.MissingError(
                f"{city.name}: vital signs need a roads, buildings or districts layer"
            )
        reference = present[name]
        self.crs = city.metric_crs
        self.area_source = None
        if level == "city":
            if "districts" in present:
                shape, self.area_source = self._covered_districts()
            else:
                shape = shapely.convex_hull(
                    shapely.union_all(reference.to_crs(self.crs).geometry.values)
                )
                self.area_source = (
                    f"the convex hull of the {name} (no districts layer: add one for a true area)"
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
        self._area_km2 = pd.Series(self.units.area.to_numpy() / 1e6, index=self.index)
        self.start()

    def _covered_districts(self) -> tuple[shapely.Geometry, str]:
        """The union of the districts the data covers, and its description."""
        districts = _Context(self.city, "district")
        held = districts.covered.to_numpy()
        text = f"the union of the {held.sum()} districts that hold roads or buildings"
        if not held.all():
            text += f" ({len(held) - held.sum()} of {len(held)} hold none)"
        return shapely.union_all(districts.units.geometry.values[held]), text

    def start(self) -> None:
        """Forget what the previous indicator met."""
        self.outside: set[tuple[str, typing.Hashable]] = set()
        self.notes: dict[str, dict[str, None]] = collections.defaultdict(dict)
        self.unknown_only = pd.Series(False, index=self.index)
        self.used_area = False

    @property
    def area_km2(self) -> pd.Series:
        self.used_area = True
        return self._area_km2

    @functools.cached_property
    def covered(self) -> pd.Series:
        """True where the unit holds a road or a building (every unit when the city has
        neither layer): elsewhere the data says nothing, and a 0 found there is unknown."""
        present = [n for n in ("roads", "buildings") if n in self.city.layers]
        if not present:
            return pd.Series(True, index=self.index)
        found = [self.road_km if n == "roads" else self.count(n) for n in present]
        return sum(found) > 0

    def _filtered(
        self, layer: str, where: str | None, *, track: bool = True
    ) -> tuple[gpd.GeoDataFrame, pd.Series]:
        """The placed layer and, per row, whether ``where`` can be decided on it: a row
        missing a column the filter reads is unknown, unless the filter names ``None``.
        With ``track``, the unknown rows are noted in their units."""
        frame = self._placed(layer)
        if where is None:
            return frame, pd.Series(True, index=frame.index)
        columns, names_missing = filter_columns(where)
        lacking = [c for c in columns if c not in frame and c in OPTIONAL_COLUMNS.get(layer, ())]
        if lacking:
            raise _MissingDataError(f"the {layer} layer has no {lacking[0]} column")
        known = ~frame[[c for c in columns if c in frame]].isna().any(axis=1)
        if names_missing:
            return frame, pd.Series(True, index=frame.index)
        if known.all() or not track:
            return frame, known
        counts = self.total(frame, track=False)
        unknown = self.total(frame[~known], track=False)
        what = " or ".join(columns)
        for code in unknown.index[unknown > 0]:
            n, of = int(unknown[code]), int(counts[code])
            text = (
                f"all {of} {layer} rows have no {what}"
                if n == of
                else f"{n} of {of} {layer} rows have no {what}: counted on the {of - n} known"
            )
            self.notes[code][text] = None
        self.unknown_only |= (unknown > 0) & (unknown == counts)
        return frame, known

    def rows(self, layer: str, where: str | None = None, *, track: bool = True) -> gpd.GeoDataFrame:
        """The layer in the metric CRS with its unit in ``_unit``, filtered by ``where``;
        rows whose filter columns are missing are left out (noted per unit with ``track``)."""
        frame, known = self._filtered(layer, where, track=track)
        if where is None:
            return frame
        try:
            mask = filter_mask(frame.drop(columns=["_unit", "_layer"]), where, layer=layer)
        except FilterError as err:
            raise VitalsError(str(err)) from None
        return frame[mask & known]

    def known(self, layer: str, where: str | None = None) -> gpd.GeoDataFrame:
        """The rows of ``layer`` on which ``where`` can be decided: a share's denominator."""
        frame, known = self._filtered(layer, where)
        return frame[known]

    @functools.cache  # noqa: B019  (one context per compute call)
    def _placed(self, layer: str) -> gpd.GeoDataFrame:
        """Each row of ``layer`` with the unit holding a point on its surface, within
        ``EDGE_M``; on a shared edge, the first unit. Projected and joined once per layer."""
        if layer in self.placed:
            return self.placed[layer].assign(_layer=layer)
        if layer not in self.city.layers:
            raise _MissingDataError(f"the city has no {layer} layer")
        frame = self.city.layer(layer).to_crs(self.crs)
        return frame.assign(_unit=place(frame, self.units), _layer=layer)

    def total(self, frame: gpd.GeoDataFrame, values=1.0, *, track: bool = True) -> pd.Series:
        """Sum of ``values`` (1 a row by default) over the rows of ``frame`` per unit; the
        rows outside every unit are remembered in ``outside``."""
        if track:
            out = frame[frame["_unit"].isna()]
            self.outside.update(zip(out["_layer"], out.index, strict=True))
        weights = pd.Series(values, index=frame.index, dtype=float)
        return weights.groupby(frame["_unit"]).sum().reindex(self.index, fill_value=0.0)

    def count(self, layer: str, where: str | None = None) -> pd.Series:
        return self.total(self.rows(layer, where))

    @functools.cached_property
    def road_km(self) -> pd.Series:
        return self.length("roads")

    def length(self, layer: str) -> pd.Series:
        km, outside = self._cut(layer)
        self.outside.update((layer, i) for i in outside)
        return km

    @functools.cache  # noqa: B019  (one context per compute call)
    def _cut(self, layer: str) -> tuple[pd.Series, pd.Index]:
        """Kilometres of ``layer`` per unit, lines cut at unit boundaries; the lines in none."""
        lines = self._placed(layer)
        pairs = lines[["geometry"]].sjoin(self.units[["code", "geometry"]], predicate="intersects")
        cut = shapely.intersection(
            pairs.geometry.to_numpy(),
            self.units.set_index("code").geometry.loc[pairs["code"]].to_numpy(),
        )
        km = (
            # to the millimetre: a road ending on a boundary leaves float dust next door
            pd.Series(np.round(shapely.length(cut), 3) / 1000.0, index=pairs["code"].to_numpy())
            .groupby(level=0)
            .sum()
            .reindex(self.index, fill_value=0.0)
        )
        return km, lines.index.difference(pairs.index)

    def floor_area(self, buildings: gpd.GeoDataFrame) -> pd.Series:
        unknown = pd.Series(np.nan, index=buildings.index)  # a layer without the column
        floors = pd.to_numeric(buildings.get("floors", unknown), errors="coerce")
        heights = pd.to_numeric(buildings.get("height_m", unknown), errors="coerce")
        floors = floors.fillna((heights / FLOOR_HEIGHT_M).round()).fillna(1.0).clip(lower=1.0)
        return self.total(buildings, buildings.area * floors)

    @functools.cached_property
    def first_units(self) -> pd.DataFrame:
        from cim.response import dispatch_incidents

        routes = dispatch_incidents(self.city)
        return routing.first_units(routes).set_index("incident_id")


def place(frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """The ``code`` of the unit holding a point on each row's surface, within ``EDGE_M``
    (on a shared edge, the first unit); missing for a row in no unit. ``frame`` and
    ``units`` share a metric CRS; ``frame``'s index is unique.

    Examples
    --------
    >>> import cim
    >>> city = cim.sample_city()
    >>> crs = city.metric_crs
    >>> units = city.layer("districts").to_crs(crs).assign(code=lambda d: d["code"].astype(str))
    >>> place(city.layer("facilities").to_crs(crs), units).value_counts().index[0]
    '510108000000'
    """
    points = gpd.GeoDataFrame(geometry=frame.geometry.representative_point(), crs=frame.crs)
    joined = points.sjoin(
        units[["code", "geometry"]], predicate="dwithin", distance=EDGE_M, how="left"
    )
    return joined.groupby(level=0)["code"].first().reindex(frame.index)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, missing (not zero, not infinite) where the denominator is 0."""
    return numerator / denominator.where(denominator > 0)


def _count(ctx: _Context, *, layer: str, where: str | None = None) -> pd.Series:
    return ctx.count(layer, where)


def _inventory(ctx: _Context, layer: str, where: str | None) -> pd.Series:
    """Rows of an inventory per unit; no_data when no row of the whole layer matches: the
    layer does not list that kind at all, which says nothing about how many there are."""
    found = ctx.rows(layer, where)
    if found.empty:
        raise _MissingDataError(f"the {layer} layer has no rows with {where}")
    return ctx.total(found)


def _count_per_area(ctx: _Context, *, layer: str, where: str | None = None) -> pd.Series:
    return _ratio(_inventory(ctx, layer, where), ctx.area_km2)


def _count_per_road_km(ctx: _Context, *, layer: str, where: str | None = None) -> pd.Series:
    return _ratio(_inventory(ctx, layer, where), ctx.road_km)


def _share(ctx: _Context, *, layer: str, where: str) -> pd.Series:
    return _ratio(ctx.count(layer, where), ctx.total(ctx.known(layer, where)))


def _per_10k(ctx: _Context, *, layer: str, per: str, where: str | None = None) -> pd.Series:
    return _ratio(ctx.count(layer, where) * 10_000, ctx.count(per))


def _length_per_area(ctx: _Context, *, layer: str) -> pd.Series:
    return _ratio(ctx.length(layer), ctx.area_km2)


def _footprint_share(ctx: _Context, *, layer: str) -> pd.Series:
    buildings = ctx.rows(layer)
    return _ratio(ctx.total(buildings, buildings.area / 1e6), ctx.area_km2)


def _floor_area_ratio(ctx: _Context, *, layer: str) -> pd.Series:
    return _ratio(ctx.floor_area(ctx.rows(layer)) / 1e6, ctx.area_km2)


def _floor_area_share(ctx: _Context, *, layer: str, where: str) -> pd.Series:
    return _ratio(ctx.floor_area(ctx.rows(layer, where)), ctx.floor_area(ctx.known(layer, where)))


def _near_share(
    ctx: _Context,
    *,
    layer: str,
    targets: str,
    targets_where: str,
    distance_m: float,
    where: str | None = None,
) -> pd.Series:
    found = ctx.rows(targets, targets_where, track=False)
    if found.empty:
        raise _MissingDataError(f"no {targets} with {targets_where}")
    rows = ctx.rows(layer, where)
    tree = shapely.STRtree(found.geometry.to_numpy())
    hits = tree.query(rows.geometry.to_numpy(), predicate="dwithin", distance=distance_m)
    near = np.zeros(len(rows), dtype=float)
    near[np.unique(hits[0])] = 1.0
    return _ratio(ctx.total(rows, near), ctx.total(rows))


def _walk_share(
    ctx: _Context,
    *,
    layer: str,
    targets: str,
    targets_where: str,
    distance_m: float,
    where: str | None = None,
) -> pd.Series:
    """Share of ``layer`` rows within ``distance_m`` of a target by walking: along the city's
    walking graph (:func:`cim.access.walking_router`), the gaps from each row and target to
    their nearest way walked too, however long."""
    if "roads" not in ctx.city.layers:
        raise _MissingDataError("the city has no roads layer to walk along")
    found = ctx.rows(targets, targets_where, track=False)
    if found.empty:
        raise _MissingDataError(f"no {targets} with {targets_where}")
    rows = ctx.rows(layer, where)
    if rows.empty:
        return _ratio(ctx.total(rows), ctx.total(rows))
    try:
        router = walking_router(ctx.city)
    except layers.EmptyLayerError as err:
        raise _MissingDataError(f"no walking network: {err}") from None
    nearest = router.k_nearest(
        found.geometry.representative_point().to_crs(4326),
        rows.geometry.representative_point().to_crs(4326),
        k=1,
        objective="distance",
        max_snap_m=np.inf,
    )
    near = np.zeros(len(rows), dtype=float)
    near[nearest["target"].to_numpy()[nearest["cost"].to_numpy() <= distance_m]] = 1.0
    return _ratio(ctx.total(rows, near), ctx.total(rows))


def _reached_share(
    ctx: _Context, *, layer: str, stations: str, profile: str, cutoff_s: float
) -> pd.Series:
    units = ctx.rows("facilities", stations, track=False)
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
    "walk_share": _walk_share,
    "reached_share": _reached_share,
    "mean_eta": _mean_eta,
    "eta_within_share": _eta_within_share,
}


def _notes(ctx: _Context, values: pd.Series, missing: str | None) -> tuple[pd.Series, list]:
    """The values with the rules on unknowns applied, and the note of each unit."""
    if missing:
        return values, [missing] * len(values)
    unknown_only = ctx.unknown_only.to_numpy()
    uncovered = (~ctx.covered & values.fillna(0.0).eq(0.0)).to_numpy()
    values = values.mask(uncovered | unknown_only)
    empty = values.isna().to_numpy() & ~unknown_only
    first = np.where(uncovered, UNCOVERED, np.where(empty, "empty unit: nothing to divide by", ""))
    areas = [""] * len(values)
    if ctx.used_area and ctx.area_source:
        areas = [f"area {km2:,.1f} km²: {ctx.area_source}" for km2 in ctx._area_km2]
    if not ctx.notes and not any(areas):
        return values, [reason or None for reason in first.tolist()]
    notes = [
        "; ".join(filter(None, [reason, *ctx.notes.get(code, ()), area])) or None
        for code, reason, area in zip(ctx.index, first.tolist(), areas, strict=True)
    ]
    return values, notes


def compute(
    city: CityModel,
    level: str = "district",
    *,
    registry: dict[str, Indicator] | None = None,
    indicators: list[str] | None = None,
    placed: dict[str, pd.DataFrame] | None = None,
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
    placed : dict, optional
        Layer name → its rows already placed in the units of ``level``: the columns the
        filters read and ``_unit``, the unit's code as :func:`place` gives it (no geometry).
        Such a layer stands in for the city's and serves the counting formulas (``count``,
        ``count_per_area``, ``count_per_road_km``, ``share``, ``per_10k``): how
        :func:`cim.distributed.vital_signs` brings in a layer too large for one machine.

    Returns
    -------
    DataFrame
        ``indicator_id, unit_code, level, value, status`` (ok / warn / alarm / no_data), then
        ``name, unit, dimension, unit_name, warn, alarm, note`` (why no_data, unknown rows
        left out, the area used at city level) and ``outside`` (rows in no unit, left out).

    Examples
    --------
    >>> import cim
    >>> table = cim.sample_city().vitals("city", indicators=["sensor_online_share"])
    >>> table[["indicator_id", "unit_code", "value", "status"]].round(3).to_dict("records")
    [{'indicator_id': 'sensor_online_share', 'unit_code': 'city', 'value': 0.948, 'status': 'warn'}]
    """
    if level not in LEVELS:
        raise layers.InputError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    registry = load_registry() if registry is None else registry
    chosen = list(registry) if indicators is None else indicators
    unknown = [i for i in chosen if i not in registry]
    if unknown:
        raise layers.MissingError(f"unknown indicator {unknown[0]!r}; known: {', '.join(registry)}")
    ctx = _Context(city, level, placed)
    ctx.covered  # noqa: B018  (before the first indicator, so it counts in none)
    frames = []
    for indicator in (registry[i] for i in chosen if level in registry[i].levels):
        ctx.start()
        missing = None
        try:
            values = FORMULAS[indicator.formula](ctx, **indicator.params)
        except _MissingDataError as err:
            values, missing = pd.Series(np.nan, index=ctx.index), str(err)
        except VitalsError as err:
            raise VitalsError(f"indicator {indicator.id!r}: {err}") from None
        values, notes = _notes(ctx, values.reindex(ctx.index).astype(float), missing)
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
                    "note": notes,
                    "outside": len(ctx.outside),
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
