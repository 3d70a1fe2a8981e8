"""GCJ-02 coordinates labelled as WGS84, found by how a layer lines up with trusted layers.

GCJ-02 data read as WGS84 sits a few hundred metres off (about 360 m in Chengdu). A layer
carries position information when it stands in a relation to the city's trusted WGS84
layers (:class:`layers.reference.References`) that chance does not give: points on road
centre lines or inside building footprints, footprints that no road crosses, unit
boundaries that run along their parents' and units that sit inside the parent they are
coded under.

Each test counts the sampled features that pass it at two positions, as given and after
GCJ-02 → WGS84, and at decoy positions: the conversion offset turned by 45°, 90°, … (a
line or polygon counts as the share of its sampled vertices that pass, so that one large
feature weighs no more than a small one: its vertices move together). If the data as
given is right, the converted position is just one point on the circle of positions that
far from the truth, no better than the decoys on that circle; if the data is GCJ-02, the
same holds for the position as given on the circle around the converted one. A position stands out when its count lies at least :data:`Z` spreads of the decoy
counts from their mean and the binomial tail at the decoys' rate is below :data:`ALPHA`
(either way: footprints that roads avoid count as much as points that sit on roads). A
layer that stands out only after conversion is GCJ-02; one whose tests find no
information (random points, a grid with no parent to nest in) gets no verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from layers import crs as _crs
from layers.reference import UNIT_LINKS, References, city_extent, is_unit_layer

__all__ = ["ALPHA", "SAMPLE", "VERTICES", "Alignment", "Evidence", "Z", "gcj02_alignment"]

Z = 6.0
ALPHA = 1e-6
SAMPLE = 1000  # features per test
VERTICES = 1000  # vertices per test, spread evenly over the sampled features
ROAD_RADII_M = (0.5, 10.0)
INSIDE_M = 0.5
BOUNDARY_M = 1.0
_TURNS = np.radians(np.arange(45, 360, 45))  # seven decoys on each circle
_REACH_M = 1500.0  # how far beyond the references a feature may lie and still be compared


def _standing(k: float, n: int, decoys: np.ndarray, spread: float) -> tuple[float, float]:
    """How far ``k`` of ``n`` lies from the decoy counts: (z, two-sided binomial tail)."""
    # binomial tails from scipy.special: scipy.stats' binom takes 0.4-1.3 s more to import
    from scipy.special import bdtr, bdtrc

    rate = (decoys.sum() + 1.0) / (decoys.size * n + 2.0)
    spread = max(np.sqrt(n * rate * (1 - rate)), spread, 0.5)
    whole = round(k)
    tail = bdtrc(whole - 1, n, rate) if k >= n * rate else bdtr(whole, n, rate)
    return float((k - decoys.mean()) / spread), float(min(1.0, 2 * tail))


@dataclass(frozen=True)
class Evidence:
    """One test: how many of ``n`` sampled features pass it at each position.

    ``chance_*`` is the mean count at the decoys a position is compared with, ``z_*`` how
    many of their spreads it lies from them, ``p_*`` the two-sided binomial tail. A line
    or polygon counts as the share of its sampled vertices that pass.
    """

    test: str
    features: str
    n: int
    as_given: float
    converted: float
    chance_given: float
    chance_converted: float
    z_given: float
    z_converted: float
    p_given: float
    p_converted: float

    @classmethod
    def of(cls, test: str, features: str, counts: np.ndarray) -> Evidence:
        """From counts at: given, converted, the circle around given, the circle around converted.

        ``features`` is e.g. ``"50 points"``: how many features were sampled, and what.
        """
        n = int(features.split()[0])
        turns = len(_TURNS)
        given, converted = float(counts[0]), float(counts[1])
        around_given, around_converted = counts[2 : 2 + turns], counts[2 + turns :]
        # Under the hypothesis that tests one position, the circle around the other is all
        # at one distance from the truth; the other circle's spread also holds how the
        # counts fall off with distance. The smaller spread is the one of chance.
        spread = min(around_given.std(ddof=1), around_converted.std(ddof=1))
        z_converted, p_converted = _standing(converted, n, around_given, spread)
        z_given, p_given = _standing(given, n, around_converted, spread)
        return cls(
            test,
            features,
            n,
            given,
            converted,
            float(around_converted.mean()),
            float(around_given.mean()),
            z_given,
            z_converted,
            p_given,
            p_converted,
        )

    @property
    def verdict(self) -> str | None:
        """``"converted"`` or ``"given"`` when only that position stands out, else None."""
        given = abs(self.z_given) >= Z and self.p_given <= ALPHA
        converted = abs(self.z_converted) >= Z and self.p_converted <= ALPHA
        if converted != given:
            return "converted" if converted else "given"
        return None

    def __str__(self) -> str:
        return (
            f"{self.test}: {self.as_given / self.n:.0%} as given, {self.converted / self.n:.0%} "
            f"after GCJ-02 → WGS84 (about {self.chance_converted / self.n:.0%} at that distance "
            f"in other directions; {self.features})"
        )


@dataclass(frozen=True)
class Alignment:
    """The tests run on one layer."""

    tests: tuple[Evidence, ...]

    @property
    def looks_gcj02(self) -> bool:
        """Some test places the layer only after GCJ-02 → WGS84, and none places it as given."""
        verdicts = {t.verdict for t in self.tests}
        return "converted" in verdicts and "given" not in verdicts

    @property
    def evidence(self) -> Evidence | None:
        """The test that tells the two positions apart best (the one behind a verdict, if any)."""
        verdicts = {t.verdict for t in self.tests} - {None}
        deciding = [t for t in self.tests if t.verdict in verdicts] or list(self.tests)
        if not deciding:
            return None
        return max(deciding, key=lambda t: max(abs(t.z_converted), abs(t.z_given)))


@lru_cache(maxsize=8)
def _transformer(epsg: int) -> Transformer:
    return Transformer.from_crs(4326, epsg, always_xy=True)


class _Frame:
    """Lon/lat → the metric zone of the data, and where GCJ-02 → WGS84 moves each point."""

    def __init__(self, lon: float, region: tuple[float, float, float, float]):
        self._forward = _transformer(_crs.metric_crs(lon).to_epsg())
        self.region = region  # lon/lat box of what is compared

    def project(self, lonlat: np.ndarray) -> np.ndarray:
        return np.column_stack(self._forward.transform(lonlat[:, 0], lonlat[:, 1]))

    def project_geometries(self, geometries: np.ndarray) -> np.ndarray:
        return shapely.transform(geometries, self.project)

    def offsets(self, lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metric coordinates, and offsets (positions × points × 2) to every position tested.

        Positions: as given; converted; seven decoys on the circle around the given
        position through the converted one; seven on the circle around the converted
        position through the given one.
        """
        metric = self.project(lonlat)
        u = self.project(np.column_stack(_crs.gcj02_to_wgs84(lonlat[:, 0], lonlat[:, 1]))) - metric
        turned = np.stack(
            [
                np.column_stack([c * u[:, 0] - s * u[:, 1], s * u[:, 0] + c * u[:, 1]])
                for c, s in zip(np.cos(_TURNS), np.sin(_TURNS), strict=True)
            ]
        )
        return metric, np.concatenate([[np.zeros_like(u), u], turned, u - turned])

    def in_region(self, lonlat: np.ndarray) -> np.ndarray:
        minx, miny, maxx, maxy = self.region
        x, y = lonlat[:, 0], lonlat[:, 1]
        return (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)


