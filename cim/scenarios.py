"""The batch jobs as library calls: a dispatch job and a rainfall scenario.

Each function does the work of one ``cim`` command and returns a result object that a notebook
can use as it is (routes, before / after comparison, bad input rows, ponds, flooded roads); the
object's ``write`` renders it into a report folder, as the command does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

import layers
import routing
from cim.atomic import atomic_path, write_text
from cim.model import CityModel
from cim.reports import flood_report, snap_note, write_dispatch_report
from cim.response import dispatch_incidents
from cim.tables import read_points
from cim.views import city_view, export_html, waterlogging_view
from cim.views.static import flood_map
from cim.waterlogging import check_coverage, ponding, read_dem, road_closures

__all__ = ["DispatchScenario", "FloodScenario", "dispatch_scenario", "flood_scenario"]


@dataclass
class DispatchScenario:
    """What :func:`dispatch_scenario` found.

    Attributes
    ----------
    routes : GeoDataFrame
        :data:`routing.DISPATCH_COLUMNS` (plus ``incident_kind`` when the incidents have a
        ``kind``); with closures, the routes under them.
    incidents, resources : GeoDataFrame
        The rows that were used, in EPSG:4326.
    bad_rows : DataFrame
        ``file, row, id, reason`` for every input row left out.
    profile : str
        The vehicle profile.
    notes : list of str
        How points join the roads, for the report.
    closures : GeoDataFrame, optional
        The barriers applied, in EPSG:4326.
    comparison : DataFrame, optional
        With closures: :func:`routing.compare_dispatch` of the routes without and with them.
    closed_edges : int, optional
        With closures: how many road segments they close for the profile.
    """

    routes: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame
    resources: gpd.GeoDataFrame
    bad_rows: pd.DataFrame
    profile: str
    notes: list[str] = field(default_factory=list)
    closures: gpd.GeoDataFrame | None = None
    comparison: pd.DataFrame | None = None
    closed_edges: int | None = None

    @property
    def unusable(self) -> list[str]:
        """``"incidents"`` and / or ``"resources"`` when no row of that input could be used."""
        return [
            name
            for name, rows in (("incidents", self.incidents), ("resources", self.resources))
            if rows.empty
        ]

    def write(self, out, city: CityModel, *, notes=()) -> dict[str, Path]:
        """Write ``routes.csv``, ``routes.geojson``, ``report.md``, ``bad_rows.csv``, ``map.png``
        and the offline ``map.html`` into the folder ``out``; ``notes`` go first in the report.
        The maps draw the routes, the incidents, the stations and the closures.

        Returns the written paths by name (see :func:`cim.reports.write_dispatch_report`).
        """
        paths = write_dispatch_report(
            self.routes,
            out,
            title=f"出警调度报告 · {self.profile}",
            notes=[*notes, *self.notes],
            bad_rows=self.bad_rows,
            comparison=self.comparison,
            city=None if self.unusable else city,
            incidents=self.incidents,
            resources=self.resources,
            closures=self.closures,
        )
        if not self.unusable:
            paths["map"] = export_html(
                city_view(
                    city, routes=self.routes, incidents=self.incidents, closures=self.closures
                ),
                Path(out) / "map.html",
                title="CIM 出警调度",
            )
        return paths


def dispatch_scenario(
    city: CityModel,
    incidents,
    resources,
    *,
    closures=None,
    k: int = 1,
    profile: str = "car",
    hour: int | None = None,
    max_snap_m: float = routing.SNAP_LIMIT_M,
    crs: str = "EPSG:4326",
    encoding: str | None = None,
) -> DispatchScenario:
    """Dispatch units of one vehicle profile to incidents, with and without closures.

    Parameters
    ----------
    city : CityModel
        Its road graph carries the routes; its roads, buildings and districts bound where
        input points may lie.
    incidents, resources : path or GeoDataFrame
        Points with ``id`` (resources may have ``units``). A file (CSV with lon/lat,
        GeoJSON, GeoPackage, Shapefile, GeoParquet) is read with
        :func:`cim.tables.read_points`: rows that cannot be used are left out and listed in
        ``bad_rows``, and a file that lines up with the city only as GCJ-02 is refused.
    closures : path or GeoDataFrame, optional
        Barriers (``depth_cm``, ``factor``; see :func:`routing.read_barriers`): the routes are
        computed without and with them and compared.
    k, profile, hour, max_snap_m
        As in :meth:`routing.Router.dispatch` and :class:`routing.Router`.
    crs, encoding
        What the lon/lat of CSV inputs are and their text encoding (see
        :func:`cim.tables.read_points`).

    Returns
    -------
    DispatchScenario
        With no usable incident or resource, ``routes`` is empty and ``unusable`` says which.

    Examples
    --------
    >>> import cim
    >>> city = cim.sample_city()
    >>> fires = city.layer("incidents").query("kind == 'fire'")
    >>> stations = city.layer("facilities").query("kind == 'fire_station'")
    >>> job = dispatch_scenario(city, fires, stations, profile="fire_engine")
    >>> len(job.routes) == len(fires), job.bad_rows.empty
    (True, True)
    """
    if not max_snap_m > 0:
        raise layers.InputError(f"max_snap_m must be more than 0 metres, not {max_snap_m:g}")
    router = city.router(profile, hour=hour)
    references = city.references()
    wanted, bad_incidents = _points(incidents, "incidents", crs, encoding, references)
    units, bad_resources = _points(resources, "resources", crs, encoding, references)
    job = DispatchScenario(
        routes=gpd.GeoDataFrame(columns=routing.DISPATCH_COLUMNS, geometry="geometry", crs=4326),
        incidents=wanted,
        resources=units,
        bad_rows=pd.concat([bad_incidents, bad_resources], ignore_index=True),
        profile=profile,
        notes=[snap_note(max_snap_m, router.profile.access_speed_kph)],
    )
    if job.unusable:
        return job
    job.routes = router.dispatch(wanted, units, k=k, max_snap_m=max_snap_m)
    if closures is not None:
        job.closures = (
            closures if isinstance(closures, gpd.GeoDataFrame) else routing.read_barriers(closures)
        )
        closed = router.with_closures(job.closures)
        before, job.routes = job.routes, closed.dispatch(wanted, units, k=k, max_snap_m=max_snap_m)
        job.comparison = routing.compare_dispatch(before, job.routes)
        job.closed_edges = int(closed.closures["closed_edges"].iat[0])
    if "kind" in wanted.columns:
        job.routes["incident_kind"] = job.routes["incident_id"].map(wanted.set_index("id")["kind"])
    return job


def _points(source, role: str, crs: str, encoding: str | None, references):
    if isinstance(source, gpd.GeoDataFrame):
        return source, pd.DataFrame(columns=["file", "row", "id", "reason"])
    return read_points(source, role, crs=crs, encoding=encoding, reference=references)


@dataclass
class FloodScenario:
    """What :func:`flood_scenario` found.

    Attributes
    ----------
    ponds : GeoDataFrame
        Every depression of the DEM with the water it holds (see
        :func:`cim.waterlogging.ponding`).
    closures : GeoDataFrame
        Flooded road segments with ``depth_cm`` and ``closed_for`` (see
        :func:`cim.waterlogging.road_closures`).
    comparison : DataFrame, optional
        When the city has incidents and a road is flooded: first-unit ETAs of
        :func:`cim.response.dispatch_incidents` before and after the closures.
    dem : Path
        The DEM used.
    synthetic_dem : bool
        Whether that DEM is made up (tagged ``SYNTHETIC=yes``, see
        :func:`cim.waterlogging.synthetic_dem`); the report says so.
    dem_coverage : float
        Share of the road length on DEM cells with data.
    rain : dict
        ``rain_mm_h``, ``hours``, ``runoff`` and ``drainage_mm_h``.
    """

    ponds: gpd.GeoDataFrame
    closures: gpd.GeoDataFrame
    comparison: pd.DataFrame | None
    dem: Path
    synthetic_dem: bool
    dem_coverage: float
    rain: dict[str, float]

    @property
    def wet(self) -> gpd.GeoDataFrame:
        """The ponds that hold water."""
        return self.ponds[self.ponds["water_m3"] > 0]

    def write(self, out, city: CityModel) -> dict[str, Path]:
        """Write ``ponding.geojson`` (the wet ponds), ``closures.geojson``, ``report.md`` and,
        when anything is wet, ``map.png`` and the offline ``map.html`` into the folder ``out``.

        Returns the written paths by name.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "ponding": out / "ponding.geojson",
            "closures": out / "closures.geojson",
            "markdown": out / "report.md",
        }
        if len(self.closures) or len(self.wet):
            paths["png"] = flood_map(city, self.ponds, self.closures, out / "map.png")
            paths["map"] = export_html(
                waterlogging_view(city, points=self.wet, closures=self.closures, title="内涝情景"),
                out / "map.html",
                title="CIM 内涝情景",
            )
        closed_for = self.closures["closed_for"].map(",".join)
        for key, frame in (
            ("ponding", self.wet),
            ("closures", self.closures.assign(closed_for=closed_for)),
        ):
            with atomic_path(paths[key]) as tmp:
                frame.to_file(tmp, driver="GeoJSON")
        write_text(
            paths["markdown"],
            flood_report(
                self.ponds,
                self.closures,
                self.comparison,
                **self.rain,
                synthetic_dem=self.synthetic_dem,
                image=paths["png"].name if "png" in paths else None,
            ),
        )
        return paths


