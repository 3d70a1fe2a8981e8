"""OpenStreetMap XML import through osmnx: roads, buildings, facilities and addresses."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.schema import ADDRESS_FIELDS, ROAD_CLASSES, road_class_of, validate
from layers.standards import FLOOR_HEIGHT_M

__all__ = ["DEFAULT_UNITS", "WALK_TAGS", "from_osm", "services_from_osm", "walkways_from_osm"]

DRIVABLE = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)
# access / service values that close a way to motor traffic (shared with routing.drivable)
CLOSED_ACCESS = frozenset({"no", "private"})
CLOSED_SERVICE = frozenset({"parking", "parking_aisle", "private"})
_ROAD_COLUMNS = [
    "u",
    "v",
    "osmid",
    "highway",
    "name",
    "ref",
    "oneway",
    "maxspeed",
    "lanes",
    "bridge",
    "tunnel",
    "junction",
    "geometry",
]

# Vehicles or teams a facility is assumed to hold when OSM says nothing (it never does).
DEFAULT_UNITS = {
    "fire_station": 2,
    "hospital": 1,
    "police": 2,
    "ambulance_base": 2,
    "shelter": 0,
    "depot": 1,
}
_FACILITY_TAGS = [
    ("amenity", "fire_station", "fire_station"),
    ("amenity", "hospital", "hospital"),
    ("amenity", "police", "police"),
    ("emergency", "ambulance_station", "ambulance_base"),
    ("emergency", "assembly_point", "shelter"),
]
_FACILITY_LABELS = {
    "fire_station": "消防站",
    "hospital": "医院",
    "police": "派出所",
    "ambulance_base": "急救站",
    "shelter": "应急避难场所",
    "depot": "物资库",
}
_BUILDING_USE = {
    "residential": {"residential", "apartments", "house", "dormitory", "detached", "terrace"},
    "commercial": {"commercial", "retail", "office", "hotel", "supermarket", "kiosk"},
    "public": {
        "university",
        "school",
        "college",
        "kindergarten",
        "hospital",
        "public",
        "civic",
        "government",
        "train_station",
        "transportation",
        "church",
        "temple",
        "stadium",
    },
    "industrial": {"industrial", "warehouse", "hangar", "factory", "manufacture"},
}
_ADDRESS_TAGS = {
    "province": "addr:province",
    "city": "addr:city",
    "district": "addr:district",
    "road": "addr:street",
    "road_no": "addr:housenumber",
}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _joined(value) -> str | None:
    if isinstance(value, (list, tuple, np.ndarray)):
        return ";".join(dict.fromkeys(str(v) for v in value))
    return None if pd.isna(value) else str(value)


def _main_highway(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return min(value, key=lambda h: ROAD_CLASSES.index(road_class_of(h)))
    return value


def _drivable(data: dict) -> bool:
    highway = data.get("highway")
    values = highway if isinstance(highway, list) else [highway]
    return (
        any(h in DRIVABLE for h in values)
        and data.get("access") not in CLOSED_ACCESS
        and data.get("service") not in CLOSED_SERVICE
        and data.get("area") != "yes"
    )


def _roads(path: Path, keep=_drivable, tags: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """The ways ``keep`` accepts, one row per street segment, with the extra way ``tags``."""
    import networkx as nx
    import osmnx as ox

    useful = ox.settings.useful_tags_way
    ox.settings.useful_tags_way = list(dict.fromkeys([*useful, *tags]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    finally:
        ox.settings.useful_tags_way = useful
    closed = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if not keep(d)]
    graph.remove_edges_from(closed)
    graph.remove_nodes_from(list(nx.isolates(graph)))
    graph = ox.simplify_graph(graph)
    edges = ox.graph_to_gdfs(graph, nodes=False).reset_index()
    # two-way streets appear once per direction; the road layer keeps one row per street segment
    edges = edges[(edges["oneway"].astype(bool) | (edges["u"] < edges["v"]))]
    columns = [*_ROAD_COLUMNS[:-1], *tags, "geometry"]
    for column in columns:
        if column not in edges.columns:
            edges[column] = None
    roads = edges[columns].copy()
    roads["highway"] = roads["highway"].map(_main_highway)
    joined = ("osmid", "name", "ref", "maxspeed", "lanes", "bridge", "tunnel", "junction", *tags)
    for column in joined:
        roads[column] = roads[column].map(_joined)
    roads["oneway"] = roads["oneway"].astype(bool)
    return validate(gpd.GeoDataFrame(roads.reset_index(drop=True), crs=4326), "roads")


def _first_number(value) -> float:
    match = _NUMBER.search(str(value)) if isinstance(value, str) else None
    return float(match.group()) if match else np.nan


def _osm_ids(features: gpd.GeoDataFrame) -> pd.Series:
    element, osmid = features.index.get_level_values(0), features.index.get_level_values(1)
    return pd.Series(
        [f"{e}/{i}" for e, i in zip(element, osmid, strict=True)], index=features.index
    )


def _column(features: gpd.GeoDataFrame, name: str) -> pd.Series:
    return features[name] if name in features.columns else pd.Series(None, index=features.index)


def _building_use(tags: pd.Series) -> pd.Series:
    lookup = {value: use for use, values in _BUILDING_USE.items() for value in values}
    return tags.map(lambda t: lookup.get(t, "other"))


def _buildings(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rows = features[
        _column(features, "building").notna() & features.geom_type.isin(["Polygon", "MultiPolygon"])
    ]
    height = _column(rows, "height").map(_first_number)
    floors = _column(rows, "building:levels").map(_first_number)
    buildings = gpd.GeoDataFrame(
        {
            "id": _osm_ids(rows),
            "name": _column(rows, "name"),
            "building": rows["building"],
            "use": _building_use(rows["building"]),
            "floors": floors,
            "height_m": height.fillna(floors * FLOOR_HEIGHT_M),
            "height_source": np.select(
                [height.notna(), floors.notna()], ["osm:height", "osm:building:levels"], None
            ),
        },
        geometry=rows.geometry.make_valid(),
        crs=4326,
    )
    return validate(buildings.reset_index(drop=True), "buildings")


def _facilities(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frames = []
    for tag, value, kind in _FACILITY_TAGS:
        rows = features[_column(features, tag) == value]
        if rows.empty:
            continue
        name = (
            _column(rows, "name").fillna(_column(rows, "name:zh")).fillna(_column(rows, "name:en"))
        )
        frames.append(
            gpd.GeoDataFrame(
                {
                    "id": _osm_ids(rows),
                    "kind": kind,
                    "name": name.fillna(f"{_FACILITY_LABELS[kind]}(未命名)"),
                    "units": DEFAULT_UNITS[kind],
                    "units_assumed": True,
                },
                geometry=rows.geometry.representative_point(),
                crs=4326,
            )
        )
    facilities = pd.concat(frames).drop_duplicates("id").reset_index(drop=True)
    return validate(gpd.GeoDataFrame(facilities, crs=4326), "facilities")


def _addresses(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    has_address = features.columns[features.columns.str.startswith("addr:")]
    rows = features[features[has_address].notna().any(axis=1)]
    parts = {field: _column(rows, tag) for field, tag in _ADDRESS_TAGS.items()}
    parts["poi"] = _column(rows, "name")
    text = pd.concat(
        [parts[f] for f in ("province", "city", "district", "road", "road_no", "poi")], axis=1
    )
    data = {field: parts.get(field, pd.Series(None, index=rows.index)) for field in ADDRESS_FIELDS}
    addresses = gpd.GeoDataFrame(
        {
            "id": _osm_ids(rows),
            "address": text.apply(lambda r: " ".join(str(v) for v in r.dropna()), axis=1),
            **data,
            "postcode": _column(rows, "addr:postcode"),
        },
        geometry=rows.geometry.representative_point(),
        crs=4326,
    )
    return validate(addresses.reset_index(drop=True), "addresses")


def _osm_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such OSM file: {path}")
    return path


def _features(path: Path) -> gpd.GeoDataFrame:
    """Every tagged feature of an OSM XML file, as osmnx reads them."""
    import osmnx as ox  # 1-2 s to import (it pulls in scikit-learn): only OSM files need it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ox.features_from_xml(path)


def from_osm(path) -> dict[str, gpd.GeoDataFrame]:
    """Read an OpenStreetMap XML file into validated layers.

    Roads are the drivable ways (private and parking-aisle ways excluded), split at
    intersections and simplified by osmnx, one row per street segment with its OSM node ids
    ``u`` and ``v`` (two-way streets once, one-way streets in their direction of travel).
    Buildings take ``height`` or ``building:levels`` × 3 m where tagged (``height_source``
    says which; untagged heights stay empty). Facilities are fire stations, hospitals,
    police, ambulance stations and assembly points at a representative point, with
    ``units`` from :data:`DEFAULT_UNITS` (``units_assumed=True``). Addresses are every
    feature with an ``addr:*`` tag, its raw text kept in ``address``.

    Parameters
    ----------
    path : str or Path
        An ``.osm`` XML file.

    Returns
    -------
    dict
        ``{"roads", "buildings", "facilities", "addresses"}`` → GeoDataFrame (EPSG:4326).

    Examples
    --------
    >>> import layers
    >>> osm = layers.from_osm("tests/data/tiny.osm")
    >>> sorted(osm), len(osm["roads"])
    (['addresses', 'buildings', 'facilities', 'roads'], 2)
    """
    path = _osm_file(path)
    features = _features(path)
    return {
        "roads": _roads(path),
        "buildings": _buildings(features),
        "facilities": _facilities(features),
        "addresses": _addresses(features),
    }


# way tags a pedestrian's rules read (routing.walking): foot access, sidewalks, and closures
WALK_TAGS = ("foot", "sidewalk", "access", "area", "service")


def _has_highway(data: dict) -> bool:
    return data.get("highway") is not None


def walkways_from_osm(path) -> gpd.GeoDataFrame:
    """Every ``highway`` way of an OSM XML file, footways and steps included, as a roads layer.

    Unlike :func:`from_osm`'s roads (drivable ways only), nothing is left out here: rows keep
    the tags of :data:`WALK_TAGS` (``foot``, ``sidewalk``, ``access``, ``area``, ``service``)
    so that :func:`routing.walking_graph` can decide which ways a pedestrian may use.

    Examples
    --------
    >>> ways = walkways_from_osm("tests/data/tiny.osm")
    >>> sorted(ways["highway"])
    ['footway', 'primary', 'primary', 'residential', 'service']
    """
    path = _osm_file(path)
    return _roads(path, keep=_has_highway, tags=WALK_TAGS)


# (tag, value) -> service kind of cim.access.SERVICE_KINDS, the first match wins
SERVICE_TAGS = (
    ("amenity", "kindergarten", "kindergarten"),
    ("amenity", "childcare", "kindergarten"),
    ("amenity", "school", "school"),
    ("amenity", "clinic", "clinic"),
    ("amenity", "doctors", "clinic"),
    ("amenity", "hospital", "clinic"),
    ("healthcare", "clinic", "clinic"),
    ("amenity", "marketplace", "market"),
    ("shop", "supermarket", "market"),
    ("shop", "greengrocer", "market"),
    ("shop", "convenience", "market"),
    ("shop", "mall", "market"),
    ("shop", "department_store", "market"),
    ("amenity", "nursing_home", "elderly_care"),
    ("social_facility", "nursing_home", "elderly_care"),
    ("social_facility", "assisted_living", "elderly_care"),
    ("leisure", "pitch", "sports"),
    ("leisure", "sports_centre", "sports"),
    ("leisure", "fitness_centre", "sports"),
    ("leisure", "fitness_station", "sports"),
    ("leisure", "stadium", "sports"),
    ("leisure", "park", "park"),
)


def services_from_osm(path) -> gpd.GeoDataFrame:
    """Everyday services of an OSM XML file: schools, clinics, markets, elderly care, sports
    grounds and parks, one point each (a representative point of areas).

    ``kind`` is the service kind of :data:`SERVICE_TAGS` (``amenity=school`` → ``school``,
    ``shop=supermarket`` → ``market`` …), ``tag`` the OSM tag it came from.

    Examples
    --------
    >>> services_from_osm("tests/data/tiny.osm")[["kind", "tag"]].to_dict("records")
    [{'kind': 'clinic', 'tag': 'amenity=hospital'}]
    """
    features = _features(_osm_file(path))
    kind = pd.Series(None, index=features.index, dtype=object)
    tag = pd.Series(None, index=features.index, dtype=object)
    for key, value, service in SERVICE_TAGS:
        hit = kind.isna() & (_column(features, key) == value)
        kind[hit], tag[hit] = service, f"{key}={value}"
    rows = features[kind.notna()]
    name = _column(rows, "name").fillna(_column(rows, "name:zh"))
    return gpd.GeoDataFrame(
        {
            "id": _osm_ids(rows).to_numpy(),
            "kind": kind[rows.index].to_numpy(),
            "name": name.to_numpy(),
            "tag": tag[rows.index].to_numpy(),
        },
        geometry=rows.geometry.representative_point().to_numpy(),
        crs=4326,
    )
