"""Walking distance from every home to the nearest services of each kind, and the GB 50180-2018
living-circle requirements each home meets.

Homes are residential buildings (or all buildings, grid cells, any polygons or points), each at
a point on its surface; services are points (:func:`cim.access.service_points`). Both join the
walking graph at their nearest way, and the straight gaps to it are walked too. One search per
kind from all its services gives every home its ``k`` nearest (:meth:`routing.Router.k_nearest`);
the counts within 300 / 500 / 1,000 m come from cost matrices in blocks of services.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import layers
import routing
from cim.access.network import walking_router
from cim.access.services import SERVICE_KINDS, check_kinds, service_points
from cim.model import CityModel
from layers.standards import FLOOR_HEIGHT_M, LIVING_CIRCLE_M, LIVING_CIRCLES, WALK_SPEED_MPS
from layers.units import unit_layer

__all__ = ["HOMES", "RADII_M", "Access", "accessibility", "requirements"]

HOMES = ("residential", "buildings", "grid")
RADII_M = (300.0, 500.0, 1000.0)
_BLOCK = 256  # services per cost matrix when counting


def requirements(kinds) -> pd.DataFrame:
    """The GB 50180-2018 requirements (circle, kind, walking distance) among ``kinds``.

    Examples
    --------
    >>> requirements(["clinic", "market"]).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'circle': '15min', 'kind': 'clinic', 'distance_m': 1000.0, 'column': '15min_clinic'},
     {'circle': '15min', 'kind': 'market', 'distance_m': 1000.0, 'column': '15min_market'},
     {'circle': '10min', 'kind': 'market', 'distance_m': 500.0, 'column': '10min_market'},
     {'circle': '5min', 'kind': 'clinic', 'distance_m': 300.0, 'column': '5min_clinic'}]
    """
    kinds = check_kinds(kinds)
    rows = [
        {
            "circle": circle,
            "kind": kind,
            "distance_m": LIVING_CIRCLE_M[circle],
            "column": f"{circle}_{kind}",
        }
        for circle, needed in LIVING_CIRCLES.items()
        for kind in needed
        if kind in kinds
    ]
    return pd.DataFrame(rows, columns=["circle", "kind", "distance_m", "column"])


@dataclass
class Access:
    """What :func:`accessibility` found.

    Attributes
    ----------
    homes : GeoDataFrame
        One row per home: ``id``, ``residents`` (the ``population`` column, else floor area
        in m² as a proxy: floors × footprint), ``snap_m`` (straight gap to its way) and
        ``reason`` (why it has no walking distances: no way within the snap limit); per kind
        ``<kind>_1_m`` … ``<kind>_<k>_m`` and ``<kind>_1_id`` … (inf where no service is
        reachable), ``<kind>_n300`` … (services within each radius), ``<kind>_straight_m``;
        per requirement ``<circle>_<kind>`` (met on foot), and ``meets_<circle>`` /
        ``meets_<circle>_straight`` (every requirement checked, on foot / in a straight line).
        Requirement columns are missing (``<NA>``) for homes with a ``reason``.
    services : GeoDataFrame
        The services measured to.
    kinds : list of str
    requirements : DataFrame
        The requirements checked (:func:`requirements`).
    unchecked : dict
        Per circle, the kinds GB 50180-2018 requires that were not among ``kinds``.
    speed_mps : float
        Walking speed, for minutes.
    """

    homes: gpd.GeoDataFrame
    services: gpd.GeoDataFrame
    kinds: list[str]
    requirements: pd.DataFrame
    unchecked: dict[str, list[str]]
    speed_mps: float = WALK_SPEED_MPS
    radii_m: tuple[float, ...] = RADII_M
    home_kind: str = "residential"

    @property
    def circles(self) -> list[str]:
        """The circles with at least one requirement checked, widest first."""
        checked = set(self.requirements["circle"])
        return [c for c in LIVING_CIRCLES if c in checked]

    def summary(self) -> pd.DataFrame:
        """Homes (and residents) meeting each circle, on foot and in a straight line.

        Returns
        -------
        DataFrame
            ``circle, distance_m, kinds, unchecked, homes, measured, walk_homes,
            straight_homes, walk_share, straight_share, walk_residents_share``: ``measured``
            counts the homes with walking distances (the shares are over them).
        """
        homes, rows = self.homes, []
        known = homes["reason"].isna()
        residents = homes["residents"].where(known, 0.0)
        for circle in self.circles:
            walk = homes[f"meets_{circle}"].fillna(False).to_numpy(dtype=bool)
            straight = homes[f"meets_{circle}_straight"].to_numpy(dtype=bool) & known.to_numpy()
            measured = int(known.sum())
            rows.append(
                {
                    "circle": circle,
                    "distance_m": LIVING_CIRCLE_M[circle],
                    "kinds": ", ".join(
                        self.requirements.query("circle == @circle")["kind"].tolist()
                    ),
                    "unchecked": ", ".join(self.unchecked[circle]),
                    "homes": len(homes),
                    "measured": measured,
                    "walk_homes": int(walk.sum()),
                    "straight_homes": int(straight.sum()),
                    "walk_share": walk.sum() / measured if measured else np.nan,
                    "straight_share": straight.sum() / measured if measured else np.nan,
                    "walk_residents_share": (
                        residents[walk].sum() / residents.sum() if residents.sum() else np.nan
                    ),
                }
            )
        return pd.DataFrame(rows)

    def by_unit(self, city: CityModel, level: str = "community") -> pd.DataFrame:
        """Per unit of ``level``, the share of residents meeting each requirement and circle.

        A home counts in the unit holding its point; the shares are over the residents of
        the homes with walking distances (``cut_off`` counts the others).

        Returns
        -------
        DataFrame
            ``level, unit_code, unit_name, homes, residents, cut_off``, then
            ``share_<circle>`` and ``share_<circle>_straight`` for each circle checked and
            ``share_<circle>_<kind>`` for each requirement; units without homes are left out.
        """
        units = city.layer(unit_layer(level)).to_crs(4326)
        points = gpd.GeoDataFrame(
            geometry=self.homes.geometry.representative_point().to_numpy(), crs=4326
        )
        joined = points.sjoin(units[["code", "geometry"]], predicate="within", how="left")
        unit = joined.groupby(level=0)["code"].first().to_numpy()
        homes = pd.DataFrame(self.homes.drop(columns="geometry")).assign(unit_code=unit)
        homes = homes[homes["unit_code"].notna()]
        known = homes["reason"].isna()
        weight = homes["residents"].where(known, 0.0)
        columns = {}
        for circle in self.circles:
            columns[f"share_{circle}"] = f"meets_{circle}"
            columns[f"share_{circle}_straight"] = f"meets_{circle}_straight"
        for column in self.requirements["column"]:
            columns[f"share_{column}"] = column
        met = pd.DataFrame(
            {
                share: weight * homes[source].fillna(False).to_numpy(dtype=bool)
                for share, source in columns.items()
            }
        )
        group = homes["unit_code"]
        table = met.groupby(group).sum().div(weight.groupby(group).sum(), axis=0)
        names = units.set_index("code")["name"] if "name" in units else None
        out = pd.DataFrame(
            {
                "level": level,
                "unit_code": table.index.astype(str),
                "unit_name": None if names is None else names.reindex(table.index).to_numpy(),
                "homes": homes.groupby(group).size().reindex(table.index).to_numpy(),
                "residents": homes["residents"]
                .groupby(group)
                .sum()
                .reindex(table.index)
                .to_numpy(),
                "cut_off": (~known).groupby(group).sum().reindex(table.index).to_numpy(),
            }
        )
        return pd.concat([out, table.reset_index(drop=True)], axis=1)


def _homes(city: CityModel, homes) -> tuple[gpd.GeoDataFrame, str]:
    """The homes as a GeoDataFrame with ``id`` and ``residents``, and what they are."""
    if isinstance(homes, gpd.GeoDataFrame):
        found, what = layers.to_wgs84(homes, kind="homes"), "homes"
    elif homes in ("residential", "buildings"):
        found, what = city.layer("buildings"), homes
        if homes == "residential":
            found = found[found["use"] == "residential"]
    elif homes == "grid":
        found, what = city.layer("grid"), "grid"
    else:
        raise layers.InputError(
            f"homes must be one of {', '.join(HOMES)} or a GeoDataFrame, not {homes!r}"
        )
    if len(found) == 0:
        hint = "; pass homes='buildings' to take every building" if homes == "residential" else ""
        raise layers.EmptyLayerError(what, f"no homes to measure from{hint}")
    ids = found["id"] if "id" in found.columns else found.get("code", found.index.to_series())
    out = gpd.GeoDataFrame({"id": ids.to_numpy()}, geometry=found.geometry.to_numpy(), crs=4326)
    out["residents"] = _residents(found, what)
    return out.reset_index(drop=True), what


def _residents(found: gpd.GeoDataFrame, what: str) -> np.ndarray:
    """``population`` where given, else floor area (floors × footprint m²); 1 a grid cell."""
    if "population" in found.columns:
        return pd.to_numeric(found["population"], errors="coerce").fillna(0.0).to_numpy()
    if what == "grid":
        return np.ones(len(found))
    unknown = pd.Series(np.nan, index=found.index)
    floors = pd.to_numeric(found.get("floors", unknown), errors="coerce")
    heights = pd.to_numeric(found.get("height_m", unknown), errors="coerce")
    floors = floors.fillna((heights / FLOOR_HEIGHT_M).round()).fillna(1.0).clip(lower=1.0)
    area = found.to_crs(layers.crs.metric_crs(found)).area
    return (floors * area).to_numpy()


def _unknown_where(values: np.ndarray, unknown: np.ndarray) -> pd.arrays.BooleanArray:
    out = pd.array(values, dtype="boolean")
    out[unknown] = pd.NA
    return out


def accessibility(
    city: CityModel,
    kinds=("clinic", "school", "market"),
    *,
    homes="residential",
    k: int = 3,
    services: gpd.GeoDataFrame | None = None,
    radii_m=RADII_M,
    speed_mps: float = WALK_SPEED_MPS,
    max_snap_m: float = routing.SNAP_LIMIT_M,
    router: routing.Router | None = None,
) -> Access:
    """Walking distances from every home to the ``k`` nearest services of each kind.

    Parameters
    ----------
    city : CityModel
    kinds : list of str
        Service kinds (:data:`cim.access.SERVICE_KINDS`); each must have at least one
        service in the city (or in ``services``).
    homes : {"residential", "buildings", "grid"} or GeoDataFrame
        Residential buildings (``use == 'residential'``), every building, the grid cells,
        or your own polygons / points (with ``id`` and, optionally, ``population``).
    k : int
        How many nearest services of each kind.
    services : GeoDataFrame, optional
        More services, with a ``kind`` column (e.g. :func:`layers.osm.services_from_osm`).
    radii_m : sequence of float
        Radii (m) to count services within.
    speed_mps : float
        Walking speed, m/s.
    max_snap_m : float
        A home or service farther than this from every walkable way joins none.
    router : routing.Router, optional
        A walking router to use instead of the city's (:func:`cim.access.walking_router`).

    Returns
    -------
    Access

    Examples
    --------
    >>> import cim
    >>> found = accessibility(cim.sample_city(), ["clinic", "market"], k=2)
    >>> found.summary()[["circle", "kinds", "measured"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'circle': '15min', 'kinds': 'clinic, market', 'measured': 166},
     {'circle': '10min', 'kinds': 'market', 'measured': 166},
     {'circle': '5min', 'kinds': 'clinic', 'measured': 166}]
    """
    kinds = check_kinds(kinds)
    if k < 1:
        raise layers.InputError(f"k must be at least 1, not {k}")
    found = service_points(city, kinds, services=services)
    absent = [kind for kind in kinds if not (found["kind"] == kind).any()]
    if absent:
        kind = absent[0]
        raise layers.EmptyLayerError(
            "services",
            f"no {kind} ({SERVICE_KINDS[kind].label}) in {city.name}'s layers; pass services= "
            f"points with kind '{kind}' (layers.osm.services_from_osm reads them from OSM), "
            "or leave it out of kinds",
        )
    table, what = _homes(city, homes)
    router = router if router is not None else walking_router(city, speed_mps=speed_mps)
    points = table.geometry.representative_point()
    snapped = router.snap(points, max_snap_m=max_snap_m)
    cut_off = snapped.cut_off != None  # noqa: E711  (an object array)
    table["snap_m"] = snapped.distance_m
    table["reason"] = np.where(
        cut_off,
        [
            f"{gap:,.0f} m from the nearest walkable way, beyond the snap limit of "
            f"{max_snap_m:g} m (max_snap_m)"
            for gap in np.nan_to_num(snapped.distance_m, nan=np.inf)
        ],
        None,
    )
    metric = router.metric_crs
    home_xy = points.to_crs(metric).to_numpy()
    for kind in kinds:
        mine = found[found["kind"] == kind].reset_index(drop=True)
        near = router.k_nearest(mine, points, k=k, objective="distance", max_snap_m=max_snap_m)
        for rank in range(1, k + 1):
            at = near[near["rank"] == rank]
            metres = np.full(len(table), np.inf)
            ids = np.full(len(table), None, dtype=object)
            metres[at["target"].to_numpy()] = at["cost"].to_numpy()
            ids[at["target"].to_numpy()] = at["source_id"].to_numpy()
            metres[cut_off] = np.nan
            table[f"{kind}_{rank}_m"], table[f"{kind}_{rank}_id"] = metres, ids
        counts = np.zeros((len(radii_m), len(table)))
        for start in range(0, len(mine), _BLOCK):
            block = mine.iloc[start : start + _BLOCK]
            cost = router.cost_matrix(block, points, objective="distance", max_snap_m=max_snap_m)
            counts += (cost.values[None, :, :] <= np.asarray(radii_m)[:, None, None]).sum(axis=1)
        for radius, count in zip(radii_m, counts, strict=True):
            table[f"{kind}_n{radius:g}"] = np.where(cut_off, np.nan, count)
        tree = shapely.STRtree(mine.to_crs(metric).geometry.to_numpy())
        _, straight = tree.query_nearest(home_xy, return_distance=True, all_matches=False)
        table[f"{kind}_straight_m"] = straight
    needed = requirements(kinds)
    for circle in LIVING_CIRCLE_M:
        rows = needed[needed["circle"] == circle]
        if rows.empty:
            continue
        walk = np.ones(len(table), dtype=bool)
        straight = np.ones(len(table), dtype=bool)
        for row in rows.itertuples():
            met = table[f"{row.kind}_1_m"].to_numpy() <= row.distance_m
            table[row.column] = _unknown_where(met, cut_off)
            walk &= met
            straight &= table[f"{row.kind}_straight_m"].to_numpy() <= row.distance_m
        table[f"meets_{circle}"] = _unknown_where(walk, cut_off)
        table[f"meets_{circle}_straight"] = straight
    unchecked = {c: [k for k in LIVING_CIRCLES[c] if k not in kinds] for c in LIVING_CIRCLES}
    return Access(
        homes=table,
        services=found,
        kinds=kinds,
        requirements=needed,
        unchecked=unchecked,
        speed_mps=speed_mps,
        radii_m=tuple(float(r) for r in radii_m),
        home_kind=what,
    )
