"""3D Tiles out: the city's buildings as a tileset of Batched 3D Models for Cesium-based viewers.

Each tile holds up to ``max_per_tile`` buildings as one glTF 2.0 mesh (written with
pygltflib), wrapped in a b3dm whose batch table carries every building's attributes; the
tiles form a quadtree under a root whose transform places the local east-north-up frame
of the city's centre on the WGS84 ellipsoid (ECEF), so the heights are above the ellipsoid.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pygltflib
import shapely
from pyproj import CRS, Transformer

import layers
from cim.atomic import atomic_dir
from cim.interop.exact_json import dumps, exact_floats
from cim.interop.extrude import prisms
from cim.interop.links import address_links

__all__ = ["BATCH_COLUMNS", "TilesetExport", "to_3dtiles"]

BATCH_COLUMNS = (
    "id",
    "name",
    "use",
    "height_m",
    "floors",
    "height_source",
    "height_estimated",
    "synthetic",
    "address",
    "address_codes",
)
_B3DM_HEADER = struct.Struct("<4sIIIIII")
_COLOR = [0.42, 0.52, 0.66, 1.0]  # slate blue: buildings stand out on light and dark maps


@dataclass(frozen=True)
class TilesetExport:
    """What :func:`to_3dtiles` wrote.

    Attributes
    ----------
    path : Path
        The ``tileset.json``.
    tiles : int
        Content tiles (``.b3dm`` files).
    buildings : int
        Buildings written.
    skipped : DataFrame
        ``row, id, reason`` of the buildings left out (no height, unusable footprint).
    """

    path: Path
    tiles: int
    buildings: int
    skipped: pd.DataFrame = field(repr=False)


class _Frame:
    """The local east-north-up frame at a point of the ellipsoid, and its ECEF transform."""

    def __init__(self, crs: CRS, x: float, y: float):
        self._to_lonlat = Transformer.from_crs(crs, 4326, always_xy=True)
        self._to_ecef = Transformer.from_crs(4979, 4978, always_xy=True)
        lon, lat = self._to_lonlat.transform(x, y)
        self.origin = np.array(self._to_ecef.transform(lon, lat, 0.0))
        lam, phi = math.radians(lon), math.radians(lat)
        self.axes = np.array(  # rows: east, north, up in ECEF
            [
                [-math.sin(lam), math.cos(lam), 0.0],
                [-math.sin(phi) * math.cos(lam), -math.sin(phi) * math.sin(lam), math.cos(phi)],
                [math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)],
            ]
        )

    def lonlat(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        return self._to_lonlat.transform(np.asarray(x), np.asarray(y))

    def enu(self, points: np.ndarray) -> np.ndarray:
        """Metric (x, y, height) points as east-north-up metres from the origin."""
        lon, lat = self.lonlat(points[:, 0], points[:, 1])
        ecef = np.column_stack(self._to_ecef.transform(lon, lat, points[:, 2]))
        return (ecef - self.origin) @ self.axes.T

    def transform(self) -> list[float]:
        """The 4x4 ENU → ECEF matrix, column-major as 3D Tiles wants it."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.axes.T
        matrix[:3, 3] = self.origin
        return matrix.T.ravel().tolist()


