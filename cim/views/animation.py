"""The animated view of a simulated day: units moving on the roads, incidents as they happen.

One replication of one policy of a :class:`cim.simulation.SimulationResult` is drawn over the
city's districts, roads and stations: each unit trip is a ``TripsLayer`` path whose vertices
carry the time the unit passes them (departure + the route's ``times_s``), so a short trail
runs along the road as the clock goes; each incident is a dot that appears at its call and
changes colour as it is queued, reached, worked on and cleared. The exported page (see
:func:`cim.views.export_html`) has a play / pause button, a speed and a time slider with the
clock (HH:MM), and opens paused at the busiest moment of the day.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pydeck as pdk
import shapely

import layers
from cim.model import CityModel
from cim.views.html import Timeline
from cim.views.layers import PRECISION, point_layer
from cim.views.maps import (
    CityDeck,
    _base,
    _clip,
    _facility_layer,
    _facility_legend,
    _focus,
    _note,
    _wgs84,
    compose,
)
from cim.views.style import LABELS, tip

__all__ = ["PHASES", "TRIP_KINDS", "clock", "simulation_view"]

TRIP_KINDS = {  # move kind: (label, colour)
    "to_scene": ("赶赴现场 to scene", [230, 60, 30]),
    "to_hospital": ("送医 to hospital", [0, 160, 110]),
    "return": ("返回驻地 returning", [60, 110, 210]),
    "move_up": ("调防补位 move-up", [150, 60, 200]),
}
PHASES = {  # incident phase: (label, colour)
    "queued": ("排队：无空闲单位 queued", [120, 0, 70]),
    "en_route": ("出警途中 unit en route", [235, 20, 60]),
    "on_scene": ("现场处置 on scene", [255, 165, 0]),
    "cleared": ("已处置 cleared", [150, 150, 150]),
    "never": ("未能到达 never reached", [20, 20, 20]),
}
CLEARED_SHOWN_S = 900.0  # a cleared incident stays on the map, grey, this long
TRAIL_S = 240.0  # the trail a moving unit leaves behind it


def clock(seconds: float) -> str:
    """Time of day as ``HH:MM`` (``+1d`` and so on past midnight).

    Examples
    --------
    >>> clock(8 * 3600 + 5 * 60 + 59), clock(25 * 3600)
    ('08:05', '+1d 01:00')
    """
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 1440)
    return f"{f'+{days}d ' if days else ''}{minutes // 60:02d}:{minutes % 60:02d}"


def _one_run(result, policy: str | None, replication: int | None) -> tuple[str, int, pd.DataFrame]:
    policy = result.policies[0] if policy is None else policy
    if policy not in result.policies:
        raise layers.InputError(
            f"policy {policy!r} is not in the result; it has {', '.join(result.policies)}"
        )
    log = result.log[result.log["policy"] == policy]
    runs = sorted(log["replication"].unique())
    replication = runs[0] if replication is None and runs else replication
    if replication not in runs:
        raise layers.InputError(
            f"replication {replication!r} is not in the result for {policy!r}; "
            f"it has {', '.join(map(str, runs)) or 'none'}"
        )
    return policy, int(replication), log[log["replication"] == replication]


def _trips(result, policy: str, replication: int) -> list[dict]:
    """One row per unit trip: its path (lon/lat), the time at each vertex, its colour."""
    moves = result.moves[
        (result.moves["policy"] == policy)
        & (result.moves["replication"] == replication)
        & (result.moves["path_id"] >= 0)
    ]
    if moves.empty:
        return []
    if not moves["path_id"].isin(result.paths.index).all():
        raise layers.InputError(
            f"the route lines of replication {replication} of {policy!r} were not kept; draw "
            "the first replication, or simulate with paths='all'"
        )
    paths = result.paths.loc[moves["path_id"].to_numpy()]
    coords, owner = shapely.get_coordinates(paths.geometry.to_numpy(), return_index=True)
    counts = np.bincount(owner, minlength=len(paths))
    times = paths["times_s"].map(len).to_numpy()
    if (counts != times).any():
        bad = paths.index[counts != times][0]
        raise ValueError(
            f"path {bad}: its line has {counts[paths.index.get_loc(bad)]} vertices but "
            f"{len(paths['times_s'].loc[bad])} times; times_s needs one time per vertex"
        )
    ends = np.cumsum(counts)
    rounded = np.round(coords, PRECISION).tolist()
    rows = []
    for move, start, end, offsets in zip(
        moves.itertuples(), ends - counts, ends, paths["times_s"], strict=True
    ):
        rows.append(
            {
                "path": rounded[start:end],
                "timestamps": (float(move.depart_s) + np.asarray(offsets, float)).tolist(),
                "color": TRIP_KINDS.get(move.kind, ("", [90, 90, 90]))[1],
            }
        )
    return rows


def _phases(log: pd.DataFrame, end_s: float) -> pd.DataFrame:
    """One row per incident and phase: the phase and the span ``[shown_from, shown_until)``."""
    spans = {
        "queued": (log["call_s"], log["dispatch_s"]),
        "en_route": (log["dispatch_s"], log["arrive_s"]),
        "on_scene": (log["arrive_s"], log["clear_s"].fillna(np.inf)),
        "cleared": (log["clear_s"], log["clear_s"] + CLEARED_SHOWN_S),
    }
    reached = log["reached"].astype(bool)
    never = log[~reached]
    parts = [
        log[reached].assign(phase=name, shown_from=a[reached], shown_until=b[reached])
        for name, (a, b) in spans.items()
    ]
    parts.append(never.assign(phase="never", shown_from=never["call_s"], shown_until=np.inf))
    rows = pd.concat(parts, ignore_index=True)
    rows["shown_until"] = rows["shown_until"].clip(upper=end_s + 1.0)
    return rows[rows["shown_from"] < rows["shown_until"]].reset_index(drop=True)


def _busiest(log: pd.DataFrame, end_s: float) -> float:
    """The call time at which the most incidents are open (called and not yet cleared)."""
    if log.empty:
        return 0.0
    calls = np.sort(log["call_s"].to_numpy(float))
    clears = np.sort(log["clear_s"].fillna(end_s).to_numpy(float))
    open_now = np.arange(1, len(calls) + 1) - np.searchsorted(clears, calls, side="right")
    return float(calls[int(np.argmax(open_now))])


def _incident_layer(rows: pd.DataFrame, origin_s: float) -> pdk.Layer:
    points = gpd.GeoDataFrame(rows, geometry=gpd.points_from_xy(rows["lon"], rows["lat"]), crs=4326)
    response = rows["response_s"] / 60.0
    tips = [
        tip(
            f"事件 {r.incident_id}",
            ("类型", LABELS.get(r.kind, r.kind)),
            ("优先级", r.priority),
            ("报警", clock(origin_s + r.call_s)),
            ("状态", PHASES[r.phase][0]),
            ("响应时间", None if np.isnan(m) else f"{m:.1f} 分钟"),
            ("出警单位", r.unit_id or None),
            *((("原因", r.reason),) if r.reason else ()),
        )
        for r, m in zip(rows.itertuples(), response, strict=True)
    ]
    layer = point_layer(
        points,
        colors=[PHASES[p][1] for p in rows["phase"]],
        radius_m=90.0,
        min_radius_px=5,
        tips=tips,
        id="incidents",
        outline=(40, 20, 20, 255),
        outline_px=2.0,
    )
    for row, a, b in zip(layer.data, rows["shown_from"], rows["shown_until"], strict=True):
        row["shown_from"], row["shown_until"] = float(a), float(b)
    return layer


def simulation_view(
    city: CityModel,
    result,
    *,
    policy: str | None = None,
    replication: int | None = None,
    at_s: float | None = None,
    title: str | None = None,
) -> CityDeck:
    """An animated map of one simulated day: unit trips and incidents over time.

    Parameters
    ----------
    city : CityModel
        Drawn under the day: districts, roads and the ``facilities`` (stations).
    result : SimulationResult
        From :func:`cim.simulation.simulate` or :func:`cim.simulation.compare`.
    policy : str, optional
        Which policy's day to draw; the result's first by default.
    replication : int, optional
        Which replication, counted from 0 as in ``result.log`` (the legend counts from 1:
        replication 0 is "第 1 次重复"); the first by default.
    at_s : float, optional
        Seconds after the simulation's start at which the page opens (paused); by default the
        moment the most incidents are open.
    title : str, optional
        Title of the legend panel.

    Returns
    -------
    CityDeck
        With a ``timeline`` (:class:`cim.views.html.Timeline`): its page has a play / pause
        button and a time slider; export it with :func:`cim.views.export_html`.

    Examples
    --------
    >>> import cim
    >>> from cim.simulation import simulate
    >>> city = cim.sample_city()
    >>> deck = simulation_view(city, simulate(city, hours=1, incidents_per_day=120))
    >>> [layer.id for layer in deck.layers][-2:], deck.timeline.end_s
    (['trips', 'incidents'], 3600.0)
    """
    policy, replication, log = _one_run(result, policy, replication)
    end_s = float(result.hours) * 3600.0
    origin_s = float(result.start_hour) * 3600.0
    at_s = _busiest(log, end_s) if at_s is None else float(at_s)
    bounds = _focus(city)
    deck_layers = _base(city)
    legend: list[tuple[str, list[int]]] = []
    drawn: dict[str, gpd.GeoDataFrame] = {}
    if "facilities" in city.layers:
        facilities = drawn["facilities"] = _clip(
            _wgs84(city.layer("facilities"), "facilities"), bounds
        )
        deck_layers.append(_facility_layer(facilities))
        legend += _facility_legend(facilities)
    deck_layers.append(
        pdk.Layer(
            "TripsLayer",
            _trips(result, policy, replication),
            id="trips",
            get_path="path",
            get_timestamps="timestamps",
            get_color="color",
            width_min_pixels=5,
            cap_rounded=True,
            joint_rounded=True,
            trail_length=TRAIL_S,
            fade_trail=True,
            current_time=at_s,
        )
    )
    legend += list(TRIP_KINDS.values())
    deck_layers.append(_incident_layer(_phases(log, end_s), origin_s))
    legend += list(PHASES.values())
    seed = log["seed"].iat[0] if len(log) else None
    deck = compose(
        deck_layers,
        bounds=bounds,
        title=title or f"{city.name} 应急响应模拟 · {policy}",
        legend=legend,
        note=_note(
            city,
            f"策略 {policy}，第 {replication + 1} 次重复（种子 {seed}），{len(log)} 起事件；"
            "按 ▶ 播放或拖动时间轴",
            **drawn,
        ),
    )
    deck.timeline = Timeline(start_s=0.0, end_s=end_s, at_s=at_s, origin_s=origin_s)
    return deck
