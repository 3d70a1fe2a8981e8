"""The everyday services a living circle must hold, by kind, and where a city's layers hold them.

A kind is found in the ``facilities`` layer (by its ``kind``), in the ``buildings`` layer (by
the OSM ``building`` tag) and in any services layer given (points with a ``kind`` column
naming a kind here, such as :func:`layers.osm.services_from_osm` gives).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

import layers
from cim.model import CityModel

__all__ = ["SERVICE_KINDS", "ServiceKind", "service_points"]


@dataclass(frozen=True)
class ServiceKind:
    """A kind of everyday service: its name in Chinese, and the values that mark it in the
    ``facilities`` layer's ``kind`` and the ``buildings`` layer's ``building`` columns."""

    label: str
    facilities: tuple[str, ...] = ()
    buildings: tuple[str, ...] = ()


SERVICE_KINDS = {
    "clinic": ServiceKind("医疗卫生", ("hospital",), ("hospital", "clinic")),
    "school": ServiceKind("中小学", (), ("school",)),
    "kindergarten": ServiceKind("幼儿园", (), ("kindergarten",)),
    "market": ServiceKind(
        "菜市场/超市/商业", (), ("retail", "supermarket", "marketplace", "commercial")
    ),
    "elderly_care": ServiceKind("养老服务", (), ("nursing_home",)),
    "sports": ServiceKind("运动场地", (), ("sports_hall", "sports_centre", "stadium")),
    "park": ServiceKind("公园绿地", (), ()),
}


def check_kinds(kinds) -> list[str]:
    """``kinds`` as a list of known kind names, else InputError naming the known ones."""
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    unknown = [k for k in kinds if k not in SERVICE_KINDS]
    if unknown or not kinds:
        lead = f"unknown service kind {unknown[0]!r}" if unknown else "no service kind given"
        raise layers.InputError(f"{lead}; choose from {', '.join(SERVICE_KINDS)}")
    return list(dict.fromkeys(kinds))


def service_points(
    city: CityModel, kinds, *, services: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Every service of ``kinds`` the city's layers (and ``services``) hold, as points.

    Parameters
    ----------
    city : CityModel
    kinds : str or list of str
        Names from :data:`SERVICE_KINDS`.
    services : GeoDataFrame, optional
        More services: points (or polygons, taken at a point inside) with ``kind`` and,
        optionally, ``id`` and ``name`` columns.

    Returns
    -------
    GeoDataFrame
        ``id, kind, name, source, geometry`` (EPSG:4326), ``source`` the layer each came
        from; ids are prefixed with it, so they are unique.

    Examples
    --------
    >>> import cim
    >>> found = service_points(cim.sample_city(), ["clinic", "school"])
    >>> found.groupby("kind")["source"].unique().map(list).to_dict()
    {'clinic': ['facilities'], 'school': ['buildings']}
    """
    kinds = check_kinds(kinds)
    frames = []
    present = city.layers
    for layer, column, field in (
        ("facilities", "kind", "facilities"),
        ("buildings", "building", "buildings"),
    ):
        if layer not in present or column not in present[layer].columns:
            continue
        table = present[layer]
        marks = {value: k for k in kinds for value in getattr(SERVICE_KINDS[k], field)}
        hit = table[column].map(marks)
        frames.append(_points(table[hit.notna()], hit[hit.notna()], layer))
    if services is not None:
        if "kind" not in services.columns:
            raise layers.SchemaError(
                "services", "needs a 'kind' column naming each service's kind", column="kind"
            )
        services = layers.to_wgs84(services, kind="services")
        rows = services[services["kind"].isin(kinds)]
        frames.append(_points(rows, rows["kind"], "services"))
    found = pd.concat(frames, ignore_index=True) if frames else _points(None, None, "")
    return gpd.GeoDataFrame(found, geometry="geometry", crs=4326)


def _points(rows: gpd.GeoDataFrame | None, kind: pd.Series | None, source: str) -> gpd.GeoDataFrame:
    if rows is None:
        return gpd.GeoDataFrame(
            {"id": [], "kind": [], "name": [], "source": []}, geometry=[], crs=4326
        )
    ids = rows["id"] if "id" in rows.columns else pd.Series(rows.index, index=rows.index)
    names = rows["name"] if "name" in rows.columns else pd.Series(None, index=rows.index)
    return gpd.GeoDataFrame(
        {
            "id": (source + ":" + ids.astype(str)).to_numpy(),
            "kind": kind.to_numpy(),
            "name": names.to_numpy(),
            "source": source,
        },
        geometry=rows.geometry.representative_point().to_numpy(),
        crs=4326,
    )
