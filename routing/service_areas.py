"""What a station reaches: service-area polygons and coverage of buildings or grid cells."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import shapely

from routing.compiled import CompiledGraph, Snapped, _Search

__all__ = ["coverage_times", "reached_pieces", "service_area_polygons"]


TILE_M = 500.0  # side of the grid tiles whose road areas are built once and shared


def reached_pieces(
    engine: CompiledGraph, sources: Snapped, cutoff: np.ndarray, objective: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The road each source reaches within its own ``cutoff``, as edge pieces.

    An edge reached part-way counts up to where the cutoff falls, and so does the source's
    own edge, after the time (or metres) spent on the source's gap to its road. One search
    from all sources, stopped at the largest cutoff. Returns ``(source, edge, start, end)``
    arrays (fractions along each edge).
    """
    found = engine.search(sources, _NO_TARGETS, objective, limit=float(np.max(cutoff, initial=0)))
    return _pieces(engine, found, cutoff)


_NO_TARGETS = Snapped(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))


def _pieces(engine: CompiledGraph, found: _Search, cutoff: np.ndarray):
    """:func:`reached_pieces` of a search already made (bounded by at least ``cutoff``)."""
    n, cost = len(engine.nodes), engine.cost(found.objective)
    at_node = found.distances[:, engine.edge_u]  # sources x edges
    source, edge = np.nonzero((at_node < cutoff[:, None]) & engine.is_open[None, :])
    share = np.minimum(
        1.0, (cutoff[source] - at_node[source, edge]) / np.maximum(cost[edge], 1e-12)
    )
    budget = cutoff - found.source_gap
    first = [
        (row - n, e, a, min(b, a + budget[row - n] / max(cost[e], 1e-12)))
        for (row, _), (e, a, b) in found.pieces.items()
        if row >= n and budget[row - n] > 0
    ]
    starts = np.array(first, dtype=float).reshape(-1, 4)
    return (
        np.concatenate([source, starts[:, 0]]).astype(np.int64),
        np.concatenate([edge, starts[:, 1]]).astype(np.int64),
        np.concatenate([np.zeros(len(edge)), starts[:, 2]]),
        np.concatenate([share, starts[:, 3]]),
    )


def service_area_polygons(
    engine: CompiledGraph, sources: Snapped, cutoffs, objective: str, *, buffer_m: float
) -> list[tuple[int, float, shapely.Geometry]]:
    """For each source and cutoff, the area within ``buffer_m`` of the road reached in time.

    Built from the reached edges themselves (see :func:`reached_pieces`), not a convex hull,
    so rivers and one-way streets shape the area. Returns ``(source position, cutoff,
    polygon in EPSG:4326)``, by cutoff then source.

    Each area is the union of the ``buffer_m`` buffers of the reached pieces (GEOS's round
    buffer, 8 segments a quarter circle), the same set whichever way the union is grouped:
    one search from all sources bounded by the largest cutoff gives every cutoff's pieces,
    a two-way street reached whole both ways is buffered once, and the road of a
    :data:`TILE_M` grid tile that a source reaches whole is unioned once and shared by every
    source and cutoff that reaches it (the union of many small buffers is most of the time);
    the unions run in threads, side by side on all cores, as GEOS releases the GIL.
    Against the plain union of one buffer per piece the polygons differ by floating-point
    noise only (1e-11 of the area on Jinan). The stated tolerance, which the tests hold
    them to, is the buffer's own error: its arcs are chords that fall short of the circle
    by up to ``buffer_m * (1 - cos(pi / 32))`` (0.12 m at 25 m), so each polygon lies within
    that distance of the other, both ways, and their symmetric difference is below 1e-6 of
    the area.

    Examples
    --------
    >>> import cim
    >>> engine = cim.sample_city().router("fire_engine").engine
    >>> snapped = engine.snap([104.07], [30.66])
    >>> areas = service_area_polygons(engine, snapped, [120, 60], "time", buffer_m=25.0)
    >>> [(s, c, a.geom_type) for s, c, a in areas]
    [(0, 60, 'Polygon'), (0, 120, 'Polygon')]
    """
    cutoffs = sorted(cutoffs)
    count = len(sources.edge)
    found = engine.search(sources, _NO_TARGETS, objective, limit=float(max(cutoffs, default=0)))
    tiles = _Tiles(engine, buffer_m)
    jobs = []  # (source, cutoff, lines to buffer, whole tiles), by cutoff then source
    for cutoff in cutoffs:
        source, edge, start, end = _pieces(engine, found, np.full(count, float(cutoff)))
        order = np.argsort(source, kind="stable")
        bounds = np.searchsorted(source[order], np.arange(count + 1))
        for s in range(count):
            mine = order[bounds[s] : bounds[s + 1]]
            jobs.append((s, cutoff, *tiles.split(edge[mine], start[mine], end[mine])))
    # GEOS releases the GIL: the unions run side by side on all cores
    with ThreadPoolExecutor() as pool:
        needed = np.unique(np.concatenate([np.empty(0, dtype=np.int64)] + [j[3] for j in jobs]))
        road = dict(zip(needed.tolist(), pool.map(tiles.road, needed), strict=True))

        def area(job) -> shapely.Geometry:
            lines, whole = job[2], job[3]
            if len(lines) + len(whole) == 0:
                return shapely.Polygon()
            shared = np.array([road[t] for t in whole.tolist()], dtype=object)
            return shapely.union_all(np.concatenate([shapely.buffer(lines, buffer_m), shared]))

        areas = list(pool.map(area, jobs))
    return [
        (
            s,
            cutoff,
            shapely.transform(
                polygon, lambda c: np.column_stack(engine.to_lonlat.transform(c[:, 0], c[:, 1]))
            ),
        )
        for (s, cutoff, *_), polygon in zip(jobs, areas, strict=True)
    ]


