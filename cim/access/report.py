"""The Markdown report of a living-circle analysis: circles met on foot against a straight line."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cim.access.accessibility import Access
from cim.access.services import SERVICE_KINDS
from cim.escape import markdown_text
from layers.standards import LIVING_CIRCLE_M

__all__ = ["access_report"]


def _share(count: int, of: int) -> str:
    return f"{count:,} ({count / of:.1%})" if of else f"{count:,}"


def access_report(access: Access, *, city_name: str, by_unit: pd.DataFrame | None = None) -> str:
    """The report: per circle and per requirement, homes served on foot and in a straight line.

    Examples
    --------
    >>> import cim
    >>> from cim.access import accessibility
    >>> text = access_report(accessibility(cim.sample_city(), ["clinic"]), city_name="成都")
    >>> text.splitlines()[0]
    '# 15-minute living circles on foot: 成都'
    """
    homes = access.homes
    measured = int(homes["reason"].isna().sum())
    lines = [
        f"# 15-minute living circles on foot: {markdown_text(city_name)}",
        "",
        f"Homes: {len(homes):,} ({markdown_text(access.home_kind)}), {measured:,} on the walking "
        f"network; walking speed {access.speed_mps:g} m/s. Distances follow the two-way walking "
        "graph (no motorways, no trunk roads without a sidewalk), the straight gaps from door "
        "and service to their nearest way walked too. GB 50180-2018 (表 3.0.4, 附录 B) sets the "
        "circles by walking distance: "
        + ", ".join(f"{c} {m:,.0f} m" for c, m in LIVING_CIRCLE_M.items())
        + ".",
        "",
        "## Circles met: walking against a straight line",
        "",
        "| circle | distance | services checked | not checked | walking | straight line | "
        "difference |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for row in access.summary().itertuples():
        lines.append(
            f"| {row.circle} | {row.distance_m:,.0f} m | {row.kinds} | {row.unchecked or '–'} | "
            f"{_share(row.walk_homes, row.measured)} | {_share(row.straight_homes, row.measured)} "
            f"| {row.walk_homes - row.straight_homes:+,} |"
        )
    lines += [
        "",
        f"Shares are of the {measured:,} homes on the walking network. A circle is met when "
        "every service it requires among those checked is within its distance.",
        "",
        "## Each requirement",
        "",
        "| circle | service | within | walking | straight line |",
        "|---|---|---:|---:|---:|",
    ]
    known = homes["reason"].isna().to_numpy()
    for row in access.requirements.itertuples():
        walk = int(homes[row.column].fillna(False).to_numpy(dtype=bool).sum())
        straight = int((homes[f"{row.kind}_straight_m"].to_numpy() <= row.distance_m)[known].sum())
        lines.append(
            f"| {row.circle} | {row.kind} ({SERVICE_KINDS[row.kind].label}) | "
            f"{row.distance_m:,.0f} m | {_share(walk, measured)} | {_share(straight, measured)} |"
        )
    lines += [
        "",
        "## Nearest service of each kind",
        "",
        "| service | services | median walking | median straight | median detour |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind in access.kinds:
        walk = homes[f"{kind}_1_m"].to_numpy(dtype=float)[known]
        straight = homes[f"{kind}_straight_m"].to_numpy(dtype=float)[known]
        both = np.isfinite(walk) & (straight > 0)
        count = int((access.services["kind"] == kind).sum())
        lines.append(
            f"| {kind} | {count:,} | {_median(walk)} | {_median(straight)} | "
            f"{np.median(walk[both] / straight[both]) if both.any() else np.nan:.2f}× |"
        )
    cut_off = homes.loc[~known, ["id", "reason"]]
    if len(cut_off):
        lines += ["", f"## Homes not on the walking network ({len(cut_off):,})", ""]
        lines += [
            f"- {markdown_text(r.id)}: {markdown_text(r.reason)}"
            for r in cut_off.head(20).itertuples()
        ]
        if len(cut_off) > 20:
            lines.append(f"- … and {len(cut_off) - 20:,} more (access_by_building.parquet)")
    if by_unit is not None and len(by_unit):
        lines += _worst_units(access, by_unit)
    return "\n".join(lines) + "\n"


def _median(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    return f"{np.median(values):,.0f} m" if len(values) else "–"


def _worst_units(access: Access, by_unit: pd.DataFrame) -> list[str]:
    """The units whose residents meet the widest circle checked least often."""
    circle = access.circles[0]
    column = f"share_{circle}"
    level = by_unit["level"].iat[-1]
    units = by_unit[by_unit["level"] == level].sort_values([column, "unit_code"]).head(10)
    lines = [
        "",
        f"## {level}: the 10 units with the smallest share of residents in the {circle} circle",
        "",
        "Residents are the `population` column where given, else floor area (floors × footprint).",
        "",
        "| unit | name | homes | on foot | straight line |",
        "|---|---|---:|---:|---:|",
    ]
    for row in units.itertuples():
        lines.append(
            f"| {markdown_text(row.unit_code)} | {markdown_text(row.unit_name or '')} | "
            f"{row.homes:,} | {getattr(row, column):.1%} | "
            f"{getattr(row, column + '_straight'):.1%} |"
        )
    return lines
