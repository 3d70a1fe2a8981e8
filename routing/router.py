"""Emergency dispatch over the road graph: which unit goes, by which route, how fast."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from rich.progress import track

import layers
from routing.compiled import CompiledGraph
from routing.profiles import Profile, get_profile

__all__ = ["DISPATCH_COLUMNS", "Router"]

DISPATCH_COLUMNS = [
    "incident_id",
    "resource_id",
    "rank",
    "eta_s",
    "distance_m",
    "incident_snap_m",
    "resource_snap_m",
    "profile",
    "reason",
    "geometry",
]


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
    gdf = layers.to_wgs84(gdf, kind=role)
    not_point = (gdf.geom_type != "Point") | gdf.geometry.is_empty
    if not_point.any():
        raise layers.GeometryError(
            role,
            f"{int(not_point.sum())} rows are not points (ids {list(gdf.loc[not_point, 'id'][:5])}); "
            "use gdf.representative_point() for polygons",
            rows=gdf.index[not_point],
        )
    if gdf["id"].duplicated().any():
        raise layers.SchemaError(
            role, "column 'id' has repeated values; ids must be unique", column="id"
        )
    return gdf


def _unreachable(incident_id, snap_m: float, reason: str) -> tuple:
    return (incident_id, None, pd.NA, np.nan, np.nan, snap_m, np.nan, reason, None)


class Router:
    """Shortest-path routing and dispatch for one vehicle profile on a road graph.

    The graph is compiled once to CSR arrays (scipy.sparse.csgraph); results match
    networkx's shortest paths on the same graph.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        Road graph with node ``x``/``y`` and edge ``length``, ``speed_kph`` or
        ``travel_time``, ``road_class`` (see :func:`routing.graph_from_roads`).
    profile : str or Profile
        ``"car"``, ``"fire_engine"``, ``"ambulance"``, ``"police"`` or a custom
        :class:`routing.Profile`.

    Examples
    --------
    >>> import cim
    >>> city = cim.sample_city()
    >>> router = city.router(profile="fire_engine")
    >>> stations = city.layer("facilities").query("kind == 'fire_station'")
    >>> routes = router.dispatch(city.layer("incidents").head(3), stations, k=2)
    >>> list(routes.columns[:6])
    ['incident_id', 'resource_id', 'rank', 'eta_s', 'distance_m', 'incident_snap_m']
    """

    def __init__(self, graph: nx.MultiDiGraph, *, profile: str | Profile = "car"):
        self.graph = graph
        self.profile = get_profile(profile)
        self.engine = CompiledGraph.from_graph(graph, self.profile)

    def __repr__(self) -> str:
        return (
            f"Router(profile={self.profile.name!r}, nodes={len(self.engine.nodes)}, "
            f"edges={len(self.engine.length)})"
        )

    def dispatch(
        self,
        incidents: gpd.GeoDataFrame,
        resources: gpd.GeoDataFrame,
        *,
        k: int = 1,
        objective: str = "time",
        progress: bool = False,
    ) -> gpd.GeoDataFrame:
        """The ``k`` best resources for each incident, with their routes.

        Incidents and resources are snapped to their nearest graph node (the straight-line
        gaps are reported as ``incident_snap_m`` / ``resource_snap_m`` and not added to the
        route). Resources with ``units`` ≤ 0 are not available. Ties break by resource id.

        Parameters
        ----------
        incidents, resources : GeoDataFrame
            Points with an ``id`` column; resources may carry ``units``.
        k : int
            How many resources to rank per incident.
        objective : {"time", "distance"}
            Fastest route (``eta_s``) or shortest route (``distance_m``).
        progress : bool
            Show a progress bar over incidents.

        Returns
        -------
        GeoDataFrame
            One row per (incident, resource) with ``incident_id, resource_id, rank, eta_s,
            distance_m, geometry`` (the route as a LineString along the roads, EPSG:4326),
            ordered by incident then rank. An incident no resource can reach gets one row
            with no resource and the ``reason``.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        self.engine.weights(objective)
        incidents = _points(incidents, "incidents")
        resources = _points(resources, "resources")
        if "units" in resources.columns:
            resources = resources[pd.to_numeric(resources["units"], errors="coerce").fillna(0) > 0]
        engine = self.engine
        inc_node, inc_snap = engine.nearest_nodes(
            incidents.geometry.x.values, incidents.geometry.y.values
        )
        if len(resources) == 0:
            rows = [
                _unreachable(i, s, "no resource with units > 0")
                for i, s in zip(incidents["id"], inc_snap, strict=True)
            ]
            return self._frame(rows)
        res_node, res_snap = engine.nearest_nodes(
            resources.geometry.x.values, resources.geometry.y.values
        )
        sources, source_row = np.unique(res_node, return_inverse=True)
        cost, predecessors = engine.shortest_paths(sources, objective)
        costs = cost[source_row][:, inc_node]
        resource_ids, incident_ids = resources["id"].to_numpy(), incidents["id"].to_numpy()
        tie_break = np.argsort(np.argsort(resource_ids.astype(str), kind="stable"))
        rows = []
        for j in track(
            range(len(incidents)), f"dispatching {self.profile.name}", disable=not progress
        ):
            column = costs[:, j]
            best = [r for r in np.lexsort((tie_break, column))[:k] if np.isfinite(column[r])]
            incident_id = incident_ids[j]
            if not best:
                reason = "no available resource can reach this point on the road graph"
                rows.append(_unreachable(incident_id, inc_snap[j], reason))
            for rank, r in enumerate(best, start=1):
                edges = engine.path_edges(
                    predecessors[source_row[r]], res_node[r], inc_node[j], objective
                )
                rows.append(
                    (
                        incident_id,
                        resource_ids[r],
                        rank,
                        float(engine.travel_time[edges].sum()),
                        float(engine.length[edges].sum()),
                        inc_snap[j],
                        res_snap[r],
                        None,
                        engine.route_line(edges, res_node[r]),
                    )
                )
        return self._frame(rows)

    def _frame(self, rows: list[tuple]) -> gpd.GeoDataFrame:
        frame = pd.DataFrame(rows, columns=[c for c in DISPATCH_COLUMNS if c != "profile"])
        frame.insert(DISPATCH_COLUMNS.index("profile"), "profile", self.profile.name)
        frame["rank"] = frame["rank"].astype("Int64")
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
