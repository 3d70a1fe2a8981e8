"""Colours, Chinese labels, classification and tooltips shared by the web views and the static maps."""

from __future__ import annotations

import functools
import html
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import colormaps

import layers
from layers.schema import TRUE_TEXT
from layers.standards import WATERLOGGED_CM

__all__ = [
    "BUILDING_COLORS",
    "CLOSURE_COLOR",
    "DEPTH_CLASSES",
    "ETA_CLASSES",
    "FACILITY_COLORS",
    "LABELS",
    "SENSOR_COLORS",
    "Classes",
    "classify",
    "data_note",
    "format_bounds",
    "format_number",
]

BACKGROUND = [247, 248, 250]
BASE_FILL = [235, 238, 242, 255]
BASE_LINE = [120, 130, 150, 255]
ROAD_COLOR = [160, 166, 178, 255]
MISSING_COLOR = [190, 190, 190, 200]
INCIDENT_COLOR = [180, 0, 90, 255]
CLOSURE_COLOR = [120, 40, 170]  # violet: apart from the depth and ETA ramps and the incidents
BUILDING_COLORS = {
    "residential": [236, 178, 92],
    "commercial": [88, 156, 226],
    "public": [152, 112, 204],
    "industrial": [140, 140, 140],
    "other": [196, 196, 176],
}
FACILITY_COLORS = {
    "fire_station": [255, 90, 0],
    "hospital": [0, 168, 120],
    "police": [30, 80, 210],
    "ambulance_base": [0, 200, 210],
    "shelter": [110, 190, 40],
    "depot": [120, 90, 60],
}
SENSOR_COLORS = {
    "camera": [33, 102, 172],
    "manhole": [140, 81, 10],
    "smoke": [178, 24, 43],
    "water_level": [0, 150, 200],
    "air": [90, 174, 97],
    "rain_gauge": [118, 42, 131],
}
LABELS = {
    "residential": "住宅",
    "commercial": "商业",
    "public": "公共",
    "industrial": "工业",
    "other": "其他",
    "fire_station": "消防站",
    "hospital": "医院",
    "police": "派出所",
    "ambulance_base": "急救站",
    "shelter": "避难场所",
    "depot": "物资库",
    "camera": "摄像头",
    "manhole": "井盖",
    "smoke": "烟感",
    "water_level": "水位计",
    "air": "空气监测",
    "rain_gauge": "雨量计",
    "fire": "火灾",
    "medical": "医疗急救",
    "traffic": "交通事故",
    "public_security": "治安事件",
}
TOOLTIP_STYLE = {
    "backgroundColor": "rgba(20, 24, 32, 0.9)",
    "color": "white",
    "fontSize": "12px",
    "fontFamily": "'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif",
}
LAYER_NAMES = {  # layer name: (Chinese, English) for the data note
    "districts": ("区县", "districts"),
    "streets": ("街道", "streets"),
    "communities": ("社区", "communities"),
    "grid": ("网格", "grid cells"),
    "units": ("单元", "units"),
    "roads": ("道路", "roads"),
    "buildings": ("建筑", "buildings"),
    "facilities": ("设施", "facilities"),
    "incidents": ("事件", "incidents"),
    "sensors": ("传感器", "sensors"),
    "waterlogging_points": ("积水点", "waterlogging points"),
}


@dataclass(frozen=True)
class Classes:
    """Values put into classes, with a colour and a legend label for each class.

    ``index`` holds each value's class (``-1`` where the value is missing); ``colors`` and
    ``labels`` one entry a class.
    """

    index: np.ndarray
    colors: list[list[int]]
    labels: list[str]

    def color_of(self, alpha: int = 255) -> list[list[int]]:
        """An RGBA colour for each value; missing values are grey."""
        table = [[*c[:3], alpha] for c in self.colors]
        return [table[i] if i >= 0 else MISSING_COLOR for i in self.index]

    @property
    def legend(self) -> list[tuple[str, list[int]]]:
        entries = list(zip(self.labels, self.colors, strict=True))
        return entries + ([("无数据", MISSING_COLOR)] if (self.index < 0).any() else [])