def _triangles(polygon: shapely.Polygon, height: float) -> np.ndarray:
    """The prism over ``polygon`` as triangles (n, 3, 3) facing outward.

    The faces of :func:`cim.interop.extrude.surfaces`: the footprint's constrained Delaunay
    triangles for the roof (counter-clockwise from above) and, reversed, the ground; two
    triangles for each wall.
    """
    polygon = shapely.orient_polygons(polygon)
    flat = shapely.get_coordinates(
        shapely.get_parts(shapely.constrained_delaunay_triangles(polygon))
    ).reshape(-1, 4, 2)[:, :3]
    u, v = flat[:, 1] - flat[:, 0], flat[:, 2] - flat[:, 0]
    area = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    flat = np.where((area < 0)[:, None, None], flat[:, ::-1], flat)
    roof = np.concatenate([flat, np.full((*flat.shape[:2], 1), height)], axis=2)
    ground = np.concatenate([flat[:, ::-1], np.zeros((*flat.shape[:2], 1))], axis=2)
    walls = []
    for ring in (polygon.exterior, *polygon.interiors):
        a = np.asarray(ring.coords)[:-1, :2]
        b = np.roll(a, -1, axis=0)
        low_a, low_b = (
            np.column_stack([a, np.zeros(len(a))]),
            np.column_stack([b, np.zeros(len(b))]),
        )
        lift = np.array([0.0, 0.0, height])
        top_a, top_b = low_a + lift, low_b + lift
        walls += [np.stack([low_a, low_b, top_b], axis=1), np.stack([low_a, top_b, top_a], axis=1)]
    triangles = np.concatenate([ground, *walls, roof])
    normal = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    return triangles[np.linalg.norm(normal, axis=1) > 1e-6]  # no sliver of colinear corners


def _glb(positions: np.ndarray, normals: np.ndarray, batch_ids: np.ndarray) -> bytes:
    """One glTF 2.0 binary: a mesh of triangles with normals and a ``_BATCHID`` per vertex.

    pygltflib describes the mesh; the GLB container is packed here so that its length is a
    multiple of 8 (its JSON chunk padded with blanks), as the b3dm around it must be, with
    no bytes after it (which glTF validators report as data beyond the GLB).
    """
    arrays = [
        positions.astype(np.float32),
        normals.astype(np.float32),
        batch_ids.astype(np.float32),
    ]
    blob = b"".join(a.tobytes() for a in arrays)
    views, accessors, offset = [], [], 0
    for array, kind in zip(arrays, ("VEC3", "VEC3", "SCALAR"), strict=True):
        views.append(
            pygltflib.BufferView(
                buffer=0,
                byteOffset=offset,
                byteLength=array.nbytes,
                target=pygltflib.ARRAY_BUFFER,
            )
        )
        accessors.append(
            pygltflib.Accessor(
                bufferView=len(views) - 1,
                componentType=pygltflib.FLOAT,
                count=len(array),
                type=kind,
                min=array.reshape(len(array), -1).min(axis=0).tolist(),
                max=array.reshape(len(array), -1).max(axis=0).tolist(),
            )
        )
        offset += array.nbytes
    gltf = pygltflib.GLTF2(
        asset=pygltflib.Asset(version="2.0", generator="cim-toolkit"),
        scene=0,
        scenes=[pygltflib.Scene(nodes=[0])],
        nodes=[pygltflib.Node(mesh=0)],
        meshes=[
            pygltflib.Mesh(
                primitives=[
                    pygltflib.Primitive(
                        attributes=pygltflib.Attributes(POSITION=0, NORMAL=1, _BATCHID=2),
                        material=0,
                        mode=pygltflib.TRIANGLES,
                    )
                ]
            )
        ],
        materials=[
            pygltflib.Material(
                pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
                    baseColorFactor=_COLOR, metallicFactor=0.0, roughnessFactor=1.0
                )
            )
        ],
        accessors=accessors,
        bufferViews=views,
        buffers=[pygltflib.Buffer(byteLength=len(blob))],
    )
    with exact_floats():
        text = gltf.to_json(separators=(",", ":")).encode()
    binary = blob + b"\0" * (-len(blob) % 4)
    text += b" " * (-(28 + len(text) + len(binary)) % 8)  # 28: GLB header and chunk headers
    length = 28 + len(text) + len(binary)
    return b"".join(
        [
            struct.pack("<4sII", b"glTF", 2, length),
            struct.pack("<I4s", len(text), b"JSON"),
            text,
            struct.pack("<I4s", len(binary), b"BIN\0"),
            binary,
        ]
    )


def _padded(data: bytes, start: int, fill: bytes) -> bytes:
    """``data`` padded with ``fill`` so that it ends on an 8-byte boundary counted from ``start``."""
    return data + fill * (-(start + len(data)) % 8)


