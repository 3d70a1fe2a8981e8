"""Dispatch-route reports: CSV, GeoJSON and a Markdown summary, each written atomically."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from cim.atomic import atomic_path, write_text
from cim.escape import markdown_text
from cim.model import CityModel
from cim.tables import write_table
from cim.views.static import dispatch_map
from layers.standards import FIRE_RESPONSE_S, WATERLOGGED_CM
from routing import first_units

__all__ = [
    "coverage_report",
    "dispatch_summary",
    "events_summary",
    "flood_report",
    "snap_note",
    "vitals_flags",
    "vitals_report",
    "write_dispatch_report",
]


def snap_note(max_snap_m: float, access_speed_kph) -> str:
    """The report note that says how incidents and stations join the roads.

    ``access_speed_kph`` is one speed or several (one per vehicle profile used).

    Examples
    --------
    >>> snap_note(300, [15.0])[:60]
    'Incidents and stations join the road graph at the nearest ro'
    """
    speeds = sorted({float(v) for v in np.atleast_1d(access_speed_kph)})
    return (
        f"Incidents and stations join the road graph at the nearest road within {max_snap_m:g} m "
        f"(max snap distance); the straight gap from each to its road is covered at "
        f"{' / '.join(f'{v:g}' for v in speeds)} km/h and is part of every ETA (column access_s), "
        "so it counts against the 5-minute rule; distances and route lines follow the road. "
        "Points farther from every road are listed without a route, with the distance; rows "
        "outside the city's extent are left out on reading. With closures a point keeps the road "
        "it had without them and leaves it only by a part clear of the water (a point under it is "
        "cut off), so closures never make a response faster."
    )


def dispatch_summary(routes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per incident kind: incidents, how many got a unit, and ETA statistics of the first unit.

    Examples
    --------
    >>> import cim
    >>> from cim.response import dispatch_incidents
    >>> summary = dispatch_summary(dispatch_incidents(cim.sample_city()))
    >>> list(summary.columns)
    ['incidents', 'dispatched', 'eta_mean_min', 'eta_p90_min', 'eta_max_min', 'within_5_min']
    """
    first = first_units(routes)
    kind = first["incident_kind"].fillna("unknown") if "incident_kind" in first else "all"
    minutes = first["eta_s"] / 60.0
    grouped = first.assign(kind=kind, minutes=minutes).groupby("kind", sort=True)
    summary = pd.DataFrame(
        {
            "incidents": grouped["incident_id"].nunique(),
            "dispatched": grouped["eta_s"].count(),
            "eta_mean_min": grouped["minutes"].mean(),
            "eta_p90_min": grouped["minutes"].quantile(0.9),
            "eta_max_min": grouped["minutes"].max(),
            "within_5_min": grouped["eta_s"].apply(lambda s: (s <= FIRE_RESPONSE_S).sum()),
        }
    )
    summary.index.name = "incident_kind"
    return summary


def _cell(value) -> str:
    if pd.isna(value):
        return ""
    return markdown_text(f"{value:.1f}" if isinstance(value, float) else str(value))