def ramp(cmap: str, k: int) -> list[list[int]]:
    """``k`` RGB colours from a matplotlib colour map, leaving out its palest end."""
    colors = colormaps[cmap](np.linspace(0.12, 0.95, k) if k > 1 else [0.6])
    return [[round(v * 255) for v in c[:3]] for c in colors]


def format_number(value: float, digits: int = 3) -> str:
    """A number with at least ``digits`` significant digits, every digit of its integer part,
    and thousands separators; scientific notation only below 0.0001.

    Examples
    --------
    >>> format_number(0.0012345), format_number(1234567.89), format_number(-2.0)
    ('0.00123', '1,234,568', '-2')
    """
    if value == 0:
        return "0"
    whole = len(str(abs(round(value)))) if 0.5 <= abs(value) < np.inf else 0
    return format(value, f",.{max(digits, whole)}g")


def format_bounds(values) -> list[str]:
    """Class bounds written by their magnitude, with the digits that keep neighbours apart.

    Each value gets two significant digits (and every integer digit), and more wherever two
    different neighbours (apart by more than float noise) would otherwise read the same, so
    small values never collapse to "0.0 – 0.0" and large ones keep their thousands separators.

    Parameters
    ----------
    values : sequence of float
        The bounds in order (the lowest value, then each class's upper bound).

    Examples
    --------
    >>> format_bounds([0.00121, 0.00342, 0.0051])
    ['0.0012', '0.0034', '0.0051']
    >>> format_bounds([1.234, 1.238, 25_000.4])
    ['1.23', '1.24', '25,000']
    """
    numbers = np.asarray(values, dtype=float)
    digits = np.full(len(numbers), 2)
    for _ in range(17):  # a float has at most 17 significant digits
        text = [format_number(v, d) for v, d in zip(numbers, digits, strict=True)]
        clash = [
            i
            for i in range(len(numbers) - 1)
            if text[i] == text[i + 1]
            and not np.isclose(numbers[i], numbers[i + 1], rtol=1e-9, atol=0)
        ]
        if not clash:
            break
        for i in clash:
            digits[i : i + 2] += 1
    return text


def classify(
    values,
    *,
    scheme: str = "quantiles",
    k: int = 5,
    bins=None,
    cmap: str | None = None,
    fmt: str | None = None,
    labels: dict | None = None,
) -> Classes:
    """Classify a column for a map: numbers with mapclassify, anything else by category.

    Parameters
    ----------
    values : array-like
        Numbers (missing ones allowed) or categories (strings, booleans).
    scheme : str
        A mapclassify scheme: ``quantiles``, ``equal_interval``, ``natural_breaks``,
        ``fisher_jenks``, ``headtail_breaks``, ``std_mean``, ``user_defined`` (with ``bins``)…
    k : int
        Number of classes (at most the number of distinct values).
    bins : sequence of float, optional
        Upper bounds of the classes; implies ``scheme="user_defined"``.
    cmap : str, optional
        A matplotlib colour map; ``YlOrRd`` for numbers, ``tab10`` for categories.
    fmt : str, optional
        How class bounds are written in the legend (e.g. ``"{:.0%}"``); by default by their
        magnitude (:func:`format_bounds`).
    labels : dict, optional
        Legend text for categories (e.g. Chinese names for codes).

    Examples
    --------
    >>> classes = classify([1, 2, 3, 4, None], scheme="equal_interval", k=2)
    >>> classes.index.tolist(), classes.labels
    ([0, 0, 1, 1, -1], ['1 – 2.5', '2.5 – 4'])
    >>> classify([0.0012, 0.0021, 0.0034], scheme="equal_interval", k=2).labels
    ['0.0012 – 0.0023', '0.0023 – 0.0034']
    >>> classify(["住宅", "商业", "住宅"]).labels
    ['住宅', '商业']
    """
    series = pd.Series(values)
    if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
        return _categories(series, cmap or "tab10", labels or {})
    finite = series.to_numpy(dtype=float)
    present = np.isfinite(finite)
    if not present.any():
        raise layers.InputError("nothing to classify: every value is missing")
    if bins is not None:
        scheme = "user_defined"
    k = max(1, min(k, len(np.unique(finite[present]))))
    if k == 1 and bins is None:
        uppers = np.array([finite[present].max()])
        found = np.zeros(int(present.sum()), dtype=int)
    else:
        method = _mapclassify().classify(finite[present], scheme, k=k, bins=bins)
        uppers, found = np.asarray(method.bins, dtype=float), np.asarray(method.yb)
    index = np.full(len(finite), -1)
    index[present] = found
    edges = np.array([finite[present].min(), *uppers])
    written = format_bounds(edges) if fmt is None else [fmt.format(v) for v in edges]
    text = [
        (lo if lo == hi else f"{lo} – {hi}") if np.isfinite(upper) else f"> {lo}"
        for lo, hi, upper in zip(written[:-1], written[1:], uppers, strict=True)
    ]
    return Classes(index, ramp(cmap or "YlOrRd", len(uppers)), text)


