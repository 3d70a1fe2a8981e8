"""Sensor coverage per spatial unit: how many sensors, how dense, and what they watch.

For each unit (grid cell, community, street, district) the online sensors inside it by
kind, their density per km², and the share of the unit's area, buildings and road length
within range of at least one online sensor (radius coverage). All of it runs vectorised in
the data's CGCS2000 Gauss-Kruger zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

import layers
from cim.model import CityModel
from layers.units import UNIT_LAYERS, unit_layer

__all__ = ["TARGET_DENSITY", "count_table", "sensor_coverage"]

ROADSIDE = ("camera", "manhole", "water_level")  # sensors that watch the road they stand on
ROADSIDE_GAP_M = 30.0  # farther than this from any road, a sensor is not beside one
TARGET_DENSITY = 25.0  # sensing sources per km² the city reported for 2020


def _owner(unit_tree: shapely.STRtree, points: np.ndarray) -> np.ndarray:
    """(point, unit) pairs giving each point one unit; points on a shared border go to one."""
    if len(points) == 0:
        return np.empty((2, 0), dtype=np.int64)
    pairs = unit_tree.query(points, predicate="intersects")
    _, first = np.unique(pairs[0], return_index=True)
    return pairs[:, first]


def _pieces(tree: shapely.STRtree, geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pairs, pieces): each geometry's part inside each tree geometry it meets.

    A geometry wholly inside is its own piece: only those that cross a border are
    intersected, which spares re-reading a large polygon (a district, the covered area) for
    every road inside it.
    """
    pairs = tree.query(geometries, predicate="intersects")
    pieces = np.asarray(geometries)[pairs[0]]
    containers = tree.geometries[pairs[1]]
    shapely.prepare(containers)
    crossing = ~shapely.contains_properly(containers, pieces)
    pieces[crossing] = shapely.intersection(pieces[crossing], containers[crossing])
    return pairs, pieces


def _per_unit(
    unit_tree: shapely.STRtree, count: int, geometries: np.ndarray, measure
) -> np.ndarray:
    """Sum of ``measure`` over the parts of ``geometries`` inside each unit."""
    if len(geometries) == 0:
        return np.zeros(count)
    pairs, pieces = _pieces(unit_tree, geometries)
    return np.bincount(pairs[1], weights=measure(pieces), minlength=count)


def _inside(parts: shapely.STRtree, geometries) -> tuple[np.ndarray, np.ndarray]:
    """(geometry index, piece) of each geometry inside the covered area, part by part.

    The parts of a union are disjoint, so measures summed over the pieces equal those of
    the whole intersection; each geometry meets only the few parts near it.
    """
    pairs, pieces = _pieces(parts, geometries)
    return pairs[0], pieces


def count_table(
    units: pd.DataFrame,
    level: str,
    area_m2: np.ndarray,
    counts: dict[str, np.ndarray],
    *,
    target_density: float = TARGET_DENSITY,
) -> pd.DataFrame:
    """The count columns of :func:`sensor_coverage` for one level's ``units``.

    ``counts`` holds the online sensors per unit of each kind; ``area_m2`` the units' areas
    in their metric CRS. Returns ``unit_code, level, name, area_km2, sensors,
    density_per_km2``, ``sensors_<kind>`` per kind (sorted) and ``below_target``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> units = pd.DataFrame({"code": ["a", "b"], "name": ["甲", "乙"]})
    >>> table = count_table(units, "street", np.array([1e6, 2e6]), {"camera": np.array([30, 10])})
    >>> table[["sensors", "density_per_km2", "below_target"]].to_numpy().tolist()
    [[30, 30.0, False], [10, 5.0, True]]
    """
    total = sum(counts.values(), np.zeros(len(units), dtype=np.int64))
    frame = pd.DataFrame(
        {
            "unit_code": units["code"].astype(str).to_numpy(),
            "level": level,
            "name": units["name"].to_numpy() if "name" in units.columns else None,
            "area_km2": area_m2 / 1e6,
            "sensors": total,
            "density_per_km2": total / (area_m2 / 1e6),
            **{f"sensors_{k}": counts[k] for k in sorted(counts)},
        }
    )
    frame["below_target"] = frame["density_per_km2"] < target_density
    return frame


def _network_covered(city: CityModel, points) -> np.ndarray:
    """Road (metric lines, merged) within each road-side sensor's range along the network."""
    roadside = points[points["kind"].isin(ROADSIDE)]
    if roadside.empty:
        return np.empty(0)
    pieces = city.router("car").reach(
        roadside.geometry,
        roadside["range_m"].to_numpy(dtype=float),
        objective="distance",
        max_snap_m=ROADSIDE_GAP_M,
    )
    if pieces.empty:
        return np.empty(0)
    lines = pieces.to_crs(points.crs).geometry.values
    # two-way streets are reached once per direction: merge so that no metre counts twice
    return np.asarray(shapely.get_parts(shapely.line_merge(shapely.union_all(lines))))