def _table(frame: pd.DataFrame) -> str:
    """A GFM table; every header and cell is escaped, so user text cannot add markup."""
    header = "| " + " | ".join(map(_cell, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(map(_cell, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _markdown(
    routes: gpd.GeoDataFrame,
    title: str,
    notes: list[str],
    bad_rows: pd.DataFrame | None = None,
    comparison: pd.DataFrame | None = None,
    image: str | None = None,
) -> str:
    if routes.empty:
        return "\n".join(
            [
                f"# {markdown_text(title)}",
                "",
                "Nothing could be dispatched: no incident or resource row could be used.",
                "",
                *_left_out(bad_rows, notes),
            ]
        )
    summary = dispatch_summary(routes).reset_index()
    first = first_units(routes)
    failed = routes[routes["reason"].notna()]
    slowest = (
        first.dropna(subset=["eta_s"])
        .nlargest(10, "eta_s")
        .assign(eta_min=lambda f: f["eta_s"] / 60.0, distance_km=lambda f: f["distance_m"] / 1000.0)
    )
    columns = [
        c
        for c in ("incident_id", "incident_kind", "resource_name", "eta_min", "distance_km")
        if c in slowest
    ]
    fire = (
        first[first["incident_kind"] == "fire"]
        if "incident_kind" in first.columns
        else first.iloc[:0]
    )
    lines = [
        f"# {markdown_text(title)}",
        "",
        f"{first['incident_id'].nunique()} incidents, {int(first['eta_s'].notna().sum())} dispatched, "
        f"{len(failed)} without a route.",
        "",
        *([f"![出警路线图 · routes by ETA]({image})", ""] if image else []),
        "## By incident kind (first unit)",
        "",
        _table(summary),
        "",
    ]
    if len(fire):
        within = int((fire["eta_s"] <= FIRE_RESPONSE_S).sum())
        no_route = int(fire["eta_s"].isna().sum())
        lines += [
            "## Fire cover (建标 152-2017: 5 minutes)",
            "",
            f"{within} of {len(fire)} fire incidents are reached by the first engine within "
            f"{FIRE_RESPONSE_S // 60} minutes of dispatch, the gaps between the points and their "
            "roads included"
            + (f"; {no_route} have no route (see Incidents without a route)." if no_route else "."),
            "",
        ]
    lines += ["## Slowest dispatches", "", _table(slowest[columns]), ""]
    if len(failed):
        lines += ["## Incidents without a route", "", _table(failed[["incident_id", "reason"]]), ""]
    if comparison is not None and len(comparison):
        changed = comparison[comparison["rerouted"]]
        cut_off = comparison["eta_before_s"].notna() & comparison["eta_after_s"].isna()
        delay = comparison["delay_s"].dropna()
        lines += [
            "## Closures: before / after",
            "",
            f"{len(changed)} of {len(comparison)} incidents get another route or unit"
            + (f" ({int(cut_off.sum())} of them no route at all)" if cut_off.any() else "")
            + (
                f"; mean delay {delay.mean():.0f} s, largest {delay.max():.0f} s."
                if len(delay)
                else "."
            ),
            "",
            _table(changed.sort_values("delay_s", ascending=False, na_position="first").head(10)),
            "",
        ]
    return "\n".join(lines + _left_out(bad_rows, notes))


def _left_out(bad_rows: pd.DataFrame | None, notes: list[str]) -> list[str]:
    """The closing sections of a dispatch report: input rows left out, and notes."""
    lines = []
    if bad_rows is not None and len(bad_rows):
        lines += [f"## Input rows left out ({len(bad_rows)})", "", _table(bad_rows), ""]
    if notes:
        lines += ["## Notes", "", *[f"- {markdown_text(note)}" for note in notes], ""]
    return lines


def write_dispatch_report(
    routes: gpd.GeoDataFrame,
    out_dir,
    *,
    title: str = "Dispatch report 出警调度报告",
    notes: list[str] | None = None,
    bad_rows: pd.DataFrame | None = None,
    comparison: pd.DataFrame | None = None,
    city: CityModel | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    resources: gpd.GeoDataFrame | None = None,
    closures: gpd.GeoDataFrame | None = None,
) -> dict[str, Path]:
    """Write ``routes.csv``, ``routes.geojson`` and ``report.md`` into ``out_dir``.

    ``bad_rows`` (input rows left out, with the reason) also go to ``bad_rows.csv``;
    ``comparison`` (from :func:`routing.compare_dispatch`) adds a before / after section;
    ``city`` adds ``map.png`` (routes coloured by ETA on the city's roads, with ``incidents``,
    the stations of ``resources`` and the ``closures``; see
    :func:`cim.views.static.dispatch_map`), embedded in the report so it reads well printed.
    Each file is written to a temporary name and renamed, so a crash never leaves a
    half-written report. User text (ids, names, the title, notes) is escaped in the report
    (:func:`cim.escape.markdown_text`); the CSVs are written by :func:`cim.tables.write_table`,
    so no cell starts a spreadsheet formula.

    Returns
    -------
    dict
        ``{"csv", "geojson", "markdown"}`` (and ``"bad_rows"``, ``"png"``) → path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": out / "routes.csv",
        "geojson": out / "routes.geojson",
        "markdown": out / "report.md",
    }
    write_table(pd.DataFrame(routes.drop(columns="geometry")), paths["csv"])
    with atomic_path(paths["geojson"]) as tmp:
        routes.to_file(tmp, driver="GeoJSON")
    if bad_rows is not None and len(bad_rows):
        paths["bad_rows"] = write_table(bad_rows, out / "bad_rows.csv")
    if city is not None and routes.geometry.notna().any():
        paths["png"] = dispatch_map(
            city,
            routes,
            out / "map.png",
            incidents=incidents,
            resources=resources,
            closures=closures,
        )
    image = paths["png"].name if "png" in paths else None
    write_text(
        paths["markdown"], _markdown(routes, title, notes or [], bad_rows, comparison, image)
    )
    return paths


def flood_report(
    ponds: gpd.GeoDataFrame,
    closures: gpd.GeoDataFrame,
    comparison: pd.DataFrame | None,
    *,
    rain_mm_h: float,
    hours: float,
    runoff: float,
    drainage_mm_h: float,
    synthetic_dem: bool,
    image: str | None = None,
) -> str:
    """Markdown report of a rainfall scenario: ponds, flooded roads by vehicle, dispatch delays.

    ``synthetic_dem`` says the DEM is made up (:attr:`cim.waterlogging.DEM.synthetic`), and
    the report notes it; ``image`` is the file name of a map (see
    :func:`cim.views.static.flood_map`) to embed.
    """
    wet = ponds[ponds["water_m3"] > 0]
    lines = [
        "# 内涝情景报告 · Rainfall scenario",
        "",
        *([f"![积水与淹没道路 · ponds and flooded roads]({image})", ""] if image else []),
        f"Rain {rain_mm_h:g} mm/h for {hours:g} h, runoff coefficient {runoff:g}, drainage {drainage_mm_h:g} mm/h: "
        f"{max(0.0, rain_mm_h * runoff - drainage_mm_h) * hours:.0f} mm of excess rain.",
        "",
        f"{len(wet)} of {len(ponds)} depressions hold water ({wet['water_m3'].sum():,.0f} m³); "
        f"{int((wet['depth_cm'] > WATERLOGGED_CM).sum())} are deeper than {WATERLOGGED_CM:g} cm "
        "(GB 51222-2017 waterlogging).",
        "",
        "## Deepest ponds",
        "",
        _table(
            wet.nlargest(10, "depth_cm")[["id", "depth_cm", "water_m3", "storage_m3", "area_m2"]]
        ),
        "",
        "## Flooded roads by vehicle",
        "",
    ]
    profiles = (
        sorted({p for names in closures["closed_for"] for p in names}) if len(closures) else []
    )
    counts = pd.DataFrame(
        {
            "vehicle": profiles,
            "closed_segments": [
                int(closures["closed_for"].map(lambda n, p=p: p in n).sum()) for p in profiles
            ],
        }
    )
    lines += [
        f"{len(closures)} road segments under water.",
        "",
        _table(counts) if len(counts) else "No road is closed.",
        "",
    ]
    if comparison is not None:
        changed = comparison[comparison["rerouted"]]
        lines += [
            "## Dispatch before / after",
            "",
            f"{len(changed)} of {len(comparison)} incidents get another route or unit; mean delay "
            f"{round(comparison['delay_s'].mean(), 1) + 0.0:.0f} s, {int(comparison['eta_after_s'].isna().sum() - comparison['eta_before_s'].isna().sum())} "
            "can no longer be reached.",
            "",
            _table(changed.nlargest(10, "delay_s")) if len(changed) else "",
            "",
        ]
    if synthetic_dem:
        lines += [
            "## Notes",
            "",
            "- The DEM is synthetic (its GeoTIFF is tagged SYNTHETIC=yes); the ponds show the method, not the city.",
            "",
        ]
    return "\n".join(lines)


def coverage_report(
    table: pd.DataFrame, *, target_density: float, image: str | None = None, data: str = ""
) -> str:
    """Markdown report of sensor coverage per level, the units furthest below the target.

    ``table`` comes from :func:`cim.coverage.sensor_coverage`; ``image`` is the file name of
    a map (see :func:`cim.views.static.coverage_map`) to embed; ``data`` is the line that
    credits the data and counts its synthetic rows (:func:`cim.views.style.data_note`).

    Examples
    --------
    >>> import cim
    >>> from cim.coverage import sensor_coverage
    >>> text = coverage_report(sensor_coverage(cim.sample_city(), levels=["street"]), target_density=25)
    >>> text.splitlines()[0]
    '# 物联感知覆盖报告 · Sensor coverage'
    """
    by_level = (
        table.groupby("level", sort=False)
        .agg(
            units=("unit_code", "count"),
            sensors=("sensors", "sum"),
            median_density_km2=("density_per_km2", "median"),
            mean_covered_share=("covered_share", "mean"),
            below_target=("below_target", "sum"),
        )
        .reset_index()
    )
    lines = [
        "# 物联感知覆盖报告 · Sensor coverage",
        "",
        *([f"![感知覆盖 · share covered]({image})", ""] if image else []),
        f"Target: {target_density:g} sensors per km². {markdown_text(data)}".rstrip(),
        "",
        "## By level",
        "",
        _table(by_level),
        "",
    ]
    for level, group in table.groupby("level", sort=False):
        worst = group[group["below_target"]].nsmallest(10, ["covered_share", "density_per_km2"])
        if len(worst):
            lines += [
                f"## Least covered: {markdown_text(level)}",
                "",
                _table(worst[["unit_code", "name", "sensors", "density_per_km2", "covered_share"]]),
                "",
            ]
    return "\n".join(lines)


def vitals_flags(table: pd.DataFrame) -> pd.DataFrame:
    """Per unit: how many indicators are in warn or alarm (``flagged``), and in alarm.

    Examples
    --------
    >>> t = pd.DataFrame({"unit_code": ["a", "a", "b"], "status": ["alarm", "ok", "warn"]})
    >>> vitals_flags(t).to_dict("records")
    [{'unit_code': 'a', 'flagged': 1, 'alarms': 1}, {'unit_code': 'b', 'flagged': 1, 'alarms': 0}]
    """
    status = table["status"]
    return (
        table.assign(flagged=status.isin(["warn", "alarm"]), alarms=status == "alarm")
        .groupby("unit_code", sort=False)[["flagged", "alarms"]]
        .sum()
        .astype(int)
        .reset_index()
    )


def vitals_report(table: pd.DataFrame) -> str:
    """Markdown summary of a vital-signs table: status counts per indicator, worst units."""
    level = table["level"].iat[0] if len(table) else "—"
    counts = (
        table.groupby(["dimension", "indicator_id", "name", "unit"], sort=False)["status"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=["ok", "warn", "alarm", "no_data"], fill_value=0)
        .reset_index()
    )
    worst = vitals_flags(table).nlargest(10, ["alarms", "flagged"])
    names = table.drop_duplicates("unit_code").set_index("unit_code")["unit_name"]
    said = {  # the city-level area and the rows in no unit, once each
        f"City {markdown_text(part)}."
        for note in table["note"].dropna()
        for part in note.split("; ")
        if part.startswith("area ")
    }
    outside = table.groupby("indicator_id", sort=False)["outside"].first()
    outside = outside[outside > 0]
    if len(outside):
        left = ", ".join(f"{markdown_text(i)} {n}" for i, n in outside.items())
        said.add(f"Rows outside every unit, left out: {left}.")
    lines = [
        "# 城市运行体征 · City vital signs",
        "",
        f"{table['indicator_id'].nunique()} indicators over {table['unit_code'].nunique()} units ({markdown_text(level)}).",
        "no_data means the data cannot tell: a layer or kind the city's data does not have, values unknown in every row, "
        "a unit with no road and no building, or an empty unit for that ratio (see vitals.csv, note).",
        *sorted(said),
        "",
        "## Status per indicator",
        "",
        _table(counts),
        "",
        "## Units with the most alarms",
        "",
        _table(worst.assign(unit_name=worst["unit_code"].map(names))),
        "",
    ]
    return "\n".join(lines)


def events_summary(events: pd.DataFrame, stats: pd.DataFrame) -> str:
    """Markdown report of an event log: states, classes and departments, waiting events."""
    waiting = events[events["note"].notna()]
    states = events["status"].value_counts().rename_axis("status").reset_index(name="events")
    lines = [
        "# 城市事件处置报告 · Events",
        "",
        f"{len(events)} events; {int(events['escalated_at'].notna().sum())} escalated past their time limit.",
        "",
        "## By state",
        "",
        _table(states),
        "",
        "## By class and department (GB/T 30428.2-2013)",
        "",
        _table(stats),
        "",
    ]
    if len(waiting):
        lines += [
            f"## Waiting for a location or a unit ({len(waiting)})",
            "",
            _table(waiting[["id", "source", "class_name", "note"]].head(50)),
            "",
        ]
    return "\n".join(lines)
