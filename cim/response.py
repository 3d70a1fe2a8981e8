"""Who responds to what: incident kinds mapped to vehicle profiles, and city-wide dispatch."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

import routing
from cim.model import CityModel
from routing.closures import FLOODED_REACH_M

__all__ = ["RESPONSE", "dispatch_incidents"]

# incident kind -> vehicle profile; the profile's `stations` say which facilities send it
RESPONSE = {
    "fire": "fire_engine",
    "medical": "ambulance",
    "traffic": "police",
    "public_security": "police",
}


def dispatch_incidents(
    city: CityModel,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    k: int = 1,
    objective: str = "time",
    response: dict[str, str] | None = None,
    closures: gpd.GeoDataFrame | None = None,
    max_snap_m: float = routing.SNAP_LIMIT_M,
) -> gpd.GeoDataFrame:
    """Dispatch every incident with the vehicle its kind calls for, from the city's facilities.

    Parameters
    ----------
    city : CityModel
        Needs ``roads`` and ``facilities`` layers.
    incidents : GeoDataFrame, optional
        Incidents layer; the city's ``incidents`` layer by default.
    k, objective
        As in :meth:`routing.Router.dispatch`.
    response : dict, optional
        Incident kind → profile name; :data:`RESPONSE` by default. Incidents of a kind not
        in it get a row with the reason instead of a route.
    closures : GeoDataFrame, optional
        Barriers (e.g. flooded roads with ``depth_cm``) applied to each vehicle's router
        (see :meth:`routing.Router.with_closures`).
    max_snap_m : float
        Incidents and stations farther than this from every road are unreachable, with the
        reason; the gap from a point to its road counts in the ETA (see
        :meth:`routing.Router.dispatch`).

    Returns
    -------
    GeoDataFrame
        The dispatch columns plus ``incident_kind``, ``priority``, ``resource_kind`` and
        ``resource_name``, in the incidents' order.

    Examples
    --------
    >>> import cim
    >>> routes = dispatch_incidents(cim.sample_city())
    >>> lost = routes[routes["eta_s"].isna()]  # the incidents more than 300 m from any road
    >>> len(lost), lost["reason"].str.contains("beyond the snap limit").all()
    (5, np.True_)
    """
    response = RESPONSE if response is None else response
    incidents = city.layer("incidents") if incidents is None else incidents
    facilities = city.layer("facilities")
    responders = incidents["kind"].map(response)
    unknown = incidents[responders.isna()]
    parts = [
        pd.DataFrame(
            {
                "incident_id": unknown["id"].to_numpy(),
                "reason": [
                    f"no responder is defined for incident kind {k!r}" for k in unknown["kind"]
                ],
            }
        )
    ]
    for name, group in incidents[responders.notna()].groupby(responders.dropna(), sort=False):
        profile = routing.get_profile(name)
        stations = (
            facilities[facilities["kind"].isin(profile.stations)]
            if profile.stations
            else facilities
        )
        router = city.router(profile)
        if closures is not None and len(closures):
            router = router.with_closures(closures, buffer_m=FLOODED_REACH_M)
        parts.append(
            router.dispatch(group, stations, k=k, objective=objective, max_snap_m=max_snap_m)
        )
    routes = pd.concat(parts, ignore_index=True)
    routes["profile"] = routes["profile"].astype(object)
    info = incidents.set_index("id")
    routes["incident_kind"] = routes["incident_id"].map(info["kind"])
    routes["priority"] = routes["incident_id"].map(info["priority"])
    names = facilities.set_index("id")
    routes["resource_kind"] = routes["resource_id"].map(names["kind"])
    routes["resource_name"] = routes["resource_id"].map(names["name"])
    order = {incident_id: i for i, incident_id in enumerate(incidents["id"])}
    routes = routes[
        [*routing.DISPATCH_COLUMNS, "incident_kind", "priority", "resource_kind", "resource_name"]
    ]
    routes = routes.sort_values(
        ["incident_id", "rank"], key=lambda s: s.map(order) if s.name == "incident_id" else s
    )
    return gpd.GeoDataFrame(routes.reset_index(drop=True), geometry="geometry", crs=4326)
