"""Cut ``jinan_roads.geojson`` from the Jinan road network in ``../shared/data/jinan_roadnet``.

The window is central Jinan (see :data:`WINDOW`); an edge is kept when both its nodes lie in
it. The network is directed, one row per direction: a two-way street is two rows whose lines
are each other's reverse, written here as one row with ``oneway`` false; a one-way street
keeps its single row, drawn the way traffic goes, with ``oneway`` true.

Run from the repository root: ``python tests/data/build_jinan_roads.py [--shared ../shared/data]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

WINDOW = (117.010, 36.652, 117.038, 36.680)  # lon/lat: 历下区 around 大明湖, about 2.5 x 3.1 km
OUT = Path(__file__).with_name("jinan_roads.geojson")


def jinan_roads(shared: Path) -> gpd.GeoDataFrame:
    folder = shared / "jinan_roadnet"
    lines = gpd.read_file(folder / "edges.shp").set_crs(4326)  # the shapefiles have no .prj
    table = pd.read_csv(folder / "jinan_edges_directed.csv")
    nodes = pd.read_csv(folder / "jinan_nodes.csv").set_index("node_id")
    if not (lines["eid"].to_numpy() == table["eid"].to_numpy()).all():
        raise ValueError("edges.shp and jinan_edges_directed.csv list different edges")
    lon, lat = nodes["lon"], nodes["lat"]
    inside = nodes.index[lon.between(WINDOW[0], WINDOW[2]) & lat.between(WINDOW[1], WINDOW[3])]
    edges = gpd.GeoDataFrame(
        {
            "u": table["from_node"],
            "v": table["to_node"],
            "osm_way": table["raw_eid_osm_way"],
            "highway": table["highway"],
        },
        geometry=lines.geometry,
        crs=4326,
    )
    edges = edges[edges["u"].isin(inside) & edges["v"].isin(inside) & (edges["u"] != edges["v"])]
    low, high = np.minimum(edges["u"], edges["v"]), np.maximum(edges["u"], edges["v"])
    road = pd.Series(list(zip(low, high, edges["osm_way"], strict=True)), index=edges.index)
    twins = road.duplicated(keep=False)
    for _, pair in edges[twins].groupby(road[twins]):
        first, second = pair.geometry
        if len(pair) != 2 or not first.equals(second.reverse()):
            raise ValueError(f"edges {list(pair.index)} are not one street's two directions")
    roads = edges[~road.duplicated(keep="first")].assign(oneway=~twins)
    roads = roads.sort_values(["u", "v", "osm_way"]).reset_index(drop=True)
    roads.geometry = shapely.set_precision(roads.geometry.values, 1e-7)
    return roads[["u", "v", "osm_way", "highway", "oneway", "geometry"]]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    roads = jinan_roads(parser.parse_args().shared)
    roads.to_file(OUT, driver="GeoJSON", COORDINATE_PRECISION=7, WRITE_NAME=False)
    print(f"{OUT}: {len(roads)} roads, {int(roads['oneway'].sum())} one-way")
