"""Composable pydeck layer builders over GeoDataFrames.

Each builder takes a layer (any CRS; it is drawn in WGS84) and returns a ``pydeck.Layer``
whose rows carry the geometry (``polygon`` / ``path`` / ``position``), a ``color`` and an
escaped Chinese tooltip ``tip``. Colours are given per row (see :func:`cim.views.classify`)
or once for the layer. The ready views in :mod:`cim.views.maps` put them together.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pydeck as pdk
import shapely

import layers
from cim.views.style import (
    BASE_FILL,
    BASE_LINE,
    BUILDING_COLORS,
    CLOSURE_COLOR,
    LABELS,
    ROAD_COLOR,
    ramp,
    tip,
)
from layers.standards import FLOOR_HEIGHT_M

__all__ = [
    "area_layer",
    "bounds_of",
    "building_heights",
    "building_layer",
    "closure_layers",
    "district_layer",
    "hexagon_layer",
    "path_layer",
    "point_layer",
    "range_layer",
    "road_layer",
]

PRECISION = 6  # decimal degrees: about 0.1 m
UNKNOWN_ALPHA = 110  # buildings of unknown height, coloured by use: pale and flat
CLOSURE_FIELDS = {"depth_cm": "水深", "factor": "通行时间倍数", "closed_for": "封闭车辆"}
ROAD_WIDTHS_M = {"expressway": 6, "arterial": 4, "secondary": 3, "branch": 2, "other": 1}


def _wgs84(gdf: gpd.GeoDataFrame, kind: str) -> np.ndarray:
    if gdf.empty:
        return np.array([], dtype=object)
    return layers.to_wgs84(gdf, kind=kind).geometry.to_numpy()


def _split(coords: np.ndarray, owner: np.ndarray, count: int) -> list[list[list[float]]]:
    """Rounded coordinates grouped by ``owner`` (sorted), one list per owner 0..count-1."""
    ends = np.searchsorted(owner, np.arange(1, count + 1))
    rounded = np.round(coords, PRECISION).tolist()
    starts = np.concatenate([[0], ends[:-1]])
    return [rounded[a:b] for a, b in zip(starts, ends, strict=True)]


def _polygons(geoms: np.ndarray) -> tuple[np.ndarray, list]:
    """Every polygon part as a list of rings (exterior first), and the row it belongs to."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    parts, owner = parts[keep], owner[keep]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    ring_coords = _split(coords, ring_of, len(rings))
    grouped = _split(np.arange(len(rings))[:, None], ring_part, len(parts))
    return owner, [[ring_coords[int(r[0])] for r in group] for group in grouped]


def _paths(geoms: np.ndarray) -> tuple[np.ndarray, list]:
    parts, owner = shapely.get_parts(geoms, return_index=True)
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    return owner, _split(coords, part_of, len(parts))


def _positions(geoms: np.ndarray) -> list[list[float]]:
    points = shapely.point_on_surface(geoms)
    return np.round(shapely.get_coordinates(points), PRECISION).tolist()


def _rows(key: str, shapes: list, owner: Sequence[int], count: int, **columns) -> list[dict]:
    per_row = {
        name: _per_row(name, value, count) for name, value in columns.items() if value is not None
    }
    return [
        {key: shape, **{name: values[i] for name, values in per_row.items()}}
        for shape, i in zip(shapes, owner, strict=True)
    ]


def _per_row(name: str, value, count: int) -> list:
    flat = not isinstance(value, str) and hasattr(value, "__len__")
    one_color = (
        flat and name in ("color", "line") and len(value) in (3, 4) and np.isscalar(value[0])
    )
    if not flat or one_color:
        return [list(value) if flat else value] * count
    values = value.tolist() if hasattr(value, "tolist") else list(value)
    if len(values) != count:
        raise layers.InputError(f"{name!r} has {len(values)} values for {count} rows")
    return values


