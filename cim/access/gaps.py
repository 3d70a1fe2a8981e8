"""Homes outside a living circle, and where new services of a kind would close most gaps.

The siting is spopt's (:func:`cim.siting.set_covering`, :func:`cim.siting.maximal_covering`)
on walking distances: from the existing services of the kind (kept open) and candidate
sites on the walking graph to every home the requirement checks.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

import layers
from cim.access.accessibility import Access
from cim.access.network import walking_router
from cim.model import CityModel
from cim.siting import Siting, covered_share, maximal_covering, set_covering

__all__ = ["gaps", "site_services"]


def _requirement(access: Access, circle: str, kind: str | None) -> str:
    """The homes column that says whether each home meets ``circle`` (for ``kind``)."""
    column = f"meets_{circle}" if kind is None else f"{circle}_{kind}"
    if column not in access.homes.columns:
        checked = ", ".join(access.requirements["column"]) or "none"
        raise layers.InputError(
            f"{circle} {'circle' if kind is None else kind} was not checked: the requirements "
            f"checked are {checked} (GB 50180-2018 asks no {kind} of the {circle} circle, or "
            "it was not among the kinds)"
        )
    return column


def gaps(access: Access, circle: str = "15min", *, kind: str | None = None) -> gpd.GeoDataFrame:
    """The homes that do not meet ``circle`` (or its requirement for ``kind``) on foot.

    Homes without walking distances (a ``reason``) are not gaps: they are unknown.

    Examples
    --------
    >>> import cim
    >>> from cim.access import accessibility
    >>> found = accessibility(cim.sample_city(), ["clinic"])
    >>> outside = gaps(found, "5min", kind="clinic")
    >>> len(outside) + int(found.homes["5min_clinic"].sum()) == int(found.homes["reason"].isna().sum())
    True
    """
    met = access.homes[_requirement(access, circle, kind)]
    return access.homes[met.notna().to_numpy() & ~met.fillna(True).to_numpy(dtype=bool)]


def site_services(
    city: CityModel,
    access: Access,
    kind: str,
    *,
    circle: str = "15min",
    count: int | None = None,
    candidates: int = 300,
    seed: int = 0,
) -> Siting:
    """Where new services of ``kind`` would bring the most homes within ``circle``'s distance.

    With ``count``, the ``count`` new sites that serve the most residents (MCLP); without,
    the fewest new sites that serve every home any site can serve (LSCP). Candidate sites
    are ``candidates`` nodes of the walking graph, drawn with ``seed``; the services there
    now are kept.

    Returns
    -------
    cim.siting.Siting
        ``sites`` (``site``, ``kind``, ``circle``, ``distance_m``, geometry) and the shares of
        residents served before and after.

    Examples
    --------
    >>> import cim
    >>> from cim.access import accessibility
    >>> city = cim.sample_city()
    >>> found = accessibility(city, ["clinic"])
    >>> plan = site_services(city, found, "clinic", circle="5min", count=3, candidates=100)
    >>> len(plan.sites), plan.covered_after > plan.covered_before
    (3, True)
    """
    column = _requirement(access, circle, kind)
    radius = float(access.requirements.set_index("column").loc[column, "distance_m"])
    router = walking_router(city, speed_mps=access.speed_mps)
    existing = access.services[access.services["kind"] == kind]
    nodes = pd.DataFrame(
        [(n, d["x"], d["y"]) for n, d in router.graph.nodes(data=True)], columns=["node", "x", "y"]
    ).sample(min(candidates, router.graph.number_of_nodes()), random_state=seed)
    sites = pd.concat(
        [
            gpd.GeoDataFrame({"site": existing["id"].astype(str)}, geometry=existing.geometry),
            gpd.GeoDataFrame(
                {"site": "node:" + nodes["node"].astype(str)},
                geometry=gpd.points_from_xy(nodes["x"], nodes["y"]),
            ),
        ],
        ignore_index=True,
    ).set_crs(4326)
    homes = access.homes[access.homes["reason"].isna()]
    cost = router.cost_matrix(
        sites, homes.geometry.representative_point(), objective="distance"
    ).values.T
    weights = homes["residents"].to_numpy(dtype=float)
    kept = np.arange(len(sites)) < len(existing)
    if count is None:
        servable = (cost <= radius).any(axis=1)
        cost, weights = cost[servable], weights[servable]
        open_ = set_covering(cost, radius, kept)
    else:
        if count < 1:
            raise layers.InputError(f"count must be at least 1 new site, not {count}")
        open_ = maximal_covering(cost, weights, radius, int(kept.sum()) + count, kept)
    new = open_ & ~kept
    return Siting(
        sites[new].assign(kind=kind, circle=circle, distance_m=radius).reset_index(drop=True),
        covered_share(cost, kept, radius, weights),
        covered_share(cost, open_, radius, weights),
    )
