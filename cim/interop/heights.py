"""Building footprints with real heights: OSM, GeoJSON, Shapefile, GeoPackage, GeoParquet.

Heights are read from a height column (``height``, ``高度``, ``建筑高度`` …) where one is
given, else from a floors column (``floors``, ``层数``, ``building:levels`` …) at 3 m a floor
(:data:`layers.standards.FLOOR_HEIGHT_M`), and every row says which: ``height_source`` names
the column and ``height_estimated`` is True for heights from floors. Rows with neither stay
in the layer without a height; rows whose footprint cannot be used are left out and listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import layers
from cim.interop.extrude import SKIPPED_COLUMNS
from layers.io import read_features
from layers.standards import FLOOR_HEIGHT_M

__all__ = ["FLOOR_COLUMNS", "HEIGHT_COLUMNS", "BuildingImport", "read_buildings"]

# the names a height or a floor count goes by, compared without case, blanks, '_' or ':'
HEIGHT_COLUMNS = (
    "height_m",
    "height",
    "building:height",
    "bldg_height",
    "measuredheight",
    "高度",
    "建筑高度",
    "楼高",
    "房屋高度",
)
FLOOR_COLUMNS = (
    "floors",
    "floor",
    "building:levels",
    "levels",
    "storeys",
    "stories",
    "num_floors",
    "floor_count",
    "storeysaboveground",
    "层数",
    "楼层数",
    "建筑层数",
    "地上层数",
    "楼层",
)
_ID_COLUMNS = ("id", "osm_id", "osmid", "fid", "objectid", "编号", "建筑编号")
_NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)")


def _key(name: object) -> str:
    return re.sub(r"[\s_:]", "", str(name)).lower()


def _find(columns, names: tuple[str, ...]) -> str | None:
    keys = {_key(c): c for c in columns}
    return next((keys[_key(n)] for n in names if _key(n) in keys), None)


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers from text such as ``"23"``, ``"23 m"``, ``"23米"``; blanks and ≤ 0 become NaN."""
    text = values.astype("string")
    found = text.str.extract(_NUMBER.pattern, expand=False)
    numbers = pd.to_numeric(found, errors="coerce")
    return numbers.where(numbers > 0)


@dataclass(frozen=True)
class BuildingImport:
    """Buildings read from a file, with how their heights were found and what was left out.

    Attributes
    ----------
    buildings : GeoDataFrame
        A validated ``buildings`` layer (EPSG:4326) with ``height_m``, ``height_source`` and
        ``height_estimated``; rows without a height keep ``height_m`` empty.
    skipped : DataFrame
        ``row, id, reason`` of the features left out (no polygon, invalid footprint).
    source_crs : str
        What the coordinates were read as.
    notes : list of str
        What was assumed (repeated ids made unique, the columns used).
    """

    buildings: gpd.GeoDataFrame
    skipped: pd.DataFrame
    source_crs: str
    notes: list[str] = field(default_factory=list)

    @property
    def measured(self) -> int:
        """Buildings whose height was given as a height."""
        return int((self.buildings["height_m"].notna() & ~self._estimated).sum())

    @property
    def estimated(self) -> int:
        """Buildings whose height comes from their floors (or another estimate)."""
        return int((self.buildings["height_m"].notna() & self._estimated).sum())

    @property
    def missing(self) -> int:
        """Buildings kept without a height."""
        return int(self.buildings["height_m"].isna().sum())

    @property
    def _estimated(self) -> pd.Series:
        return self.buildings["height_estimated"].fillna(False).astype(bool)

    def summary(self) -> str:
        """One line: how many heights are measured, estimated, missing, and rows left out."""
        return (
            f"{len(self.buildings)} buildings: {self.measured} heights measured, "
            f"{self.estimated} estimated (from floors or otherwise), {self.missing} without a height; "
            f"{len(self.skipped)} left out"
        )


