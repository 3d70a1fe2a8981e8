"""Routing on the road graph: snapping, cost matrices, reach, and emergency dispatch.

:class:`Router` is the public face of the routing engine. Its batch methods (:meth:`~Router.snap`,
:meth:`~Router.cost_matrix`, :meth:`~Router.reach`) are what analyses build on; dispatch,
allocation, service areas and coverage are built on the same searches.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

import layers
from layers.standards import FIRE_RESPONSE_S
from layers.times import local_times
from routing._engine import (
    CompiledGraph,
    assemble,
    lines_along,
    nearest,
    node_nearest,
    reached_pieces,
    search,
    snap,
)
from routing.allocation import Allocation, assign_greedy, assign_optimal, priority_weights
from routing.batch import SNAP_CLOSED, SNAP_FAR, CostMatrix, Snapped
from routing.closures import closure_effect
from routing.profiles import Profile, get_profile
from routing.service_areas import service_area_polygons

__all__ = ["DISPATCH_COLUMNS", "SNAP_LIMIT_M", "Router", "compare_dispatch", "first_units"]

_SAME_ROUTE_DEG = 1e-5  # about a metre: routes closer than this everywhere are the same route

SNAP_LIMIT_M = 300.0
"""How far (m) a point may lie from its nearest road and still join the road graph.

