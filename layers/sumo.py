"""SUMO road networks (``.net.xml``, optionally gzipped) as a roads layer."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from layers.errors import InputError
from layers.schema import validate

__all__ = ["from_sumo"]


def _points(text: str) -> np.ndarray:
    return np.array([[float(v) for v in pair.split(",")[:2]] for pair in text.split()], dtype=float)


def from_sumo(path) -> gpd.GeoDataFrame:
    """Read the drivable edges of a SUMO network as a roads layer (EPSG:4326).

    Every SUMO edge is one direction of travel, so each row is ``oneway`` from its ``from``
    junction (``u``) to its ``to`` junction (``v``); a two-way street is two rows. The
    geometry is the edge shape (else the junction positions), converted from SUMO's shifted
    projection (``netOffset`` + ``projParameter``); ``highway`` comes from the edge type,
    ``maxspeed`` from the fastest lane (km/h). Internal (junction) edges are skipped.

    Examples
    --------
    >>> roads = from_sumo("sample_data/networks/chengdu_wuhou.net.xml.gz")
    >>> len(roads), roads.crs.to_epsg(), bool(roads["oneway"].all())
    (852, 4326, True)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such SUMO network: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        root = ET.parse(handle).getroot()
    location = root.find("location")
    if (
        location is None
        or not location.get("projParameter")
        or location.get("projParameter") == "!"
    ):
        raise InputError(
            f"{path}: the network has no projection (<location projParameter=...>), so it cannot be placed"
        )
    offset = np.array([float(v) for v in location.get("netOffset", "0,0").split(",")])
    junctions = {j.get("id"): (float(j.get("x")), float(j.get("y"))) for j in root.iter("junction")}
    rows = []
    for edge in root.iter("edge"):
        if edge.get("function") in ("internal", "crossing", "walkingarea"):
            continue
        lanes = edge.findall("lane")
        ends = np.array([junctions[edge.get("from")], junctions[edge.get("to")]])
        shape = edge.get("shape") or (lanes[0].get("shape") if lanes else None)
        # shapes stop at the junction's edge; running them to its centre joins consecutive edges
        coords = np.vstack([ends[:1], _points(shape), ends[1:]]) if shape else ends
        kind = edge.get("type", "")
        rows.append(
            {
                "u": edge.get("from"),
                "v": edge.get("to"),
                "sumo_id": edge.get("id"),
                "name": edge.get("name"),
                "highway": kind.split(".", 1)[1] if kind.startswith("highway.") else kind or None,
                "oneway": True,
                "maxspeed": max((float(lane.get("speed")) for lane in lanes), default=np.nan) * 3.6,
                "lanes": len(lanes),
                "geometry": shapely.LineString(coords - offset),
            }
        )
    if not rows:
        raise InputError(f"{path}: no road edges found")
    crs = CRS.from_proj4(location.get("projParameter"))
    roads = gpd.GeoDataFrame(rows, crs=crs).to_crs(4326)
    return validate(roads, "roads")
