"""Reading layers from files: GeoJSON, GeoPackage, GeoParquet, CSV with lon/lat, OSM XML."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from layers import crs as _crs
from layers.encoding import read_text, shapefile_encoding
from layers.errors import InputError
from layers.osm import from_osm
from layers.reference import MARGIN_M
from layers.schema import CRSError, SchemaError, validate

__all__ = ["load", "lonlat_columns", "read_features", "to_wgs84"]

_LONLAT_PAIRS = [
    ("lon", "lat"),
    ("lng", "lat"),
    ("longitude", "latitude"),
    ("x", "y"),
    ("经度", "纬度"),
]
_WKT_COLUMNS = ("geometry", "wkt", "geom")


def lonlat_columns(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The longitude and latitude columns of a table (lon/lat, lng/lat, x/y, 经度/纬度 …), if any."""
    lower = {str(c).strip().lower(): c for c in frame.columns}
    for lon, lat in _LONLAT_PAIRS:
        if lon in lower and lat in lower:
            return lower[lon], lower[lat]
    return None


def _from_table(frame: pd.DataFrame, kind: str) -> gpd.GeoDataFrame:
    pair = lonlat_columns(frame)
    if pair is not None:
        lon, lat = (pd.to_numeric(frame[c], errors="coerce") for c in pair)
        bad = lon.isna() | lat.isna()
        if bad.any():
            raise SchemaError(
                kind,
                f"columns {pair[0]!r}/{pair[1]!r} have missing or non-numeric coordinates in rows "
                f"{', '.join(map(str, frame.index[bad][:5]))}; fix or drop those rows",
                column=pair[0],
                rows=frame.index[bad],
            )
        return gpd.GeoDataFrame(
            frame.drop(columns=list(pair)), geometry=gpd.points_from_xy(lon, lat)
        )
    for column in _WKT_COLUMNS:
        if column in frame.columns:
            geometry = gpd.GeoSeries.from_wkt(frame[column].astype(str), on_invalid="warn")
            return gpd.GeoDataFrame(frame.drop(columns=[column]), geometry=geometry)
    raise SchemaError(
        kind,
        "a table needs coordinate columns: lon/lat (or lng/lat, longitude/latitude, x/y, "
        f"经度/纬度) or a WKT column named geometry; found {', '.join(map(str, frame.columns))}",
    )


