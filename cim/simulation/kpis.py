"""Key performance indicators of simulated days, and their 95 % confidence intervals.

Per replication and group (``all``, ``kind=<kind>``, ``district=<district>``, and for
utilisation ``profile=<profile>``): response time (call to arrival) percentiles p50 / p90 and
maximum over the incidents reached, the mean queue wait and the share of calls that waited
(over the incidents sent a unit), the count never reached, and for fires the share reached
within the 5 minutes of 建标 152-2017 (:data:`layers.standards.FIRE_RESPONSE_S`; a fire never
reached counts as late). Utilisation is the share of unit time spent away from idle (en
route, on scene, carrying, returning, moving up). Over replications each indicator gets its
mean and a 95 % confidence interval from Student's t with replications − 1 degrees of freedom
(no interval from a single replication).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from layers.standards import FIRE_RESPONSE_S

__all__ = ["KPI_COLUMNS", "replication_kpis", "summarise"]

KPI_COLUMNS = ["policy", "metric", "group", "mean", "ci95_low", "ci95_high", "replications"]


def _group_metrics(rows: pd.DataFrame) -> dict[str, float]:
    reached = rows["response_s"].dropna()
    sent = rows["queue_wait_s"].dropna()
    out = {
        "incidents": float(len(rows)),
        "response_p50_s": float(reached.quantile(0.5)) if len(reached) else np.nan,
        "response_p90_s": float(reached.quantile(0.9)) if len(reached) else np.nan,
        "response_max_s": float(reached.max()) if len(reached) else np.nan,
        "queue_wait_mean_s": float(sent.mean()) if len(sent) else np.nan,
        "queue_wait_share": float((sent > 0).mean()) if len(sent) else np.nan,
        "never_reached": float((~rows["reached"]).sum()),
    }
    fires = rows[rows["kind"] == "fire"]
    if len(fires):
        out["fire_5min_share"] = float((fires["response_s"] <= FIRE_RESPONSE_S).mean())
    return out


def replication_kpis(log: pd.DataFrame, busy: pd.DataFrame, horizon_s: float) -> pd.DataFrame:
    """Indicators of one replication: ``metric``, ``group``, ``value``.

    ``log`` is the replication's incident log; ``busy`` has one row per unit with its
    ``profile`` and ``busy_s`` within the horizon.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"kind": ["fire", "fire"], "district": ["a", "a"],
    ...                     "response_s": [200.0, 400.0], "queue_wait_s": [0.0, 60.0],
    ...                     "reached": [True, True]})
    >>> busy = pd.DataFrame({"profile": ["fire_engine"], "busy_s": [1800.0]})
    >>> k = replication_kpis(log, busy, 3600).set_index(["metric", "group"])["value"]
    >>> float(k["fire_5min_share", "all"]), float(k["utilisation", "profile=fire_engine"])
    (0.5, 0.5)
    """
    rows = []
    groups = [("all", log)]
    groups += [(f"kind={k}", g) for k, g in log.groupby("kind", sort=True)]
    groups += [(f"district={d}", g) for d, g in log.groupby("district", sort=True) if d]
    for group, part in groups:
        rows += [{"metric": m, "group": group, "value": v} for m, v in _group_metrics(part).items()]
    if len(busy):
        rows.append(
            {
                "metric": "utilisation",
                "group": "all",
                "value": busy["busy_s"].sum() / (len(busy) * horizon_s),
            }
        )
        for profile, part in busy.groupby("profile", sort=True):
            rows.append(
                {
                    "metric": "utilisation",
                    "group": f"profile={profile}",
                    "value": part["busy_s"].sum() / (len(part) * horizon_s),
                }
            )
    return pd.DataFrame(rows, columns=["metric", "group", "value"])


def summarise(per_replication: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % t confidence interval of each (policy, metric, group) over replications.

    ``per_replication`` has ``policy``, ``replication``, ``metric``, ``group``, ``value``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"policy": "nearest", "replication": [0, 1, 2],
    ...                       "metric": "x", "group": "all", "value": [1.0, 2.0, 3.0]})
    >>> summarise(table)[["mean", "ci95_low", "ci95_high"]].round(2).values.tolist()
    [[2.0, -0.48, 4.48]]
    """
    rows = []
    for (policy, metric, group), part in per_replication.groupby(
        ["policy", "metric", "group"], sort=False
    ):
        values = part["value"].dropna().to_numpy(dtype=float)
        n = len(values)
        mean = float(values.mean()) if n else np.nan
        half = (
            float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
        )
        rows.append(
            {
                "policy": policy,
                "metric": metric,
                "group": group,
                "mean": mean,
                "ci95_low": mean - half,
                "ci95_high": mean + half,
                "replications": n,
            }
        )
    return pd.DataFrame(rows, columns=KPI_COLUMNS)
