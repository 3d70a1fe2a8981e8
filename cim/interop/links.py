"""一标多实 links: the standard addresses of each building, for the exported attributes."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

__all__ = ["LINK_COLUMNS", "address_links"]

LINK_COLUMNS = ["address_ids", "address_codes", "address"]


def address_links(city, buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    """The standard addresses each building carries, from the city's address base.

    A building is linked to the records that name it (a named building is a place-name
    record whose ``source_ids`` hold its id) and to the address points inside its footprint.

    Parameters
    ----------
    city : CityModel
        Its ``addresses`` (with its named buildings and districts) build the base's records
        as :meth:`cim.address.AddressBase.from_city` does.
    buildings : GeoDataFrame
        ``id`` and footprints (any CRS).

    Returns
    -------
    DataFrame
        Indexed by building id: ``address_ids`` and ``address_codes`` (lists, in address id
        order) and ``address`` (the first standard address). Buildings without an address
        are absent; a city without addresses gives an empty frame.

    Examples
    --------
    >>> import cim
    >>> city = cim.sample_city()
    >>> links = address_links(city, city.layer("buildings"))
    >>> links.loc["relation/3228848", "address"]
    '四川省成都市青羊区四川科技馆'
    """
    if "addresses" not in city.layers:
        return pd.DataFrame(columns=LINK_COLUMNS)
    from cim.address import AddressBase

    present = city.layers  # the records need no roads or finer units: those serve lookups
    records = AddressBase.from_layer(
        present["addresses"],
        buildings=present.get("buildings"),
        districts=present.get("districts"),
        home=city.settings.home,
        metric_crs=city.metric_crs,
    ).records
    footprints = buildings[["id", "geometry"]].to_crs(4326)
    ids = set(footprints["id"])
    pairs = {
        (source, position)
        for position, sources in enumerate(records["source_ids"])
        for source in sources
        if source in ids
    }
    inside = gpd.sjoin(records[["geometry"]].reset_index(drop=True), footprints, predicate="within")
    pairs |= set(zip(inside["id"], inside.index, strict=True))
    if not pairs:
        return pd.DataFrame(columns=LINK_COLUMNS)
    found = pd.DataFrame(sorted(pairs), columns=["id", "position"])
    found = found.join(records[["address_id", "code", "standard"]], on="position")
    found = found.sort_values(["id", "address_id"])
    grouped = found.groupby("id", sort=True)
    return pd.DataFrame(
        {
            "address_ids": grouped["address_id"].agg(list),
            "address_codes": grouped["code"].agg(list),
            "address": grouped["standard"].first(),
        }
    )
