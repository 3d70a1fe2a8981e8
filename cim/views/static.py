"""PNG maps for printed reports, drawn with matplotlib: no browser and no network needed.

Text is Chinese when a CJK font is installed (Noto Sans CJK, WenQuanYi, Microsoft YaHei,
SimHei, PingFang…); otherwise the Chinese words are left out and the English titles used,
so a bare server still writes a readable map.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import font_manager, rc_context, rcParams
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

import layers
from cim.atomic import atomic_path
from cim.model import CityModel
from cim.views.layers import bounds_of
from cim.views.style import (
    BASE_FILL,
    BASE_LINE,
    CLOSURE_COLOR,
    DEPTH_CLASSES,
    ETA_CLASSES,
    FACILITY_COLORS,
    INCIDENT_COLOR,
    LABELS,
    ROAD_COLOR,
    Classes,
    data_note,
    fixed_classes,
    share_classes,
)
from layers.units import unit_layer

__all__ = ["coverage_map", "dispatch_map", "flood_map"]

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
)
STATION_COLOR = [60, 60, 60]  # a station of no known facility kind
POND_EDGE = (0.16, 0.08, 0.08)  # the dark edge that sets a pond's depth colour off the roads
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef（）：；]+")


@functools.cache
def cjk_font() -> str | None:
    """The first CJK font family matplotlib can use, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _with_fonts(draw):
    """Draw under a CJK sans-serif font when one is installed."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        family = cjk_font()
        fonts = {"font.sans-serif": [family, *rcParams["font.sans-serif"]]} if family else {}
        with rc_context({"font.family": "sans-serif", **fonts}):
            return draw(*args, **kwargs)

    return wrapper


def _text(zh: str, en: str | None = None) -> str:
    if cjk_font():
        return zh
    return en if en is not None else " ".join(_CJK.sub(" ", zh).split())


def _rgb(color) -> tuple[float, ...]:
    return tuple(c / 255 for c in color[:3]) + ((color[3] / 255,) if len(color) > 3 else ())


class _SavedCanvas(FigureCanvasAgg):
    """An Agg canvas that draws when the figure is saved, only: geopandas asks for a draw
    after every layer it plots, each a full render of the map (5 of a dispatch map's 7)."""

    def draw_idle(self, *args, **kwargs) -> None:
        pass


def _figure(city: CityModel, bounds) -> tuple[Figure, object]:
    figure = Figure(figsize=(8, 7), dpi=150)
    _SavedCanvas(figure)
    if cjk_font():
        figure.set_layout_engine("constrained")
    ax = figure.add_subplot()
    ax.set_facecolor((0.97, 0.973, 0.98))
    present = city.layers
    if "districts" in present:
        layers.to_wgs84(present["districts"], kind="districts").plot(
            ax=ax, color=_rgb(BASE_FILL), edgecolor=_rgb(BASE_LINE), linewidth=0.6
        )
    if "roads" in present:
        roads = layers.to_wgs84(present["roads"], kind="roads")
        roads.cx[bounds[0] : bounds[2], bounds[1] : bounds[3]].plot(
            ax=ax, color=_rgb(ROAD_COLOR), linewidth=0.4
        )
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect(1 / np.cos(np.radians((bounds[1] + bounds[3]) / 2)))
    ax.tick_params(labelsize=6)
    return figure, ax


def _data_note(city: CityModel, **drawn) -> str:
    """The city's credits and the drawn synthetic rows (the base districts and roads included)."""
    present = city.layers
    base = {"districts": present.get("districts"), "roads": present.get("roads")}
    return data_note(city.settings.credits, base | drawn, english=cjk_font() is None)


def _finish(
    figure: Figure, ax, path, *, title: str, handles: list, legend_title: str, note: str
) -> Path:
    ax.set_title(title, fontsize=11)
    ax.legend(
        handles=handles,
        title=legend_title,
        loc="lower left",
        fontsize=7,
        title_fontsize=8,
        framealpha=0.9,
    )
    ax.annotate(
        note,
        (0.995, 0.005),
        xycoords="axes fraction",
        ha="right",
        va="bottom",
        fontsize=6,
        color="#555",
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path


def _patches(classes: Classes, alpha: float = 1.0) -> list[Patch]:
    return [
        Patch(facecolor=_rgb(color), alpha=alpha, label=_text(label))
        for label, color in classes.legend
    ]


def _plot_closures(
    ax,
    closures: gpd.GeoDataFrame,
    *,
    zorder: float,
    label: tuple[str, str] = ("封闭或受阻", "closed"),
) -> Patch:
    """Closures in violet, thin (polygons pale with an edge, lines 0.7 pt, points as dots),
    apart from the depth and ETA colours; returns their legend patch."""
    violet = _rgb(CLOSURE_COLOR)
    kind = closures.geom_type.str.replace("Multi", "")
    areas, lines, points = (closures[kind == k] for k in ("Polygon", "LineString", "Point"))
    if len(areas):
        areas.plot(ax=ax, facecolor=(*violet, 0.25), edgecolor=violet, linewidth=0.8, zorder=zorder)
    if len(lines):
        lines.plot(ax=ax, color=violet, linewidth=0.7, zorder=zorder)
    if len(points):
        points.plot(ax=ax, color=violet, markersize=8, zorder=zorder)
    return Patch(facecolor=(*violet, 0.25), edgecolor=violet, label=_text(*label))


def _sent_stations(
    city: CityModel, routes: gpd.GeoDataFrame, resources: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame | None:
    """The resources the routes set out from (the city's facilities by default), with their
    facility ``kind`` taken from the city where the resources do not say it."""
    facilities = city.layer("facilities") if "facilities" in city.layers else None
    resources = facilities if resources is None else resources
    if resources is None:
        return None
    sent = resources[resources["id"].astype(str).isin(routes["resource_id"].astype(str))]
    if "kind" not in sent.columns:
        known = pd.Series(dtype=object)
        if facilities is not None:
            known = pd.Series(facilities["kind"].to_numpy(), index=facilities["id"].astype(str))
        sent = sent.assign(kind=sent["id"].astype(str).map(known))
    return layers.to_wgs84(sent, kind="resources")


@_with_fonts
def dispatch_map(
    city: CityModel,
    routes: gpd.GeoDataFrame,
    path,
    *,
    title: str = "出警路线",
    incidents: gpd.GeoDataFrame | None = None,
    resources: gpd.GeoDataFrame | None = None,
    closures: gpd.GeoDataFrame | None = None,
) -> Path:
    """Routes coloured by ETA class (5 / 10 / 15 minutes) with their incidents, the stations
    they set out from and the closures they avoid, as a PNG.

    Parameters
    ----------
    incidents, resources : GeoDataFrame, optional
        The points dispatched (by default the city's ``incidents`` and ``facilities``); only
        those with a route are drawn, stations as triangles coloured by facility kind.
    closures : GeoDataFrame, optional
        Barriers the routes were computed with (:meth:`routing.Router.with_closures`).

    Examples
    --------
    >>> import cim, tempfile
    >>> from cim.response import dispatch_incidents
    >>> city = cim.sample_city()
    >>> png = dispatch_map(city, dispatch_incidents(city), tempfile.mkdtemp() + "/map.png")
    >>> png.read_bytes()[:4]
    b'\\x89PNG'
    """
    drawn = routes[routes.geometry.notna() & ~routes.geometry.is_empty]
    if drawn.empty:
        raise layers.EmptyLayerError("routes", "no route to draw")
    drawn = layers.to_wgs84(drawn, kind="routes")
    classes = fixed_classes(drawn["eta_s"] / 60.0, ETA_CLASSES)
    figure, ax = _figure(city, bounds_of(drawn))
    handles = _patches(classes)
    if closures is not None and len(closures):
        closures = layers.to_wgs84(closures, kind="closures")
        handles.append(_plot_closures(ax, closures, zorder=3))
    drawn.plot(ax=ax, color=[_rgb(c) for c in classes.color_of()], linewidth=1.8, zorder=4)
    stations = _sent_stations(city, drawn, resources)
    if stations is not None and len(stations):
        kinds = stations["kind"].where(stations["kind"].isin(list(FACILITY_COLORS)), "station")
        colors = {k: _rgb(FACILITY_COLORS.get(k, STATION_COLOR)) for k in kinds}
        stations.plot(
            ax=ax,
            color=[colors[k] for k in kinds],
            marker="^",
            markersize=40,
            edgecolor="white",
            linewidth=0.6,
            zorder=6,
        )
        handles += [
            Patch(facecolor=c, label=_text(LABELS.get(k, "出动站点"), k.replace("_", " ")))
            for k, c in colors.items()
        ]
    if incidents is None and "incidents" in city.layers:
        incidents = city.layer("incidents")
    if incidents is not None:
        incidents = layers.to_wgs84(incidents, kind="incidents")
        incidents = incidents[incidents["id"].astype(str).isin(drawn["incident_id"].astype(str))]
        incidents.plot(ax=ax, color=_rgb(INCIDENT_COLOR), markersize=10, zorder=5)
        handles.append(Patch(facecolor=_rgb(INCIDENT_COLOR), label=_text("事件", "incident")))
    return _finish(
        figure,
        ax,
        path,
        title=_text(title, "Dispatch routes"),
        handles=handles,
        legend_title=_text("预计到达", "ETA (min)"),
        note=_data_note(city, incidents=incidents, facilities=stations),
    )


@_with_fonts
def coverage_map(city: CityModel, table: pd.DataFrame, path, *, level: str = "grid") -> Path:
    """Units coloured by the share their online sensors cover, as a PNG.

    Examples
    --------
    >>> import cim, tempfile
    >>> from cim.coverage import sensor_coverage
    >>> city = cim.sample_city()
    >>> table = sensor_coverage(city, levels=["street"])
    >>> coverage_map(city, table, tempfile.mkdtemp() + "/c.png", level="street").suffix
    '.png'
    """
    units = layers.to_wgs84(city.layer(unit_layer(level)), kind=unit_layer(level))
    rows = table[table["level"] == level].set_index("unit_code")
    share = units["code"].astype(str).map(rows["covered_share"])
    classes = share_classes(share)
    sensors = layers.to_wgs84(city.layer("sensors"), kind="sensors")
    figure, ax = _figure(city, bounds_of(sensors, pad=0.02))
    units.plot(ax=ax, color=[_rgb(c) for c in classes.color_of()], alpha=0.75, linewidth=0)
    sensors.plot(ax=ax, color="#234", markersize=0.6, zorder=5)
    return _finish(
        figure,
        ax,
        path,
        title=_text(f"物联感知覆盖（{level}）", f"Sensor coverage ({level})"),
        handles=_patches(classes, 0.75),
        legend_title=_text("在线传感器覆盖面积", "share covered"),
        note=_data_note(city, sensors=sensors, **{unit_layer(level): units}),
    )


@_with_fonts
def flood_map(
    city: CityModel,
    ponds: gpd.GeoDataFrame,
    closures: gpd.GeoDataFrame,
    path,
    *,
    title: str = "内涝情景",
) -> Path:
    """Ponds coloured by depth class (15 cm: GB 51222-2017) over the flooded roads, as a PNG.

    Each pond is drawn with a dot of its depth colour, so that ponds a few metres wide still
    read at city scale; the flooded roads (which run inside the ponds) are thin violet lines
    over them, narrower than the dots, so the depth colour shows on both sides.

    Examples
    --------
    >>> import cim, tempfile
    >>> from cim.sample import SAMPLE_DEM
    >>> from cim.waterlogging import read_dem, ponding, road_closures
    >>> city, dem = cim.sample_city(), read_dem(SAMPLE_DEM)
    >>> ponds, water = ponding(dem, rain_mm_h=80, hours=2)
    >>> closures = road_closures(city.layer("roads"), dem, water)
    >>> flood_map(city, ponds, closures, tempfile.mkdtemp() + "/f.png").exists()
    True
    """
    wet = layers.to_wgs84(ponds[ponds["water_m3"] > 0], kind="ponds")
    if wet.empty and closures.empty:
        raise layers.EmptyLayerError("ponds", "no pond holds water and no road is flooded")
    classes = fixed_classes(wet["depth_cm"], DEPTH_CLASSES)
    closures = layers.to_wgs84(closures, kind="closures")
    figure, ax = _figure(city, bounds_of(wet, closures))
    handles = _patches(classes)
    if len(wet):
        colors = [_rgb(c) for c in classes.color_of()]
        wet.plot(ax=ax, color=colors, edgecolor=POND_EDGE, linewidth=0.3, zorder=3)
        wet.representative_point().plot(
            ax=ax, color=colors, markersize=18, edgecolor=POND_EDGE, linewidth=0.25, zorder=4
        )
    if len(closures):
        handles.append(_plot_closures(ax, closures, zorder=5, label=("淹没道路", "flooded road")))
    return _finish(
        figure,
        ax,
        path,
        title=_text(title, "Rainfall scenario"),
        handles=handles,
        legend_title=_text("积水深度", "water depth"),
        note=_data_note(city),
    )