def flood_scenario(
    city: CityModel,
    *,
    rain_mm_h: float,
    hours: float,
    dem=None,
    runoff: float = 0.9,
    drainage_mm_h: float = 30.0,
) -> FloodScenario:
    """Rainfall scenario: ponding in the DEM's depressions, flooded roads, dispatch before / after.

    Parameters
    ----------
    city : CityModel
        Needs ``roads``; with ``incidents`` and ``facilities`` the incidents are dispatched
        before and after the flooded roads close.
    rain_mm_h, hours, runoff, drainage_mm_h
        As in :func:`cim.waterlogging.ponding`.
    dem : path, optional
        A projected GeoTIFF covering the city's roads; the city's settings DEM by default
        (:attr:`cim.CitySettings.dem`, the synthetic DEM for the sample). A city without one
        is an :class:`layers.InputError`, and a DEM of another place a
        :class:`cim.waterlogging.DEMError`.

    Examples
    --------
    >>> import cim
    >>> storm = flood_scenario(cim.sample_city(), rain_mm_h=60, hours=1)
    >>> len(storm.wet) > 0, storm.comparison is not None
    (True, True)
    """
    dem = dem or city.settings.dem
    if dem is None:
        raise layers.InputError(
            f"{city.name}: this city has no DEM; pass a DEM (a projected GeoTIFF covering its "
            "roads, --dem DEM.tif on the command line) or save the city with "
            "CitySettings(dem=...). The synthetic sample DEM covers only the Chengdu sample."
        )
    surface = read_dem(dem)
    covered = check_coverage(surface, city.layer("roads"))
    rain = {
        "rain_mm_h": rain_mm_h,
        "hours": hours,
        "runoff": runoff,
        "drainage_mm_h": drainage_mm_h,
    }
    ponds, water = ponding(surface, **rain)
    closures = road_closures(city.layer("roads"), surface, water)
    comparison = None
    if "incidents" in city.layers and len(closures):
        before = dispatch_incidents(city)
        after = dispatch_incidents(city, closures=closures)
        comparison = routing.compare_dispatch(before, after)
    return FloodScenario(ponds, closures, comparison, Path(dem), surface.synthetic, covered, rain)