def sensor_coverage(
    city: CityModel,
    *,
    levels=tuple(UNIT_LAYERS),
    target_density: float = TARGET_DENSITY,
    kinds=None,
) -> pd.DataFrame:
    """Sensor counts, density and covered shares per unit, against a target density.

    Parameters
    ----------
    city : CityModel
        Needs ``sensors`` (``range_m``, ``status``) and the unit layers of ``levels``;
        ``buildings`` and ``roads`` are used when present.
    levels : iterable of str
        Any of ``grid``, ``community``, ``street``, ``district`` (levels the city lacks are
        skipped).
    target_density : float
        Sensors per km² a unit should have (``below_target`` flags the gaps).
    kinds : iterable of str, optional
        Sensor kinds to count; all by default.

    Returns
    -------
    DataFrame
        ``unit_code, level, name, area_km2, sensors, density_per_km2, covered_share,
        buildings, buildings_covered_share, road_km, road_covered_share, below_target`` and
        ``sensors_<kind>`` per kind. Offline sensors are not counted.

    Examples
    --------
    >>> import cim
    >>> table = sensor_coverage(cim.sample_city(), levels=["street"])
    >>> list(table.columns[:6])
    ['unit_code', 'level', 'name', 'area_km2', 'sensors', 'density_per_km2']
    """
    sensors = city.layer("sensors")
    sensors = sensors[sensors["status"].astype(str).str.lower().eq("online")]
    if kinds is not None:
        sensors = sensors[sensors["kind"].isin(list(kinds))]
    crs = city.metric_crs
    points = sensors.to_crs(crs)
    reach = shapely.buffer(
        points.geometry.values, points["range_m"].to_numpy(dtype=float), quad_segs=32
    )
    covered = shapely.union_all(reach)
    shapely.prepare(covered)
    covered_parts = shapely.STRtree(shapely.get_parts(covered))
    buildings = city.layers.get("buildings")
    roads = city.layers.get("roads")
    building_points = (
        buildings.geometry.representative_point().to_crs(crs).values
        if buildings is not None
        else np.empty(0)
    )
    road_lines = roads.to_crs(crs).geometry.values if roads is not None else np.empty(0)
    watched = (
        shapely.contains(covered, building_points)
        if len(building_points)
        else np.empty(0, dtype=bool)
    )
    covered_roads = _inside(covered_parts, road_lines)[1] if len(road_lines) else np.empty(0)
    along_roads = _network_covered(city, points) if roads is not None else np.empty(0)
    all_kinds = sorted(sensors["kind"].unique())

    frames = []
    for level in levels:
        layer_name = unit_layer(level)
        if layer_name not in city.layers:
            continue
        units = city.layer(layer_name).to_crs(crs)
        shapes = units.geometry.values
        tree = shapely.STRtree(shapes)
        count = len(units)
        area = shapely.area(shapes)
        unit_index, unit_covered = _inside(covered_parts, shapes)
        owner = _owner(tree, points.geometry.values)
        kind_of = points["kind"].to_numpy()[owner[0]]
        in_unit = (
            tree.query(building_points, predicate="within")
            if len(building_points)
            else np.empty((2, 0), dtype=int)
        )
        n_buildings = np.bincount(in_unit[1], minlength=count)
        n_watched = (
            np.bincount(in_unit[1], weights=watched[in_unit[0]], minlength=count)
            if in_unit.size
            else np.zeros(count)
        )
        road_m = _per_unit(tree, count, road_lines, shapely.length)
        road_covered_m = _per_unit(
            tree, count, covered_roads[~shapely.is_empty(covered_roads)], shapely.length
        )
        road_network_m = np.minimum(_per_unit(tree, count, along_roads, shapely.length), road_m)
        by_kind = {k: np.bincount(owner[1][kind_of == k], minlength=count) for k in all_kinds}
        frame = count_table(units, level, area, by_kind, target_density=target_density)
        shares = {
            "covered_share": np.bincount(
                unit_index, weights=shapely.area(unit_covered), minlength=count
            )
            / area,
            "buildings": n_buildings,
            "buildings_covered_share": np.divide(
                n_watched, n_buildings, out=np.full(count, np.nan), where=n_buildings > 0
            ),
            "road_km": road_m / 1000,
            "road_covered_share": np.divide(
                road_covered_m, road_m, out=np.full(count, np.nan), where=road_m > 0
            ),
            "road_network_covered_share": np.divide(
                road_network_m, road_m, out=np.full(count, np.nan), where=road_m > 0
            ),
        }
        for at, (name, values) in enumerate(shares.items(), start=6):  # after the density
            frame.insert(at, name, values)
        frames.append(frame)
    if not frames:
        raise layers.MissingError(
            f"the city has none of the unit layers {', '.join(unit_layer(lv) for lv in levels)}"
        )
    return pd.concat(frames, ignore_index=True)