def _geometries(layers) -> np.ndarray:
    return np.concatenate([np.asarray(g.geometry.values, dtype=object) for g in layers])


def _boundary_pieces(layers, frame: _Frame, size: int = 64) -> np.ndarray:
    """The polygons' boundaries near the compared region, as metric pieces of ``size`` vertices.

    Short pieces keep the spatial index tight: a district's boundary is one line of
    thousands of vertices, and every distance to it would walk them all.
    """
    rings = shapely.get_parts(shapely.boundary(_geometries(layers)))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    first = np.searchsorted(ring, ring)  # index of each ring's first vertex
    step = np.arange(len(coords)) - first
    piece = step // (size - 1)
    joint = (step % (size - 1) == 0) & (step > 0)  # ends one piece and starts the next
    coords = np.concatenate([coords, coords[joint]])
    key = np.concatenate([ring * len(coords) + piece, (ring * len(coords) + piece - 1)[joint]])
    order = np.lexsort((np.concatenate([step, step[joint]]), key))
    coords, key = coords[order], key[order]
    _, start, count = np.unique(key, return_index=True, return_counts=True)
    near = np.add.reduceat(frame.in_region(coords), start) > 0
    keep = np.repeat((count >= 2) & near, count)
    number = np.repeat(np.cumsum((count >= 2) & near) - 1, count)
    return shapely.linestrings(frame.project(coords[keep]), indices=number[keep])