def bounds_of(*frames: gpd.GeoDataFrame | None, pad: float = 0.08) -> np.ndarray:
    """West, south, east, north around every non-empty frame (lon/lat), padded by ``pad``
    of the span plus about 100 m.

    Examples
    --------
    >>> import cim
    >>> bounds_of(cim.sample_city().layer("roads"), pad=0.0).round(2).tolist()
    [103.99, 30.62, 104.15, 30.76]
    """
    boxes = np.array([f.total_bounds for f in frames if f is not None and len(f)])
    if not len(boxes):
        raise layers.InputError("nothing to draw: every layer of the view is empty")
    west, south = boxes[:, 0].min(), boxes[:, 1].min()
    east, north = boxes[:, 2].max(), boxes[:, 3].max()
    dx, dy = (east - west) * pad + 1e-3, (north - south) * pad + 1e-3
    return np.array([west - dx, south - dy, east + dx, north + dy])


def area_layer(
    units: gpd.GeoDataFrame,
    *,
    colors=BASE_FILL,
    tips: Sequence[str] | None = None,
    heights=None,
    id: str = "units",
    line_color=(255, 255, 255, 140),
    line_width_px: float = 0.5,
) -> pdk.Layer:
    """Polygons (districts, streets, communities, grid cells, buildings, service areas).

    Parameters
    ----------
    units : GeoDataFrame
        Polygons or multipolygons; each part is drawn.
    colors : RGBA or list of RGBA
        One colour, or one per row (e.g. ``classify(values).color_of()``).
    tips : list of str, optional
        Tooltip HTML per row (build it with :func:`cim.views.style.tip`, which escapes).
    heights : float or list of float, optional
        Extrude to this height in metres.

    Examples
    --------
    >>> import cim
    >>> layer = area_layer(cim.sample_city().layer("districts"), id="districts")
    >>> layer.type, len(layer.data) >= 20
    ('PolygonLayer', True)
    """
    owner, shapes = _polygons(_wgs84(units, id))
    extruded = heights is not None
    return pdk.Layer(
        "PolygonLayer",
        _rows("polygon", shapes, owner, len(units), color=colors, tip=tips, height=heights),
        id=id,
        get_polygon="polygon",
        get_fill_color="color",
        filled=True,
        stroked=not extruded,
        extruded=extruded,
        get_elevation="height" if extruded else 0,
        get_line_color=list(line_color),
        line_width_min_pixels=line_width_px,
        pickable=tips is not None,
        auto_highlight=extruded,
    )


def district_layer(districts: gpd.GeoDataFrame) -> pdk.Layer:
    """The districts as a light base map with their names and codes in the tooltip."""
    tips = [tip(r.name, ("区划代码", r.code)) for r in districts.itertuples()]
    return area_layer(
        districts,
        colors=BASE_FILL,
        tips=tips,
        id="districts",
        line_color=BASE_LINE,
        line_width_px=1,
    )


def building_heights(buildings: gpd.GeoDataFrame) -> np.ndarray:
    """Heights in metres: ``height_m`` (which :func:`layers.validate` fills from ``floors`` × 3 m),
    NaN where unknown (missing or 0).

    Examples
    --------
    >>> import geopandas as gpd
    >>> building_heights(gpd.GeoDataFrame({"height_m": [30.0, None, 0.0]})).tolist()
    [30.0, nan, nan]
    """
    heights = buildings.get("height_m")
    if heights is None:
        floors = buildings.get("floors")
        heights = floors * FLOOR_HEIGHT_M if floors is not None else np.nan
    values = np.broadcast_to(np.asarray(heights, dtype=float), (len(buildings),))
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def building_layer(buildings: gpd.GeoDataFrame, *, colors=None, tooltips: bool = True) -> pdk.Layer:
    """Buildings extruded to their height, coloured by use unless ``colors`` is given.

    Buildings of unknown height are drawn flat (and, coloured by use, pale), never given
    a made-up height. ``tooltips=False`` leaves the tooltip out, which keeps a very large
    export small.

    Examples
    --------
    >>> import cim
    >>> layer = building_layer(cim.sample_city().layer("buildings"))
    >>> layer.extruded, sorted(layer.data[0])
    (True, ['color', 'height', 'polygon', 'tip'])
    """
    heights = building_heights(buildings)
    known = np.isfinite(heights)
    if colors is None:
        uses = buildings["use"] if "use" in buildings else ["other"] * len(buildings)
        colors = [
            [*BUILDING_COLORS.get(u, BUILDING_COLORS["other"])[:3], 255 if k else UNKNOWN_ALPHA]
            for u, k in zip(uses, known, strict=True)
        ]
    tips = None
    if tooltips:
        names = buildings["name"] if "name" in buildings else [None] * len(buildings)
        uses = buildings["use"] if "use" in buildings else [None] * len(buildings)
        tips = [
            tip(
                n if isinstance(n, str) and n else "建筑",
                ("用途", LABELS.get(u, u)),
                ("高度", f"{h:.0f} m" if np.isfinite(h) else "未知"),
            )
            for n, u, h in zip(names, uses, heights, strict=True)
        ]
    return area_layer(
        buildings,
        colors=colors,
        tips=tips,
        heights=np.where(known, heights, 0.0).round(1).tolist(),
        id="buildings",
        line_color=(90, 90, 90, 255),
    )