@functools.cache
def _mapclassify():
    """mapclassify, imported when a map first classifies numbers (scikit-learn makes that
    slow), its Fisher-Jenks kernel compiled when that scheme is first used.

    mapclassify types that kernel's ``numba.njit``, and numba compiles a typed function at
    import: seconds in every process that classifies, whatever the scheme. Without the type
    while mapclassify imports, numba compiles the kernel on its first call instead.
    """
    if "mapclassify" in sys.modules:
        return sys.modules["mapclassify"]
    import numba

    typed = numba.njit

    def untyped(*args, **kwargs):
        return typed(*(args[1:] if args and isinstance(args[0], str) else args), **kwargs)

    numba.njit = untyped
    try:
        import mapclassify
    finally:
        numba.njit = typed
    return mapclassify


def _categories(series: pd.Series, cmap: str, labels: dict, most: int = 10) -> Classes:
    counts = series.dropna().astype(str).value_counts(sort=True)
    if counts.empty:
        raise layers.InputError("nothing to classify: every value is missing")
    kept = list(counts.index[:most])
    order = list(dict.fromkeys(v for v in series.dropna().astype(str) if v in kept))
    lookup = {v: i for i, v in enumerate(order)}
    other = len(order)
    index = np.array([-1 if pd.isna(v) else lookup.get(str(v), other) for v in series], dtype=int)
    palette = [[round(c * 255) for c in colormaps[cmap](i % 10)[:3]] for i in range(other)]
    names = [labels.get(v, v) for v in order]
    if (index == other).any():
        palette.append([150, 150, 150])
        names.append("其他")
    return Classes(index, palette, names)


DEPTH_CLASSES = (  # upper bound cm, label, colour
    (WATERLOGGED_CM, "≤ 15 cm 积水", [116, 169, 207]),
    (30.0, "15–30 cm 内涝", [253, 141, 60]),
    (50.0, "30–50 cm 内涝", [227, 26, 28]),
    (np.inf, "≥ 50 cm 严重内涝", [128, 0, 38]),
)
ETA_CLASSES = (  # upper bound minutes, label, colour
    (5.0, "≤ 5 分钟", [26, 152, 80]),
    (10.0, "5–10 分钟", [166, 217, 106]),
    (15.0, "10–15 分钟", [253, 174, 97]),
    (np.inf, "> 15 分钟", [215, 48, 39]),
)