def _near_region(layers, frame: _Frame) -> np.ndarray:
    geoms = _geometries(layers)
    return frame.project_geometries(geoms[shapely.intersects(geoms, shapely.box(*frame.region))])


def _choose(count: int, sample: int, rng: np.random.Generator) -> np.ndarray:
    if count <= sample:
        return np.arange(count)
    return np.sort(rng.choice(count, size=sample, replace=False))


class _Vertices:
    """Vertices of the sampled features near the references, a few per feature.

    ``passed(mask)`` turns a pass / fail per vertex into a count of features, each feature
    weighing as the share of its vertices that pass.
    """

    def __init__(self, geoms: np.ndarray, frame: _Frame, rng, sample: int, vertices: int):
        geoms = geoms[_choose(len(geoms), sample, rng)]
        lonlat, feature = shapely.get_coordinates(geoms, return_index=True)
        near = frame.in_region(lonlat)
        lonlat, feature = lonlat[near], feature[near]
        per = max(1, vertices // max(1, len(np.unique(feature))))
        first = np.searchsorted(feature, feature)
        size = np.bincount(feature)[feature]
        keep = (np.arange(len(feature)) - first) % np.maximum(1, -(-size // per)) == 0
        _, self.feature = np.unique(feature[keep], return_inverse=True)
        self.n = int(self.feature.max()) + 1 if len(self.feature) else 0
        self.metric, self.offsets = frame.offsets(lonlat[keep])
        self._weight = 1.0 / np.bincount(self.feature)[self.feature] if self.n else np.zeros(0)

    def passed(self, mask: np.ndarray) -> float:
        return float(self._weight[mask].sum())


def _within(vertices: _Vertices, trees) -> list[np.ndarray]:
    """For each (tree, radii): counts per position of features within each radius of the tree."""
    counts = [np.zeros((len(radii), len(vertices.offsets))) for _, radii in trees]
    for j, off in enumerate(vertices.offsets):
        points = shapely.points(vertices.metric + off)
        for (tree, radii), found in zip(trees, counts, strict=True):
            point, near = tree.query(points, predicate="dwithin", distance=max(radii))
            gap = shapely.distance(points[point], tree.geometries[near])
            for i, radius in enumerate(radii):
                mask = np.zeros(len(points), dtype=bool)
                mask[point[gap <= radius]] = True
                found[i, j] = vertices.passed(mask)
    return counts


def _counts(offsets: np.ndarray, passing: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.array([float(passing(off).sum()) for off in offsets])


def gcj02_alignment(
    gdf: gpd.GeoDataFrame, reference, *, sample: int = SAMPLE, seed: int = 0
) -> Alignment | None:
    """Test whether a layer lines up with trusted WGS84 layers as given, or only as GCJ-02.

    Parameters
    ----------
    gdf : GeoDataFrame
        The layer to test, in EPSG:4326.
    reference : GeoDataFrame, list or mapping of them, or References
        The city's trusted WGS84 layers: roads, buildings, unit polygons.
    sample : int
        At most this many features per test (and :data:`VERTICES` vertices among them).
    seed : int
        Seed of the sample, so that a verdict is repeatable.

    Returns
    -------
    Alignment or None
        None when nothing of the layer lies near a reference, or it lies outside China
        (where GCJ-02 equals WGS84). Otherwise the tests; ``looks_gcj02`` is the verdict.

    Examples
    --------
    >>> import layers
    >>> roads = layers.load("roads", "sample_data/chengdu/roads.parquet")
    >>> sensors = layers.load("sensors", "sample_data/chengdu/sensors.parquet")
    >>> gcj02_alignment(sensors, roads).looks_gcj02
    False
    >>> amap = sensors.set_geometry(
    ...     layers.crs.transform_geometries(sensors.geometry, "wgs84", "gcj02"))
    >>> found = gcj02_alignment(amap, roads)
    >>> found.looks_gcj02
    True
    >>> print(found.evidence)  # doctest: +NORMALIZE_WHITESPACE
    points within 0.5 m of a road: 1% as given, 83% after GCJ-02 → WGS84 (about 1% at that
    distance in other directions; 1000 points)
    """
    refs = References.of(reference)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms) == 0 or not refs:
        return None
    region = city_extent(refs, margin_m=_REACH_M).bounds
    geoms = geoms[shapely.intersects(geoms, shapely.box(*region))]
    if len(geoms) == 0:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    if _crs.out_of_china(lon, lat):
        return None
    rng = np.random.default_rng(seed)
    frame = _Frame(float(lon), region)
    types = set(shapely.get_type_id(geoms).tolist())
    polygons = types <= {3, 6}
    noun = "points" if types == {0} else "polygons" if polygons else "lines"
    word = "points" if types == {0} else "vertices"
    vertices = _Vertices(geoms, frame, rng, sample, VERTICES)
    counted = f"{vertices.n} {noun}"
    unit = polygons and is_unit_layer(gdf)
    labels, trees = [], []
    if refs.lines:
        roads = shapely.STRtree(_near_region(refs.lines, frame))
        labels.append([f"{word} within {r:g} m of a road" for r in ROAD_RADII_M])
        trees.append((roads, ROAD_RADII_M))
    if refs.areas:
        labels.append([f"{word} inside a building"])
        trees.append((shapely.STRtree(_near_region(refs.areas, frame)), (INSIDE_M,)))
    if unit and refs.units:
        labels.append(["vertices on a reference unit's boundary"])
        trees.append((shapely.STRtree(_boundary_pieces(refs.units, frame)), (BOUNDARY_M,)))
    tests: list[Evidence] = []
    if vertices.n:
        for names, counts in zip(labels, _within(vertices, trees), strict=True):
            tests.extend(
                Evidence.of(name, counted, row) for name, row in zip(names, counts, strict=True)
            )
    if unit:
        nested = _nesting(gdf, refs.units, frame, rng, sample)
        if nested is not None:
            tests.append(nested)
    elif polygons and refs.lines:
        tests.append(_uncrossed(geoms, roads, frame, rng, sample))
    return Alignment(tuple(tests))


def _uncrossed(geoms, roads: shapely.STRtree, frame: _Frame, rng, sample: int) -> Evidence:
    geoms = geoms[_choose(len(geoms), sample, rng)]
    metric, offsets = frame.offsets(shapely.get_coordinates(geoms))

    def uncrossed(off: np.ndarray) -> np.ndarray:
        moved = shapely.transform(geoms, lambda _: metric + off)
        crossed = np.zeros(len(moved), dtype=bool)
        crossed[roads.query(moved, predicate="intersects")[0]] = True
        return ~crossed

    return Evidence.of(
        "footprints not crossed by a road", f"{len(geoms)} polygons", _counts(offsets, uncrossed)
    )


def _parent(gdf: gpd.GeoDataFrame, units) -> tuple[gpd.GeoDataFrame, str] | None:
    """The unit layer whose codes hold the most of this layer's parent links, and the link."""
    best, best_hits = None, 0
    for link in UNIT_LINKS:
        if link not in gdf.columns:
            continue
        links = set(gdf[link].dropna().astype(str))
        for unit in units:
            hits = len(links & set(unit["code"].astype(str)))
            if hits > best_hits:
                best, best_hits = (unit, link), hits
    return best


def _nesting(gdf, units, frame: _Frame, rng, sample: int) -> Evidence | None:
    """Units inside the parent unit their ``parent_code`` / ``community_code`` names."""
    found = _parent(gdf, units)
    if found is None:
        return None
    parent, link = found
    rows = gdf[gdf[link].notna()]
    chosen = _choose(len(rows), sample, rng)
    inner = shapely.get_coordinates(shapely.point_on_surface(rows.geometry.values[chosen]))
    links = rows[link].astype(str).to_numpy()[chosen]
    codes = parent["code"].astype(str).to_numpy()
    outlines = frame.project_geometries(np.asarray(parent.geometry.values, dtype=object))
    shapely.prepare(outlines)
    tree = shapely.STRtree(outlines)
    metric, offsets = frame.offsets(inner)

    def inside_parent(off: np.ndarray) -> np.ndarray:
        xy = metric + off
        point, unit = tree.query(shapely.points(xy))
        named = codes[unit] == links[point]
        point, unit = point[named], unit[named]
        hit = shapely.contains_xy(outlines[unit], xy[point, 0], xy[point, 1])
        inside = np.zeros(len(xy), dtype=bool)
        inside[point[hit]] = True
        return inside

    return Evidence.of(
        f"units inside the parent their {link} names",
        f"{len(inner)} polygons",
        _counts(offsets, inside_parent),
    )