def path_layer(
    lines: gpd.GeoDataFrame,
    *,
    colors=ROAD_COLOR,
    widths=2,
    tips: Sequence[str] | None = None,
    id: str = "paths",
    width_units: str = "pixels",
    min_width_px: float = 1,
) -> pdk.Layer:
    """Lines (roads, routes, closures) with a colour and width each or for all.

    Examples
    --------
    >>> import cim
    >>> layer = path_layer(cim.sample_city().layer("roads").head(3), id="roads")
    >>> len(layer.data), len(layer.data[0]["path"][0])
    (3, 2)
    """
    owner, shapes = _paths(_wgs84(lines, id))
    return pdk.Layer(
        "PathLayer",
        _rows("path", shapes, owner, len(lines), color=colors, width=widths, tip=tips),
        id=id,
        get_path="path",
        get_color="color",
        get_width="width",
        width_units=f"'{width_units}'",
        width_min_pixels=min_width_px,
        cap_rounded=True,
        joint_rounded=True,
        pickable=tips is not None,
    )


def road_layer(roads: gpd.GeoDataFrame) -> pdk.Layer:
    """The road network as the base map, wider by class (CJJ 37-2012)."""
    classes = roads["road_class"] if "road_class" in roads else ["other"] * len(roads)
    names = roads["name"] if "name" in roads else [None] * len(roads)
    return path_layer(
        roads,
        widths=[ROAD_WIDTHS_M.get(c, 1) for c in classes],
        tips=[
            tip(n if isinstance(n, str) else "道路", ("等级", c))
            for n, c in zip(names, classes, strict=True)
        ],
        id="roads",
        width_units="meters",
    )


def point_layer(
    points: gpd.GeoDataFrame,
    *,
    colors,
    radius_m=40.0,
    tips: Sequence[str] | None = None,
    id: str = "points",
    min_radius_px: float = 3,
    outline=(255, 255, 255, 255),
    outline_px=1.0,
    filled: bool = True,
) -> pdk.Layer:
    """Points (facilities, incidents, sensors, waterlogging points) as circles.

    ``radius_m``, ``outline`` and ``outline_px`` may be given per row; lines and polygons are
    drawn at a point on their surface. ``filled=False`` draws rings (the outline only).

    Examples
    --------
    >>> import cim
    >>> layer = point_layer(cim.sample_city().layer("facilities"), colors=[255, 0, 0])
    >>> sorted(layer.data[0])
    ['color', 'line', 'outline', 'position', 'radius']
    """
    geoms = _wgs84(points, id)
    return pdk.Layer(
        "ScatterplotLayer",
        _rows(
            "position",
            _positions(geoms),
            range(len(geoms)),
            len(geoms),
            color=colors,
            radius=radius_m,
            tip=tips,
            line=list(outline),
            outline=outline_px,
        ),
        id=id,
        get_position="position",
        filled=filled,
        get_fill_color="color",
        get_radius="radius",
        radius_min_pixels=min_radius_px,
        stroked=True,
        get_line_color="line",
        get_line_width="outline",
        line_width_units="'pixels'",
        pickable=tips is not None,
    )


def range_layer(
    sensors: gpd.GeoDataFrame, *, colors, id: str = "ranges", rings: bool = False
) -> pdk.Layer:
    """Each sensor's range (``range_m``) as a translucent disc, or as a ring in ``colors``.

    Rings keep wide ranges (rain gauges' 1.5 km) from hiding the small ones drawn with them.

    Examples
    --------
    >>> import cim
    >>> range_layer(cim.sample_city().layer("sensors"), colors=[0, 0, 255, 40]).get_radius
    '@@=radius'
    """
    return point_layer(
        sensors,
        colors=colors,
        radius_m=sensors["range_m"].astype(float).tolist(),
        id=id,
        min_radius_px=1,
        outline=colors if rings else (0, 0, 0, 0),
        outline_px=1.5 if rings else 0,
        filled=not rings,
    )