def fixed_classes(values, table) -> Classes:
    """Classes with fixed upper bounds (``DEPTH_CLASSES``, ``ETA_CLASSES``)."""
    numbers = pd.Series(values, dtype=float).to_numpy()
    uppers = np.array([upper for upper, _, _ in table])
    index = np.where(
        np.isfinite(numbers), np.searchsorted(uppers, np.nan_to_num(numbers), side="left"), -1
    )
    return Classes(index, [c for _, _, c in table], [label for _, label, _ in table])


def share_classes(shares) -> Classes:
    """Shares (0–1) in fifths, red to green."""
    clipped = pd.Series(shares, dtype=float).clip(0.0, 1.0)
    return classify(clipped, bins=[0.2, 0.4, 0.6, 0.8, 1.0], cmap="RdYlGn", fmt="{:.0%}")


def data_note(
    credits: str | None, drawn: Mapping[str, pd.DataFrame | None], *, english: bool = False
) -> str:
    """The map's data line: the city's credits, and the drawn rows flagged ``synthetic``.

    Parameters
    ----------
    credits : str, optional
        The city's attribution (:attr:`cim.CitySettings.credits`); none is claimed without it.
    drawn : mapping of str to DataFrame
        The layers on the map by name; rows whose ``synthetic`` is true are counted (also
        as text, ``"True"`` or ``"yes"``, as a CSV gives it), and building heights whose
        ``height_source`` starts with ``synthetic``.

    Examples
    --------
    >>> import pandas as pd
    >>> sensors = pd.DataFrame({"synthetic": [True, True, False]})
    >>> data_note("© OSM", {"sensors": sensors, "roads": None})
    '数据：© OSM；合成数据：传感器 2/3'
    >>> data_note(None, {"sensors": sensors.assign(synthetic=False)})
    ''
    >>> data_note(None, {"incidents": pd.DataFrame({"synthetic": ["True", "false", None]})})
    '合成数据：事件 1/3'
    """
    parts = [("Data: " if english else "数据：") + credits] if credits else []
    flagged = []
    for name, frame in drawn.items():
        if frame is None or len(frame) == 0:
            continue
        zh, en = LAYER_NAMES.get(name, (name, name))
        label = en if english else zh
        if "synthetic" in frame.columns:
            flag = frame["synthetic"]
            text = flag.astype(str).str.strip().str.lower()
            count = int((flag.eq(True) | text.isin(TRUE_TEXT)).sum())
            if count:
                flagged.append(f"{label} {count}/{len(frame)}")
        if "height_source" in frame.columns:
            count = int(frame["height_source"].astype(str).str.startswith("synthetic").sum())
            if count:
                flagged.append(
                    f"{label} heights {count}/{len(frame)}"
                    if english
                    else f"{label}高度 {count}/{len(frame)}"
                )
    if flagged:
        parts.append(
            "synthetic: " + ", ".join(flagged) if english else "合成数据：" + "，".join(flagged)
        )
    return ("; " if english else "；").join(parts)


def esc(value) -> str:
    """HTML-escaped text; a missing value becomes a dash."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return html.escape(str(value), quote=True)


def tip(title, *lines: tuple[str, object]) -> str:
    """Tooltip HTML: a bold title and ``name：value`` lines, every part escaped."""
    body = "".join(f"<br/>{esc(k)}：{esc(v)}" for k, v in lines)
    return f"<b>{esc(title)}</b>{body}"


def legend_html(title: str, items: list[tuple[str, list[int]]], note: str = "") -> str:
    """The legend panel: a title, a swatch per entry and a note, every string escaped."""
    rows = "".join(
        f'<div><span style="display:inline-block;width:10px;height:10px;margin-right:6px;'
        f'background:rgb({c[0]},{c[1]},{c[2]})"></span>{esc(label)}</div>'
        for label, c in items
    )
    foot = f"<div style='margin-top:4px;color:#666'>{esc(note)}</div>" if note else ""
    return f"<div><b>{esc(title)}</b></div>{rows}{foot}"
