"""Write ``sample_data/storm_hyetograph_synthetic.csv``: a synthetic storm day for ``cim simulate``.

A Chicago design storm (Keifer & Chu, 1957) of 6 hours from 15:00, peak at 40 % of its length,
with a 50-year return period, from a storm-intensity formula of the form GB 50014-2021
(室外排水设计标准) uses

    q = A (1 + C lg P) / (t + b)^n        [L/(s·ha); t in minutes]

with the parameters listed for Chengdu in older Chinese drainage-design tables:
A = 2806, C = 0.803, b = 12.8 P^0.231, n = 0.768. They are not checked against the city's
current formula: the storm is synthetic, made to exercise the simulation (roads that close
and open hour by hour), not for design. Intensity i (mm/min) = q / 166.7.

The Chicago storm puts the depth of every duration t of the formula around the peak, a share
r before it and 1 - r after: its cumulative depth at minute τ is r (H(T) - H((rT - τ) / r))
before the peak and r H(T) + (1 - r) H((τ - rT) / (1 - r)) after, with H(t) = i(t) t. The
hourly rates are the differences of that curve hour by hour; the other hours of the day are dry.

Run from the repository root: ``python sample_data/build_storm.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

A, C, N = 2806.0, 0.803, 0.768
RETURN_PERIOD_YEARS = 50.0
START_HOUR, HOURS, PEAK_SHARE = 15, 6, 0.4
OUT = Path(__file__).resolve().parent / "storm_hyetograph_synthetic.csv"


def depth_mm(minutes: np.ndarray, years: float = RETURN_PERIOD_YEARS) -> np.ndarray:
    """Rain depth of the formula over a duration of ``minutes``."""
    b = 12.8 * years**0.231
    q = A * (1 + C * np.log10(years)) / (minutes + b) ** N
    return q / 166.7 * minutes


def chicago_cumulative(tau: np.ndarray) -> np.ndarray:
    """Cumulative depth (mm) of the Chicago storm at ``tau`` minutes after it starts."""
    total = HOURS * 60.0
    peak = PEAK_SHARE * total
    to_peak, from_peak = np.maximum(peak - tau, 0.0), np.maximum(tau - peak, 0.0)
    before = PEAK_SHARE * (depth_mm(total) - depth_mm(to_peak / PEAK_SHARE))
    after = PEAK_SHARE * depth_mm(total) + (1 - PEAK_SHARE) * depth_mm(from_peak / (1 - PEAK_SHARE))
    return np.where(tau <= peak, before, after)


def hyetograph() -> pd.DataFrame:
    """Hours 0–23 with their rain (mm/h)."""
    edges = chicago_cumulative(np.arange(HOURS + 1) * 60.0)
    rain = np.zeros(24)
    rain[START_HOUR : START_HOUR + HOURS] = np.diff(edges)
    return pd.DataFrame({"hour": np.arange(24), "rain_mm_h": rain.round(1)})


if __name__ == "__main__":
    table = hyetograph()
    table.to_csv(OUT, index=False, lineterminator="\n")
    print(
        f"{OUT.name}: {table['rain_mm_h'].sum():.1f} mm, peak {table['rain_mm_h'].max():.1f} mm/h"
    )
