"""Text encodings of input files: UTF-8 first, GB18030 when that fails, or what the user says.

Tables from Excel or WPS on Chinese Windows are very often GBK; GB18030 is a superset of GBK
and GB2312, so it reads all three. A byte-order mark (UTF-8, UTF-16, UTF-32) is trusted. A file
read as GB18030 is reported with a :class:`TextEncodingWarning`, so a wrong guess is seen.
Shapefiles without a ``.cpg`` get the same decision from their DBF records (GDAL would read
them as ISO-8859-1: mojibake for Chinese names).
"""

from __future__ import annotations

import codecs
import warnings
from pathlib import Path

from layers.errors import CimWarning, InputError

__all__ = ["FALLBACK", "TextEncodingWarning", "detect", "read_text", "shapefile_encoding"]

FALLBACK = "gb18030"
_BOMS = (  # UTF-32 before UTF-16: their little-endian marks share the first two bytes
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_UNDECLARED_LDID = (0x00, 0x57)  # none, and "ANSI": the writer's system code page, unknown here
_HOW = "save it as UTF-8 or give its encoding (--encoding on the command line, encoding= in Python)"


class TextEncodingWarning(CimWarning):
    """A file was read in an encoding it did not declare (e.g. GB18030 after UTF-8 failed)."""


def _check_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(
            f"unknown text encoding {encoding!r}; use e.g. utf-8, gb18030 (GBK), utf-16"
        ) from None


def _at(data: bytes, offset: int) -> str:
    return f"byte 0x{data[offset]:02x} at offset {offset}"


def _bad_byte(data: bytes, encoding: str) -> str | None:
    """None when ``data`` decodes strictly as ``encoding``, else where it fails."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as err:
        return _at(data, err.start)
    return None


def detect(data: bytes) -> str | None:
    """The encoding ``data`` reads in: a byte-order mark's, else UTF-8, else GB18030, else None.

    Examples
    --------
    >>> detect("成都市武侯区".encode("utf-8")), detect("成都市武侯区".encode("gbk"))
    ('utf-8', 'gb18030')
    >>> detect(codecs.BOM_UTF8 + b"id,name"), detect(b"\\xff\\xff")
    ('utf-8-sig', None)
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    for encoding in ("utf-8", FALLBACK):
        if _bad_byte(data, encoding) is None:
            return encoding
    return None


def read_text(path, *, encoding: str | None = None) -> tuple[str, str]:
    """Read a text file, detecting its encoding unless ``encoding`` is given.

    UTF-8 (with or without BOM) is tried first, then GB18030 (which reads GBK and GB2312),
    with a :class:`TextEncodingWarning` saying so. A file that is neither, or holds NUL
    characters (binary, or UTF-16 without a BOM), is refused with an :class:`InputError`
    naming the file, where it fails and how to fix it.

    Returns
    -------
    (str, str)
        The text, and the encoding it was read in (``utf-8``, ``utf-8-sig``, ``gb18030`` …).

    Examples
    --------
    >>> import tempfile, warnings
    >>> path = Path(tempfile.mkdtemp()) / "calls.csv"
    >>> _ = path.write_bytes("id,地址\\n1,成都市锦江区春熙路".encode("gbk"))
    >>> with warnings.catch_warnings(record=True) as notes:
    ...     warnings.simplefilter("always")
    ...     text, used = read_text(path)
    >>> text.splitlines()[1], used, str(notes[0].message)
    ('1,成都市锦江区春熙路', 'gb18030', 'calls.csv: read as GB18030 (not UTF-8)')
    """
    path = Path(path)
    data = path.read_bytes()
    used = _check_name(encoding) if encoding is not None else detect(data)
    if used is None:
        raise InputError(
            f"{path.name}: neither UTF-8 ({_bad_byte(data, 'utf-8')}) nor GB18030 "
            f"({_bad_byte(data, FALLBACK)}) text; {_HOW}",
            source=str(path),
        )
    codec = "utf-8" if used == "utf-8-sig" else used  # its errors count offsets after the BOM
    try:
        text = data.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise InputError(
            f"{path.name}: not {used} text ({_at(data, err.start)}); {_HOW}", source=str(path)
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise InputError(
            f"{path.name} line {line}: holds a NUL character, so it "
            f"is not a text table (UTF-16 without a byte-order mark?); {_HOW}",
            source=str(path),
        )
    if encoding is None and used == FALLBACK:
        warnings.warn(
            f"{path.name}: read as GB18030 (not UTF-8)", TextEncodingWarning, stacklevel=2
        )
    return text, used


def shapefile_encoding(path, *, encoding: str | None = None) -> str | None:
    """The encoding to read a Shapefile's attributes in, when GDAL would have to guess.

    ``encoding`` when given. Otherwise None (GDAL decides) when a ``.cpg`` file or the DBF's
    language-driver byte declares one, or the records are plain ASCII; else ``utf-8`` when
    the records decode strictly as UTF-8, ``gb18030`` when they decode as that, with a
    :class:`TextEncodingWarning` naming the choice.

    Examples
    --------
    >>> import tempfile, geopandas as gpd, shapely
    >>> path = Path(tempfile.mkdtemp()) / "stations.shp"
    >>> gpd.GeoDataFrame({"name": ["武侯消防站"]}, geometry=[shapely.Point(104.04, 30.64)],
    ...                  crs=4326).to_file(path, encoding="gbk")
    >>> path.with_suffix(".cpg").unlink()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     shapefile_encoding(path)
    'gb18030'
    """
    if encoding is not None:
        return _check_name(encoding)
    path = Path(path)
    if any(path.with_suffix(s).exists() for s in (".cpg", ".CPG")):
        return None
    dbf = next(
        (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
    )
    if dbf is None:
        return None
    data = dbf.read_bytes()
    if len(data) < 32 or data[29] not in _UNDECLARED_LDID:
        return None
    records = data[int.from_bytes(data[8:10], "little") :]
    if records.isascii():
        return None
    used = detect(records)
    if used is not None:
        warnings.warn(
            f"{path.name}: no .cpg file; attributes read as {used.upper()} (not ISO-8859-1)",
            TextEncodingWarning,
            stacklevel=2,
        )
    return used
