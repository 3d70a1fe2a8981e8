"""Layer schemas and validation: what each kind of layer must hold, and clear errors when not.

Every layer is a GeoDataFrame in EPSG:4326. :func:`validate` checks one against its kind's
schema and returns a normalised copy (types coerced, derived columns filled); anything it
cannot fix is refused with a :class:`LayerError` that names the layer, the column or rows,
and what to do about it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.alignment import gcj02_alignment
from layers.errors import CimWarning, InputError
from layers.reference import MARGIN_M, References, city_extent, located_rows, swapped_rows
from layers.standards import FLOOR_HEIGHT_M
from layers.times import local_times

__all__ = [
    "ADDRESS_FIELDS",
    "FACILITY_KINDS",
    "KINDS",
    "ROAD_CLASSES",
    "TRUE_TEXT",
    "CRSError",
    "EmptyLayerError",
    "GeometryError",
    "LayerError",
    "SchemaError",
    "road_class_of",
    "validate",
]

ADDRESS_FIELDS = (
    "province",
    "city",
    "district",
    "town",
    "community",
    "road",
    "road_no",
    "poi",
    "building",
    "unit",
    "floor",
    "room",
)
FACILITY_KINDS = ("fire_station", "hospital", "police", "ambulance_base", "shelter", "depot")

# CJJ 37-2012 classes; "other" holds OSM types the standard does not cover (service, living_street ...)
ROAD_CLASSES = ("expressway", "arterial", "secondary", "branch", "other")
_HIGHWAY_CLASS = {
    "motorway": "expressway",
    "motorway_link": "expressway",
    "trunk": "expressway",
    "trunk_link": "expressway",
    "primary": "arterial",
    "primary_link": "arterial",
    "secondary": "secondary",
    "secondary_link": "secondary",
    "tertiary": "branch",
    "tertiary_link": "branch",
    "residential": "branch",
    "unclassified": "branch",
}
_CLASS_ALIASES = {
    "快速路": "expressway",
    "主干路": "arterial",
    "次干路": "secondary",
    "支路": "branch",
    **{c: c for c in ROAD_CLASSES},
}
_CLASS_HIGHWAY = {
    "expressway": "trunk",
    "arterial": "primary",
    "secondary": "secondary",
    "branch": "residential",
    "other": "service",
}
TRUE_TEXT = frozenset({"yes", "true", "1", "y", "t"})  # a yes/no flag read as text (CSV)
_REVERSED = {"-1", "reverse"}


class LayerError(InputError):
    """A layer breaks its schema. ``kind``, ``column`` and ``rows`` say where."""

    def __init__(self, kind: str, message: str, *, column: str | None = None, rows=()):
        self.kind, self.column, self.rows = kind, column, list(rows)
        super().__init__(f"{kind}: {message}", source=kind)


class SchemaError(LayerError):
    """A required column is missing or holds values outside its rules."""


class CRSError(LayerError):
    """The coordinate reference system is missing, wrong, or the coordinates contradict it."""


class GeometryError(LayerError):
    """Geometries are missing, empty, invalid, of the wrong type, or outside the city."""


class EmptyLayerError(LayerError):
    """The layer has no rows."""


@dataclass(frozen=True)
class Schema:
    geometry: str
    required: tuple[str, ...]
    unique: str | None = None
    nonnegative: tuple[str, ...] = ()
    datetimes: tuple[str, ...] = ()
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    integers: dict[str, int] = field(default_factory=dict)  # column -> smallest allowed
    hint: str = ""


_ADMIN = Schema("Polygon", ("code", "name", "parent_code"), unique="code")
SCHEMAS: dict[str, Schema] = {
    "districts": _ADMIN,
    "streets": _ADMIN,
    "communities": _ADMIN,
    "grid": Schema("Polygon", ("code", "community_code"), unique="code"),
    "buildings": Schema(
        "Polygon",
        ("id", "height_m", "use"),
        "id",
        ("height_m", "floors"),
        hint="; height_m may be replaced by floors (3 m a floor)",
    ),
    "roads": Schema("LineString", ("highway", "road_class", "oneway", "name", "maxspeed")),
    "facilities": Schema(
        "Point",
        ("id", "kind", "name", "units"),
        "id",
        ("units",),
        categories={"kind": FACILITY_KINDS},
        integers={"units": 0},
    ),
    "sensors": Schema("Point", ("id", "kind", "range_m", "status"), "id", ("range_m",)),
    "waterlogging_points": Schema(
        "Point", ("id", "name", "depth_cm", "observed_at"), "id", ("depth_cm",), ("observed_at",)
    ),
    "incidents": Schema(
        "Point",
        ("id", "kind", "priority", "reported_at"),
        "id",
        datetimes=("reported_at",),
        integers={"priority": 1},
    ),
    "addresses": Schema("Point", ("id", "address", *ADDRESS_FIELDS), "id"),
}
KINDS: tuple[str, ...] = tuple(SCHEMAS)

_GEOMETRY_FAMILIES = {
    "Polygon": {"Polygon", "MultiPolygon"},
    "LineString": {"LineString", "MultiLineString"},
    "Point": {"Point"},
}


def _rows(index, limit: int = 5) -> str:
    labels = [str(i) for i in list(index)[:limit]]
    more = ", …" if len(index) > limit else ""
    return ", ".join(labels) + more


def road_class_of(highway) -> str:
    """The CJJ 37-2012 road class of an OSM ``highway`` value (lists take their highest class).

    Examples
    --------
    >>> road_class_of("primary_link"), road_class_of(["residential", "tertiary"])
    ('arterial', 'branch')
    """
    values = highway if isinstance(highway, (list, tuple, np.ndarray)) else [highway]
    classes = [_HIGHWAY_CLASS.get(str(v), "other") for v in values]
    return min(classes, key=ROAD_CLASSES.index)


def _schema(kind: str) -> Schema:
    if kind not in SCHEMAS:
        raise LayerError(kind, f"unknown layer kind; choose one of {', '.join(KINDS)}")
    return SCHEMAS[kind]


def _check_crs(gdf: gpd.GeoDataFrame, kind: str) -> None:
    if gdf.crs is None:
        raise CRSError(
            kind,
            "the layer has no CRS, and coordinates are never guessed; load it with "
            "layers.load(kind, source, source_crs=...) naming what they are: 'EPSG:4326' for "
            "GPS/OSM data, 'gcj02' for Amap/Tencent, 'bd09' for Baidu",
        )
    epsg = gdf.crs.to_epsg()
    if epsg not in (4326, 4490):
        raise CRSError(
            kind,
            f"layers are stored in EPSG:4326 but this one is in {gdf.crs.to_string()}; "
            "use layers.load(...), which converts, or gdf.to_crs(4326)",
        )


def _wrong_geometry_hint(kind: str, expected: str) -> str:
    """How to proceed when rows have the wrong geometry type (layers.load drops no rows)."""
    if expected == "Point":
        return "; use gdf.representative_point() for points"
    families = sorted(_GEOMETRY_FAMILIES[expected])
    hint = f"; keep only those rows, e.g. gdf = gdf[gdf.geom_type.isin({families})]"
    if kind == "buildings":
        hint += ", or read the file with cim.interop.read_buildings, which leaves them out and lists them"
    return hint


def _check_geometry(gdf: gpd.GeoDataFrame, kind: str, schema: Schema) -> None:
    geoms = gdf.geometry
    missing = geoms.isna() | geoms.is_empty
    if missing.any():
        raise GeometryError(
            kind,
            f"{int(missing.sum())} rows have no geometry or an empty one "
            f"(rows {_rows(gdf.index[missing])}); drop or fix them, e.g. "
            "gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]",
            rows=gdf.index[missing],
        )
    types = geoms.geom_type
    wrong = ~types.isin(_GEOMETRY_FAMILIES[schema.geometry])
    if wrong.any():
        found = ", ".join(f"{n} {t}" for t, n in types[wrong].value_counts().items())
        raise GeometryError(
            kind,
            f"expected {schema.geometry} geometries but found {found} "
            f"(rows {_rows(gdf.index[wrong])})" + _wrong_geometry_hint(kind, schema.geometry),
            rows=gdf.index[wrong],
        )
    invalid = ~geoms.is_valid
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid].values[:3])
        raise GeometryError(
            kind,
            f"{int(invalid.sum())} invalid geometries (rows {_rows(gdf.index[invalid])}: "
            f"{'; '.join(reasons)}); repair them with gdf.geometry = gdf.geometry.make_valid()",
            rows=gdf.index[invalid],
        )


def _located(gdf: gpd.GeoDataFrame, rows: np.ndarray, x: np.ndarray, y: np.ndarray) -> str:
    chosen = np.flatnonzero(rows)
    shown = ", ".join(f"{gdf.index[i]} ({x[i]:.4f}, {y[i]:.4f})" for i in chosen[:5])
    return f"row{'s' if len(chosen) > 1 else ''} {shown}{', …' if len(chosen) > 5 else ''}"


def _refuse_swapped(gdf: gpd.GeoDataFrame, kind: str, swapped: np.ndarray, x, y) -> None:
    if swapped.any():
        raise CRSError(
            kind,
            f"{_located(gdf, swapped, x, y)}: "
            f"{'looks' if swapped.sum() == 1 else 'look'} like (lat, lon), not (lon, lat); swap "
            "them, e.g. gdf.geometry = shapely.transform(gdf.geometry.values, lambda xy: xy[:, ::-1]) "
            "for those rows",
            rows=gdf.index[swapped],
        )


def _check_coordinates(gdf: gpd.GeoDataFrame, kind: str) -> None:
    minx, miny, maxx, maxy = gdf.total_bounds
    bounds = f"x {minx:.4f}…{maxx:.4f}, y {miny:.4f}…{maxy:.4f}"
    x, y = located_rows(gdf.geometry.values)
    swapped = swapped_rows(x, y)
    degrees = (np.abs(x) <= 180) & (np.abs(y) <= 90)
    if not swapped.all() and (swapped | degrees).all():  # a few rows (lat, lon), the rest fine
        _refuse_swapped(gdf, kind, swapped, x, y)
    x_is_lat = minx >= -90 and maxx <= 90
    if (miny < -90 or maxy > 90) and x_is_lat and miny >= -180 and maxy <= 180:
        raise CRSError(
            kind, f"coordinates look like (lat, lon), not (lon, lat): {bounds}; swap them"
        )
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise CRSError(
            kind,
            f"coordinates ({bounds}) are not degrees, so the CRS label EPSG:4326 is wrong; "
            "load with source_crs naming the real CRS, e.g. source_crs='EPSG:4544'",
        )
    if minx > 0.8 and maxx < 55.9 and miny > 72.0 and maxy < 137.9:
        raise CRSError(
            kind,
            f"coordinates look like (lat, lon) in China ({bounds}): x holds latitudes and y "
            "longitudes; swap them, e.g. gdf.geometry = shapely.transform(gdf.geometry.values, "
            "lambda xy: xy[:, ::-1])",
        )


# kinds whose every row must lie in the city (units and roads may reach beyond it)
_IN_CITY = ("buildings", "facilities", "sensors", "waterlogging_points", "incidents", "addresses")


def _check_extent(gdf: gpd.GeoDataFrame, kind: str, refs: References, margin_m: float) -> None:
    extent = city_extent(refs, margin_m=margin_m)
    if extent is None or kind not in _IN_CITY:
        return
    x, y = located_rows(gdf.geometry.values)
    _refuse_swapped(gdf, kind, swapped_rows(x, y, extent), x, y)
    outside = ~extent.contains(x, y)
    if outside.any():
        raise GeometryError(
            kind,
            f"{int(outside.sum())} of {len(gdf)} rows lie outside the city ({extent}): "
            f"{_located(gdf, outside, x, y)}; fix or drop them",
            rows=gdf.index[outside],
        )


def _check_alignment(gdf: gpd.GeoDataFrame, kind: str, refs: References) -> None:
    found = gcj02_alignment(gdf, refs)
    if found is not None and found.looks_gcj02:
        raise CRSError(
            kind,
            f"coordinates look like GCJ-02 (Amap/Tencent) labelled as WGS84: {found.evidence}; reload "
            f"with layers.load({kind!r}, source, source_crs='gcj02')",
        )


def _check_columns(gdf: gpd.GeoDataFrame, kind: str, schema: Schema) -> None:
    missing = [c for c in schema.required if c not in gdf.columns]
    if missing:
        have = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        raise SchemaError(
            kind,
            f"missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)} (have: {have}); "
            f"a {kind} layer needs {', '.join(schema.required)}{schema.hint}",
            column=missing[0],
        )


def _normalise_buildings(gdf: gpd.GeoDataFrame) -> None:
    if "height_m" not in gdf.columns and "floors" in gdf.columns:
        gdf["height_m"] = np.nan
    if "floors" in gdf.columns:
        floors = pd.to_numeric(gdf["floors"], errors="coerce")
        fill = gdf["height_m"].isna() & floors.notna()
        gdf.loc[fill, "height_m"] = floors[fill] * FLOOR_HEIGHT_M


def _normalise_roads(gdf: gpd.GeoDataFrame, kind: str) -> None:
    if "highway" not in gdf.columns and "road_class" not in gdf.columns:
        raise SchemaError(
            kind,
            "needs a 'highway' (OSM) or 'road_class' (快速路/主干路/次干路/支路 or "
            "expressway/arterial/secondary/branch/other) column",
            column="highway",
        )
    if "road_class" in gdf.columns:
        classes = gdf["road_class"].map(lambda c: _CLASS_ALIASES.get(str(c).strip()))
        bad = classes.isna()
        if bad.any():
            raise SchemaError(
                kind,
                f"column 'road_class' has unknown values {sorted(set(gdf.loc[bad, 'road_class'].astype(str)))[:5]} "
                f"(rows {_rows(gdf.index[bad])}); use {', '.join(ROAD_CLASSES)} or 快速路/主干路/次干路/支路",
                column="road_class",
                rows=gdf.index[bad],
            )
        gdf["road_class"] = classes
    else:
        gdf["road_class"] = gdf["highway"].map(road_class_of)
    if "highway" not in gdf.columns:
        gdf["highway"] = gdf["road_class"].map(_CLASS_HIGHWAY)
    for column in ("name", "maxspeed"):
        if column not in gdf.columns:
            gdf[column] = None
    if "oneway" not in gdf.columns:
        warnings.warn(
            f"{kind}: no 'oneway' column, so every road is taken as two-way (an edge each way); "
            "add one (yes/no/-1 or True/False) if some roads are one-way",
            CimWarning,
            stacklevel=4,
        )
        gdf["oneway"] = False
    text = gdf["oneway"].astype(str).str.strip().str.lower()
    backwards = text.isin(_REVERSED)
    if backwards.any():
        gdf.loc[backwards, gdf.geometry.name] = gdf.geometry[backwards].reverse()
        if {"u", "v"} <= set(gdf.columns):
            gdf.loc[backwards, ["u", "v"]] = gdf.loc[backwards, ["v", "u"]].to_numpy()
    gdf["oneway"] = text.isin(TRUE_TEXT) | backwards


def _check_values(gdf: gpd.GeoDataFrame, kind: str, schema: Schema) -> None:
    if schema.unique:
        values = gdf[schema.unique]
        if values.isna().any():
            rows = gdf.index[values.isna()]
            raise SchemaError(
                kind,
                f"column {schema.unique!r} is empty in rows {_rows(rows)}",
                column=schema.unique,
                rows=rows,
            )
        dup = values.duplicated(keep=False)
        if dup.any():
            raise SchemaError(
                kind,
                f"column {schema.unique!r} must be unique but {values[dup].nunique()} values repeat "
                f"(e.g. {values[dup].iloc[0]!r}, rows {_rows(gdf.index[dup])})",
                column=schema.unique,
                rows=gdf.index[dup],
            )
    for column in schema.nonnegative:
        if column not in gdf.columns:
            continue
        values = pd.to_numeric(gdf[column], errors="coerce")
        garbage = values.isna() & gdf[column].notna()
        negative = values < 0
        bad = garbage | negative
        if bad.any():
            what = (
                f"{int(negative.sum())} negative"
                if negative.any()
                else f"{int(garbage.sum())} non-numeric"
            )
            raise SchemaError(
                kind,
                f"column {column!r} has {what} values (rows {_rows(gdf.index[bad])}); "
                f"{column} must be a number ≥ 0",
                column=column,
                rows=gdf.index[bad],
            )
        gdf[column] = values
    for column, allowed in schema.categories.items():
        bad = ~gdf[column].isin(allowed)
        if bad.any():
            raise SchemaError(
                kind,
                f"column {column!r} has values outside {', '.join(allowed)}: "
                f"{sorted(set(gdf.loc[bad, column].astype(str)))[:5]} (rows {_rows(gdf.index[bad])})",
                column=column,
                rows=gdf.index[bad],
            )
    for column in schema.datetimes:
        parsed = local_times(gdf[column])
        bad = parsed.isna()
        if bad.any():
            raise SchemaError(
                kind,
                f"column {column!r} has missing or unreadable times (rows {_rows(gdf.index[bad])}); "
                "use ISO 8601, e.g. 2026-07-15T08:30:00 (local time) or 2026-07-15T00:30:00Z",
                column=column,
                rows=gdf.index[bad],
            )
        gdf[column] = parsed


def _coerce_integers(gdf: gpd.GeoDataFrame, kind: str, schema: Schema) -> None:
    for column, floor in schema.integers.items():
        values = pd.to_numeric(gdf[column], errors="coerce")
        bad = values.isna() | (values < floor) | (values != values.round())
        if bad.any():
            raise SchemaError(
                kind,
                f"column {column!r} must hold whole numbers ≥ {floor} "
                f"(rows {_rows(gdf.index[bad])})",
                column=column,
                rows=gdf.index[bad],
            )
        gdf[column] = values.astype("int64")


def _blank_to_none(gdf: gpd.GeoDataFrame) -> None:
    for column in ("address", *ADDRESS_FIELDS):
        text = gdf[column].astype("object")
        blank = text.isna() | text.astype(str).str.strip().eq("")
        gdf[column] = text.where(~blank, None)


def validate(
    gdf: gpd.GeoDataFrame, kind: str, *, reference=None, margin_m: float = MARGIN_M
) -> gpd.GeoDataFrame:
    """Check a layer against its kind's schema and return a normalised copy.

    Parameters
    ----------
    gdf : GeoDataFrame
        The layer, in EPSG:4326 (or CGCS2000 EPSG:4490, treated as equal).
    kind : str
        One of :data:`KINDS`.
    reference : GeoDataFrame, or a list or mapping of them, optional
        The city's trusted WGS84 layers (roads, buildings, unit polygons). When given,
        points and buildings outside their extent (plus ``margin_m``) are refused with the
        rows named, and data that lines up with them only after a GCJ-02 → WGS84
        conversion is refused as mislabelled (:func:`layers.alignment.gcj02_alignment`).
    margin_m : float
        How far beyond the references' bounds a point or building may lie, in metres.

    Returns
    -------
    GeoDataFrame
        A copy with types coerced and derived columns filled (``height_m`` from ``floors``,
        ``road_class`` from ``highway``, ``oneway`` as bool, blank address parts as None).

    Raises
    ------
    LayerError
        (``SchemaError``, ``CRSError``, ``GeometryError``, ``EmptyLayerError``) naming the
        layer, the column or rows, and the fix.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame({"id": ["f1"], "kind": ["hospital"], "name": ["华西医院"],
    ...                         "units": [2]}, geometry=[shapely.Point(104.06, 30.64)], crs=4326)
    >>> validate(gdf, "facilities")["units"].dtype
    dtype('int64')
    """
    schema = _schema(kind)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise SchemaError(
            kind, f"expected a GeoDataFrame, got {type(gdf).__name__}; read files with layers.load"
        )
    if len(gdf) == 0:
        raise EmptyLayerError(
            kind, "the layer is empty (0 rows); check the source file and filters"
        )
    _check_crs(gdf, kind)
    _check_geometry(gdf, kind, schema)
    _check_coordinates(gdf, kind)
    gdf = gdf.copy()
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.set_crs(4326, allow_override=True)
    if kind == "buildings":
        _normalise_buildings(gdf)
    if kind == "roads":
        _normalise_roads(gdf, kind)
    _check_columns(gdf, kind, schema)
    _check_values(gdf, kind, schema)
    _coerce_integers(gdf, kind, schema)
    if kind == "addresses":
        _blank_to_none(gdf)
    refs = References.of(reference)
    if refs:
        _check_extent(gdf, kind, refs, margin_m)
        _check_alignment(gdf, kind, refs)
    return gdf
