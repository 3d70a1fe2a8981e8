"""What a simulation writes: ``kpis.csv``, ``incidents_log.parquet``, ``report.md`` and a chart.

The report compares the policies on the same seeds (common random numbers): the KPIs of
each with their 95 % confidence intervals over the replications, the paired differences
from the first policy (seed by seed, so the noise the policies share cancels), response
times by incident kind and district, the 5-minute fire rule (建标 152-2017), queue waits,
unit utilisation, the incidents never reached and why, and the storm hour by hour. Every
file is written atomically; user text (ids, kinds, districts, reasons, notes) is escaped
in the Markdown and defused in the CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from cim.atomic import atomic_path, write_text
from cim.escape import markdown_text
from cim.reports import _table
from cim.simulation.policies import POLICIES, get_policy
from cim.tables import write_table
from cim.views.static import _text, _with_fonts
from layers.standards import FIRE_RESPONSE_S

__all__ = [
    "CAUSES",
    "METRICS",
    "clipped_interval",
    "few_replications",
    "interval_text",
    "never_reached_cause",
    "paired_differences",
    "policy_table",
    "queue_waits",
    "rain_outside",
    "response_chart",
    "write_report",
]

METRICS = {  # engine metric: (label, factor to the unit shown)
    "incidents": ("incidents (per replication)", 1.0),
    "response_p50_s": ("response p50 (min)", 1 / 60),
    "response_p90_s": ("response p90 (min)", 1 / 60),
    "response_max_s": ("response max (min)", 1 / 60),
    "fire_5min_share": ("fire within 5 min (%)", 100.0),
    "queue_wait_mean_s": ("mean wait, call to dispatch (min)", 1 / 60),
    "queue_wait_share": ("waited to dispatch (%)", 100.0),
    "utilisation": ("unit utilisation (%)", 100.0),
    "never_reached": ("never reached (per replication)", 1.0),
}
SHARES = ("fire_5min_share", "queue_wait_share", "utilisation")  # between 0 and 1
PAIRED = {  # per replication, from the log: (label, statistic of one replication's rows)
    "response_mean_min": (
        "mean response (min)",
        lambda run: run["response_s"].mean() / 60,
    ),
    "response_p90_min": (
        "response p90 (min)",
        lambda run: run["response_s"].quantile(0.9) / 60,
    ),
    "queue_wait_mean_min": (
        "mean queue wait (min)",
        lambda run: run["queue_wait_s"].mean() / 60,
    ),
    "never_reached": ("never reached", lambda run: float((~run["reached"].astype(bool)).sum())),
}
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def interval_text(mean: float, low: float, high: float, factor: float = 1.0) -> str:
    """``mean (low – high)`` to one decimal, each times ``factor``; a dash when unknown.

    Examples
    --------
    >>> interval_text(312.0, 290.0, 335.5, 1 / 60), interval_text(0.8, float("nan"), 0.9, 100)
    ('5.2 (4.8 – 5.6)', '80.0')
    >>> interval_text(0.01, -0.02, 0.04)
    '0.0 (0.0 – 0.0)'
    """
    if pd.isna(mean):
        return "—"
    text = f"{mean * factor:.1f}"
    if not (pd.isna(low) or pd.isna(high)):
        text += f" ({low * factor:.1f} – {high * factor:.1f})"
    return text.replace("-0.0", "0.0")


FEW_REPLICATIONS = 5  # below this the 95 % intervals are too wide to read much into


def few_replications(replications: int) -> str | None:
    """A warning that ``replications`` days give wide intervals, or None when they are enough.

    Examples
    --------
    >>> few_replications(20) is None, few_replications(2)[:19]
    (True, 'Only 2 replications')
    """
    if replications >= FEW_REPLICATIONS:
        return None
    return (
        f"Only {replications} replication{'s' if replications != 1 else ''}: the 95 % "
        "intervals are wide (or missing with one); run more (e.g. --replications 20) "
        "before comparing policies."
    )


def clipped_interval(row, metric: str) -> str:
    """One KPI row as ``mean (low – high)`` in its unit, the interval cut to the possible range.

    A share is cut to 0–100 %, a time or count at 0: a t-interval of few replications can pass
    them, and ``kpis.csv`` keeps those raw bounds.

    Examples
    --------
    >>> clipped_interval({"mean": 0.167, "ci95_low": -1.951, "ci95_high": 2.284}, "fire_5min_share")
    '16.7 (0.0 – 100.0)'
    """
    factor = METRICS.get(metric, (metric, 1.0))[1]
    top = 1.0 if metric in SHARES else np.inf
    low, high = np.clip([row["ci95_low"], row["ci95_high"]], 0.0, top)
    return interval_text(row["mean"], low, high, factor)


def policy_table(kpis: pd.DataFrame, policies, *, by_group: bool = False) -> pd.DataFrame:
    """KPIs as ``mean (low – high)`` cells: a row per metric (and group), a column per policy.

    Times are shown in minutes and shares in %. The t-interval of a few replications can pass
    the possible range (a share below 0 or above 1, a time below 0): it is cut there.

    Examples
    --------
    >>> kpis = pd.DataFrame({"policy": ["a", "b"], "metric": "fire_5min_share", "group": "all",
    ...                      "mean": [0.5, 0.9], "ci95_low": [-0.2, 0.8], "ci95_high": [1.2, 1.0]})
    >>> policy_table(kpis, ["a", "b"]).to_dict("records")
    [{'metric': 'fire within 5 min (%)', 'a': '50.0 (0.0 – 100.0)', 'b': '90.0 (80.0 – 100.0)'}]
    """
    rows = []
    keys = ["group", "metric"] if by_group else ["metric"]
    for key, part in kpis.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        cells = part.set_index("policy")
        row = {"group": key[0].split("=", 1)[-1]} if by_group else {}
        row["metric"] = METRICS.get(key[-1], (key[-1], 1.0))[0]
        for policy in policies:
            if policy in cells.index:
                row[policy] = clipped_interval(cells.loc[policy], key[-1])
            else:
                row[policy] = "—"
        rows.append(row)
    return pd.DataFrame(rows, columns=[*(["group"] if by_group else []), "metric", *policies])


def paired_differences(log: pd.DataFrame, policies) -> pd.DataFrame:
    """Each policy minus the first, seed by seed, with a 95 % t-interval of the differences.

    With common random numbers every policy meets the same incidents on a seed, so the
    difference of one seed's outcomes leaves out the noise the two runs share, and its
    interval is usually much narrower than the two policies' intervals side by side.

    Examples
    --------
    >>> log = pd.DataFrame({"policy": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
    ...     "response_s": [600.0, 660.0, 540.0, 630.0], "queue_wait_s": [0.0] * 4,
    ...     "reached": [True] * 4})
    >>> paired = paired_differences(log, ["a", "b"]).round(2)
    >>> paired.loc[0, ["policy", "versus", "metric", "mean", "ci95_low", "ci95_high"]].to_dict()
    {'policy': 'b', 'versus': 'a', 'metric': 'mean response (min)', 'mean': -0.75, 'ci95_low': -3.93, 'ci95_high': 2.43}
    """
    runs = log.groupby(["policy", "seed"], sort=False)
    per_run = pd.DataFrame(
        {
            name: runs.apply(statistic, include_groups=False)
            for name, (_, statistic) in PAIRED.items()
        }
    )
    rows = []
    for policy in policies[1:]:
        for name, (label, _) in PAIRED.items():
            base, other = per_run.loc[policies[0], name], per_run.loc[policy, name]
            diff = (other - base).dropna()
            n = len(diff)
            half = stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
            mean = diff.mean() if n else np.nan
            rows.append(
                {
                    "policy": policy,
                    "versus": policies[0],
                    "metric": label,
                    "mean": mean,
                    "ci95_low": mean - half,
                    "ci95_high": mean + half,
                    "seeds": n,
                }
            )
    return pd.DataFrame(
        rows, columns=["policy", "versus", "metric", "mean", "ci95_low", "ci95_high", "seeds"]
    )


def _paired_table(paired: pd.DataFrame) -> pd.DataFrame:
    verdict = np.select(
        [paired["ci95_high"] < 0, paired["ci95_low"] > 0],
        ["lower", "higher"],
        "no clear difference",
    )
    return pd.DataFrame(
        {
            "policy": paired["policy"] + " − " + paired["versus"],
            "metric": paired["metric"],
            "difference (95 % CI)": [
                interval_text(r.mean, r.ci95_low, r.ci95_high) for r in paired.itertuples()
            ],
            "seeds": paired["seeds"],
            "reading": np.where(paired["ci95_low"].isna(), "one seed: no interval", verdict),
        }
    )


def queue_waits(log: pd.DataFrame) -> pd.DataFrame:
    """Per policy: the share of dispatched calls that waited for a free unit, and how long.

    A policy that holds calls for its next round (``batch``, every ``interval_s`` from the
    start, 60 s by default) makes every call wait to that round even with units free: that
    hold is shown on its own and left out of the wait for a unit. The log's ``queue_wait_s``
    (call to dispatch) is both together.

    Examples
    --------
    >>> log = pd.DataFrame({"policy": ["batch"] * 3, "call_s": [10.0, 70.0, 130.0],
    ...                     "queue_wait_s": [50.0, 50.0, 200.0]})
    >>> queue_waits(log).round(1).to_dict("records")
    [{'policy': 'batch', 'waited for a free unit (%)': 33.3, 'wait for a unit p90 (min)': 2.0, 'wait for a unit max (min)': 2.5, 'batching hold mean (min)': 0.8}]
    """
    sent = log[log["queue_wait_s"].notna()]
    rounds = {
        p: getattr(get_policy(p), "interval_s", None)
        for p in sent["policy"].unique()
        if p in POLICIES
    }
    interval = sent["policy"].map(rounds).astype(float)  # NaN: dispatched as calls come
    hold = (np.ceil(sent["call_s"] / interval) * interval - sent["call_s"]).fillna(0.0)
    hold = np.minimum(hold, sent["queue_wait_s"])
    unit = (sent["queue_wait_s"] - hold) / 60
    grouped = sent.assign(waited=unit > 0, unit=unit, hold=hold / 60).groupby("policy", sort=False)
    table = pd.DataFrame(
        {
            "waited for a free unit (%)": grouped["waited"].mean() * 100,
            "wait for a unit p90 (min)": grouped["unit"].quantile(0.9),
            "wait for a unit max (min)": grouped["unit"].max(),
        }
    )
    if (hold > 0).any():
        table["batching hold mean (min)"] = grouped["hold"].mean()
    return table.reset_index()


CAUSES = {  # why a call was never reached, from the log's reason
    "data": "unreachable location (data)",
    "storm": "cut off by closed roads",
    "fleet": "no unit free before the end",
    "kind": "no unit serves the kind",
}


def never_reached_cause(reason: str) -> str:
    """Which of :data:`CAUSES` a never-reached call's ``reason`` belongs to.

    Examples
    --------
    >>> never_reached_cause("unreachable: 512 m from the nearest road, beyond the snap limit")
    'unreachable location (data)'
    >>> never_reached_cause("still queued at end"), never_reached_cause("no unit serves kind 'x'")
    ('no unit free before the end', 'no unit serves the kind')
    """
    if reason == "still queued at end":
        return CAUSES["fleet"]
    if reason.startswith("no unit serves kind"):
        return CAUSES["kind"]
    if reason.startswith("unreachable:") and "closure" in reason:
        return CAUSES["storm"]
    if reason.startswith("unreachable:"):
        return CAUSES["data"]
    return reason


def _never_reached(log: pd.DataFrame) -> pd.DataFrame:
    missed = log[~log["reached"].astype(bool)]
    missed = missed.assign(cause=missed["reason"].astype(str).map(never_reached_cause))
    runs = log.groupby("policy", sort=False)["seed"].nunique()
    table = missed.groupby(["policy", "cause", "reason"], sort=False).size().rename("incidents")
    per_run = table / runs.reindex(table.index.get_level_values("policy")).to_numpy()
    return table.to_frame().assign(**{"per replication": per_run}).reset_index()


def rain_outside(result) -> str | None:
    """What the hyetograph rains outside the simulated hours, or None when it rains within.

    Hour ``h`` of the hyetograph is simulated when it overlaps ``start_hour`` to
    ``start_hour + hours``. Rain before that still fills the ponds the first hour starts
    with; rain after it is not simulated at all.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> storm = pd.DataFrame({"hour": [15, 16], "rain_mm_h": [20.0, 40.0]})
    >>> rain_outside(SimpleNamespace(rain=storm, start_hour=0, hours=6.0)).split(";")[0]
    'All 60.0 mm of the hyetograph fall outside the simulated hours (00:00 to 06:00'
    """
    rain = result.rain
    if rain is None or len(rain) == 0:
        return None
    inside = _simulated(rain, result)
    outside = float(rain.loc[~inside, "rain_mm_h"].sum())
    if outside <= 0:
        return None
    wet = rain.loc[rain["rain_mm_h"] > 0, "hour"]
    share = "All" if not (rain.loc[inside, "rain_mm_h"] > 0).any() else "Of the rain,"
    return (
        f"{share} {outside:.1f} mm of the hyetograph fall outside the simulated hours "
        f"({_window(result)}; the rain is at hours {int(wet.min())}–{int(wet.max()) + 1}): it is "
        "not simulated (rain before the start only fills the ponds the first hour starts "
        "with); choose --start-hour and --hours (start_hour=, hours= in Python) to cover it."
    )


def _simulated(rain: pd.DataFrame, result) -> pd.Series:
    start = float(result.start_hour)
    return (rain["hour"] + 1 > start) & (rain["hour"] < start + float(result.hours))


def _window(result) -> str:
    end = float(result.start_hour) + float(result.hours)
    return f"{int(result.start_hour):02d}:00 to {int(end) % 24:02d}:{int(end % 1 * 60):02d}"


def _storm(result) -> list[str]:
    rain = result.rain
    if rain is None or len(rain) == 0:
        return ["No rain: every road stays open all day.", ""]
    outside = rain_outside(result)
    note = [f"**{outside}**", ""] if outside else []
    rain = rain[_simulated(rain, result)]
    if not (rain["rain_mm_h"] > 0).any():
        return [*note, "No rain within the simulated hours.", ""]
    table = rain[["hour", "rain_mm_h"]].rename(columns={"rain_mm_h": "rain (mm/h)"})
    closures = result.closures_by_hour
    if closures is not None and len(closures):
        closed = closures.pivot_table(
            index="hour", columns="profile", values="closed_edges", aggfunc="sum"
        )
        closed = closed.reindex(table["hour"]).fillna(0).astype(int)
        closed.columns = [f"closed for {c}" for c in closed.columns]
        table = table.merge(closed.reset_index(), on="hour", how="left")
    shown = table[table.drop(columns="hour").gt(0).any(axis=1)]
    wet = int((rain["rain_mm_h"] > 0).sum())
    return [
        *note,
        f"{rain['rain_mm_h'].sum():.1f} mm in {wet} wet hours of the {len(rain)} simulated "
        f"({_window(result)}), at most {rain['rain_mm_h'].max():.1f} mm/h. Hour h is h:00 to "
        "h+1:00 of the first simulated day. Each hour's ponding closes the roads deeper than "
        "each vehicle can pass; a trip takes the closures of the hour it starts in. Hours with "
        "neither rain nor a closed road are left out.",
        "",
        _table(shown),
        "",
    ]


@_with_fonts
def response_chart(log: pd.DataFrame, path, *, policies=None) -> Path:
    """A PNG of the response times per policy: their ECDF and a box plot, the 5-minute line.

    ``log`` is :attr:`SimulationResult.log`; every replication's reached incidents are pooled.

    Examples
    --------
    >>> import tempfile
    >>> log = pd.DataFrame({"policy": ["a"] * 3 + ["b"] * 3,
    ...                     "response_s": [200.0, 320.0, 400.0, 150.0, 290.0, 380.0]})
    >>> response_chart(log, tempfile.mkdtemp() + "/chart.png").stat().st_size > 10_000
    True
    """
    policies = list(dict.fromkeys(log["policy"])) if policies is None else list(policies)
    figure = Figure(figsize=(9, 4), dpi=130)
    FigureCanvasAgg(figure)
    figure.set_layout_engine("constrained")
    ecdf, box = figure.subplots(1, 2, width_ratios=(3, 2))
    limit = FIRE_RESPONSE_S / 60
    minutes = [log.loc[log["policy"] == p, "response_s"].dropna().to_numpy() / 60 for p in policies]
    colors = [COLORS[i % len(COLORS)] for i in range(len(policies))]
    for policy, values, color in zip(policies, minutes, colors, strict=True):
        if len(values):
            ecdf.ecdf(values, label=f"{policy} (n={len(values)})", color=color)
    ecdf.axvline(limit, color="#444", linestyle="--", linewidth=1)
    ecdf.text(limit, 0.02, _text(" 5 分钟", " 5 min"), fontsize=8, color="#444")
    ecdf.set_xlabel(_text("响应时间（分钟，报警到到场）", "response time (min, call to arrival)"))
    ecdf.set_ylabel(_text("事件占比", "share of incidents"))
    ecdf.set_title(_text("响应时间分布 · 各策略", "Response time by policy"), fontsize=10)
    ecdf.legend(fontsize=7, loc="lower right")
    ecdf.grid(alpha=0.3)
    boxes = box.boxplot(minutes, tick_labels=policies, showfliers=False, patch_artist=True)
    for patch, color in zip(boxes["boxes"], colors, strict=True):
        patch.set(facecolor=color, alpha=0.35, edgecolor=color)
    box.axhline(limit, color="#444", linestyle="--", linewidth=1)
    box.set_ylabel(_text("响应时间（分钟）", "response time (min)"))
    box.set_title(_text("中位数、四分位与须", "Median, quartiles, whiskers"), fontsize=10)
    box.grid(alpha=0.3, axis="y")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return Path(path)


def _markdown(result, title: str, notes, image: str) -> str:
    log, kpis = result.log, result.kpis
    policies = list(result.policies)
    seeds = list(result.seeds)
    per_run = log.groupby(["policy", "seed"]).size()
    overall = kpis[kpis["group"] == "all"]
    by_kind = kpis[
        kpis["group"].str.startswith("kind=") & kpis["metric"].str.startswith("response")
    ]
    by_district = kpis[
        kpis["group"].str.startswith("district=") & kpis["metric"].str.startswith("response")
    ]
    utilisation = kpis[kpis["metric"] == "utilisation"]
    fire = overall[overall["metric"] == "fire_5min_share"].set_index("policy")
    fire = fire.reindex([p for p in policies if p in fire.index]).reset_index()
    lines = [
        f"# {markdown_text(title)}",
        "",
        f"{len(policies)} {'policy' if len(policies) == 1 else 'policies'} "
        f"({markdown_text(', '.join(policies))}) over {result.hours:g} h from "
        f"{int(result.start_hour):02d}:00, {len(seeds)} replications (seeds "
        f"{markdown_text(', '.join(map(str, seeds)))}); every policy meets the same incidents on "
        f"a seed (common random numbers): {per_run.mean():.0f} incidents per replication on average.",
        "",
        f"![响应时间分布 · response times per policy]({image})",
        "",
        *_definitions(result),
        "## Policies compared (mean over replications, 95 % CI)",
        "",
        _table(policy_table(overall, policies)),
        "",
        "Intervals are cut to the possible range (a share to 0–100 %, a time at 0) wherever "
        "they are shown; kpis.csv keeps the raw t-interval bounds.",
        "",
    ]
    warning = few_replications(len(seeds))
    if warning:
        lines[lines.index("## Policies compared (mean over replications, 95 % CI)") : 0] = [
            f"**{warning}**",
            "",
        ]
    if len(policies) > 1:
        lines += [
            f"## Paired differences from {markdown_text(policies[0])} (same seeds)",
            "",
            "Each replication's outcome under a policy minus the same seed's outcome under "
            f"{markdown_text(policies[0])}; a 95 % t-interval of those differences. An interval "
            "that excludes 0 is a measurable difference.",
            "",
            _table(_paired_table(paired_differences(log, policies))),
            "",
        ]
    lines += ["## Fire cover (建标 152-2017: 5 minutes)", ""]
    if len(fire):
        lines += [
            "Share of fire incidents reached within 5 minutes, per policy: "
            + "; ".join(
                f"{markdown_text(r['policy'])} {clipped_interval(r, 'fire_5min_share')} %"
                for _, r in fire.iterrows()
            )
            + ".",
            "",
        ]
    else:
        lines += ["No fire incident in the simulated day.", ""]
    for heading, part in (("By incident kind", by_kind), ("By district", by_district)):
        if len(part):
            lines += [
                f"## Response times: {heading.lower()}",
                "",
                _table(policy_table(part, policies, by_group=True)),
                "",
            ]
    lines += [
        "## Queue waits",
        "",
        "Waiting for a free unit: from the call until a unit of the right kind is free to be "
        "sent. A batching policy's hold for its next round is shown apart; the policy "
        "table's queue figures (from the log's queue_wait_s, call to dispatch) include it.",
        "",
        _table(queue_waits(log)),
        "",
    ]
    if len(utilisation):
        lines += [
            "## Unit utilisation",
            "",
            _table(policy_table(utilisation, policies, by_group=True)),
            "",
        ]
    missed = _never_reached(log)
    lines += ["## Never reached", ""]
    lines += (
        [
            f"Causes: *{CAUSES['data']}* — the call lies beyond the snap limit from every "
            "road, or on roads not joined to the stations' network (\"no available resource "
            'can reach this point on the road graph"): a gap in the road data, not a busy '
            f"fleet; *{CAUSES['storm']}* — the storm's closures cut every way there; "
            f"*{CAUSES['fleet']}* — a unit could reach it, but none was free before the "
            f"simulation ended; *{CAUSES['kind']}* — no vehicle profile answers this kind.",
            "",
            _table(missed),
            "",
        ]
        if len(missed)
        else ["Every incident was reached.", ""]
    )
    lines += ["## The storm hour by hour", "", *_storm(result)]
    if notes:
        lines += ["## Notes", "", *[f"- {markdown_text(note)}" for note in notes], ""]
    return "\n".join(lines)


def _definitions(result) -> list[str]:
    return [
        "**What the times mean.** Response time is from the call to the first unit's arrival "
        "at the scene: the wait until a unit is dispatched (queue wait, call to dispatch) "
        "plus its travel. Call handling and turnout (出动, the crew getting under way, about "
        "a minute for a fire engine) are not modelled: a free unit leaves the moment the call "
        "comes, so in the log dispatch_s equals call_s and response_s equals travel_s when no "
        "one waited. 建标 152-2017 counts its 5 minutes from the dispatch order with turnout "
        "included, so the fire-cover shares here are optimistic by about the turnout time. "
        "In incidents_log.parquet, call_s, dispatch_s, arrive_s and clear_s are seconds since "
        f"the start of the run ({int(result.start_hour):02d}:00 of the first simulated day).",
        "",
    ]


def write_report(
    result,
    out_dir,
    *,
    title: str = "应急响应模拟 · Emergency-response simulation",
    notes=(),
) -> dict[str, Path]:
    """Write ``kpis.csv``, ``incidents_log.parquet``, ``response_times.png`` and ``report.md``.

    Parameters
    ----------
    result : SimulationResult
        From :func:`cim.simulation.simulate` or :func:`cim.simulation.compare`.
    out_dir : str or Path
        Folder for the files (made if missing).
    title : str
        The report's heading (escaped).
    notes : sequence of str
        Closing notes, e.g. the data's sources (escaped).

    Returns
    -------
    dict
        ``{"kpis", "log", "chart", "markdown"}`` → path.

    Examples
    --------
    >>> import cim, tempfile
    >>> from cim.simulation import compare
    >>> result = compare(cim.sample_city(), hours=1, replications=2, incidents_per_day=120)
    >>> sorted(write_report(result, tempfile.mkdtemp()))
    ['chart', 'kpis', 'log', 'markdown']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "kpis": write_table(result.kpis, out / "kpis.csv"),
        "log": write_table(result.log, out / "incidents_log.parquet"),
        "chart": response_chart(result.log, out / "response_times.png", policies=result.policies),
    }
    paths["markdown"] = write_text(
        out / "report.md", _markdown(result, title, list(notes), paths["chart"].name)
    )
    return paths