def _usable_footprints(frame: gpd.GeoDataFrame, ids: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Which rows have a valid polygon footprint, and the others with the reason."""
    geometry = frame.geometry.values
    empty = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    polygonal = np.isin(shapely.get_type_id(geometry), [3, 6])  # Polygon, MultiPolygon
    valid = shapely.is_valid(geometry)
    keep = ~empty & polygonal & valid
    reasons = np.full(len(frame), "no footprint", dtype=object)
    other = ~empty & ~polygonal
    reasons[other] = [f"footprint is a {g.geom_type}, not a polygon" for g in geometry[other]]
    invalid = ~empty & polygonal & ~valid
    reasons[invalid] = [
        f"footprint invalid: {r}; repair it (e.g. gdf.geometry.make_valid()) or fix the source"
        for r in shapely.is_valid_reason(geometry[invalid])
    ]
    skipped = pd.DataFrame(
        {"row": frame.index[~keep], "id": ids[~keep].to_numpy(), "reason": reasons[~keep]},
        columns=SKIPPED_COLUMNS,
    )
    return keep, skipped


def _unique_ids(frame: pd.DataFrame, notes: list[str]) -> pd.Series:
    column = _find(frame.columns, _ID_COLUMNS)
    if column is None:
        notes.append("no id column: ids are b<row number>")
        return pd.Series([f"b{i}" for i in range(len(frame))], index=frame.index, dtype=object)
    ids = frame[column].astype("string").fillna("").astype(object)
    blank = ids.eq("")
    ids[blank] = [f"b{i}" for i in np.flatnonzero(blank)]
    repeat = ids.groupby(ids).cumcount()
    if (repeat > 0).any():
        notes.append(
            f"{int((repeat > 0).sum())} repeated ids in {column!r} made unique with a -2, -3 … suffix"
        )
        ids = ids.where(repeat == 0, ids + "-" + (repeat + 1).astype(str))
    return ids


def _heights(frame: pd.DataFrame, floor_height: float, notes: list[str]) -> pd.DataFrame:
    height_col = _find(frame.columns, HEIGHT_COLUMNS)
    floor_col = _find(frame.columns, FLOOR_COLUMNS)
    nan = pd.Series(np.nan, index=frame.index)
    height = _numbers(frame[height_col]) if height_col else nan
    floors = _numbers(frame[floor_col]) if floor_col else nan
    from_floors = height.isna() & floors.notna()
    notes.append(
        f"heights from {height_col!r}" if height_col else "no height column",
    )
    notes.append(
        f"floors from {floor_col!r} at {floor_height:g} m a floor"
        if floor_col
        else "no floors column"
    )
    source = np.select(
        [height.notna(), from_floors],
        [f"file:{height_col}", f"file:{floor_col}"],
        None,
    )
    return pd.DataFrame(
        {
            "height_m": height.fillna(floors * floor_height),
            "floors": floors,
            "height_source": source,
            "height_estimated": from_floors,
        },
        index=frame.index,
    )


def read_buildings(
    source,
    *,
    source_crs=None,
    reference=None,
    floor_height: float = FLOOR_HEIGHT_M,
    encoding: str | None = None,
) -> BuildingImport:
    """Read building footprints with heights from OSM XML, GeoJSON, Shapefile, GeoPackage or GeoParquet.

    Parameters
    ----------
    source : path or GeoDataFrame
        An ``.osm`` file (``height`` and ``building:levels`` tags), or polygons with a height
        column (``height``, ``height_m``, ``高度``, ``建筑高度`` …) and/or a floors column
        (``floors``, ``floor``, ``levels``, ``层数``, ``楼层数`` …); names are matched without
        case. Numbers written as text (``"23 m"``, ``"23米"``) are read.
    source_crs : str, optional
        What the coordinates are when the file does not say, or says wrongly: ``"gcj02"``
        for Amap / Tencent exports (converted to WGS84, see ``layers.load``), any pyproj CRS.
    reference : GeoDataFrame, list or mapping, optional
        The city's trusted layers: buildings outside them, or that line up only as GCJ-02,
        are refused (``layers.load``).
    floor_height : float
        Metres a floor where only floors are known.
    encoding : str, optional
        Text encoding of a Shapefile's attributes.

    Returns
    -------
    BuildingImport

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "b.geojson"
    >>> gpd.GeoDataFrame({"高度": [24.0, None], "层数": [None, 5]},
    ...     geometry=[shapely.box(104.06, 30.65, 104.0602, 30.6502)] * 2, crs=4326).to_file(path)
    >>> found = read_buildings(path)
    >>> found.buildings["height_m"].tolist(), found.measured, found.estimated
    ([24.0, 15.0], 1, 1)
    """
    notes: list[str] = []
    if isinstance(source, gpd.GeoDataFrame):
        frame = source.copy()
    elif Path(source).suffix.lower() == ".osm":
        return _from_osm(Path(source), reference)
    elif Path(source).suffix.lower() in (".parquet", ".geoparquet"):
        frame = gpd.read_parquet(source)
    else:
        if not Path(source).exists():
            raise FileNotFoundError(f"buildings: no such file {source}")
        frame = read_features(source, encoding=encoding)
    frame = frame.reset_index(drop=True)
    frame = layers.to_wgs84(frame, source_crs, kind="buildings")
    ids = _unique_ids(frame, notes)
    keep, skipped = _usable_footprints(frame, ids)
    heights = _heights(frame, floor_height, notes)
    taken = {c for c in (_find(frame.columns, HEIGHT_COLUMNS), _find(frame.columns, FLOOR_COLUMNS))}
    rest = frame.drop(columns=[c for c in frame.columns if c in taken or _key(c) == "id"])
    if "use" not in rest.columns:
        rest["use"] = "other"
    built = gpd.GeoDataFrame(
        pd.concat([ids.rename("id"), rest.drop(columns=rest.geometry.name), heights], axis=1)[keep],
        geometry=frame.geometry[keep],
        crs=4326,
    ).reset_index(drop=True)
    buildings = layers.load("buildings", built, reference=reference)
    label = str(source_crs) if source_crs is not None else str(frame.crs)
    return BuildingImport(buildings, skipped, label, notes)


def _from_osm(path: Path, reference) -> BuildingImport:
    buildings = layers.from_osm(path)["buildings"]
    buildings["height_estimated"] = buildings["height_source"].eq("osm:building:levels")
    if reference is not None:
        buildings = layers.validate(buildings, "buildings", reference=reference)
    empty = pd.DataFrame(columns=SKIPPED_COLUMNS)
    return BuildingImport(
        buildings, empty, "EPSG:4326", ["heights from OSM height, else building:levels × 3 m"]
    )