Farther points are unreachable, with the reason. Rows far outside the city are refused
before that, when read against the city's extent (:func:`layers.reference.city_extent`,
2 km beyond its layers); this limit catches the rows inside it that no road serves.
"""

DISPATCH_COLUMNS = [
    "incident_id",
    "resource_id",
    "rank",
    "eta_s",
    "distance_m",
    "access_s",
    "incident_snap_m",
    "resource_snap_m",
    "profile",
    "reason",
    "geometry",
]


def _lonlat(points, role: str) -> gpd.GeoDataFrame:
    """``points`` (GeoDataFrame or GeoSeries, any CRS) as a GeoDataFrame in EPSG:4326, checked
    to hold only points with coordinates."""
    if isinstance(points, gpd.GeoSeries):
        points = gpd.GeoDataFrame(geometry=points)
    if not isinstance(points, gpd.GeoDataFrame):
        raise layers.SchemaError(
            role, f"expected a GeoDataFrame or GeoSeries of points, got {type(points).__name__}"
        )
    points = layers.to_wgs84(points, kind=role)
    values = points.geometry.values
    not_point = (points.geom_type != "Point") | points.geometry.is_empty
    not_point |= ~(np.isfinite(shapely.get_x(values)) & np.isfinite(shapely.get_y(values)))
    if not_point.any():
        names = points.loc[not_point, "id"] if "id" in points.columns else points.index[not_point]
        raise layers.GeometryError(
            role,
            f"{int(not_point.sum())} rows are not points with coordinates (ids {list(names[:5])}); "
            "drop rows without coordinates, and use gdf.representative_point() for polygons",
            rows=points.index[not_point],
        )
    return points


def _ids(points: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """The ``id`` column of a GeoDataFrame that has one, else the index."""
    if isinstance(points, gpd.GeoDataFrame) and "id" in points.columns:
        return points["id"].to_numpy()
    return points.index.to_numpy()


def _points(gdf, role: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise layers.SchemaError(
            role, f"expected a GeoDataFrame of points, got {type(gdf).__name__}"
        )
    if len(gdf) == 0:
        raise layers.EmptyLayerError(role, "no rows to dispatch")
    if "id" not in gdf.columns:
        raise layers.SchemaError(
            role, "needs an 'id' column to name each row in the result", column="id"
        )
    gdf = _lonlat(gdf, role)
    if gdf["id"].duplicated().any():
        raise layers.SchemaError(
            role, "column 'id' has repeated values; ids must be unique", column="id"
        )
    return gdf


def first_units(routes: pd.DataFrame) -> pd.DataFrame:
    """The first unit of each incident (rank 1), and the incidents left without a route.

    Averages and counts over a dispatch (mean ETA, share within 5 minutes) are taken over
    these rows, one per incident, so that second and third units do not weigh in.

    Examples
    --------
    >>> import cim
    >>> city = cim.sample_city()
    >>> stations = city.layer("facilities").query("kind == 'fire_station'")
    >>> routes = city.router("fire_engine").dispatch(city.layer("incidents").head(3), stations, k=2)
    >>> len(routes), len(first_units(routes))
    (6, 3)
    """
    return routes[routes["rank"].isna() | (routes["rank"] == 1)]


def compare_dispatch(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame) -> pd.DataFrame:
    """First-unit ETA per incident before and after a change (closures, new stations …).

    Returns
    -------
    DataFrame
        ``incident_id, resource_before, resource_after, eta_before_s, eta_after_s, delay_s,
        rerouted`` (another unit, or a route that departs from the old one by more than about
        a metre), one row per incident.
    """

    def first(routes):
        return first_units(routes).set_index("incident_id")[["resource_id", "eta_s", "geometry"]]

    a, b = first(before), first(after)
    joined = a.join(b, suffixes=("_before", "_after"), how="outer")
    same_route = [
        (x is None and y is None)
        or (x is not None and y is not None and x.hausdorff_distance(y) < _SAME_ROUTE_DEG)
        for x, y in zip(joined["geometry_before"], joined["geometry_after"], strict=True)
    ]
    unit_before, unit_after = joined["resource_id_before"], joined["resource_id_after"]
    same_route = (
        np.array(same_route)
        & ((unit_before == unit_after) | (unit_before.isna() & unit_after.isna())).to_numpy()
    )
    return pd.DataFrame(
        {
            "incident_id": joined.index,
            "resource_before": joined["resource_id_before"].to_numpy(),
            "resource_after": joined["resource_id_after"].to_numpy(),
            "eta_before_s": joined["eta_s_before"].to_numpy(),
            "eta_after_s": joined["eta_s_after"].to_numpy(),
            "delay_s": (joined["eta_s_after"] - joined["eta_s_before"]).to_numpy(),
            "rerouted": ~same_route,
        }
    )


def _snap_limit(max_snap_m: float) -> float:
    if not max_snap_m > 0:
        raise layers.InputError(f"max_snap_m must be a distance in metres > 0, not {max_snap_m!r}")
    return float(max_snap_m)


class Router:
    """Shortest-path routing and dispatch for one vehicle profile on a road graph.

    The graph is compiled once to CSR arrays (scipy.sparse.csgraph); results match
    networkx's shortest paths on the same graph.

    Parameters
    ----------
    graph : networkx.MultiDiGraph or callable
        Road graph with node ``x``/``y`` and edge ``length``, ``speed_kph`` or
        ``travel_time``, ``road_class`` (see :func:`routing.graph_from_roads`); or a
        function that returns it, called when :attr:`graph` is first read.
    profile : str or Profile
        ``"car"``, ``"fire_engine"``, ``"ambulance"``, ``"police"`` or a custom
        :class:`routing.Profile`.
    hour : int, optional
        Hour of day (0-23) whose congestion factor applies (``Profile.congestion``);
        free-flow speeds when None.

    Examples
    --------
    >>> import cim
    >>> city = cim.sample_city()
    >>> router = city.router(profile="fire_engine")
    >>> stations = city.layer("facilities").query("kind == 'fire_station'")
    >>> routes = router.dispatch(city.layer("incidents").head(3), stations, k=2)
    >>> list(routes.columns[:7])
    ['incident_id', 'resource_id', 'rank', 'eta_s', 'distance_m', 'access_s', 'incident_snap_m']
    """

    def __init__(
        self,
        graph: nx.MultiDiGraph | Callable[[], nx.MultiDiGraph],
        *,
        profile: str | Profile = "car",
        hour: int | None = None,
    ):
        self._graph = graph
        self.profile = get_profile(profile)
        self.hour = hour
        self._engine = CompiledGraph.from_graph(self.graph, self.profile, hour=hour)
        self.closures: pd.DataFrame | None = None

    @classmethod
    def _on(
        cls, engine: CompiledGraph, graph, profile: Profile, hour: int | None, closures=None
    ) -> Router:
        """A Router over an engine compiled already."""
        router = object.__new__(cls)
        router._graph, router.profile, router.hour = graph, profile, hour
        router._engine, router.closures = engine, closures
        return router

    def with_profile(self, profile: str | Profile, *, hour: int | None = None) -> Router:
        """A Router for another vehicle ``profile`` (at ``hour``) on the same compiled roads.

        Only the travel times are set again, so this is much cheaper than a new Router.

        Examples
        --------
        >>> import cim
        >>> car = cim.sample_city().router("car")
        >>> car.with_profile("fire_engine", hour=8).profile.name
        'fire_engine'
        """
        if self.closures is not None:
            raise layers.InputError(
                "a Router with closures keeps its profile; call with_profile on the Router "
                "without them, then with_closures"
            )
        profile = get_profile(profile)
        engine = self._engine.with_profile(profile, hour=hour)
        return Router._on(engine, self._graph, profile, hour)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The compiled roads as plain arrays (numbers and text, no Python objects).

        What no profile changes is kept, so one copy serves every vehicle and hour: save it
        with :func:`numpy.savez` and give what ``numpy.load(..., allow_pickle=False)`` reads
        to :meth:`from_arrays`. A Router with closures is not stored (``InputError``).

        Examples
        --------
        >>> import cim, numpy as np
        >>> city = cim.sample_city()
        >>> car, incidents = city.router("car"), city.layer("incidents").head(3)
        >>> again = Router.from_arrays(car.to_arrays(), city.graph, profile="car")
        >>> first, second = (r.cost_matrix(incidents, incidents).values for r in (car, again))
        >>> bool(np.array_equal(first, second))
        True
        """
        if self.closures is not None:
            raise layers.InputError("a Router with closures is not stored; store the one without")
        return self._engine.to_arrays()

    @classmethod
    def from_arrays(
        cls,
        arrays: Mapping[str, np.ndarray],
        graph: nx.MultiDiGraph | Callable[[], nx.MultiDiGraph],
        *,
        profile: str | Profile = "car",
        hour: int | None = None,
    ) -> Router:
        """The Router whose :meth:`to_arrays` gave ``arrays``, for ``profile`` at ``hour``.

        ``graph`` is the road graph the arrays were compiled from (or a function returning
        it, called only when :attr:`graph` is read). Arrays that do not fit together raise
        ``ValueError``.
        """
        profile = get_profile(profile)
        return cls._on(CompiledGraph.from_arrays(arrays, profile, hour=hour), graph, profile, hour)

    @property
    def metric_crs(self) -> CRS:
        """The projected CRS (CGCS2000 Gauss-Kruger zone of the roads) the router measures in."""
        return self._engine.to_metric.target_crs

    def snap(self, points, *, max_snap_m: float = SNAP_LIMIT_M) -> Snapped:
        """Snap points onto their nearest road edge.

        Parameters
        ----------
        points : GeoDataFrame or GeoSeries
            Points, in any CRS the data carries.
        max_snap_m : float
            Points farther than this from every road join none (:data:`SNAP_LIMIT_M`).

        Returns
        -------
        Snapped
            Per point, in the order given: the edge, the fraction along it, the straight gap
            to the road in metres, and why a point joins no edge (``cut_off``). With closures
            each point keeps the edge it had without them, and one under a barrier is cut off.

        Examples
        --------
        >>> import cim, geopandas as gpd, shapely
        >>> router = cim.sample_city().router("car")
        >>> points = gpd.GeoSeries([shapely.Point(104.07, 30.66), shapely.Point(104.5, 30.66)], crs=4326)
        >>> snapped = router.snap(points)
        >>> snapped.cut_off.tolist(), bool(snapped.distance_m[0] < 300)
        ([None, 'far'], True)
        """
        lonlat = _lonlat(points, "points").geometry.values
        return snap(
            self._engine,
            shapely.get_x(lonlat),
            shapely.get_y(lonlat),
            max_snap_m=_snap_limit(max_snap_m),
        )

    def cost_matrix(
        self,
        sources,
        targets,
        *,
        objective: str = "time",
        max_snap_m: float = SNAP_LIMIT_M,
    ) -> CostMatrix:
        """The cost from every source to every target: one search from all sources.

        Points join the road as in :meth:`snap`; the straight gaps from both points to their
        roads count (at the profile's ``access_speed_kph`` for time), as in :meth:`dispatch`.

        Parameters
        ----------
        sources, targets : GeoDataFrame or GeoSeries
            Points in any CRS; named by their ``id`` column when they have one, else by
            their index.
        objective : {"time", "distance"}
            Seconds of the fastest route, or metres of the shortest.
        max_snap_m : float
            The snap limit in metres (:data:`SNAP_LIMIT_M`).

        Returns
        -------
        CostMatrix
            ``values`` (sources x targets, inf where no route joins them), the ids and the
            gaps; ``to_frame()`` gives it as a DataFrame.

        Examples
        --------
        >>> import cim
        >>> city = cim.sample_city()
        >>> stations = city.layer("facilities").query("kind == 'fire_station'")
        >>> matrix = city.router("fire_engine").cost_matrix(stations, city.layer("incidents").head(4))
        >>> matrix.values.shape == (len(stations), 4), matrix.to_frame().index.name
        (True, 'source_id')
        """
        self._engine.cost(objective)
        starts = self.snap(sources, max_snap_m=max_snap_m)
        ends = self.snap(targets, max_snap_m=max_snap_m)
        found = search(self._engine, starts, ends, objective)
        return CostMatrix(
            values=found.target_costs(),
            source_ids=_ids(sources),
            target_ids=_ids(targets),
            source_gap_m=starts.distance_m,
            target_gap_m=ends.distance_m,
            objective=objective,
        )

    def reach(
        self,
        sources,
        budget,
        *,
        objective: str = "distance",
        max_snap_m: float = SNAP_LIMIT_M,
    ) -> gpd.GeoDataFrame:
        """The road each source reaches within its budget, as pieces of edges.

        An edge reached part-way counts up to where the budget runs out, and so does the
        source's own edge, after the metres (or seconds) spent on the source's gap to its
        road. One search from all sources, stopped at the largest budget.

        Parameters
        ----------
        sources : GeoDataFrame or GeoSeries
            Points in any CRS; named by their ``id`` column when they have one, else by
            their index.
        budget : float or array of float
            Metres (``"distance"``) or seconds (``"time"``): one for all, or one per source.
        objective : {"distance", "time"}
        max_snap_m : float
            The snap limit in metres (:data:`SNAP_LIMIT_M`); a source beyond it reaches
            nothing.

        Returns
        -------
        GeoDataFrame
            ``source_id, edge, start, end, geometry``: per piece the source, the edge
            (position in ``graph.edges(keys=True)``), the fractions along it where the piece
            starts and ends, and the piece as a line, in :attr:`metric_crs`. A two-way street
            driven both ways gives a piece per direction.

        Examples
        --------
        >>> import cim, geopandas as gpd, shapely
        >>> router = cim.sample_city().router("car")
        >>> pieces = router.reach(gpd.GeoSeries([shapely.Point(104.07, 30.66)], crs=4326), 500)
        >>> list(pieces.columns), bool(pieces.length.max() <= 500)
        (['source_id', 'edge', 'start', 'end', 'geometry'], True)
        """
        self._engine.cost(objective)
        starts = self.snap(sources, max_snap_m=max_snap_m)
        budget = np.asarray(budget, dtype=float)
        if budget.ndim > 1 or (budget.ndim == 1 and len(budget) != len(starts)):
            raise layers.InputError(
                f"budget must be one number or one per source ({len(starts)}), "
                f"not {budget.shape[0]} values"
            )
        if np.isnan(budget).any() or (budget < 0).any():
            raise layers.InputError("budget must be numbers >= 0 (metres or seconds)")
        budget = np.broadcast_to(budget, (len(starts),)).copy()
        source, edge, start, end = reached_pieces(self._engine, starts, budget, objective)
        lines = lines_along(
            self._engine, np.arange(len(edge)), edge, start, end, len(edge), lonlat=False
        )
        return gpd.GeoDataFrame(
            {"source_id": _ids(sources)[source], "edge": edge, "start": start, "end": end},
            geometry=lines,
            crs=self.metric_crs,
        )

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The road graph (networkx) this router was compiled from."""
        if callable(self._graph):
            self._graph = self._graph()
        return self._graph

    def with_closures(self, barriers: gpd.GeoDataFrame, *, buffer_m: float = 5.0) -> Router:
        """A new Router with flooded or closed areas applied (this one is unchanged).

        Parameters
        ----------
        barriers : GeoDataFrame
            Points, lines or polygons. ``depth_cm`` (water depth) closes the roads they touch
            only for profiles that cannot pass it (fire engines pass deeper water than cars);
            ``factor`` multiplies travel time instead of closing; neither closes.
        buffer_m : float
            How far a point or line barrier reaches (a row's ``buffer_m`` overrides).

        Returns
        -------
        Router
            With ``closures``: one row per barrier, the edges it touched and whether it
            ``closes`` them for this profile, and ``closed_edges`` in all (closures applied
            to a Router that had some add to them).
        """
        blocked, factor, report = closure_effect(
            self._engine, barriers, self.profile, buffer_m=buffer_m
        )
        closed = ~np.isnan(blocked[:, 0]) & self._engine.is_open
        if self.closures is None:
            closures = report.assign(closed_edges=int(closed.sum()))
        else:
            total = int(self.closures["closed_edges"].iat[0] + closed.sum())
            closures = pd.concat([self.closures, report], ignore_index=True).assign(
                closed_edges=total
            )
        engine = self._engine.restricted(blocked, factor)
        return Router._on(engine, self._graph, self.profile, self.hour, closures)

    @property
    def _all_closed(self) -> bool:
        return not self._engine.is_open[self._engine.snappable].any()

    def _cut_off_reasons(self, snapped: Snapped, max_snap_m: float) -> np.ndarray:
        """Per point, why it joins no road (None where it does)."""
        reasons = np.full(len(snapped.edge), None, dtype=object)
        for i in np.flatnonzero(snapped.edge < 0):
            gap = snapped.distance_m[i]
            if snapped.cut_off[i] == SNAP_FAR:
                reasons[i] = (
                    f"{gap:,.0f} m from the nearest road, beyond the snap limit of "
                    f"{max_snap_m:g} m (max_snap_m)"
                )
            elif snapped.cut_off[i] == SNAP_CLOSED and self._all_closed:
                reasons[i] = f"every road is closed for {self.profile.name} by the closures"
            elif snapped.cut_off[i] == SNAP_CLOSED:
                reasons[i] = (
                    f"its nearest road ({gap:,.0f} m away) is closed for {self.profile.name} "
                    "by the closures"
                )
            else:
                reasons[i] = "the road graph has no road to snap to (only loops)"
        return reasons

    def _unreachable_reason(self, resources: Snapped | None = None) -> str:
        """Why a point on the road that no route reaches has none."""
        closed = 0 if self.closures is None else int(self.closures["closed_edges"].iat[0])
        if self._engine.snappable.size == 0 or self._all_closed:
            if closed:
                return f"every road is closed for {self.profile.name} by the closures"
            return "the road graph has no road to snap to (only loops)"
        if resources is not None and len(resources.on_road) == 0:
            return (
                "no resource joins the road graph (each is beyond the snap limit from any "
                "road, or its road is closed)"
            )
        if closed:
            return (
                "no available resource can reach this point with the closures applied "
                f"({closed} road segments closed for {self.profile.name})"
            )
        return "no available resource can reach this point on the road graph"

    def allocate(
        self,
        incidents: gpd.GeoDataFrame,
        resources: gpd.GeoDataFrame,
        *,
        objective: str = "time",
        weights: dict[int, float] | None = None,
        max_snap_m: float = SNAP_LIMIT_M,
    ) -> Allocation:
        """Assign scarce units to competing incidents: the optimum beside the greedy plan.

        Each resource can send as many vehicles as its ``units``. The optimal plan serves as
        many incidents as possible (the most urgent first when units run short) with the
        least total priority-weighted ETA (:data:`routing.allocation.PRIORITY_WEIGHT`:
        priority 1 weighs 4, 2 weighs 2, lower 1). The greedy plan takes incidents by
        priority (then report time, then id) and sends each the nearest free unit. Points
        join the road as in :meth:`dispatch` (``max_snap_m``, gaps counted in the ETA).

        Returns
        -------
        Allocation
            ``plan`` (incident, method, unit, ETA, route, and the ``reason`` where no unit
            is sent) and ``totals`` per method.
        """
        incidents = _points(incidents, "incidents")
        resources = _points(resources, "resources")
        priority = (
            incidents["priority"]
            if "priority" in incidents.columns
            else pd.Series(1, index=incidents.index)
        )
        weight = priority_weights(priority, weights)
        units = (
            pd.to_numeric(resources["units"], errors="coerce")
            .fillna(0)
            .clip(lower=0)
            .astype(int)
            .to_numpy()
            if "units" in resources.columns
            else np.ones(len(resources), dtype=int)
        )
        engine = self._engine
        res = self.snap(resources, max_snap_m=max_snap_m)
        inc = self.snap(incidents, max_snap_m=max_snap_m)
        found = search(engine, res, inc, objective)
        eta = found.target_costs()
        by = [priority.to_numpy(), incidents["id"].astype(str).to_numpy()]
        if "reported_at" in incidents.columns:
            by.insert(1, local_times(incidents["reported_at"]).to_numpy())
        order = np.lexsort(by[::-1])
        in_reach = np.isfinite(eta[units > 0]).any(axis=0)
        unserved = np.where(
            in_reach, "every unit that can reach it is sent to another incident", None
        )
        unserved[~in_reach] = self._unreachable_reason(res)
        off_road = inc.edge < 0
        unserved[off_road] = self._cut_off_reasons(inc, max_snap_m)[off_road]
        plans = {
            "optimal": assign_optimal(eta, weight, units),
            "greedy": assign_greedy(eta, order, units),
        }
        frames, totals = [], []
        for method, chosen in plans.items():
            served = np.flatnonzero(chosen >= 0)
            batch = assemble(engine, found, chosen[served], served, np.ones(len(served), dtype=int))
            frame = pd.DataFrame(
                {
                    "incident_id": incidents["id"].to_numpy(),
                    "method": method,
                    "priority": priority.to_numpy(),
                    "weight": weight,
                    "resource_id": None,
                    "eta_s": np.nan,
                    "distance_m": np.nan,
                    "reason": unserved,
                    "geometry": None,
                }
            )
            frame.loc[served, "resource_id"] = resources["id"].to_numpy()[chosen[served]]
            frame.loc[served, "eta_s"] = batch.eta_s
            frame.loc[served, "distance_m"] = batch.distance_m
            frame.loc[served, "geometry"] = batch.geometry
            frame.loc[served, "reason"] = None
            frames.append(frame)
            totals.append(
                {
                    "method": method,
                    "served": len(served),
                    "unserved": len(incidents) - len(served),
                    "weighted_eta_s": float((weight[served] * batch.eta_s).sum()),
                    "eta_s": float(batch.eta_s.sum()),
                }
            )
        plan = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
        return Allocation(plan, pd.DataFrame(totals).set_index("method"))

    def service_areas(
        self,
        resources: gpd.GeoDataFrame,
        cutoffs=(300, 600),
        *,
        buffer_m: float = 25.0,
        objective: str = "time",
        max_snap_m: float = SNAP_LIMIT_M,
    ) -> gpd.GeoDataFrame:
        """Reachable-area polygons per resource and cutoff (seconds, or metres for distance).

        Built from the road actually reached (buffered by ``buffer_m``), not a convex hull.
        The time (or metres) over a resource's gap to its road is spent first.

        Returns
        -------
        GeoDataFrame
            ``resource_id, cutoff, area_km2, reason, geometry`` (EPSG:4326); a resource with
            no road to start from (beyond ``max_snap_m`` from any road, or its road closed)
            gets an empty area and the ``reason``.
        """
        resources = _points(resources, "resources")
        snapped = self.snap(resources, max_snap_m=max_snap_m)
        stranded = self._cut_off_reasons(snapped, max_snap_m)
        rows = [
            {
                "resource_id": resources["id"].iat[source],
                "cutoff": cutoff,
                "reason": stranded[source],
                "geometry": polygon,
            }
            for source, cutoff, polygon in service_area_polygons(
                self._engine, snapped, cutoffs, objective, buffer_m=buffer_m
            )
        ]
        areas = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
        areas.insert(2, "area_km2", areas.to_crs(self.metric_crs).area / 1e6)
        return areas

    def coverage(
        self,
        units: gpd.GeoDataFrame,
        targets: gpd.GeoDataFrame,
        *,
        cutoff: float = FIRE_RESPONSE_S,
        max_snap_m: float = SNAP_LIMIT_M,
    ) -> gpd.GeoDataFrame:
        """Which targets (buildings, grid cells …) the units reach within ``cutoff`` seconds.

        The default is the 5-minute rule of 建标 152-2017 for fire stations. The gaps from
        unit and target to their roads count in ``eta_s``; a target farther than
        ``max_snap_m`` from any road is not covered.

        Returns
        -------
        GeoDataFrame
            ``targets`` with ``eta_s`` from the nearest unit (NaN where none can reach it),
            ``unit_id`` and ``covered``; the gaps are the rows with ``covered`` False. When
            no road is open at all, nothing is covered and a :class:`layers.CimWarning` says
            why.
        """
        units = _points(units, "units")
        if len(targets) == 0:
            raise layers.EmptyLayerError("targets", "nothing to cover")
        targets = layers.to_wgs84(targets, kind="targets")
        points = targets.geometry.representative_point()
        if self._engine.snappable.size == 0 or self._all_closed:
            warnings.warn(
                f"no target is covered: {self._unreachable_reason()}",
                layers.CimWarning,
                stacklevel=2,
            )
        snapped = self.snap(units, max_snap_m=max_snap_m)
        first, _ = nearest(
            self._engine,
            snapped,
            self.snap(points, max_snap_m=max_snap_m),
            k=1,
            objective="time",
            tie_rank=np.arange(len(units)),
            lines=False,
        )
        eta, unit = np.full(len(targets), np.nan), np.full(len(targets), None, dtype=object)
        eta[first.target], unit[first.target] = first.eta_s, units["id"].to_numpy()[first.source]
        out = targets.copy()
        out["eta_s"], out["unit_id"] = eta, unit
        out["covered"] = out["eta_s"] <= cutoff
        return out

    def k_nearest(
        self,
        sources,
        targets=None,
        *,
        k: int = 1,
        objective: str = "distance",
        max_snap_m: float = SNAP_LIMIT_M,
    ) -> pd.DataFrame:
        """The ``k`` nearest sources of every target, or of every node of the graph.

        One search from all sources at once (a multi-source Dijkstra keeping ``k`` labels a
        node), so the cost hardly grows with the number of sources or targets. Points join
        the road as in :meth:`cost_matrix`, and both straight gaps count in ``cost``; the
        costs equal the cheapest entries of :meth:`cost_matrix`'s rows. Ties break by source
        id.

        Parameters
        ----------
        sources : GeoDataFrame or GeoSeries
            Points (facilities), named by their ``id`` column or else their index.
        targets : GeoDataFrame or GeoSeries, optional
            Points (homes); by default every node of :attr:`graph`, each at no gap.
        k : int
            How many sources to rank per target.
        objective : {"distance", "time"}
            Metres of the shortest route, or seconds of the fastest.
        max_snap_m : float
            The snap limit in metres (:data:`SNAP_LIMIT_M`).

        Returns
        -------
        DataFrame
            ``target, rank, source_id, cost``, ordered by target then rank: ``target`` is
            the target's position in ``targets`` (or the node id), ``rank`` 1 for the
            nearest. A target fewer than ``k`` sources reach has fewer rows, one none reach
            (or beyond the snap limit) has none.

        Examples
        --------
        >>> import cim
        >>> city = cim.sample_city()
        >>> hospitals = city.layer("facilities").query("kind == 'hospital'")
        >>> near = city.router("car").k_nearest(hospitals, k=3)
        >>> list(near.columns), near["rank"].head(3).tolist()
        (['target', 'rank', 'source_id', 'cost'], [1, 2, 3])
        """
        if k < 1:
            raise layers.InputError(f"k must be at least 1, not {k}")
        self._engine.cost(objective)
        if len(sources) == 0:
            raise layers.EmptyLayerError("sources", "no source to measure from")
        ids = _ids(sources)
        tie_rank = np.argsort(np.argsort(ids.astype(str), kind="stable"))
        starts = self.snap(sources, max_snap_m=max_snap_m)
        if targets is None:
            found, cost = node_nearest(
                self._engine, starts, k=k, objective=objective, tie_rank=tie_rank
            )
            node, rank = np.nonzero(found >= 0)
            return pd.DataFrame(
                {
                    "target": self._engine.nodes[node],
                    "rank": rank + 1,
                    "source_id": ids[found[node, rank]],
                    "cost": cost[node, rank],
                }
            )
        ends = self.snap(targets, max_snap_m=max_snap_m)
        batch, _ = nearest(
            self._engine, starts, ends, k=k, objective=objective, tie_rank=tie_rank, lines=False
        )
        gaps = starts.distance_m[batch.source] + ends.distance_m[batch.target]
        cost = batch.eta_s if objective == "time" else batch.distance_m + gaps
        return pd.DataFrame(
            {
                "target": batch.target,
                "rank": batch.rank,
                "source_id": ids[batch.source],
                "cost": cost,
            }
        )

    def __repr__(self) -> str:
        return (
            f"Router(profile={self.profile.name!r}, nodes={len(self._engine.nodes)}, "
            f"edges={len(self._engine.length)})"
        )

    def dispatch(
        self,
        incidents: gpd.GeoDataFrame,
        resources: gpd.GeoDataFrame,
        *,
        k: int = 1,
        objective: str = "time",
        max_snap_m: float = SNAP_LIMIT_M,
        geometry: bool = True,
    ) -> gpd.GeoDataFrame:
        """The ``k`` best resources for each incident, with their routes.

        Incidents and resources are snapped to their nearest road edge; the distance along
        the edge to its ends counts, and on a two-way street both directions may be taken.
        The straight gap from each point to the road (``incident_snap_m``,
        ``resource_snap_m``) is covered at the profile's ``access_speed_kph`` (15 km/h):
        that time, ``access_s``, is part of ``eta_s`` and of the ranking; ``distance_m`` and
        the route line follow the road. A point farther than ``max_snap_m`` from every road
        joins none: such an incident gets a row with the reason, such a resource sends no
        one. With closures (:meth:`with_closures`) each point keeps the road it had without
        them and uses only the part of it clear of the barriers (a point under one is cut
        off), so closures never make a response faster. Resources with ``units`` ≤ 0 are
        not available. Ties break by resource id. One search from all resources answers the
        whole batch, for any ``k`` (:mod:`routing._engine.nearest`); route lines are drawn
        only for the routes chosen.

        Parameters
        ----------
        incidents, resources : GeoDataFrame
            Points with an ``id`` column; resources may carry ``units``.
        k : int
            How many resources to rank per incident.
        objective : {"time", "distance"}
            Fastest route (``eta_s``) or shortest route (``distance_m``, plus the gaps).
        max_snap_m : float
            The snap limit in metres (:data:`SNAP_LIMIT_M`, 300 m by default).
        geometry : bool
            Draw each route as a line. Without (``False``) the ``geometry`` column is empty
            and a large batch runs several times faster; ETAs and distances are the same.

        Returns
        -------
        GeoDataFrame
            One row per (incident, resource) with ``incident_id, resource_id, rank, eta_s,
            distance_m, access_s, geometry`` (the route as a LineString along the roads,
            EPSG:4326), ordered by incident then rank. An incident no resource can reach
            gets one row with no resource and the ``reason`` (beyond the snap limit, its
            road closed, or no route).

        Examples
        --------
        >>> import cim, geopandas as gpd, shapely
        >>> city = cim.sample_city()
        >>> stations = city.layer("facilities").query("kind == 'fire_station'")
        >>> field = gpd.GeoDataFrame({"id": ["far"]}, geometry=[shapely.Point(104.5, 30.66)], crs=4326)
        >>> reason = city.router("fire_engine").dispatch(field, stations)["reason"].iat[0]
        >>> reason.endswith("m from the nearest road, beyond the snap limit of 300 m (max_snap_m)")
        True
        """
        if k < 1:
            raise layers.InputError(f"k must be at least 1, not {k}")
        self._engine.cost(objective)
        incidents = _points(incidents, "incidents")
        resources = _points(resources, "resources")
        if "units" in resources.columns:
            resources = resources[pd.to_numeric(resources["units"], errors="coerce").fillna(0) > 0]
        inc = self.snap(incidents, max_snap_m=max_snap_m)
        res = self.snap(resources, max_snap_m=max_snap_m)
        resource_ids = resources["id"].to_numpy()
        tie_rank = np.argsort(np.argsort(resource_ids.astype(str), kind="stable"))
        batch, reached = nearest(
            self._engine, res, inc, k=k, objective=objective, tie_rank=tie_rank, lines=geometry
        )
        if len(resources) == 0:
            no_route = "no resource with units > 0"
        else:
            no_route = self._unreachable_reason(res)
        lost = np.flatnonzero(~reached)
        reasons = self._cut_off_reasons(inc, max_snap_m)[lost]
        reasons[pd.isna(reasons)] = no_route
        # found routes come ordered by incident then rank; the lost incidents slot in between
        order = np.argsort(np.concatenate([batch.target, lost]), kind="stable")
        nan, none = np.full(len(lost), np.nan), np.full(len(lost), None, dtype=object)

        def column(values, lost_values=nan):
            return np.concatenate([values, lost_values])[order]

        target = column(batch.target, lost)
        frame = pd.DataFrame(
            {
                "incident_id": incidents["id"].to_numpy()[target],
                "resource_id": column(resource_ids[batch.source].astype(object), none),
                "rank": pd.array(column(batch.rank), dtype="Int64"),
                "eta_s": column(batch.eta_s),
                "distance_m": column(batch.distance_m),
                "access_s": column(batch.access_s),
                "incident_snap_m": inc.distance_m[target],
                "resource_snap_m": column(res.distance_m[batch.source]),
                "profile": self.profile.name,
                "reason": column(np.full(len(batch.target), None, dtype=object), reasons),
                "geometry": None if batch.geometry is None else column(batch.geometry, none),
            }
        )
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
