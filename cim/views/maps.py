"""Ready views of the city model, each a ``pydeck.Deck`` with a title and legend panel.

Every view draws the districts and roads as its base (no basemap, so it works offline),
takes a camera ``preset`` (``"2d"`` or ``"3d"``), shows inline in Jupyter without any
network, and exports with :func:`cim.views.export_html`.
"""

from __future__ import annotations

import html

import geopandas as gpd
import numpy as np
import pandas as pd
import pydeck as pdk

import layers
from cim.model import CityModel
from cim.views.html import render_html
from cim.views.layers import (
    area_layer,
    bounds_of,
    building_heights,
    building_layer,
    closure_layers,
    district_layer,
    hexagon_layer,
    path_layer,
    point_layer,
    range_layer,
    road_layer,
)
from cim.views.style import (
    BUILDING_COLORS,
    CLOSURE_COLOR,
    DEPTH_CLASSES,
    ETA_CLASSES,
    FACILITY_COLORS,
    INCIDENT_COLOR,
    LABELS,
    MISSING_COLOR,
    SENSOR_COLORS,
    TOOLTIP_STYLE,
    Classes,
    classify,
    data_note,
    fixed_classes,
    format_number,
    legend_html,
    ramp,
    share_classes,
    tip,
)
from layers.standards import HIGH_RISE_M, SUPER_HIGH_RISE_M, WATERLOGGED_CM
from layers.units import unit_layer

__all__ = [
    "HEIGHT_CLASSES",
    "PRESETS",
    "CityDeck",
    "choropleth_view",
    "city_view",
    "compose",
    "coverage_view",
    "dispatch_view",
    "service_area_view",
    "view_state",
    "waterlogging_view",
]

PRESETS = {"2d": {"pitch": 0.0, "bearing": 0.0}, "3d": {"pitch": 50.0, "bearing": -20.0}}
HEIGHT_CLASSES = (
    (HIGH_RISE_M, "≤ 24 m 低层/多层", [253, 219, 159]),
    (50.0, "24–50 m 高层", [244, 143, 88]),
    (SUPER_HIGH_RISE_M, "50–100 m 高层", [203, 64, 72]),
    (np.inf, "> 100 m 超高层", [104, 24, 90]),
)
RINGS_FROM_M = 300.0  # sensor kinds reaching farther are drawn as rings, not discs
COVERAGE_MODES = {"units": "按单元", "ranges": "作用范围", "hexagons": "六边形计数"}
FIT_PX = (960, 540)  # the bounds fit a window this size: the notebook's inline view
TILE_PX = 512  # deck.gl's web-mercator world is 512 px wide at zoom 0


class CityDeck(pdk.Deck):
    """A ``pydeck.Deck`` that shows inline in Jupyter with no network.

    pydeck's own notebook display loads deck.gl from a CDN; this one embeds the same
    self-contained page as :func:`cim.views.export_html` in an iframe. Its text form names
    the layers; pydeck's is the whole deck as JSON (megabytes), which a notebook would
    otherwise carry beside the page in every view's output (``to_json()`` still gives it).

    Examples
    --------
    >>> roads = pdk.Layer("PathLayer", [], id="roads")
    >>> compose([roads], bounds=[104.0, 30.6, 104.1, 30.7], title="成都")
    <CityDeck: PathLayer 'roads'>
    """

    def __repr__(self) -> str:
        return f"<CityDeck: {', '.join(f'{layer.type} {layer.id!r}' for layer in self.layers)}>"

    def _repr_html_(self) -> str:
        page = html.escape(render_html(self), quote=True)
        return (
            f'<iframe srcdoc="{page}" style="width:100%;height:540px;border:0" '
            f'title="CIM view"></iframe>'
        )


