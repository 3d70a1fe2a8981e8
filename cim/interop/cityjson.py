"""CityJSON 2.0 out and in: LOD1 building solids, roads and unit groups; LOD1/LOD2 buildings back.

The file is in the city's CGCS2000 3-degree Gauss-Kruger zone (EPSG:4534-4554, named in
``metadata.referenceSystem``), its vertices integers of a millimetre (``transform``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

import layers
from cim.atomic import write_text
from cim.interop.exact_json import dumps
from cim.interop.extrude import GRID_M, SKIPPED_COLUMNS, SURFACE_TYPES, prisms, surfaces
from cim.interop.heights import BuildingImport
from cim.interop.links import address_links

__all__ = ["CITYJSON_VERSION", "CityJSONExport", "read_cityjson", "to_cityjson"]

CITYJSON_VERSION = "2.0"
EPSG_URI = "https://www.opengis.net/def/crs/EPSG/0/{}"
UNIT_GROUPS = ("districts", "streets", "communities")  # the grid is too fine to be worth it
# layer column -> CityJSON attribute (CityGML names where one exists)
ATTRIBUTES = {
    "name": "name",
    "use": "function",
    "building": "osmBuilding",
    "floors": "storeysAboveGround",
    "height_source": "heightSource",
    "synthetic": "synthetic",
    "address_ids": "addressIds",
    "address_codes": "addressCodes",
    "address": "address",
}
_EPSG = re.compile(r"EPSG(?:/\d+/|::?|:)(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class CityJSONExport:
    """What :func:`to_cityjson` wrote.

    Attributes
    ----------
    path : Path
    crs : pyproj.CRS
        The metric CRS of the vertices.
    counts : dict
        City objects written, by type.
    estimated : int
        Buildings whose height comes from floors or an estimate (``heightEstimated``).
    skipped : DataFrame
        ``row, id, reason`` of the buildings left out (no height, invalid footprint).
    """

    path: Path
    crs: CRS
    counts: dict[str, int]
    estimated: int
    skipped: pd.DataFrame = field(repr=False)


class _Vertices:
    """Vertex list on the millimetre grid, each position once."""

    def __init__(self, translate: np.ndarray):
        self.translate = translate
        self.index: dict[tuple[int, int, int], int] = {}

    def add(self, points: np.ndarray) -> list[int]:
        grid = np.rint((points - self.translate) / GRID_M).astype(np.int64)
        out = []
        for key in map(tuple, grid.tolist()):
            out.append(self.index.setdefault(key, len(self.index)))
        return out

    def line(self, points: np.ndarray) -> list[int]:
        """Indices of a line's points, consecutive repeats (closer than a millimetre) dropped."""
        found = self.add(points)
        return [v for i, v in enumerate(found) if i == 0 or v != found[i - 1]]

    def array(self) -> list[list[int]]:
        return [list(key) for key in self.index]


