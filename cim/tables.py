"""Batch tables for the command line: CSV or Parquet in, CSV or (Geo)Parquet out, atomically."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow

import layers
from cim.atomic import atomic_path
from cim.escape import csv_safe
from layers.alignment import gcj02_alignment
from layers.encoding import read_text
from layers.io import lonlat_columns, read_features
from layers.reference import MARGIN_M, References, city_extent, swapped_rows

__all__ = ["check_suffix", "join_fields", "read_points", "read_table", "write_table"]

SUFFIXES = (".csv", ".parquet")


def check_suffix(path) -> None:
    """Refuse a path that is neither .csv nor .parquet, before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise layers.InputError(f"{path}: use a .csv or .parquet file")


def _csv_rows(path: Path, encoding: str | None) -> pd.DataFrame:
    text, used = read_text(path, encoding=encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    names: list[str] | None = None
    rows, lines = [], []
    start = 1
    try:
        for record in reader:
            if not record:  # a blank line
                pass
            elif names is None:
                names = [name.strip() or f"Unnamed: {i}" for i, name in enumerate(record)]
                repeated = [name for name, n in Counter(names).items() if n > 1]
                if repeated:
                    raise layers.InputError(
                        f"{path.name} line {start}: column {repeated[0]!r} appears more than "
                        "once in the header; rename or remove the copies",
                        source=str(path),
                    )
            elif len(record) > len(names) and any(record[len(names) :]):
                raise layers.InputError(
                    f"{path.name} line {start}: {len(record)} fields, but the header has "
                    f"{len(names)}; quote fields that hold commas",
                    source=str(path),
                )
            else:
                missing = len(names) - len(record)
                rows.append(record + [""] * missing if missing > 0 else record[: len(names)])
                lines.append(f"line {start}")
            start = reader.line_num + 1
    except csv.Error as err:
        raise layers.InputError(
            f"{path.name} line {start}: {err} (is a quote left open?)", source=str(path)
        ) from None
    if names is None:
        raise layers.InputError(
            f"{path.name} is empty; a table needs a header line naming its columns",
            source=str(path),
        )
    frame = pd.DataFrame(rows, columns=names, index=pd.Index(lines, dtype=object), dtype=object)
    frame = frame.replace("", None)
    frame.attrs["encoding"] = used
    return frame


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    frame.index = pd.Index([f"feature {i}" for i in range(1, len(frame) + 1)], dtype=object)
    return frame


def _parquet(path: Path, read):
    try:
        return _features(read(path))
    except (ValueError, pyarrow.ArrowException) as err:
        raise layers.InputError(
            f"{path.name}: not a readable Parquet table ({err})", source=str(path)
        ) from None


def read_table(path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV (text kept as text, empty cells None) or Parquet table.

    Rows are labelled by where they are in the file, for reports to name them: ``"line 7"``
    in a CSV (the header is line 1; a row spanning lines takes its first), ``"feature 3"``
    in a Parquet file (counting from 1). A CSV's encoding is detected (UTF-8, else GB18030
    with a :class:`layers.TextEncodingWarning`) unless ``encoding`` is given, and named in
    ``attrs["encoding"]``.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "calls.csv"
    >>> _ = path.write_text("id,address\\n\\na1,春熙路\\na2,", encoding="utf-8")
    >>> table = read_table(path)
    >>> table.index.tolist(), table["address"].tolist(), table.attrs["encoding"]
    (['line 3', 'line 4'], ['春熙路', None], 'utf-8')
    """
    path = Path(path)
    check_suffix(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() == ".parquet":
        return _parquet(path, pd.read_parquet)
    return _csv_rows(path, encoding)


def join_fields(table: pd.DataFrame, fields: pd.DataFrame) -> pd.DataFrame:
    """Put ``fields`` beside ``table`` row by row, so that no two columns share a name.

    The fields take their plain names; a column of ``table`` that has a field's name is kept
    as ``<name>_input`` (``<name>_input2``, … if that is taken too), so both values survive.

    Examples
    --------
    >>> rows = pd.DataFrame({"address": ["武侯区玉林北路2号"], "district": ["旧区"]})
    >>> join_fields(rows, pd.DataFrame({"district": ["武侯区"]})).columns.tolist()
    ['address', 'district_input', 'district']
    """
    taken = {*table.columns, *fields.columns}
    renamed = {}
    for name in table.columns:
        if name in fields.columns:
            new, n = f"{name}_input", 2
            while new in taken:
                new, n = f"{name}_input{n}", n + 1
            taken.add(new)
            renamed[name] = new
    return pd.concat([table.rename(columns=renamed), fields.set_axis(table.index)], axis=1)


def write_table(frame: pd.DataFrame, path) -> Path:
    """Write a table atomically: CSV made safe for spreadsheets, or (Geo)Parquet as it is.

    In CSV, point geometry becomes ``lon``/``lat`` (columns of those names already in the
    frame are kept as ``lon_input``/``lat_input``, see :func:`join_fields`); text cells that
    could start a formula get a leading ``'`` (:func:`cim.escape.csv_safe`); lines end with
    CRLF as in RFC 4180, and a field that holds a CR or LF is quoted, so every reader gets
    the same rows back. Parquet keeps every value as it is.
    """
    path = Path(path)
    check_suffix(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(tmp)
        else:
            if isinstance(frame, gpd.GeoDataFrame):
                points = frame.geometry
                located = points.notna() & ~points.is_empty
                frame = join_fields(
                    pd.DataFrame(frame.drop(columns=frame.geometry.name)),
                    pd.DataFrame({"lon": points.x.where(located), "lat": points.y.where(located)}),
                )
            csv_safe(frame).to_csv(
                tmp,
                index=False,
                encoding="utf-8",
                lineterminator="\r\n",
                quoting=csv.QUOTE_MINIMAL,
            )
    return path


def _placement_checks(x: pd.Series, y: pd.Series, extent) -> list[tuple[pd.Series, object]]:
    """Rows written as (lat, lon), and rows outside the city's extent, with their reasons."""
    swapped = pd.Series(swapped_rows(x, y, extent), index=x.index)
    place = "in the city" if extent is not None else "a valid position"
    read_back = (
        "lon " + y.map("{:.6g}".format).astype(str) + ", lat " + x.map("{:.6g}".format).astype(str)
    )
    checks = [(swapped, "lat/lon swapped: " + read_back + f" is {place}; swap the two values")]
    if extent is not None:
        valid = x.between(-180, 180) & y.between(-90, 90)
        outside = valid & ~pd.Series(extent.contains(x, y), index=x.index)
        checks.append((outside, f"outside the city ({extent})"))
    return checks


def _refuse_gcj02(points: gpd.GeoDataFrame, refs: References, path: Path, role: str) -> None:
    found = gcj02_alignment(points, refs)
    if found is not None and found.looks_gcj02:
        raise layers.InputError(
            f"{path}: the {role} coordinates look like GCJ-02 (Amap/Tencent) read as WGS84: "
            f"{found.evidence}; read them with crs='gcj02' (on the command line: --crs gcj02)",
            source=str(path),
        )


def read_points(
    path,
    role: str,
    *,
    crs: str = "EPSG:4326",
    encoding: str | None = None,
    reference=None,
    margin_m: float = MARGIN_M,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read point rows for a batch job, keeping the good rows and listing the bad ones.

    CSV needs ``id`` and lon/lat columns whose coordinates are in ``crs`` (EPSG:4326 unless
    told, e.g. ``gcj02`` for Amap); GeoJSON, GeoPackage, Shapefile and GeoParquet carry their
    own CRS. ``encoding`` is the text encoding of a CSV or of a Shapefile's attributes,
    detected when not given (see :func:`read_table`).
    Rows written as (lat, lon) are bad rows ("lat/lon swapped"). With ``reference`` (the
    city's roads, buildings and districts, e.g. ``city.references()``), rows outside
    their extent grown by ``margin_m`` metres are bad rows too, and a file whose points
    line up with the city only as GCJ-02 is refused.

    Returns
    -------
    (GeoDataFrame, DataFrame)
        The usable rows in EPSG:4326, and ``file, row, id, reason`` for every row left out,
        ``row`` saying where it is: ``line 7`` of a CSV (the header is line 1) or
        ``feature 3`` of another file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such {role} file: {path}")
    if path.suffix.lower() == ".csv":
        table = read_table(path, encoding=encoding)
        pair = lonlat_columns(table)
        if pair is None:
            raise layers.InputError(
                f"{path}: needs lon/lat (or lng/lat, x/y, 经度/纬度) columns; it has {', '.join(table.columns)}"
            )
        lon, lat = (pd.to_numeric(table[c], errors="coerce") for c in pair)
        frame = gpd.GeoDataFrame(
            table.drop(columns=list(pair)), geometry=gpd.points_from_xy(lon, lat)
        )
        frame = layers.to_wgs84(frame, crs, kind=role)
    else:
        frame = (
            _parquet(path, gpd.read_parquet)
            if path.suffix.lower() == ".parquet"
            else _features(read_features(path, encoding=encoding))
        )
        frame = layers.to_wgs84(frame, kind=role)
    if "id" not in frame.columns:
        raise layers.InputError(f"{path}: needs an 'id' column naming each {role} row")
    geometry = frame.geometry
    points = geometry[(geometry.geom_type == "Point") & ~geometry.is_empty]
    x, y = points.x.reindex(frame.index), points.y.reindex(frame.index)
    checks = [
        (frame["id"].isna(), "no id"),
        (frame["id"].duplicated() & frame["id"].notna(), "id repeats an earlier row"),
        (
            geometry.isna()
            | geometry.is_empty
            | ((geometry.geom_type == "Point") & (x.isna() | y.isna())),
            "no coordinates",
        ),
        (geometry.notna() & ~geometry.is_empty & (geometry.geom_type != "Point"), "not a point"),
        *_placement_checks(x, y, city_extent(reference, margin_m=margin_m)),
        (~(x.between(-180, 180) & y.between(-90, 90)) & x.notna(), "coordinates out of range"),
    ]
    reason = pd.Series(None, index=frame.index, dtype=object)
    for bad, why in checks:
        reason = reason.where(reason.notna() | ~bad.fillna(False), why)
    bad_rows = pd.DataFrame(
        {
            "file": path.name,
            "row": frame.index[reason.notna()].to_numpy(),
            "id": frame.loc[reason.notna(), "id"].to_numpy(),
            "reason": reason.dropna().to_numpy(),
        }
    )
    good = frame[reason.isna()].reset_index(drop=True).set_crs(4326, allow_override=True)
    refs = References.of(reference)
    if refs and str(crs).strip().lower() not in layers.crs.SOURCE_CRS_ALIASES:
        _refuse_gcj02(good, refs, path, role)
    return good, bad_rows
