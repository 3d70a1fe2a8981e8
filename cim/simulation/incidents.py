"""The incidents a simulation answers: a table replayed, or a Poisson stream by hour and kind.

A generated stream has, for every simulated hour and incident kind, a Poisson number of
calls at uniform times in the hour (``rate_per_h`` of that hour of day and kind). Each call
falls on a site (a unit-grid cell, a district, or a point) drawn in proportion to the site's
``weight``, at a uniform point inside it. Rates come from a table (:func:`fit_rates`: calls
per hour of day and kind, with add-one smoothing over the 24 hours) or are given directly.

Every random draw an incident needs (its time, place, on-scene time, whether the patient is
carried to hospital and the handover there) is made here from the incident stream's own
generator, before any dispatch decision: two policies run on the same seed see the very same
incidents (common random numbers).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

import layers
from cim.simulation.errors import SimulationError
from layers.times import local_times

__all__ = [
    "ON_SCENE",
    "draw_service",
    "fit_rates",
    "load_on_scene",
    "poisson_incidents",
    "replay_incidents",
]

ON_SCENE = Path(__file__).with_name("on_scene.yaml")
"""The on-scene time parameters per incident kind, with their sources."""

_DISTRIBUTIONS = {
    "lognormal": ("median_s", "sigma"),
    "exponential": ("mean_s",),
    "fixed": ("value_s",),
}
_DEFAULT_PRIORITY = 2


def load_on_scene(source: str | Path | dict | None = None) -> dict[str, dict]:
    """On-scene time parameters per incident kind: the shipped :data:`ON_SCENE` by default.

    ``source`` is a YAML file or a dict of the same shape (kind → ``distribution`` and its
    parameters, optional ``transport_share``, ``handover_median_s``, ``handover_sigma``).

    Examples
    --------
    >>> load_on_scene()["medical"]["distribution"]
    'lognormal'
    >>> load_on_scene({"fire": {"distribution": "fixed", "value_s": 600}})["fire"]["value_s"]
    600.0
    """
    if source is None or isinstance(source, str | Path):
        path = Path(source or ON_SCENE)
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
        where = str(path)
    else:
        table, where = source, "on_scene"
    if not isinstance(table, dict):
        raise SimulationError(f"{where}: expected a mapping of incident kind to parameters")
    checked = {}
    for kind, spec in table.items():
        spec = dict(spec or {})
        law = spec.setdefault("distribution", "lognormal")
        if law not in _DISTRIBUTIONS:
            raise SimulationError(
                f"{where}: kind {kind!r} has distribution {law!r}; use one of {', '.join(_DISTRIBUTIONS)}"
            )
        for name in (
            *_DISTRIBUTIONS[law],
            "transport_share",
            "handover_median_s",
            "handover_sigma",
        ):
            if name not in spec:
                if name in _DISTRIBUTIONS[law]:
                    raise SimulationError(f"{where}: kind {kind!r} ({law}) needs {name!r}")
                continue
            value = spec[name]
            if not isinstance(value, int | float) or not np.isfinite(value) or value < 0:
                raise SimulationError(
                    f"{where}: kind {kind!r}: {name} must be a number ≥ 0, not {value!r}"
                )
            spec[name] = float(value)
        if spec.get("transport_share", 0.0) > 1:
            raise SimulationError(f"{where}: kind {kind!r}: transport_share is a share, 0 to 1")
        checked[str(kind)] = spec
    return checked


def _draw(spec: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    law = spec["distribution"]
    if law == "lognormal":
        return spec["median_s"] * np.exp(spec["sigma"] * rng.standard_normal(n))
    if law == "exponential":
        return rng.exponential(spec["mean_s"], n)
    return np.full(n, spec["value_s"])


def draw_service(
    kinds: np.ndarray, on_scene: dict[str, dict], rng: np.random.Generator
) -> pd.DataFrame:
    """``on_scene_s``, ``transport`` (bool) and ``handover_s`` per incident, from its kind.

    A kind without parameters gets NaN on-scene time (it is never served anyway when no unit
    serves it; otherwise :func:`simulate` refuses it first).
    """
    n = len(kinds)
    out = pd.DataFrame(
        {"on_scene_s": np.full(n, np.nan), "transport": np.zeros(n, bool), "handover_s": 0.0}
    )
    for kind in sorted(set(kinds)):
        if kind not in on_scene:
            continue
        rows = np.flatnonzero(kinds == kind)
        spec = on_scene[kind]
        out.loc[rows, "on_scene_s"] = _draw(spec, len(rows), rng)
        carried = rng.random(len(rows)) < spec.get("transport_share", 0.0)
        out.loc[rows, "transport"] = carried
        handover = spec.get("handover_median_s", 0.0) * np.exp(
            spec.get("handover_sigma", 0.0) * rng.standard_normal(len(rows))
        )
        out.loc[rows, "handover_s"] = np.where(carried, handover, 0.0)
    return out


def fit_rates(table: gpd.GeoDataFrame, *, per_day: float | None = None) -> pd.DataFrame:
    """Calls per hour by hour of day and kind, from a table of past incidents.

    The table's days are counted from its first to its last ``reported_at`` (at least one);
    each kind's hourly shares get add-one smoothing, so an hour with no call in a short table
    keeps a small rate. ``per_day`` scales all rates to that many calls a day.

    Returns
    -------
    DataFrame
        ``hour`` (0-23), ``kind``, ``rate_per_h`` and ``priority`` (the kind's most common).

    Examples
    --------
    >>> import cim
    >>> rates = fit_rates(cim.sample_city().layer("incidents"), per_day=2000)
    >>> round(rates["rate_per_h"].sum() * 1), sorted(rates["kind"].unique())[:2]
    (2000, ['fire', 'medical'])
    """
    for column in ("kind", "reported_at"):
        if column not in table.columns:
            raise layers.MissingError(f"incidents: fitting rates needs a {column!r} column")
    times = local_times(table["reported_at"])
    ok = times.notna() & table["kind"].notna()
    if not ok.any():
        raise SimulationError("incidents: no row has both a kind and a readable reported_at")
    times, kinds = times[ok], table.loc[ok, "kind"].astype(str)
    days = max(1.0, np.ceil((times.max() - times.min().normalize()).total_seconds() / 86400))
    priority = (
        pd.to_numeric(table.loc[ok, "priority"], errors="coerce")
        if "priority" in table.columns
        else pd.Series(_DEFAULT_PRIORITY, index=kinds.index)
    )
    rows = []
    for kind, hours in times.dt.hour.groupby(kinds):
        counts = np.bincount(hours, minlength=24)
        share = (counts + 1) / (counts.sum() + 24)
        mode = priority[hours.index].mode()
        rows += [
            {
                "hour": h,
                "kind": kind,
                "rate_per_h": share[h] * counts.sum() / days,
                "priority": int(mode.iat[0]) if len(mode) else _DEFAULT_PRIORITY,
            }
            for h in range(24)
        ]
    rates = pd.DataFrame(rows)
    if per_day is not None:
        rates["rate_per_h"] *= per_day / rates["rate_per_h"].sum()
    return rates


def _check_rates(rates: pd.DataFrame) -> pd.DataFrame:
    missing = {"hour", "kind", "rate_per_h"} - set(rates.columns)
    if missing:
        raise SimulationError(f"rates: missing column(s) {', '.join(sorted(missing))}")
    rate = pd.to_numeric(rates["rate_per_h"], errors="coerce")
    if rate.isna().any() or (rate < 0).any():
        raise SimulationError("rates: 'rate_per_h' must be numbers ≥ 0 (calls per hour)")
    hours = pd.to_numeric(rates["hour"], errors="coerce")
    if hours.isna().any() or not hours.between(0, 23).all():
        raise SimulationError("rates: 'hour' must be the hour of day, 0 to 23")
    return rates.assign(rate_per_h=rate, hour=hours.astype(int))


def _points_in(sites: gpd.GeoDataFrame, which: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniform point inside each chosen site (the point itself for point sites)."""
    geoms = sites.geometry.values
    xy = np.zeros((len(which), 2))
    is_point = shapely.get_type_id(geoms) == 0
    at_point = is_point[which]
    xy[at_point] = shapely.get_coordinates(geoms[which[at_point]])
    todo = np.flatnonzero(~at_point)
    bounds = shapely.bounds(geoms)
    while len(todo):
        box = bounds[which[todo]]
        x = rng.uniform(box[:, 0], box[:, 2])
        y = rng.uniform(box[:, 1], box[:, 3])
        inside = shapely.contains_xy(geoms[which[todo]], x, y)
        xy[todo[inside]] = np.column_stack([x[inside], y[inside]])
        todo = todo[~inside]
    return xy


def poisson_incidents(
    rates: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    *,
    hours: float,
    start_hour: int = 0,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """A Poisson stream of calls over ``hours`` from ``start_hour`` (hour of day).

    Parameters
    ----------
    rates : DataFrame
        ``hour`` (of day), ``kind``, ``rate_per_h`` and optionally ``priority``
        (:func:`fit_rates`).
    sites : GeoDataFrame
        Polygons (unit-grid cells, districts) or points where calls fall, with an optional
        ``weight`` (their share of the calls; equal shares without it).
    rng : numpy.random.Generator
        The incident stream's generator.

    Returns
    -------
    GeoDataFrame
        ``id`` (``S00001`` …, in call order), ``kind``, ``priority``, ``call_s`` (seconds from
        the start), point geometry (EPSG:4326).

    Examples
    --------
    >>> import numpy as np, pandas as pd, geopandas as gpd, shapely
    >>> rates = pd.DataFrame({"hour": range(24), "kind": "fire", "rate_per_h": 2.0})
    >>> site = gpd.GeoDataFrame(geometry=[shapely.Point(104.07, 30.66)], crs=4326)
    >>> calls = poisson_incidents(rates, site, hours=24, rng=np.random.default_rng(0))
    >>> 20 < len(calls) < 80, bool(calls["call_s"].is_monotonic_increasing)
    (True, True)
    """
    rates = _check_rates(rates)
    sites = layers.to_wgs84(sites, kind="sites")
    if len(sites) == 0:
        raise SimulationError("sites: no site to place incidents in")
    weight = (
        pd.to_numeric(sites["weight"], errors="coerce").fillna(0).to_numpy(dtype=float)
        if "weight" in sites.columns
        else np.ones(len(sites))
    )
    if not (weight >= 0).all() or weight.sum() <= 0:
        raise SimulationError("sites: 'weight' must be numbers ≥ 0, not all zero")
    if "priority" not in rates.columns:
        rates = rates.assign(priority=_DEFAULT_PRIORITY)
    table = rates.set_index(["hour", "kind"]).sort_index()
    kinds = sorted(rates["kind"].astype(str).unique())
    times, kind_of, priority = [], [], []
    for slot in range(int(np.ceil(hours))):
        length = min(1.0, hours - slot)
        hour = (start_hour + slot) % 24
        for kind in kinds:
            if (hour, kind) not in table.index:
                continue
            row = table.loc[(hour, kind)]
            n = rng.poisson(float(row["rate_per_h"]) * length)
            times.append((slot + rng.uniform(0, length, n)) * 3600.0)
            kind_of += [kind] * n
            priority += [int(row["priority"])] * n
    call_s = np.concatenate(times) if times else np.zeros(0)
    order = np.argsort(call_s, kind="stable")
    which = rng.choice(len(sites), size=len(call_s), p=weight / weight.sum())
    xy = _points_in(sites, which, rng)
    frame = gpd.GeoDataFrame(
        {
            "id": [f"S{i + 1:05d}" for i in range(len(call_s))],
            "kind": np.array(kind_of, dtype=object)[order],
            "priority": np.array(priority, dtype=int)[order],
            "call_s": call_s[order],
        },
        geometry=gpd.points_from_xy(xy[order, 0], xy[order, 1]),
        crs=4326,
    )
    return frame


def replay_incidents(
    table: gpd.GeoDataFrame, *, hours: float, start_hour: int = 0
) -> gpd.GeoDataFrame:
    """An incidents table (layer ``incidents``, or ``cim.events`` log rows) as calls.

    The clock starts at ``start_hour`` on the day of the earliest ``reported_at``; rows
    outside ``hours`` from then are left out. A table without ``reported_at`` (or with none
    readable) is refused; one without ``priority`` gets priority 2.

    Returns
    -------
    GeoDataFrame
        As :func:`poisson_incidents`, keeping the table's ids.

    Examples
    --------
    >>> import cim
    >>> calls = replay_incidents(cim.sample_city().layer("incidents"), hours=24)
    >>> len(calls), calls["id"].iat[0]
    (60, 'INC-0001')
    """
    for column in ("id", "kind", "reported_at"):
        if column not in table.columns:
            raise layers.MissingError(f"incidents: replaying needs a {column!r} column")
    table = layers.to_wgs84(table, kind="incidents")
    times = local_times(table["reported_at"])
    if times.isna().all():
        raise SimulationError("incidents: no row has a readable 'reported_at'")
    start = times.min().normalize() + pd.Timedelta(hours=start_hour)
    call_s = (times - start).dt.total_seconds()
    keep = call_s.between(0, hours * 3600, inclusive="left") & table.geometry.notna()
    rows = table[keep.to_numpy()]
    priority = (
        pd.to_numeric(rows["priority"], errors="coerce").fillna(_DEFAULT_PRIORITY).astype(int)
        if "priority" in rows.columns
        else _DEFAULT_PRIORITY
    )
    frame = gpd.GeoDataFrame(
        {
            "id": rows["id"].astype(str).to_numpy(),
            "kind": rows["kind"].astype(str).to_numpy(),
            "priority": np.asarray(priority) if not np.isscalar(priority) else priority,
            "call_s": call_s[keep].to_numpy(),
        },
        geometry=rows.geometry.to_numpy(),
        crs=4326,
    )
    return frame.sort_values(["call_s", "id"], kind="stable").reset_index(drop=True)