def view_state(bounds, *, preset: str = "2d") -> pdk.ViewState:
    """A camera looking at ``bounds`` (lon/lat) from a preset angle.

    Examples
    --------
    >>> view_state([104.0, 30.6, 104.1, 30.7], preset="3d").pitch
    50.0
    """
    if preset not in PRESETS:
        raise layers.InputError(f"preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    west, south, east, north = bounds
    latitude = (south + north) / 2
    wide = max(east - west, 1e-4)
    tall = max(north - south, 1e-4) / np.cos(np.radians(latitude))
    width_px, height_px = FIT_PX
    zoom = np.log2(360.0 / TILE_PX * min(width_px / wide, height_px / tall))
    return pdk.ViewState(
        longitude=(west + east) / 2, latitude=latitude, zoom=float(zoom), **PRESETS[preset]
    )


def compose(
    deck_layers: list[pdk.Layer],
    *,
    bounds,
    title: str,
    legend: list[tuple[str, list[int]]] = (),
    note: str = "",
    preset: str = "2d",
) -> CityDeck:
    """Put layers (from :mod:`cim.views.layers`) into a deck with a legend panel.

    Examples
    --------
    >>> import cim
    >>> from cim.views.layers import district_layer
    >>> districts = cim.sample_city().layer("districts")
    >>> deck = compose([district_layer(districts)], bounds=districts.total_bounds, title="成都")
    >>> deck.initial_view_state.pitch, "成都" in deck.description
    (0.0, True)
    """
    return CityDeck(
        layers=deck_layers,
        initial_view_state=view_state(bounds, preset=preset),
        map_provider=None,
        map_style=None,
        tooltip={"html": "{tip}", "style": TOOLTIP_STYLE},
        description=legend_html(title, list(legend), note),
    )


def _wgs84(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    return layers.to_wgs84(gdf, kind=kind)


def _clip(gdf: gpd.GeoDataFrame, bounds) -> gpd.GeoDataFrame:
    return gdf.cx[bounds[0] : bounds[2], bounds[1] : bounds[3]]


def _base(city: CityModel, *, roads: bool = True) -> list[pdk.Layer]:
    present = city.layers
    base = [district_layer(present["districts"])] if "districts" in present else []
    if roads and "roads" in present:
        base.append(road_layer(present["roads"]))
    return base


def _note(city: CityModel, lead: str = "", **drawn: gpd.GeoDataFrame | None) -> str:
    """A view's note: ``lead``, then the city's credits and the synthetic rows of the drawn
    layers (the base districts and roads included)."""
    present = city.layers
    base = {"districts": present.get("districts"), "roads": present.get("roads")}
    return "；".join(p for p in (lead, data_note(city.settings.credits, base | drawn)) if p)


def _height_legend(classes: Classes) -> list[tuple[str, list[int]]]:
    """Height classes with their building counts; unknown heights are a class of their own."""
    counts = np.bincount(classes.index[classes.index >= 0], minlength=len(classes.labels))
    legend = [
        (f"{label}：{n} 栋", color)
        for label, color, n in zip(classes.labels, classes.colors, counts, strict=True)
    ]
    return legend + _unknown_height_legend(int((classes.index < 0).sum()))


def _unknown_height_legend(count: int) -> list[tuple[str, list[int]]]:
    return [(f"高度未知：{count} 栋（平铺绘制）", MISSING_COLOR)] if count else []


def _focus(city: CityModel) -> np.ndarray:
    present = city.layers
    name = next((n for n in ("roads", "buildings", "districts") if n in present), None)
    if name is None:
        raise layers.MissingError(
            f"{city.name}: nothing to draw the city from; it has no roads, buildings or districts"
        )
    return bounds_of(_wgs84(present[name], name), pad=0.0)


def _route_layer(routes: gpd.GeoDataFrame) -> tuple[pdk.Layer, Classes]:
    drawn = routes[routes.geometry.notna() & ~routes.geometry.is_empty]
    classes = fixed_classes(drawn["eta_s"] / 60.0, ETA_CLASSES)
    names = drawn.get("resource_name", drawn["resource_id"]).fillna(drawn["resource_id"])
    tips = [
        tip(
            f"出警路线 {r.incident_id} ← {name}",
            ("预计到达", f"{r.eta_s / 60:.1f} 分钟"),
            ("距离", f"{r.distance_m / 1000:.2f} km"),
            ("车辆", r.profile),
        )
        for r, name in zip(drawn.itertuples(), names, strict=True)
    ]
    layer = path_layer(
        drawn, colors=classes.color_of(), widths=5, tips=tips, id="routes", min_width_px=3
    )
    return layer, classes


def _facility_layer(facilities: gpd.GeoDataFrame, *, id: str = "facilities") -> pdk.Layer:
    return point_layer(
        facilities,
        colors=[FACILITY_COLORS.get(k, [60, 60, 60]) for k in facilities["kind"]],
        radius_m=60,
        min_radius_px=5,
        tips=[
            tip(r.name, ("类型", LABELS.get(r.kind, r.kind)), ("可派单位", r.units))
            for r in facilities.itertuples()
        ],
        id=id,
    )


def _incident_layer(incidents: gpd.GeoDataFrame) -> pdk.Layer:
    kinds = incidents["kind"] if "kind" in incidents else [None] * len(incidents)
    return point_layer(
        incidents,
        colors=INCIDENT_COLOR,
        radius_m=45,
        min_radius_px=4,
        tips=[
            tip(
                f"事件 {r.id}",
                ("类型", LABELS.get(k, k)),
                ("优先级", getattr(r, "priority", None)),
                ("报警时间", getattr(r, "reported_at", None)),
            )
            for r, k in zip(incidents.itertuples(), kinds, strict=True)
        ],
        id="incidents",
    )


def _closures(
    closures: gpd.GeoDataFrame | None, label: str = "封闭或受阻"
) -> tuple[list[pdk.Layer], list[tuple[str, list[int]]]]:
    """The closures' layers and legend entry (neither when there are no closures)."""
    if closures is None or closures.empty:
        return [], []
    return closure_layers(closures, title=label), [(label, CLOSURE_COLOR)]


def _facility_legend(facilities: gpd.GeoDataFrame) -> list[tuple[str, list[int]]]:
    kinds = set(facilities["kind"])
    return [(LABELS[k], FACILITY_COLORS[k]) for k in FACILITY_COLORS if k in kinds]


def city_view(
    city: CityModel,
    *,
    routes: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    closures: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    preset: str = "3d",
    color_by: str = "use",
    roads: bool = True,
) -> CityDeck:
    """The city in 3D: districts, roads, extruded buildings, facilities, incidents, routes.

    Parameters
    ----------
    city : CityModel
        Drawn layers: ``districts``, ``roads``, ``buildings``, ``facilities``, ``incidents``
        (each when present).
    routes : GeoDataFrame, optional
        Dispatch result (:meth:`routing.Router.dispatch`), coloured by ETA.
    incidents : GeoDataFrame, optional
        Incidents to draw instead of the city's ``incidents`` layer.
    closures : GeoDataFrame, optional
        Barriers the routes were computed with (:meth:`routing.Router.with_closures`), drawn
        in violet under the routes.
    title : str, optional
        Title of the legend panel.
    preset : {"3d", "2d"}
        Camera: tilted and turned, or straight down.
    color_by : {"use", "height"}
        Buildings coloured by use, or by height class (GB 50352-2019: 24 m, 100 m).
    roads : bool
        Draw the road network as the base map.

    Examples
    --------
    >>> import cim
    >>> deck = city_view(cim.sample_city(), preset="2d")
    >>> [layer.id for layer in deck.layers]
    ['districts', 'roads', 'buildings', 'facilities', 'incidents']
    """
    present = city.layers
    bounds = _focus(city)
    deck_layers = _base(city, roads=roads)
    legend: list[tuple[str, list[int]]] = []
    drawn: dict[str, gpd.GeoDataFrame | None] = {}
    if "buildings" in present:
        buildings = drawn["buildings"] = _clip(_wgs84(present["buildings"], "buildings"), bounds)
        heights = building_heights(buildings)
        if color_by == "height":
            classes = fixed_classes(heights, HEIGHT_CLASSES)
            deck_layers.append(building_layer(buildings, colors=classes.color_of()))
            legend += _height_legend(classes)
        elif color_by == "use":
            deck_layers.append(building_layer(buildings))
            legend += [(LABELS[k], c) for k, c in BUILDING_COLORS.items()]
            legend += _unknown_height_legend(int(np.isnan(heights).sum()))
        else:
            raise layers.InputError(f"color_by must be 'use' or 'height', not {color_by!r}")
    closure_drawn, closure_legend = _closures(closures)
    deck_layers += closure_drawn
    legend += closure_legend
    if routes is not None and routes.geometry.notna().any():
        layer, classes = _route_layer(routes)
        deck_layers.append(layer)
        legend += [(f"出警 {label}", c) for label, c in classes.legend]
    if "facilities" in present:
        facilities = drawn["facilities"] = _clip(
            _wgs84(present["facilities"], "facilities"), bounds
        )
        deck_layers.append(_facility_layer(facilities))
        legend += _facility_legend(facilities)
    incidents = drawn["incidents"] = present.get("incidents") if incidents is None else incidents
    if incidents is not None:
        deck_layers.append(_incident_layer(incidents))
        legend.append(("事件", INCIDENT_COLOR))
    return compose(
        deck_layers,
        bounds=bounds,
        title=title or f"{city.name} 城市信息模型",
        legend=legend,
        note=_note(city, **drawn),
        preset=preset,
    )


def dispatch_view(
    city: CityModel,
    routes: gpd.GeoDataFrame,
    *,
    incidents: gpd.GeoDataFrame | None = None,
    closures: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    preset: str = "2d",
) -> CityDeck:
    """Dispatch routes coloured by ETA class, with their incidents and the units sent.

    ``closures`` (the barriers given to :meth:`routing.Router.with_closures`) are drawn in
    violet under the routes.

    Examples
    --------
    >>> import cim
    >>> from cim.response import dispatch_incidents
    >>> city = cim.sample_city()
    >>> deck = dispatch_view(city, dispatch_incidents(city))
    >>> [layer.id for layer in deck.layers]
    ['districts', 'roads', 'routes', 'units', 'incidents']
    """
    if routes.empty or not routes.geometry.notna().any():
        raise layers.EmptyLayerError("routes", "no route to draw; dispatch some incidents first")
    routes = _wgs84(routes, "routes")
    route_layer, classes = _route_layer(routes)
    closure_drawn, closure_legend = _closures(closures)
    deck_layers = [*_base(city), *closure_drawn, route_layer]
    legend = [*classes.legend, *closure_legend]
    sent = None
    if "facilities" in city.layers:
        sent = city.layer("facilities")
        sent = sent[sent["id"].isin(routes["resource_id"])]
        deck_layers.append(_facility_layer(_wgs84(sent, "facilities"), id="units"))
        legend += _facility_legend(sent)
    incidents = city.layers.get("incidents") if incidents is None else incidents
    if incidents is not None:
        incidents = incidents[incidents["id"].isin(routes["incident_id"])]
        deck_layers.append(_incident_layer(incidents))
        legend.append(("事件", INCIDENT_COLOR))
    return compose(
        deck_layers,
        bounds=bounds_of(routes[routes.geometry.notna()], pad=0.05),
        title=title or f"{city.name} 出警路线（按到达时间）",
        legend=legend,
        note=_note(
            city, "到达时间分级：建标 152-2017 消防 5 分钟", facilities=sent, incidents=incidents
        ),
        preset=preset,
    )


def _unit_table(city: CityModel, level: str, column: str, data: pd.DataFrame | None):
    units = _wgs84(city.layer(unit_layer(level)), unit_layer(level))
    if data is None:
        if column not in units.columns:
            raise layers.MissingError(
                f"the {unit_layer(level)} layer has no column {column!r}; it has "
                f"{', '.join(c for c in units.columns if c != 'geometry')} (or pass data=)"
            )
        return units, units[column]
    if "level" in data.columns:
        data = data[data["level"] == level]
    key = "unit_code" if "unit_code" in data.columns else "code"
    if key not in data.columns or column not in data.columns:
        raise layers.MissingError(f"data needs a 'unit_code' (or 'code') column and {column!r}")
    if data[key].duplicated().any():
        raise layers.InputError(f"data has more than one row per unit for level {level!r}")
    values = units["code"].astype(str).map(data.set_index(data[key].astype(str))[column])
    return units, values


def _scheme_name(scheme: str, bins, values: pd.Series) -> str:
    if bins is not None:
        return "自定分界"
    return scheme if pd.api.types.is_numeric_dtype(values) else "类别"


def choropleth_view(
    city: CityModel,
    column: str,
    *,
    level: str = "district",
    data: pd.DataFrame | None = None,
    scheme: str = "quantiles",
    k: int = 5,
    bins=None,
    cmap: str | None = None,
    fmt: str | None = None,
    title: str | None = None,
    preset: str = "2d",
) -> CityDeck:
    """Districts, streets, communities or grid cells coloured by any column.

    Parameters
    ----------
    column : str
        A column of the unit layer, or of ``data``.
    level : {"district", "street", "community", "grid"}
    data : DataFrame, optional
        A table with ``unit_code`` (e.g. :func:`cim.coverage.sensor_coverage`, rows of
        other levels are ignored) to join on the units' ``code``.
    scheme, k, bins, cmap, fmt
        Classification (see :func:`cim.views.classify`); text columns get a colour each.
    preset : {"2d", "3d"}
        In 3D the units are raised by class.

    Examples
    --------
    >>> import cim
    >>> from cim.coverage import sensor_coverage
    >>> city = cim.sample_city()
    >>> table = sensor_coverage(city, levels=["street"])
    >>> deck = choropleth_view(city, "density_per_km2", level="street", data=table, k=4)
    >>> len(deck.layers), "传感器" in deck.description or "density" in deck.description
    (3, True)
    """
    units, values = _unit_table(city, level, column, data)
    classes = classify(values, scheme=scheme, k=k, bins=bins, cmap=cmap, fmt=fmt, labels=LABELS)
    names = units["name"] if "name" in units else units["code"]
    shown = values.map(lambda v: format_number(v) if isinstance(v, float) and np.isfinite(v) else v)
    tips = [
        tip(n, ("编码", c), (column, v))
        for n, c, v in zip(names, units["code"], shown, strict=True)
    ]
    heights = (classes.index + 1) * 250.0 if preset == "3d" else None
    unit_areas = area_layer(
        units, colors=classes.color_of(alpha=200), tips=tips, heights=heights, id="units"
    )
    deck_layers = [*_base(city), unit_areas]
    bounds = bounds_of(_clip(units, _focus(city)) if level == "grid" else units, pad=0.02)
    return compose(
        deck_layers,
        bounds=bounds,
        title=title or f"{city.name} · {column}（{level}）",
        legend=classes.legend,
        note=_note(
            city,
            f"分级：{_scheme_name(scheme, bins, values)}",
            **{unit_layer(level): units},
        ),
        preset=preset,
    )


def waterlogging_view(
    city: CityModel,
    *,
    points: gpd.GeoDataFrame | None = None,
    closures: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    preset: str = "2d",
) -> CityDeck:
    """Waterlogging points sized and coloured by depth, with the 15 cm rule drawn.

    Points deeper than 15 cm (GB 51222-2017: waterlogging) get a thick dark ring; points of
    unknown depth (news reports) are grey. ``closures`` (from
    :func:`cim.waterlogging.road_closures`) are drawn as flooded roads: thin violet lines
    over the points (they run inside the ponds), narrower than any point, so that the depth
    colour shows on both sides.

    Parameters
    ----------
    points : GeoDataFrame, optional
        With ``depth_cm``; the city's ``waterlogging_points`` by default. Ponds (polygons)
        are drawn at a point inside them.

    Examples
    --------
    >>> import cim, geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame({"id": ["a", "b"], "depth_cm": [8.0, 32.0]},
    ...                        geometry=[shapely.Point(104.06, 30.66), shapely.Point(104.07, 30.67)], crs=4326)
    >>> deck = waterlogging_view(cim.sample_city(), points=pts)
    >>> [row["outline"] for row in deck.layers[-1].data]
    [1.0, 4.0]
    """
    points = city.layer("waterlogging_points") if points is None else points
    points = _wgs84(points, "waterlogging_points")
    if "depth_cm" not in points.columns:
        raise layers.MissingError(
            "waterlogging points need a 'depth_cm' column (missing depths are allowed)"
        )
    depth = pd.to_numeric(points["depth_cm"], errors="coerce")
    classes = fixed_classes(depth, DEPTH_CLASSES)
    deep = (depth > WATERLOGGED_CM).to_numpy()
    names = points["name"] if "name" in points else points["id"]
    tips = [
        tip(
            n,
            ("积水深度", "未知" if np.isnan(d) else f"{d:.0f} cm"),
            ("判定", "内涝（> 15 cm）" if d > WATERLOGGED_CM else "积水" if d >= 0 else "—"),
        )
        for n, d in zip(names, depth, strict=True)
    ]
    legend = [*classes.legend]
    if not (classes.index < 0).any():
        legend.append(("深度未知", MISSING_COLOR))
    if closures is not None and len(closures):
        closures = _wgs84(closures, "closures")
    closure_drawn, closure_legend = _closures(closures, "淹没道路")
    legend += closure_legend
    water = point_layer(
        points,
        colors=classes.color_of(),
        radius_m=(60 + 6 * depth.fillna(0).clip(0, 100)).tolist(),
        min_radius_px=5,
        tips=tips,
        id="waterlogging",
        outline=(40, 20, 20, 255),
        outline_px=np.where(deep, 4.0, 1.0),
    )
    return compose(
        [*_base(city), water, *closure_drawn],
        bounds=bounds_of(points, closures),
        title=title or f"{city.name} 积水点",
        legend=legend,
        note=_note(
            city, "粗黑圈：积水深度超过 15 cm，按 GB 51222-2017 为内涝", waterlogging_points=points
        ),
        preset=preset,
    )


def coverage_view(
    city: CityModel,
    table: pd.DataFrame | None = None,
    *,
    level: str = "grid",
    mode: str = "units",
    rings_from_m: float = RINGS_FROM_M,
    preset: str = "2d",
) -> CityDeck:
    """Sensor coverage: units by covered share, sensor ranges as circles, or hexagon counts.

    Ranges are drawn one layer per sensor kind (``ranges_<kind>``), the widest kind first so
    the small ranges of cameras and manholes lie on top. Kinds whose median range is wider
    than ``rings_from_m`` (rain gauges' 1.5 km) are drawn as rings, not discs, so they do not
    cover the map; in ``mode="units"`` these rings are drawn over the units, since their
    ranges make up much of the covered share.

    Parameters
    ----------
    table : DataFrame, optional
        From :func:`cim.coverage.sensor_coverage`; needed for ``mode="units"``.
    level : str
        Units drawn in ``mode="units"`` (``grid``, ``community``, ``street``, ``district``).
    mode : {"units", "ranges", "hexagons"}
        Colour the units by the share their online sensors cover; draw each sensor's range;
        or count sensors in hexagons of 400 m.
    rings_from_m : float
        Sensor kinds with wider ranges are drawn as rings (300 m by default).

    Examples
    --------
    >>> import cim
    >>> from cim.coverage import sensor_coverage
    >>> city = cim.sample_city()
    >>> deck = coverage_view(city, sensor_coverage(city, levels=["street"]), level="street")
    >>> [layer.id for layer in deck.layers]
    ['districts', 'roads', 'units', 'ranges_rain_gauge', 'ranges_air', 'sensors']
    >>> [layer.id for layer in coverage_view(city, mode="ranges").layers][2:4]
    ['ranges_rain_gauge', 'ranges_air']
    >>> [layer.id for layer in coverage_view(city, mode="hexagons").layers]
    ['districts', 'roads', 'hexagons']
    """
    sensors = _wgs84(city.layer("sensors"), "sensors")
    colors = [
        SENSOR_COLORS.get(k, [60, 60, 60]) + ([255] if s == "online" else [80])
        for k, s in zip(sensors["kind"], sensors["status"], strict=True)
    ]
    kinds = set(sensors["kind"])
    legend = [(LABELS.get(k, k), c) for k, c in SENSOR_COLORS.items() if k in kinds]
    deck_layers = _base(city)
    drawn_units = {}
    if mode == "units":
        if table is None:
            raise layers.InputError(
                "mode='units' needs the table from cim.coverage.sensor_coverage"
            )
        units, share = _unit_table(city, level, "covered_share", table)
        drawn_units[unit_layer(level)] = units
        classes = share_classes(share)
        density = (
            units["code"]
            .astype(str)
            .map(table[table["level"] == level].set_index("unit_code")["density_per_km2"])
        )
        tips = [
            tip(n, ("编码", c), ("密度 /km²", f"{d:.1f}"), ("覆盖面积", f"{s:.0%}"))
            for n, c, d, s in zip(
                units.get("name", units["code"]), units["code"], density, share, strict=True
            )
        ]
        deck_layers.append(
            area_layer(units, colors=classes.color_of(alpha=170), tips=tips, id="units")
        )
        rings, ring_legend = _range_layers(sensors, colors, rings_from_m, rings_only=True)
        deck_layers += rings
        legend = [(f"覆盖 {label}", c) for label, c in classes.legend] + legend + ring_legend
    elif mode == "ranges":
        ranges, legend = _range_layers(sensors, colors, rings_from_m)
        deck_layers += ranges
    elif mode == "hexagons":
        hexagons = hexagon_layer(sensors)
        deck_layers.append(hexagons)
        legend = [("传感器较少", hexagons.color_range[0]), ("传感器较多", hexagons.color_range[-1])]
    else:
        raise layers.InputError(f"mode must be one of {', '.join(COVERAGE_MODES)}, not {mode!r}")
    if mode != "hexagons":
        deck_layers.append(
            point_layer(
                sensors,
                colors=colors,
                radius_m=12,
                min_radius_px=2,
                outline_px=0,
                tips=[
                    tip(
                        LABELS.get(r.kind, r.kind),
                        ("编号", r.id),
                        ("范围", f"{r.range_m:.0f} m"),
                        ("状态", r.status),
                    )
                    for r in sensors.itertuples()
                ],
                id="sensors",
            )
        )
    return compose(
        deck_layers,
        bounds=bounds_of(sensors, pad=0.02),
        title=f"{city.name} 物联感知覆盖（{level if mode == 'units' else COVERAGE_MODES[mode]}）",
        legend=legend,
        note=_note(city, "半透明 = 离线", sensors=sensors, **drawn_units),
        preset=preset,
    )


def _range_layers(
    sensors: gpd.GeoDataFrame, colors: list, rings_from_m: float, *, rings_only: bool = False
) -> tuple[list[pdk.Layer], list[tuple[str, list[int]]]]:
    """One range layer per sensor kind, widest first; kinds wider than ``rings_from_m`` as
    rings in the sensors' colours, the others as translucent discs. ``rings_only`` leaves
    the discs out."""
    widest = sensors.groupby("kind")["range_m"].median().sort_values(ascending=False, kind="stable")
    drawn, legend = [], []
    for kind, metres in widest.items():
        ring = bool(metres > rings_from_m)
        if rings_only and not ring:
            continue
        rows = np.flatnonzero(sensors["kind"].to_numpy() == kind)
        colored = [colors[i] if ring else [*colors[i][:3], 40] for i in rows]
        drawn.append(
            range_layer(sensors.iloc[rows], colors=colored, id=f"ranges_{kind}", rings=ring)
        )
        shape = "圆环" if ring else "范围"
        legend.append(
            (f"{LABELS.get(kind, kind)}{shape} {format_number(metres)} m", colored[0][:3])
        )
    return drawn, legend


def service_area_view(
    city: CityModel,
    areas: gpd.GeoDataFrame,
    *,
    title: str | None = None,
    preset: str = "2d",
) -> CityDeck:
    """Service areas (:meth:`routing.Router.service_areas`) coloured by cutoff, with the stations.

    Examples
    --------
    >>> import cim
    >>> city = cim.sample_city()
    >>> stations = city.layer("facilities").query("kind == 'fire_station'")
    >>> areas = city.router(profile="fire_engine").service_areas(stations, cutoffs=[180, 300])
    >>> deck = service_area_view(city, areas)
    >>> [layer.id for layer in deck.layers]
    ['districts', 'roads', 'service_areas', 'stations']
    """
    if areas.empty:
        raise layers.InputError("no service area to draw: the areas table is empty")
    areas = _wgs84(areas, "service areas").sort_values("cutoff", ascending=False)
    cutoffs = sorted(areas["cutoff"].unique())
    palette = ramp("YlGnBu_r", len(cutoffs))
    color = {c: [*palette[i][:3], 110] for i, c in enumerate(cutoffs)}
    tips = [
        tip(
            f"服务区 {r.resource_id}",
            ("时限", f"{r.cutoff / 60:g} 分钟"),
            ("面积", f"{r.area_km2:.2f} km²"),
        )
        for r in areas.itertuples()
    ]
    deck_layers = [
        *_base(city),
        area_layer(
            areas,
            colors=[color[c] for c in areas["cutoff"]],
            tips=tips,
            id="service_areas",
            line_color=(40, 60, 90, 200),
            line_width_px=1,
        ),
    ]
    stations = None
    if "facilities" in city.layers:
        stations = city.layer("facilities")
        stations = stations[stations["id"].isin(areas["resource_id"])]
        deck_layers.append(_facility_layer(stations, id="stations"))
    return compose(
        deck_layers,
        bounds=bounds_of(areas, pad=0.03),
        title=title or f"{city.name} 服务区",
        legend=[(f"≤ {c / 60:g} 分钟", color[c]) for c in cutoffs],
        note=_note(city, facilities=stations),
        preset=preset,
    )