def read_features(
    path, *, layer: str | None = None, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GeoPackage, Shapefile or other GDAL vector file.

    A Shapefile's attributes are read in ``encoding`` if given, else in the one its ``.cpg``
    declares, else in the one its records decode in (UTF-8 or GB18030, see
    :func:`layers.encoding.shapefile_encoding`), which ``attrs["encoding"]`` then names.
    A file GDAL cannot open is refused with an :class:`InputError` naming it.

    Examples
    --------
    >>> import tempfile, shapely
    >>> path = Path(tempfile.mkdtemp()) / "stations.geojson"
    >>> gpd.GeoDataFrame({"id": ["s1"]}, geometry=[shapely.Point(104.04, 30.64)], crs=4326).to_file(path)
    >>> read_features(path)["id"].tolist()
    ['s1']
    """
    path = Path(path)
    chosen = (
        shapefile_encoding(path, encoding=encoding)
        if path.suffix.lower() in (".shp", ".dbf")
        else None
    )
    try:
        frame = gpd.read_file(path, layer=layer, **({"encoding": chosen} if chosen else {}))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        raise InputError(
            f"{path.name}: cannot be read as a vector file ({err})", source=str(path)
        ) from None
    except UnicodeDecodeError as err:
        raise InputError(
            f"{path.name}: its attributes are not {chosen} text ({err.reason} at byte "
            f"{err.start} of a value); give their encoding with --encoding / encoding=",
            source=str(path),
        ) from None
    if chosen:
        frame.attrs["encoding"] = chosen
    return frame


def _read_csv(path: Path, kind: str, encoding: str | None) -> gpd.GeoDataFrame:
    text, used = read_text(path, encoding=encoding)
    try:
        table = pd.read_csv(io.StringIO(text), sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise SchemaError(kind, f"{path.name} is not a readable table: {err}") from None
    frame = _from_table(table, kind)
    frame.attrs["encoding"] = used
    return frame


def _read(kind: str, source, layer: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    if isinstance(source, gpd.GeoDataFrame):
        return source.copy()
    if isinstance(source, pd.DataFrame):
        return _from_table(source, kind)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{kind}: no such file {path}")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".geoparquet"):
        return gpd.read_parquet(path)
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_csv(path, kind, encoding)
    if suffix == ".osm":
        layers = from_osm(path)
        if kind not in layers:
            raise SchemaError(kind, f"OSM files give {', '.join(layers)}, not {kind}")
        return layers[kind]
    return read_features(path, layer=layer, encoding=encoding)


def to_wgs84(gdf: gpd.GeoDataFrame, source_crs=None, *, kind: str = "layer") -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326, converting from ``source_crs`` or the CRS it carries.

    Parameters
    ----------
    gdf : GeoDataFrame
    source_crs : str, int or pyproj.CRS, optional
        What the coordinates really are. Overrides the CRS the data carries (GeoJSON always
        claims WGS84, even when an Amap export holds GCJ-02). ``"gcj02"`` and ``"bd09"``
        convert Chinese web-map coordinates; anything else is passed to pyproj.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> amap = gpd.GeoDataFrame(geometry=[shapely.Point(104.0681, 30.6570)])
    >>> p = to_wgs84(amap, "gcj02").geometry.iloc[0]
    >>> round(p.x, 4), round(p.y, 4)
    (104.0656, 30.6594)
    """
    if source_crs is None:
        if gdf.crs is None:
            raise CRSError(
                kind,
                "the data carries no CRS and none was given; pass source_crs: 'EPSG:4326' for "
                "GPS/OSM coordinates, 'gcj02' for Amap/Tencent, 'bd09' for Baidu",
            )
        return gdf if gdf.crs.to_epsg() == 4326 else gdf.to_crs(4326)
    offset = _crs.SOURCE_CRS_ALIASES.get(str(source_crs).strip().lower())
    if offset is not None:
        out = gdf.copy()
        out.geometry = gpd.GeoSeries(
            _crs.transform_geometries(gdf.geometry.values, offset), index=gdf.index
        )
        return out.set_crs(4326, allow_override=True)
    try:
        declared = CRS.from_user_input(source_crs)
    except Exception as err:
        raise CRSError(
            kind, f"source_crs={source_crs!r} is not a CRS pyproj knows, nor 'gcj02'/'bd09' ({err})"
        ) from None
    return gdf.set_crs(declared, allow_override=True).to_crs(4326)


def load(
    kind: str,
    source,
    *,
    source_crs=None,
    layer: str | None = None,
    reference=None,
    margin_m: float = MARGIN_M,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a layer, bring it to EPSG:4326 and validate it against its kind's schema.

    Parameters
    ----------
    kind : str
        One of ``layers.KINDS``.
    source : path or (Geo)DataFrame
        GeoJSON, GeoPackage (``layer=`` picks one), GeoParquet, CSV/TSV with lon/lat columns
        (or a WKT ``geometry`` column), OSM XML, or a frame already in memory.
    source_crs : str, int or pyproj.CRS, optional
        What the coordinates are when the file does not say, or says wrongly: ``"gcj02"``
        (Amap, Tencent), ``"bd09"`` (Baidu), or any pyproj CRS. CSV files carry no CRS and
        need it: coordinates are never guessed.
    layer : str, optional
        Layer name inside a GeoPackage.
    reference : GeoDataFrame, or a list or mapping of them, optional
        The city's trusted WGS84 layers (roads, buildings, districts …). Points and
        buildings outside their extent grown by ``margin_m`` metres are refused with the
        rows named, and so is data that lines up with them only as GCJ-02.
    margin_m : float
        How far beyond the references' bounds a point or building may lie (2 km).
    encoding : str, optional
        Text encoding of a CSV/TSV file, or of a Shapefile's attributes. By default UTF-8
        (with or without BOM), then GB18030 (GBK) with a :class:`TextEncodingWarning`;
        ``attrs["encoding"]`` of the result says which was used.

    Returns
    -------
    GeoDataFrame
        Validated, in EPSG:4326.

    Examples
    --------
    >>> import layers
    >>> districts = layers.load("districts", "sample_data/chengdu/districts.parquet")
    >>> districts.crs.to_epsg(), len(districts)
    (4326, 20)
    """
    gdf = _read(kind, source, layer, encoding)
    encoding = gdf.attrs.get("encoding")
    gdf = validate(
        to_wgs84(gdf, source_crs, kind=kind), kind, reference=reference, margin_m=margin_m
    )
    if encoding:
        gdf.attrs["encoding"] = encoding
    return gdf