class _Tiles:
    """The reached road split into whole :data:`TILE_M` grid tiles and single pieces."""

    def __init__(self, engine: CompiledGraph, buffer_m: float):
        self.engine, self.buffer_m = engine, buffer_m
        count = len(engine.twin)
        # a street: an edge and its twin (the other direction) share the lower edge number
        self.street = np.where(engine.twin >= 0, np.minimum(np.arange(count), engine.twin), -1)
        self.street[self.street < 0] = np.flatnonzero(self.street < 0)
        middle = shapely.get_coordinates(
            shapely.line_interpolate_point(engine.lines, 0.5, normalized=True)
        )
        _, tile = np.unique(np.floor(middle / TILE_M).astype(np.int64), axis=0, return_inverse=True)
        self.tile = tile.ravel()
        self.streets = np.unique(self.street[engine.is_open])  # the ones a search can reach
        self.size = np.bincount(self.tile[self.streets], minlength=self.tile.max() + 1)

    def split(
        self, edge: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The pieces as the tiles reached whole (every street in them) and the lines left
        over (metric CRS): each street once, whichever way it was driven."""
        whole = (start <= 0) & (end >= 1)
        streets = np.unique(self.street[edge[whole]])
        done = np.bincount(self.tile[streets], minlength=len(self.size)) == self.size
        done[self.tile[self.street[edge[~whole]]]] = False
        done &= self.size > 0
        rest = streets[~done[self.tile[streets]]]
        part = np.flatnonzero(~whole & ~done[self.tile[self.street[edge]]])
        along = self.engine.lines_along(
            np.arange(len(part)), edge[part], start[part], end[part], len(part), lonlat=False
        )
        return np.concatenate([self.engine.lines[rest], along]), np.flatnonzero(done)

    def road(self, tile: int) -> shapely.Geometry:
        """The union of the buffers of every street in ``tile``."""
        lines = self.engine.lines[self.streets[self.tile[self.streets] == tile]]
        return shapely.union_all(shapely.buffer(lines, self.buffer_m))


def coverage_times(
    engine: CompiledGraph, sources: Snapped, targets: Snapped, objective: str
) -> pd.DataFrame:
    """Cost from the nearest source to every target, and which source that is (-1 if none)."""
    reach = engine.search(sources, targets, objective).reach(len(engine.nodes))
    best = np.argmin(reach, axis=0)
    cost = reach[best, np.arange(reach.shape[1])]
    return pd.DataFrame({"source": np.where(np.isfinite(cost), best, -1), "cost": cost})
