"""Emergency dispatch over the road graph: which unit goes, by which route, how fast."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

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
    ) -> gpd.GeoDataFrame:
        """The ``k`` best resources for each incident, with their routes.

        Incidents and resources are snapped to their nearest road edge; the distance along
        the edge to its ends counts, and on a two-way street both directions may be taken.
        The straight gap from each point to the road is reported (``incident_snap_m``,
        ``resource_snap_m``) but not added to the route. Resources with ``units`` ≤ 0 are
        not available. Ties break by resource id. One Dijkstra call from all resources
        answers the whole batch.

        Parameters
        ----------
        incidents, resources : GeoDataFrame
            Points with an ``id`` column; resources may carry ``units``.
        k : int
            How many resources to rank per incident.
        objective : {"time", "distance"}
            Fastest route (``eta_s``) or shortest route (``distance_m``).

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
        inc = engine.snap(incidents.geometry.x.values, incidents.geometry.y.values)
        incident_ids = incidents["id"].to_numpy()
        if len(resources) == 0:
            rows = [
                _unreachable(i, gap, "no resource with units > 0")
                for i, gap in zip(incident_ids, inc.distance_m, strict=True)
            ]
            return self._frame(rows)
        res = engine.snap(resources.geometry.x.values, resources.geometry.y.values)
        resource_ids = resources["id"].to_numpy()
        tie_rank = np.argsort(np.argsort(resource_ids.astype(str), kind="stable"))
        batch, reachable = engine.route(res, inc, k=k, objective=objective, tie_rank=tie_rank)
        found = pd.DataFrame(
            {
                "incident_id": incident_ids[batch.target],
                "resource_id": resource_ids[batch.source],
                "rank": batch.rank,
                "eta_s": batch.eta_s,
                "distance_m": batch.distance_m,
                "incident_snap_m": inc.distance_m[batch.target],
                "resource_snap_m": res.distance_m[batch.source],
                "reason": None,
                "geometry": batch.geometry,
                "_order": batch.target,
            }
        )
        stranded = np.flatnonzero(reachable == 0)
        lost = pd.DataFrame(
            [
                _unreachable(
                    incident_ids[j],
                    inc.distance_m[j],
                    "no available resource can reach this point on the road graph",
                )
                for j in stranded
            ],
            columns=[c for c in DISPATCH_COLUMNS if c != "profile"],
        ).assign(_order=stranded)
        rows = pd.concat([found, lost], ignore_index=True).sort_values(
            ["_order", "rank"], kind="stable"
        )
        return self._frame(list(rows.drop(columns="_order").itertuples(index=False, name=None)))

    def _frame(self, rows: list[tuple]) -> gpd.GeoDataFrame:
        frame = pd.DataFrame(rows, columns=[c for c in DISPATCH_COLUMNS if c != "profile"])
        frame.insert(DISPATCH_COLUMNS.index("profile"), "profile", self.profile.name)
        frame["rank"] = frame["rank"].astype("Int64")
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