def _b3dm(glb: bytes, batch_table: dict, count: int) -> bytes:
    """A Batched 3D Model: header, feature table (BATCH_LENGTH), batch table JSON, glTF."""
    header = _B3DM_HEADER.size
    feature = _padded(dumps({"BATCH_LENGTH": count}).encode(), header, b" ")
    batch = _padded(
        dumps(batch_table, ensure_ascii=False, separators=(",", ":")).encode(),
        header + len(feature),
        b" ",
    )
    body = _padded(glb, header + len(feature) + len(batch), b"\0")
    length = header + len(feature) + len(batch) + len(body)
    return (
        _B3DM_HEADER.pack(b"b3dm", 1, length, len(feature), 0, len(batch), 0)
        + feature
        + batch
        + body
    )


def _json_value(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return ";".join(map(str, value)) or None
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def _batch_table(buildings: pd.DataFrame) -> dict:
    return {
        column: [_json_value(v) for v in buildings[column]]
        for column in BATCH_COLUMNS
        if column in buildings.columns
    }


def _quadtree(x: np.ndarray, y: np.ndarray, rows: np.ndarray, limit: int) -> dict:
    """Rows split into quadrants of their (x, y) until each holds at most ``limit``."""
    if len(rows) <= limit or np.ptp(x[rows]) + np.ptp(y[rows]) == 0:
        return {"rows": rows}
    mx, my = np.median(x[rows]), np.median(y[rows])
    parts = [
        rows[(x[rows] <= mx) & (y[rows] <= my)],
        rows[(x[rows] > mx) & (y[rows] <= my)],
        rows[(x[rows] <= mx) & (y[rows] > my)],
        rows[(x[rows] > mx) & (y[rows] > my)],
    ]
    parts = [p for p in parts if len(p)]
    if len(parts) == 1:
        return {"rows": rows}
    return {"children": [_quadtree(x, y, p, limit) for p in parts]}


def _region(frame: _Frame, footprints, heights: np.ndarray) -> list[float]:
    minx, miny, maxx, maxy = shapely.total_bounds(footprints)
    corners = np.array([[minx, miny], [minx, maxy], [maxx, miny], [maxx, maxy]])
    lon, lat = frame.lonlat(corners[:, 0], corners[:, 1])
    pad = 1e-7  # radians, ~0.6 m: the region holds the content whatever the rounding
    return [
        math.radians(float(np.min(lon))) - pad,
        math.radians(float(np.min(lat))) - pad,
        math.radians(float(np.max(lon))) + pad,
        math.radians(float(np.max(lat))) + pad,
        -0.1,
        float(np.max(heights)) + 0.1,
    ]


def _span_m(region: list[float]) -> float:
    west, south, east, north = region[:4]
    dx = (east - west) * 6_378_137 * math.cos((south + north) / 2)
    return math.hypot(dx, (north - south) * 6_378_137)


def to_3dtiles(city, folder, *, max_per_tile: int = 256) -> TilesetExport:
    """Write the city's buildings as a 3D Tiles tileset (``tileset.json`` and ``tiles/*.b3dm``).

    Buildings are LOD1 prisms (footprint extruded to ``height_m``, see
    :func:`cim.interop.to_cityjson`) triangulated into one glTF mesh per tile, with flat
    normals and a ``_BATCHID`` per vertex; the b3dm batch table holds each building's
    ``id``, ``name``, ``use``, ``height_m``, ``floors``, ``height_source``,
    ``height_estimated``, ``synthetic`` and its standard ``address`` and ``address_codes``
    (一标多实). Tiles form a quadtree of at most ``max_per_tile`` buildings each, bounded by
    regions (radians, ellipsoid heights); the folder is replaced atomically.

    Parameters
    ----------
    city : CityModel
    folder : str or Path
        The tileset's folder.
    max_per_tile : int
        Most buildings in one tile.

    Returns
    -------
    TilesetExport
        With the buildings left out (no height, unusable footprint) and why.

    Examples
    --------
    >>> import tempfile, geopandas as gpd
    >>> from cim.model import CityModel
    >>> house = gpd.GeoDataFrame({"id": ["h1"], "height_m": [12.0], "use": ["residential"]},
    ...     geometry=[shapely.box(104.066, 30.657, 104.0662, 30.6572)], crs=4326)
    >>> done = to_3dtiles(CityModel({"buildings": house}), tempfile.mkdtemp() + "/tiles")
    >>> done.tiles, done.buildings, sorted(p.name for p in done.path.parent.iterdir())
    (1, 1, ['tiles', 'tileset.json'])
    """
    if max_per_tile < 1:
        raise layers.InputError(f"max_per_tile must be at least 1, not {max_per_tile}")
    crs = city.metric_crs
    found = prisms(city.layer("buildings"), crs)
    buildings = found.footprints.reset_index(drop=True)
    if buildings.empty:
        raise layers.InputError(
            f"{city.name}: no building can be extruded ({len(found.skipped)} left out: "
            f"{'; '.join(sorted(set(found.skipped['reason'])))})"
        )
    buildings = buildings.join(address_links(city, buildings), on="id")
    centre = buildings.total_bounds
    frame = _Frame(crs, (centre[0] + centre[2]) / 2, (centre[1] + centre[3]) / 2)
    points = buildings.geometry.representative_point()
    tree = _quadtree(
        points.x.to_numpy(), points.y.to_numpy(), np.arange(len(buildings)), max_per_tile
    )
    heights = buildings["height_m"].to_numpy(dtype=float)
    footprints = buildings.geometry.to_numpy()
    contents: dict[str, bytes] = {}

    def tile(node: dict) -> dict:
        if "children" in node:
            children = [tile(child) for child in node["children"]]
            regions = np.array([c["boundingVolume"]["region"] for c in children])
            region = [*regions[:, :2].min(axis=0), *regions[:, 2:4].max(axis=0)]
            region += [regions[:, 4].min(), regions[:, 5].max()]
            return {
                "boundingVolume": {"region": [float(v) for v in region]},
                "geometricError": round(_span_m(region) / 8, 3),
                "refine": "ADD",
                "children": children,
            }
        rows = node["rows"]
        triangles, batch = [], []
        for position, row in enumerate(rows):
            for part in getattr(footprints[row], "geoms", [footprints[row]]):
                found_triangles = _triangles(part, float(heights[row]))
                triangles.append(found_triangles)
                batch.append(np.full(len(found_triangles) * 3, position))
        corners = np.concatenate(triangles).reshape(-1, 3)
        enu = frame.enu(corners).reshape(-1, 3, 3)
        normal = np.cross(enu[:, 1] - enu[:, 0], enu[:, 2] - enu[:, 0])
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        to_y_up = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # (e, n, u) → (e, u, -n)
        positions = enu.reshape(-1, 3) @ to_y_up.T
        normals = np.repeat(normal, 3, axis=0) @ to_y_up.T
        uri = f"tiles/{len(contents)}.b3dm"
        contents[uri] = _b3dm(
            _glb(positions, normals, np.concatenate(batch)),
            _batch_table(buildings.iloc[rows]),
            len(rows),
        )
        return {
            "boundingVolume": {"region": _region(frame, footprints[rows], heights[rows])},
            "geometricError": 0.0,
            "content": {"uri": uri},
        }

    root = tile(tree)
    root["transform"] = frame.transform()
    if "refine" not in root:
        root["refine"] = "ADD"
    tileset = {
        "asset": {"version": "1.0", "tilesetVersion": str(city.name)},
        "properties": {
            "height_m": {"minimum": float(heights.min()), "maximum": float(heights.max())}
        },
        "geometricError": max(
            root["geometricError"], round(_span_m(root["boundingVolume"]["region"]) / 4, 3)
        ),
        "root": root,
    }
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file; give a folder for the tileset")
    with atomic_dir(folder) as tmp:
        (tmp / "tiles").mkdir()
        for uri, data in contents.items():
            (tmp / uri).write_bytes(data)
        (tmp / "tileset.json").write_text(dumps(tileset, ensure_ascii=False, indent=1), "utf-8")
    return TilesetExport(folder / "tileset.json", len(contents), len(buildings), found.skipped)
