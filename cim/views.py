"""2D/3D views of the city model with pydeck, and self-contained offline HTML export.

``city_view`` returns a ``pydeck.Deck`` (it displays inline in Jupyter); ``export_html``
writes it as one HTML file that needs no network: the deck.gl bundle that ships inside the
pydeck wheel is inlined, there is no basemap (districts and roads are drawn as the base),
a Content-Security-Policy forbids any request, and every user string is escaped.
"""

from __future__ import annotations

import functools
import html
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pydeck as pdk
import shapely

from cim.atomic import write_text
from cim.coverage import LEVELS
from cim.model import CityModel

__all__ = [
    "BUILDING_COLORS",
    "FACILITY_COLORS",
    "SENSOR_COLORS",
    "city_view",
    "coverage_view",
    "export_html",
]

PRECISION = 6  # decimal degrees ≈ 0.1 m
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
ROUTE_COLOR = [220, 20, 60]
INCIDENT_COLOR = [180, 0, 90]
_LABELS = {
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
_TOOLTIP_STYLE = {
    "backgroundColor": "rgba(20, 24, 32, 0.9)",
    "color": "white",
    "fontSize": "12px",
    "fontFamily": "'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif",
}


def _esc(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return html.escape(str(value), quote=True)


def _tip(title, *lines: tuple[str, object]) -> str:
    body = "".join(f"<br/>{_esc(k)}：{_esc(v)}" for k, v in lines)
    return f"<b>{_esc(title)}</b>{body}"


def _rings(geometry) -> list[list[list[list[float]]]]:
    polygons = geometry.geoms if geometry.geom_type == "MultiPolygon" else [geometry]
    return [
        [
            np.round(shapely.get_coordinates(ring), PRECISION).tolist()
            for ring in (p.exterior, *p.interiors)
        ]
        for p in polygons
    ]


def _path(geometry) -> list[list[float]]:
    return np.round(shapely.get_coordinates(geometry), PRECISION).tolist()


def _position(geometry) -> list[float]:
    return [round(geometry.x, PRECISION), round(geometry.y, PRECISION)]


def _district_layer(districts: gpd.GeoDataFrame) -> pdk.Layer:
    data = [
        {"polygon": ring, "tip": _tip(row.name, ("区划代码", row.code))}
        for row in districts.itertuples()
        for ring in _rings(row.geometry)
    ]
    return pdk.Layer(
        "PolygonLayer",
        data,
        id="districts",
        get_polygon="polygon",
        filled=True,
        stroked=True,
        get_fill_color=[235, 238, 242, 255],
        get_line_color=[120, 130, 150],
        line_width_min_pixels=1,
        pickable=True,
    )


def _road_layer(roads: gpd.GeoDataFrame) -> pdk.Layer:
    widths = {"expressway": 6, "arterial": 4, "secondary": 3, "branch": 2, "other": 1}
    data = [
        {
            "path": _path(part),
            "width": widths.get(row.road_class, 1),
            "tip": _tip(
                row.name if isinstance(row.name, str) else "道路", ("等级", row.road_class)
            ),
        }
        for row in roads.itertuples()
        for part in getattr(row.geometry, "geoms", [row.geometry])
    ]
    return pdk.Layer(
        "PathLayer",
        data,
        id="roads",
        get_path="path",
        get_width="width",
        width_units="'meters'",
        width_min_pixels=1,
        get_color=[160, 166, 178],
        pickable=True,
    )


def _building_layer(buildings: gpd.GeoDataFrame) -> pdk.Layer:
    data = []
    for row in buildings.itertuples():
        height = float(row.height_m) if np.isfinite(row.height_m) else 3.0
        tip = _tip(
            row.name if isinstance(getattr(row, "name", None), str) else "建筑",
            ("用途", _LABELS.get(row.use, row.use)),
            ("高度", f"{height:.0f} m"),
            ("高度来源", getattr(row, "height_source", None)),
        )
        color = BUILDING_COLORS.get(row.use, BUILDING_COLORS["other"])
        for ring in _rings(row.geometry):
            data.append({"polygon": ring, "height": height, "color": color, "tip": tip})
    return pdk.Layer(
        "PolygonLayer",
        data,
        id="buildings",
        get_polygon="polygon",
        extruded=True,
        get_elevation="height",
        get_fill_color="color",
        get_line_color=[90, 90, 90],
        pickable=True,
        auto_highlight=True,
    )


def _facility_layer(facilities: gpd.GeoDataFrame) -> pdk.Layer:
    data = [
        {
            "position": _position(row.geometry),
            "color": FACILITY_COLORS.get(row.kind, [60, 60, 60]),
            "tip": _tip(
                row.name, ("类型", _LABELS.get(row.kind, row.kind)), ("可派单位", row.units)
            ),
        }
        for row in facilities.itertuples()
    ]
    return pdk.Layer(
        "ScatterplotLayer",
        data,
        id="facilities",
        get_position="position",
        get_fill_color="color",
        get_radius=60,
        radius_min_pixels=5,
        stroked=True,
        get_line_color=[255, 255, 255],
        line_width_min_pixels=1,
        pickable=True,
    )


def _incident_layer(incidents: gpd.GeoDataFrame) -> pdk.Layer:
    data = [
        {
            "position": _position(row.geometry),
            "tip": _tip(
                f"事件 {row.id}",
                ("类型", _LABELS.get(getattr(row, "kind", None), getattr(row, "kind", None))),
                ("优先级", getattr(row, "priority", None)),
                ("报警时间", getattr(row, "reported_at", None)),
            ),
        }
        for row in incidents.itertuples()
    ]
    return pdk.Layer(
        "ScatterplotLayer",
        data,
        id="incidents",
        get_position="position",
        get_fill_color=INCIDENT_COLOR,
        get_radius=45,
        radius_min_pixels=4,
        pickable=True,
    )


def _route_layer(routes: gpd.GeoDataFrame) -> pdk.Layer:
    drawn = routes[routes.geometry.notna()]
    data = [
        {
            "path": _path(row.geometry),
            "tip": _tip(
                f"出警路线 {row.incident_id} ← {getattr(row, 'resource_name', None) or row.resource_id}",
                ("预计到达", f"{row.eta_s / 60:.1f} 分钟"),
                ("距离", f"{row.distance_m / 1000:.2f} km"),
                ("车辆", row.profile),
            ),
        }
        for row in drawn.itertuples()
    ]
    return pdk.Layer(
        "PathLayer",
        data,
        id="routes",
        get_path="path",
        get_color=ROUTE_COLOR,
        width_units="'pixels'",
        get_width=5,
        cap_rounded=True,
        joint_rounded=True,
        pickable=True,
    )


def _legend(title: str, items: list[tuple[str, list[int]]], note: str) -> str:
    rows = "".join(
        f'<div><span style="display:inline-block;width:10px;height:10px;margin-right:6px;'
        f'background:rgb({c[0]},{c[1]},{c[2]})"></span>{_esc(label)}</div>'
        for label, c in items
    )
    return f"<div><b>{_esc(title)}</b></div>{rows}<div style='margin-top:4px;color:#666'>{_esc(note)}</div>"


def _clip(gdf: gpd.GeoDataFrame, bounds: np.ndarray) -> gpd.GeoDataFrame:
    return gdf.cx[bounds[0] : bounds[2], bounds[1] : bounds[3]]


def city_view(
    city: CityModel,
    *,
    routes: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    pitch: float = 45.0,
    bearing: float = -15.0,
    roads: bool = True,
) -> pdk.Deck:
    """A 3D view of the city: districts, roads, extruded buildings, facilities, incidents, routes.

    Parameters
    ----------
    city : CityModel
        Drawn layers: ``districts``, ``roads``, ``buildings``, ``facilities``, ``incidents``
        (each when present).
    routes : GeoDataFrame, optional
        Dispatch result (see :meth:`routing.Router.dispatch`) drawn as paths.
    incidents : GeoDataFrame, optional
        Incidents to draw instead of the city's ``incidents`` layer.
    title : str, optional
        Title of the legend panel.
    pitch, bearing : float
        Camera tilt and rotation in degrees; ``pitch=0`` gives a flat 2D map.
    roads : bool
        Draw the road network as the base map.

    Returns
    -------
    pydeck.Deck
        Shows inline in Jupyter; pass it to :func:`export_html` for an offline file.

    Examples
    --------
    >>> import cim
    >>> deck = city_view(cim.sample_city(), pitch=0)
    >>> [layer.id for layer in deck.layers]
    ['districts', 'roads', 'buildings', 'facilities', 'incidents']
    """
    present = city.layers
    focus = next(present[n] for n in ("roads", "buildings", "districts") if n in present)
    bounds = focus.total_bounds
    deck_layers = []
    if "districts" in present:
        deck_layers.append(_district_layer(present["districts"]))
    if roads and "roads" in present:
        deck_layers.append(_road_layer(present["roads"]))
    if "buildings" in present:
        deck_layers.append(_building_layer(_clip(present["buildings"], bounds)))
    if routes is not None and routes.geometry.notna().any():
        deck_layers.append(_route_layer(routes))
    if "facilities" in present:
        deck_layers.append(_facility_layer(_clip(present["facilities"], bounds)))
    incidents = present.get("incidents") if incidents is None else incidents
    if incidents is not None:
        deck_layers.append(_incident_layer(incidents))

    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1e-4)
    view = pdk.ViewState(
        longitude=(bounds[0] + bounds[2]) / 2,
        latitude=(bounds[1] + bounds[3]) / 2,
        zoom=float(np.log2(360.0 / span) + 1.4),
        pitch=pitch,
        bearing=bearing,
    )
    legend = [(_LABELS[k], c) for k, c in BUILDING_COLORS.items()]
    legend += [
        (_LABELS[k], c)
        for k, c in FACILITY_COLORS.items()
        if k in ("fire_station", "hospital", "police", "ambulance_base")
    ]
    legend += [("事件", INCIDENT_COLOR)] + (
        [("出警路线", ROUTE_COLOR)] if routes is not None else []
    )
    note = "数据：© OpenStreetMap contributors (ODbL)；合成数据已标注"
    return pdk.Deck(
        layers=deck_layers,
        initial_view_state=view,
        map_provider=None,
        map_style=None,
        tooltip={"html": "{tip}", "style": _TOOLTIP_STYLE},
        description=_legend(title or f"{city.name} 城市信息模型", legend, note),
    )


def _share_color(share: float) -> list[int]:
    """Red (0) through yellow to green (1)."""
    share = 0.0 if not np.isfinite(share) else float(np.clip(share, 0, 1))
    low, mid, high = np.array([215, 48, 39]), np.array([254, 224, 139]), np.array([26, 152, 80])
    color = low + (mid - low) * share * 2 if share < 0.5 else mid + (high - mid) * (share - 0.5) * 2
    return [int(c) for c in color] + [170]


def coverage_view(city: CityModel, table, *, level: str = "grid", pitch: float = 0.0) -> pdk.Deck:
    """A 2D map of sensor coverage: units coloured by covered share, sensors by kind.

    Parameters
    ----------
    city : CityModel
        With ``sensors`` and the unit layer of ``level``.
    table : DataFrame
        From :func:`cim.coverage.sensor_coverage`.
    level : str
        Which units to draw (``grid``, ``community``, ``street``, ``district``).

    Examples
    --------
    >>> import cim
    >>> from cim.coverage import sensor_coverage
    >>> city = cim.sample_city()
    >>> deck = coverage_view(city, sensor_coverage(city, levels=["street"]), level="street")
    >>> [layer.id for layer in deck.layers]
    ['districts', 'units', 'sensors']
    """
    units = city.layer(LEVELS[level])
    stats = table[table["level"] == level].set_index("unit_code")
    data = []
    for row in units.itertuples():
        stat = stats.loc[str(row.code)] if str(row.code) in stats.index else None
        share = np.nan if stat is None else stat["covered_share"]
        tip = _tip(
            getattr(row, "name", None) or row.code,
            ("编码", row.code),
            ("传感器", None if stat is None else int(stat["sensors"])),
            ("密度 /km²", None if stat is None else f"{stat['density_per_km2']:.1f}"),
            ("覆盖面积", None if stat is None else f"{share:.0%}"),
        )
        for ring in _rings(row.geometry):
            data.append({"polygon": ring, "color": _share_color(share), "tip": tip})
    unit_layer = pdk.Layer(
        "PolygonLayer",
        data,
        id="units",
        get_polygon="polygon",
        get_fill_color="color",
        stroked=True,
        get_line_color=[255, 255, 255, 120],
        line_width_min_pixels=0.5,
        pickable=True,
    )
    sensors = city.layer("sensors")
    sensor_layer = pdk.Layer(
        "ScatterplotLayer",
        [
            {
                "position": _position(row.geometry),
                "color": SENSOR_COLORS.get(row.kind, [60, 60, 60])
                + ([255] if row.status == "online" else [80]),
                "tip": _tip(
                    _LABELS.get(row.kind, row.kind),
                    ("编号", row.id),
                    ("范围", f"{row.range_m:.0f} m"),
                    ("状态", row.status),
                ),
            }
            for row in sensors.itertuples()
        ],
        id="sensors",
        get_position="position",
        get_fill_color="color",
        get_radius=12,
        radius_min_pixels=2,
        pickable=True,
    )
    bounds = units.cx[
        slice(*sensors.total_bounds[[0, 2]]), slice(*sensors.total_bounds[[1, 3]])
    ].total_bounds
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1e-4)
    view = pdk.ViewState(
        longitude=(bounds[0] + bounds[2]) / 2,
        latitude=(bounds[1] + bounds[3]) / 2,
        zoom=float(np.log2(360.0 / span) + 1.4),
        pitch=pitch,
    )
    legend = [
        ("覆盖 0%", _share_color(0)[:3]),
        ("覆盖 50%", _share_color(0.5)[:3]),
        ("覆盖 100%", _share_color(1)[:3]),
    ]
    legend += [(_LABELS[k], c) for k, c in SENSOR_COLORS.items()]
    return pdk.Deck(
        layers=[_district_layer(city.layer("districts")), unit_layer, sensor_layer]
        if "districts" in city.layers
        else [unit_layer, sensor_layer],
        initial_view_state=view,
        map_provider=None,
        map_style=None,
        tooltip={"html": "{tip}", "style": _TOOLTIP_STYLE},
        description=_legend(
            f"{city.name} 物联感知覆盖（{level}）",
            legend,
            "传感器为合成数据；覆盖 = 在线传感器的作用半径",
        ),
    )


