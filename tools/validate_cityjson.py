"""Check a CityJSON file as far as the package registries allow: cityjson-lib, then cjval's
and val3dity's first rules.

cjio's ``validate`` needs cjvalpy (the official validator cjval), which has no build for
this Python on the registries, and no package ships the CityJSON 2.0 JSON schemas. So:

1. cjio reads it (duplicate city object ids refused, the version the latest it knows,
   ``referenceSystem`` an OGC CRS URI), and cityjson-lib (3DGI's CityJSON 2.0 reader)
   must parse it: it refuses unknown
   city object and geometry types, vertex indices out of range, unresolved parents and
   LODs that are not strings;
2. the checks cjval runs beyond its schemas: parents and children name each other, and
   semantic ``values`` have the shape of the boundaries;
3. val3dity's first checks on solids: rings of three or more distinct vertices, every edge
   of a shell met once each way (closed, consistently oriented), faces pointing outward.

usage: python tools/validate_cityjson.py city.city.json   (exits 1 on any error)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np


def points_of(document: dict) -> np.ndarray:
    transform = document["transform"]
    grid = np.asarray(document["vertices"], dtype=float).reshape(-1, 3)
    return grid * transform["scale"] + transform["translate"]


def _nest(boundaries, depth: int):
    """The surfaces (lists of rings) of a boundary array ``depth`` levels above the surfaces."""
    if depth == 0:
        yield boundaries
    else:
        for item in boundaries:
            yield from _nest(item, depth - 1)


DEPTH = {"MultiSurface": 1, "CompositeSurface": 1, "Solid": 2, "MultiSolid": 3, "CompositeSolid": 3}


def _same_shape(values, boundaries, depth: int) -> bool:
    if depth == 1:
        return isinstance(values, list) and len(values) == len(boundaries)
    return (
        isinstance(values, list)
        and len(values) == len(boundaries)
        and all(_same_shape(v, b, depth - 1) for v, b in zip(values, boundaries, strict=True))
    )


def shells(geometry: dict):
    if geometry["type"] == "Solid":
        yield from geometry["boundaries"][:1]
    elif geometry["type"] in ("MultiSolid", "CompositeSolid"):
        yield from (solid[0] for solid in geometry["boundaries"])


def area_vector(ring: np.ndarray) -> np.ndarray:
    following = np.roll(ring, -1, axis=0)
    return 0.5 * np.cross(ring, following).sum(axis=0)


def shell_volume(shell: list, points: np.ndarray) -> float:
    """Signed volume of a closed shell (positive when its faces point outward)."""
    total = 0.0
    origin = points[shell[0][0][0]]  # a closed shell's volume does not depend on it
    for surface in shell:
        rings = [points[np.asarray(r)] - origin for r in surface]
        total += float(rings[0][0] @ sum(area_vector(r) for r in rings))
    return total / 3.0


def cityjson_errors(document: dict) -> list[str]:
    """What cjval (beyond its JSON schemas) and val3dity's first checks would report."""
    errors = []
    points = points_of(document)
    objects = document["CityObjects"]
    for oid, entry in objects.items():
        for child in entry.get("children", []):
            if oid not in objects.get(child, {}).get("parents", []):
                errors.append(f"{oid}: child {child} missing or without it as parent")
        for parent in entry.get("parents", []):
            if oid not in objects.get(parent, {}).get("children", []):
                errors.append(f"{oid}: parent {parent} missing or without it as child")
        for geometry in entry.get("geometry", []):
            depth = DEPTH.get(geometry["type"])
            if depth is None:
                continue
            semantics = geometry.get("semantics")
            if semantics and not _same_shape(semantics["values"], geometry["boundaries"], depth):
                errors.append(f"{oid}: semantic values not shaped as the boundaries")
            for surface in _nest(geometry["boundaries"], depth):
                for ring in surface:
                    if len(set(ring)) < 3 or len(set(ring)) != len(ring):
                        errors.append(f"{oid}: ring {ring} has repeated or fewer than 3 vertices")
            for shell in shells(geometry):
                edges = Counter(
                    (ring[i], ring[(i + 1) % len(ring)])
                    for surface in shell
                    for ring in surface
                    for i in range(len(ring))
                )
                if any(n != 1 or edges.get((b, a)) != 1 for (a, b), n in edges.items()):
                    errors.append(f"{oid}: shell not closed (an edge is not met once each way)")
                if shell_volume(shell, points) <= 0:
                    errors.append(f"{oid}: shell faces point inward")
    return errors


def main(path: str) -> int:
    import warnings

    from cityjson_lib import CityModel
    from cjio import cityjson

    payload = Path(path).read_bytes()
    try:
        with open(path, encoding="utf-8") as file, warnings.catch_warnings():
            warnings.simplefilter("error")  # cjio warns when the version is not its latest
            model = cityjson.reader(file)
            model.check_version()
            epsg = model.get_epsg()
        print(f"cjio: CityJSON {model.get_version()}, EPSG {epsg}")
        summary = CityModel.parse_document_bytes(payload).summary()
    except Exception as err:  # cjio's and cityjson-lib's own error types, whatever they are
        print(f"ERROR {err}")
        return 1
    document = json.loads(payload)
    kinds = Counter(o["type"] for o in document["CityObjects"].values())
    print(
        f"cityjson-lib: CityJSON {document['version']}, {summary.cityobject_count} city objects "
        f"({', '.join(f'{n} {k}' for k, n in kinds.items())}), {summary.vertex_count} vertices, "
        f"CRS {document.get('metadata', {}).get('referenceSystem')}"
    )
    errors = cityjson_errors(document)
    for error in errors:
        print(f"ERROR {error}")
    print(f"{len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
