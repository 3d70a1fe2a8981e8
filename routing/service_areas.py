"""What a station reaches: the road pieces within a budget, and service-area polygons.

Used by :meth:`routing.Router.reach` and :meth:`routing.Router.service_areas`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

from routing._engine import CompiledGraph, lines_along
from routing._engine.reach import bounded_search, pieces_within
from routing.batch import Snapped

__all__ = ["service_area_polygons"]


TILE_M = 500.0  # side of the grid tiles whose road areas are built once and shared


def service_area_polygons(
    engine: CompiledGraph, sources: Snapped, cutoffs, objective: str, *, buffer_m: float
) -> list[tuple[int, float, shapely.Geometry]]:
    """For each source and cutoff, the area within ``buffer_m`` of the road reached in time.

    Built from the reached edges themselves (see :func:`routing._engine.reach.reached_pieces`), not a convex hull,
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
    >>> import cim, routing
    >>> from routing._engine import CompiledGraph, snap
    >>> engine = CompiledGraph.from_graph(cim.sample_city().graph, routing.get_profile("fire_engine"))
    >>> snapped = snap(engine, [104.07], [30.66])
    >>> areas = service_area_polygons(engine, snapped, [120, 60], "time", buffer_m=25.0)
    >>> [(s, c, a.geom_type) for s, c, a in areas]
    [(0, 60, 'Polygon'), (0, 120, 'Polygon')]
    """
    cutoffs = sorted(cutoffs)
    count = len(sources.edge)
    found = bounded_search(engine, sources, objective, float(max(cutoffs, default=0)))
    tiles = _Tiles(engine, buffer_m)
    jobs = []  # (source, cutoff, lines to buffer, whole tiles), by cutoff then source
    for cutoff in cutoffs:
        source, edge, start, end = pieces_within(engine, found, np.full(count, float(cutoff)))
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
        along = lines_along(
            self.engine,
            np.arange(len(part)),
            edge[part],
            start[part],
            end[part],
            len(part),
            lonlat=False,
        )
        return np.concatenate([self.engine.lines[rest], along]), np.flatnonzero(done)

    def road(self, tile: int) -> shapely.Geometry:
        """The union of the buffers of every street in ``tile``."""
        lines = self.engine.lines[self.streets[self.tile[self.streets] == tile]]
        return shapely.union_all(shapely.buffer(lines, self.buffer_m))