@functools.cache
def _deckgl_bundle() -> str:
    bundle = Path(pdk.__file__).parent / "nbextension" / "static" / "index.js"
    if not bundle.exists():
        raise FileNotFoundError(
            f"pydeck's deck.gl bundle is missing ({bundle}); reinstall pydeck>=0.9"
        )
    return bundle.read_text(encoding="utf-8").replace("</script", "<\\/script")


def _script_json(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; worker-src blob:; connect-src data: blob:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
html, body {{ margin: 0; padding: 0; width: 100%; height: 100%; background: #f7f8fa; overflow: hidden; }}
#deck-container {{ position: absolute; inset: 0; }}
#cim-panel {{ position: absolute; top: 12px; left: 12px; z-index: 10; max-width: 280px; padding: 10px 12px;
  background: rgba(255, 255, 255, 0.92); border-radius: 6px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25);
  font: 12px/1.5 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif; color: #222; }}
</style>
<script>{bundle}</script>
</head>
<body>
<div id="deck-container"></div>
<div id="cim-panel">{panel}</div>
<script>
(function () {{
  const jsonInput = {json_input};
  const deck = createDeck({{
    container: document.getElementById('deck-container'),
    jsonInput: jsonInput,
    tooltip: {tooltip},
    showError: true,
  }});
  window.cimDeck = deck;
  if (deck) {{
    deck.setProps({{ onAfterRender: () => {{ document.body.dataset.rendered = 'true'; }} }});
  }}
}})();
</script>
</body>
</html>
"""


def export_html(deck: pdk.Deck, path, *, title: str | None = None) -> Path:
    """Write ``deck`` as one self-contained HTML file that opens with no network.

    The deck.gl bundle from the installed pydeck is inlined (about 4 MB); a
    Content-Security-Policy forbids any request to any host; the deck's JSON is escaped for
    the script context, so a name containing ``</script>`` stays text. The file is written
    atomically.

    Parameters
    ----------
    deck : pydeck.Deck
        E.g. from :func:`city_view`. Its ``description`` (HTML) becomes the legend panel.
    path : str or Path
        Where to write the ``.html`` file.
    title : str, optional
        Page title (escaped).

    Returns
    -------
    Path

    Examples
    --------
    >>> import cim, tempfile
    >>> out = export_html(city_view(cim.sample_city()), tempfile.mkdtemp() + "/map.html")
    >>> "<script src=" in out.read_text()
    False
    """
    page = _PAGE.format(
        title=_esc(title or "CIM 城市信息模型"),
        bundle=_deckgl_bundle(),
        panel=deck.description or "",
        json_input=_script_json(
            {k: v for k, v in json.loads(deck.to_json()).items() if k != "description"}
        ),
        tooltip=_script_json(deck._tooltip),
    )
    return write_text(path, page)