def _value(value):
    """A JSON value for an attribute, or None when there is nothing to write."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [_value(v) for v in value]
        return [v for v in items if v is not None] or None
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if float(value) != int(value) else int(value)
    return str(value)


def _records(frame: gpd.GeoDataFrame) -> Iterator[tuple[dict, object]]:
    """Each row as a plain dict (far quicker than ``iterrows``) with its geometry."""
    rows = pd.DataFrame(frame.drop(columns=frame.geometry.name)).to_dict("records")
    return zip(rows, frame.geometry.to_numpy(), strict=True)


def _attributes(row: dict, names: dict[str, str]) -> dict:
    found = {}
    for column, name in names.items():
        if column in row:
            value = _value(row[column])
            if value is not None:
                found[name] = value
    return found


def _solid(polygon: shapely.Polygon, height: float, vertices: _Vertices) -> tuple[list, list]:
    shell, kinds = [], []
    for kind, rings in surfaces(polygon, height):
        shell.append([vertices.add(ring) for ring in rings])
        kinds.append(kind)
    return shell, kinds


def _building_geometry(footprint, height: float, lod: int, vertices: _Vertices) -> dict:
    parts = list(getattr(footprint, "geoms", [footprint]))
    if lod == 0:
        boundaries = [
            [vertices.add(np.column_stack([ring, np.zeros(len(ring))])) for ring in rings]
            for part in parts
            for rings in [[np.asarray(r.coords)[:-1, :2] for r in (part.exterior, *part.interiors)]]
        ]
        return {
            "type": "MultiSurface",
            "lod": "0",
            "boundaries": boundaries,
            "semantics": {"surfaces": [{"type": "GroundSurface"}], "values": [0] * len(parts)},
        }
    solids = [_solid(part, height, vertices) for part in parts]
    semantics = {"surfaces": [{"type": t} for t in SURFACE_TYPES]}
    if len(solids) == 1:
        shell, kinds = solids[0]
        return {
            "type": "Solid",
            "lod": "1",
            "boundaries": [shell],
            "semantics": {**semantics, "values": [kinds]},
        }
    return {
        "type": "MultiSolid",
        "lod": "1",
        "boundaries": [[shell] for shell, _ in solids],
        "semantics": {**semantics, "values": [[kinds] for _, kinds in solids]},
    }


def _surface(polygon, vertices: _Vertices) -> list[list[int]]:
    return [
        vertices.add(np.column_stack([ring[:, :2], np.zeros(len(ring))]))
        for ring in (np.asarray(r.coords)[:-1] for r in (polygon.exterior, *polygon.interiors))
    ]


def _groups(city, footprints: gpd.GeoDataFrame, crs: CRS, vertices: _Vertices) -> dict:
    objects: dict[str, dict] = {}
    spots = gpd.GeoDataFrame(
        {"id": footprints["id"].to_numpy()},
        geometry=footprints.geometry.representative_point().to_numpy(),
        crs=crs,
    )
    for layer_name in UNIT_GROUPS:
        if layer_name not in city.layers:
            continue
        units = city.layer(layer_name).to_crs(crs)
        units = units.assign(
            geometry=shapely.orient_polygons(shapely.set_precision(units.geometry.values, GRID_M))
        )
        inside = gpd.sjoin(spots, units[["code", "geometry"]], predicate="within")
        members = inside.groupby("code")["id"].agg(sorted)
        level = layer_name.removesuffix("s")
        for unit, geometry in _records(units):
            parts = [p for p in getattr(geometry, "geoms", [geometry]) if not p.is_empty]
            entry = {
                "type": "CityObjectGroup",
                "attributes": {
                    "level": level,
                    **_attributes(unit, {"code": "code", "name": "name"}),
                    **_attributes(unit, {"parent_code": "parentCode", "synthetic": "synthetic"}),
                },
                "geometry": [
                    {
                        "type": "MultiSurface",
                        "lod": "0",
                        "boundaries": [_surface(p, vertices) for p in parts],
                    }
                ],
            }
            children = members.get(unit["code"], [])
            if len(children):
                entry["children"] = list(children)
            objects[f"{level}-{unit['code']}"] = entry
    return objects


def _roads(city, crs: CRS, vertices: _Vertices) -> dict:
    if "roads" not in city.layers:
        return {}
    roads = city.layer("roads").to_crs(crs)
    names = {"name": "name", "highway": "highway", "road_class": "roadClass", "oneway": "oneway"}
    names |= {"maxspeed": "maxspeed", "osmid": "osmId", "synthetic": "synthetic"}
    parts, road_of_part = shapely.get_parts(roads.geometry.to_numpy(), return_index=True)
    xy, part_of_point = shapely.get_coordinates(parts, return_index=True)
    starts = np.searchsorted(part_of_point, np.arange(len(parts) + 1))
    lines: dict[int, list[list[int]]] = {}
    for part, road in enumerate(road_of_part):
        line = xy[starts[part] : starts[part + 1]]
        indices = vertices.line(np.column_stack([line, np.zeros(len(line))]))
        if len(indices) > 1:
            lines.setdefault(int(road), []).append(indices)
    rows = pd.DataFrame(roads.drop(columns=roads.geometry.name)).to_dict("records")
    return {
        f"road-{number}": {
            "type": "Road",
            "attributes": _attributes(rows[number], names),
            "geometry": [{"type": "MultiLineString", "lod": "0", "boundaries": found}],
        }
        for number, found in sorted(lines.items())
    }


def to_cityjson(city, path, *, lod: int = 1) -> CityJSONExport:
    """Write the city as CityJSON 2.0: buildings as LOD1 solids, roads, and unit groups.

    Buildings are their footprints extruded from the ground (z = 0) to ``height_m``, with
    semantic surfaces (GroundSurface, WallSurface, RoofSurface) and their attributes: use
    (``function``), floors (``storeysAboveGround``), ``measuredHeight`` where the height was
    measured, ``heightSource`` and ``heightEstimated`` (True where it comes from floors × 3 m
    or an estimate), ``synthetic``, and the 一标多实 links of the address base
    (``addressIds``, ``addressCodes``, ``address``). Roads are ``Road`` objects with a LOD0
    MultiLineString; districts, streets and communities are ``CityObjectGroup`` objects
    with their boundary (LOD0 MultiSurface) whose children are the buildings inside them.
    Coordinates are metres in the city's CGCS2000 Gauss-Kruger zone (``metadata``
    names it as an EPSG URI), vertices integers of a millimetre under ``transform``.

    Parameters
    ----------
    city : CityModel
    path : str or Path
        Where to write (``.city.json`` by convention); written atomically.
    lod : int
        1 (prisms, the default) or 0 (footprints at ground level).

    Returns
    -------
    CityJSONExport
        With the buildings left out (no height, unusable footprint) and why.

    Examples
    --------
    >>> import tempfile
    >>> from cim.model import CityModel
    >>> house = gpd.GeoDataFrame({"id": ["h1"], "height_m": [12.0], "use": ["residential"]},
    ...     geometry=[shapely.box(104.066, 30.657, 104.0662, 30.6572)], crs=4326)
    >>> done = to_cityjson(CityModel({"buildings": house}), tempfile.mkdtemp() + "/h.city.json")
    >>> done.crs.to_epsg(), done.counts, len(done.skipped)
    (4544, {'Building': 1}, 0)
    """
    if lod not in (0, 1):
        raise layers.InputError(
            f"lod={lod!r}: CityJSON export writes LOD0 footprints or LOD1 prisms; LOD2 needs roof "
            "shapes that a buildings layer does not have"
        )
    buildings = city.layer("buildings")
    crs = city.metric_crs
    found = prisms(buildings, crs)
    footprints = found.footprints
    links = address_links(city, footprints)
    footprints = footprints.join(links, on="id")
    minx, miny, _, _ = footprints.total_bounds if len(footprints) else (0.0, 0.0, 0.0, 0.0)
    vertices = _Vertices(np.array([math.floor(minx), math.floor(miny), 0.0]))
    objects: dict[str, dict] = {}
    estimated = 0
    for row, footprint in _records(footprints):
        height = round(float(row["height_m"]), 3)
        attributes = _attributes(row, ATTRIBUTES)
        is_estimate = bool(row["height_estimated"])
        estimated += bool(is_estimate)
        if not is_estimate:
            attributes["measuredHeight"] = height
        attributes["heightEstimated"] = bool(is_estimate)
        objects[str(row["id"])] = {
            "type": "Building",
            "attributes": attributes,
            "geometry": [_building_geometry(footprint, height, lod, vertices)],
        }
    groups = _groups(city, footprints, crs, vertices)
    for group_id, group in groups.items():
        for child in group.get("children", []):
            objects[child].setdefault("parents", []).append(group_id)
    objects |= groups
    objects |= _roads(city, crs, vertices)
    grid = np.array(vertices.array(), dtype=np.int64).reshape(-1, 3)
    low = grid.min(axis=0) * GRID_M + vertices.translate if len(grid) else np.zeros(3)
    high = grid.max(axis=0) * GRID_M + vertices.translate if len(grid) else np.zeros(3)
    document = {
        "type": "CityJSON",
        "version": CITYJSON_VERSION,
        "transform": {"scale": [GRID_M] * 3, "translate": vertices.translate.tolist()},
        "metadata": {
            "title": str(city.name),
            "referenceSystem": EPSG_URI.format(crs.to_epsg()),
            "geographicalExtent": [round(float(v), 3) for v in (*low, *high)],
        },
        "CityObjects": objects,
        "vertices": grid.tolist(),
    }
    path = write_text(path, dumps(document, ensure_ascii=False, separators=(",", ":")))
    counts = pd.Series([o["type"] for o in objects.values()]).value_counts().to_dict()
    return CityJSONExport(Path(path), crs, counts, estimated, found.skipped)


# -- reading ---------------------------------------------------------------------------------


def _crs_of(document: dict, source_crs, name: str) -> CRS:
    if source_crs is not None:
        return CRS.from_user_input(source_crs)
    declared = (document.get("metadata") or {}).get("referenceSystem")
    match = _EPSG.search(str(declared)) if declared else None
    if match is None:
        raise layers.CRSError(
            "buildings",
            f"{name}: metadata.referenceSystem is {declared!r}, not an EPSG code, and "
            "coordinates are never guessed; pass source_crs='EPSG:…' naming the CRS",
        )
    crs = CRS.from_epsg(int(match.group(1)))
    return crs.sub_crs_list[0] if crs.is_compound else crs


def _semantic_faces(geometry: dict) -> Iterator[tuple[str | None, list[list[int]]]]:
    """Every surface of a geometry (its rings of vertex indices) with its semantic type."""
    kind = geometry.get("type")
    depth = {"MultiSurface": 1, "CompositeSurface": 1, "Solid": 2}.get(kind, 3)
    semantics = geometry.get("semantics") or {}
    types = [s.get("type") for s in semantics.get("surfaces", [])]

    def walk(boundaries, values, level):
        for position, item in enumerate(boundaries):
            value = (
                values[position] if isinstance(values, list) and position < len(values) else None
            )
            if level == 1:
                yield (types[value] if isinstance(value, int) else None), item
            else:
                yield from walk(item, value, level - 1)

    yield from walk(geometry.get("boundaries", []), semantics.get("values"), depth)


def _lod(geometry: dict) -> float:
    try:
        return float(geometry.get("lod", 0))
    except (TypeError, ValueError):
        return 0.0


def _chosen(geometries: list[dict], lod) -> list[dict]:
    shaped = [
        g
        for g in geometries
        if g.get("type")
        in ("MultiSurface", "CompositeSurface", "Solid", "MultiSolid", "CompositeSolid")
    ]
    if lod is not None:
        return [g for g in shaped if str(g.get("lod")).split(".")[0] == str(lod)]
    top = max((_lod(g) for g in shaped), default=None)
    return [g for g in shaped if _lod(g) == top]


def _footprint_and_height(geometries: list[dict], points: np.ndarray) -> tuple[object, float, str]:
    ground, others, zs = [], [], []
    for geometry in geometries:
        for semantic, rings in _semantic_faces(geometry):
            coords = [points[np.asarray(r, dtype=int)] for r in rings if len(r) >= 3]
            if not coords:
                continue
            zs.extend(c[:, 2] for c in coords)
            polygon = shapely.make_valid(
                shapely.Polygon(coords[0][:, :2], [c[:, :2] for c in coords[1:]])
            )
            (ground if semantic == "GroundSurface" else others).append(polygon)
    if not zs:
        return None, math.nan, "no surfaces"
    faces = ground or others
    polygons = [
        p
        for face in faces
        for p in getattr(face, "geoms", [face])
        if p.geom_type == "Polygon" and p.area > 1e-6
    ]
    footprint = shapely.union_all(polygons) if polygons else None
    z = np.concatenate(zs)
    return footprint, float(z.max() - z.min()), "ground surfaces" if ground else "projection"


def read_cityjson(path, *, source_crs=None, lod=None, reference=None) -> BuildingImport:
    """Read the buildings of a CityJSON file (1.1 or 2.0, LOD0 to LOD2) as a buildings layer.

    The footprint of each building is the union of its GroundSurface faces, or, without
    semantics, of its faces projected on the ground; its height is ``measuredHeight`` where
    given, else the height of its geometry (max z − min z; none for a flat LOD0 footprint,
    where ``storeysAboveGround`` × 3 m fills it if given). A Building without geometry takes
    its BuildingParts'. Attributes are kept (``function`` → ``use``, ``storeysAboveGround`` →
    ``floors``, ``heightSource`` / ``heightEstimated`` → ``height_source`` /
    ``height_estimated``), and the CRS is read from ``metadata.referenceSystem``.

    Parameters
    ----------
    path : str or Path
    source_crs : str, optional
        The CRS when the file names none (or names it wrongly).
    lod : int or str, optional
        The level of detail to read (``1``, ``2``, ``"2.2"`` …); the highest each building
        has by default.
    reference : optional
        The city's trusted layers, as for :func:`layers.load`.

    Returns
    -------
    BuildingImport
        Buildings with a geometry that gives no footprint are in ``skipped`` with the reason.

    Examples
    --------
    >>> import tempfile
    >>> from cim.model import CityModel
    >>> house = gpd.GeoDataFrame({"id": ["h1"], "height_m": [12.0], "use": ["residential"]},
    ...     geometry=[shapely.box(104.066, 30.657, 104.0662, 30.6572)], crs=4326)
    >>> done = to_cityjson(CityModel({"buildings": house}), tempfile.mkdtemp() + "/h.city.json")
    >>> back = read_cityjson(done.path)
    >>> back.buildings["height_m"].tolist(), back.source_crs
    ([12.0], 'EPSG:4544')
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such CityJSON file: {path}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise layers.InputError(f"{path.name}: not a JSON file ({err})", source=str(path)) from None
    if not isinstance(document, dict) or document.get("type") != "CityJSON":
        raise layers.InputError(
            f"{path.name}: not a CityJSON file (its 'type' is not \"CityJSON\")", source=str(path)
        )
    crs = _crs_of(document, source_crs, path.name)
    transform = document.get("transform") or {"scale": [1, 1, 1], "translate": [0, 0, 0]}
    points = np.asarray(document.get("vertices", []), dtype=float).reshape(-1, 3)
    points = points * np.asarray(transform["scale"]) + np.asarray(transform["translate"])
    objects = document.get("CityObjects", {})
    rows, geometries, skipped = [], [], []
    for number, (object_id, entry) in enumerate(objects.items()):
        if entry.get("type") != "Building":
            continue
        found = _chosen(entry.get("geometry") or [], lod)
        if not found:
            parts = [objects.get(c, {}) for c in entry.get("children", [])]
            found = [
                g
                for p in parts
                if p.get("type") == "BuildingPart"
                for g in _chosen(p.get("geometry") or [], lod)
            ]
        footprint, height, _ = _footprint_and_height(found, points)
        if footprint is None or footprint.is_empty:
            reason = "no geometry" if not found else "its geometry has no footprint"
            skipped.append((number, object_id, reason))
            continue
        attributes = dict(entry.get("attributes") or {})
        measured = attributes.pop("measuredHeight", None)
        has_measure = isinstance(measured, (int, float))
        estimated = attributes.pop("heightEstimated", None)
        flat = not has_measure and not height > 0  # LOD0: a footprint says nothing of height
        source = "cityjson:measuredHeight" if has_measure else "cityjson:geometry"
        row = {
            "id": object_id,
            "height_m": math.nan if flat else round(float(measured) if has_measure else height, 3),
            "height_source": attributes.pop("heightSource", None if flat else source),
            "height_estimated": bool(estimated) if estimated is not None else False,
        }
        for column, name in ATTRIBUTES.items():
            if name in attributes and column not in row:
                row[column] = attributes.pop(name)
        row.update({k: v for k, v in attributes.items() if k not in row})
        rows.append(row)
        geometries.append(footprint)
    frame = gpd.GeoDataFrame(rows, geometry=geometries, crs=crs)
    if "use" not in frame.columns:
        frame["use"] = "other"
    frame["use"] = frame["use"].fillna("other")
    buildings = layers.load("buildings", frame.to_crs(4326), reference=reference)
    label = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.to_string()
    return BuildingImport(
        buildings, pd.DataFrame(skipped, columns=SKIPPED_COLUMNS), label, [f"read {path.name}"]
    )