def closure_layers(
    closures: gpd.GeoDataFrame, *, title: str = "封闭或受阻", id: str = "closures"
) -> list[pdk.Layer]:
    """Closed or flooded roads and barrier areas, thin and violet, apart from any colour ramp.

    Lines (flooded roads from :func:`cim.waterlogging.road_closures`, blocked streets) are
    drawn 2 px wide so that what lies under them stays readable; barrier polygons are a pale
    fill with a violet edge; barrier points a violet dot of their ``buffer_m`` (5 m by default,
    at least 4 px). The tooltip gives ``depth_cm``, ``factor`` and ``closed_for`` when present.

    Returns
    -------
    list of pydeck.Layer
        ``id`` for the lines, ``id + "_areas"`` and ``id + "_points"``, each only when the
        closures hold such shapes.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> barriers = gpd.GeoDataFrame({"depth_cm": [40, 20]}, crs=4326, geometry=[
    ...     shapely.Point(104.06, 30.66).buffer(0.001), shapely.LineString([(104, 30), (104.01, 30)])])
    >>> [layer.id for layer in closure_layers(barriers)]
    ['closures_areas', 'closures']
    """
    closures = layers.to_wgs84(closures, kind=id)
    types = shapely.get_type_id(closures.geometry.values)
    shape = shapely.GeometryType
    areas = closures[np.isin(types, (shape.POLYGON, shape.MULTIPOLYGON))]
    lines = closures[np.isin(types, (shape.LINESTRING, shape.MULTILINESTRING))]
    points = closures[np.isin(types, (shape.POINT, shape.MULTIPOINT))]
    color = [*CLOSURE_COLOR, 255]
    built = []
    if len(areas):
        built.append(
            area_layer(
                areas,
                colors=[*CLOSURE_COLOR, 60],
                tips=_closure_tips(areas, title),
                id=f"{id}_areas",
                line_color=color,
                line_width_px=1.5,
            )
        )
    if len(lines):
        built.append(
            path_layer(
                lines,
                colors=color,
                widths=2,
                tips=_closure_tips(lines, title),
                id=id,
                min_width_px=1.5,
            )
        )
    if len(points):
        reach = points["buffer_m"] if "buffer_m" in points else pd.Series(np.nan, points.index)
        built.append(
            point_layer(
                points,
                colors=color,
                radius_m=reach.astype(float).fillna(5.0).tolist(),
                tips=_closure_tips(points, title),
                id=f"{id}_points",
                min_radius_px=4,
            )
        )
    return built


def _closure_tips(closures: gpd.GeoDataFrame, title: str) -> list[str]:
    """Tooltips with the depth, the time factor and the vehicles closed, where given."""
    columns = [c for c in ("depth_cm", "factor", "closed_for") if c in closures.columns]
    return [
        tip(title, *((CLOSURE_FIELDS[c], _closure_value(c, row[c])) for c in columns))
        for _, row in closures[columns].iterrows()
    ]


def _closure_value(column: str, value) -> str | None:
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(map(str, value))
    if pd.isna(value):
        return None
    return f"{float(value):.0f} cm" if column == "depth_cm" else str(value)


def hexagon_layer(
    points: gpd.GeoDataFrame,
    *,
    radius_m: float = 400.0,
    extruded: bool = False,
    id: str = "hexagons",
) -> pdk.Layer:
    """Points counted into hexagons of ``radius_m`` (deck.gl aggregates in the browser).

    Examples
    --------
    >>> import cim
    >>> hexagon_layer(cim.sample_city().layer("sensors")).type
    'HexagonLayer'
    """
    return pdk.Layer(
        "HexagonLayer",
        [{"position": p} for p in _positions(_wgs84(points, id))],
        id=id,
        get_position="position",
        radius=radius_m,
        coverage=0.92,
        extruded=extruded,
        elevation_scale=8,
        color_range=ramp("YlGnBu", 6),
        opacity=0.75,
        pickable=False,
    )
