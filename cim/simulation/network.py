"""The road network hour by hour: congestion by hour of day, and roads a storm floods.

A rainfall hyetograph (``hour``, ``rain_mm_h``; hours counted from midnight of the first
simulated day, consecutive) drives the ponding model of :mod:`cim.waterlogging` hour by hour.
The water carried from hour to hour is a single store: each hour adds the rain that the drains
cannot take, ``rain_mm_h * runoff - drainage_mm_h`` (mm over the catchment), and an hour of
lighter rain drains it by the spare drain capacity; the store is never negative. Each hour's
store fills the DEM's depressions (:func:`cim.waterlogging.ponding`) and the roads under water
(:func:`cim.waterlogging.road_closures`) close for the profiles that cannot pass their depth.
Those closures, with the congestion factor of the hour of day (``Profile.congestion``), apply
to every trip that starts in that hour.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import routing
from cim.model import CityModel
from cim.simulation.errors import SimulationError
from cim.waterlogging import (
    DEM,
    FLOODED_REACH_M,
    Basins,
    find_basins,
    ponding,
    read_dem,
    road_closures,
)

__all__ = ["NetworkStates", "read_hyetograph"]


def read_hyetograph(rain) -> pd.DataFrame | None:
    """A hyetograph as a checked DataFrame ``hour``, ``rain_mm_h`` (or None for no rain).

    ``rain`` is a DataFrame or the path of a CSV with those columns. Hours are whole hours
    from midnight of the first simulated day (0-23 on the first day, 24-47 on the second …)
    and must follow each other without gaps; rain must be a number ≥ 0 mm/h.

    Raises
    ------
    SimulationError
        Naming the missing columns, the missing hours, or the hours with negative or no rain.

    Examples
    --------
    >>> import pandas as pd
    >>> read_hyetograph(pd.DataFrame({"hour": [3, 4], "rain_mm_h": [40, 80]}))["rain_mm_h"].tolist()
    [40.0, 80.0]
    >>> read_hyetograph(pd.DataFrame({"hour": [3, 5], "rain_mm_h": [40, 80]}))
    Traceback (most recent call last):
    ...
    cim.simulation.errors.SimulationError: hyetograph: hour 4 is missing between hours 3 and 5; give one row per hour (0 mm/h for a dry hour)
    """
    if rain is None:
        return None
    where = "hyetograph"
    if isinstance(rain, str | Path):
        path = Path(rain)
        if not path.is_file():
            raise SimulationError(f"no hyetograph file {path}", source=str(path))
        where = str(path)
        try:
            rain = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise SimulationError(f"{path} cannot be read as CSV ({err})", source=where) from None
    if not isinstance(rain, pd.DataFrame):
        raise SimulationError(f"rain must be a DataFrame or a CSV path, not {type(rain).__name__}")
    missing = {"hour", "rain_mm_h"} - set(rain.columns)
    if missing:
        raise SimulationError(
            f"{where}: needs columns 'hour' and 'rain_mm_h' (mm/h), missing "
            f"{', '.join(sorted(missing))}; it has {', '.join(map(str, rain.columns))}",
            source=where,
        )
    if rain.empty:
        raise SimulationError(f"{where}: no rows", source=where)
    hour = pd.to_numeric(rain["hour"], errors="coerce")
    bad = hour.isna() | (hour < 0) | (hour != hour.round())
    if bad.any():
        raise SimulationError(
            f"{where}: 'hour' must be whole hours ≥ 0 (rows {list(rain.index[bad][:5])})",
            source=where,
        )
    mm = pd.to_numeric(rain["rain_mm_h"], errors="coerce")
    wrong = mm.isna() | (mm < 0) | ~np.isfinite(mm)
    if wrong.any():
        hours = ", ".join(str(int(h)) for h in hour[wrong][:8])
        raise SimulationError(
            f"{where}: rain_mm_h must be a number ≥ 0; hours {hours} have "
            f"{', '.join(map(str, rain['rain_mm_h'][wrong][:8]))}",
            source=where,
        )
    table = pd.DataFrame({"hour": hour.astype(int), "rain_mm_h": mm.astype(float)})
    repeated = table["hour"][table["hour"].duplicated()]
    if len(repeated):
        raise SimulationError(
            f"{where}: hours {', '.join(map(str, sorted(set(repeated))))} appear more than once",
            source=where,
        )
    table = table.sort_values("hour").reset_index(drop=True)
    gaps = sorted(set(range(table["hour"].min(), table["hour"].max() + 1)) - set(table["hour"]))
    if gaps:
        runs = ", ".join(map(str, gaps[:8]))
        first, last = table["hour"].min(), table["hour"].max()
        noun = "hour" if len(gaps) == 1 else "hours"
        verb = "is" if len(gaps) == 1 else "are"
        raise SimulationError(
            f"{where}: {noun} {runs} {verb} missing between hours {first} and {last}; give "
            "one row per hour (0 mm/h for a dry hour)",
            source=where,
        )
    return table


@lru_cache(maxsize=4)
def _basins(dem_path: str, modified_ns: int) -> tuple[DEM, Basins]:
    """The DEM and its depressions and catchments (cached: they depend on the file alone,
    which ``modified_ns`` tells apart when it is rewritten)."""
    dem = read_dem(dem_path)
    return dem, find_basins(dem)


@lru_cache(maxsize=32)
def _water(dem_path: str, modified_ns: int, store_mm: float, runoff: float, drainage_mm_h: float):
    """The DEM and the water on it when the store holds ``store_mm`` (cached: a storm's hours
    repeat the same stores, and so do the replications and policies of one study)."""
    dem, basins = _basins(dem_path, modified_ns)
    rain_mm_h = (store_mm + drainage_mm_h) / runoff
    _, water = ponding(
        dem,
        rain_mm_h=rain_mm_h,
        hours=1.0,
        runoff=runoff,
        drainage_mm_h=drainage_mm_h,
        basins=basins,
    )
    return dem, water


class NetworkStates:
    """Which router a trip of each profile uses, by simulated hour (slot 0 = the first hour).

    Hours with the same congestion factor and the same flooded road parts closed to the
    profile share one state (and one router, and one cache of travel times).

    Parameters
    ----------
    city : CityModel
    profiles : iterable of str
    hours : float
        Length of the simulation.
    start_hour : int
        Hour of day at which the simulation starts.
    rain : DataFrame, optional
        A hyetograph (:func:`read_hyetograph`); hours before it are dry.
    dem : path, optional
        The DEM for the ponding model; the city's settings DEM by default.
    runoff, drainage_mm_h : float
        As in :func:`cim.waterlogging.ponding`.

    Examples
    --------
    >>> import cim
    >>> states = NetworkStates(cim.sample_city(), ["fire_engine"], hours=3, start_hour=6)
    >>> [states.key("fire_engine", slot)[1] for slot in range(3)]  # 8 am is a peak hour
    [1.0, 1.15, 1.15]
    """

    def __init__(
        self,
        city: CityModel,
        profiles,
        *,
        hours: float,
        start_hour: int = 0,
        rain: pd.DataFrame | None = None,
        dem=None,
        runoff: float = 0.9,
        drainage_mm_h: float = 30.0,
    ):
        self.city, self.start_hour = city, int(start_hour)
        self.profiles = sorted(profiles)
        self.slots = int(np.ceil(hours))
        self.rain = read_hyetograph(rain)
        self._routers: dict[tuple, routing.Router] = {}
        flood = self._flood = self._flood_keys(dem, runoff, drainage_mm_h)
        self._keys: dict[tuple[str, int], tuple] = {}
        closing: dict[tuple[float, str], tuple[bytes, gpd.GeoDataFrame]] = {}
        rows = []
        for slot in range(self.slots):
            hour = self.start_hour + slot
            for name in self.profiles:
                profile = routing.get_profile(name)
                if (flood[slot], name) not in closing:
                    closing[flood[slot], name] = self._closing(flood[slot], name)
                shut, barriers = closing[flood[slot], name]
                key = (name, profile.congestion.get(hour % 24, 1.0), shut)
                self._keys[name, slot] = key
                if key not in self._routers:
                    router = city.router(profile, hour=hour % 24)
                    if len(barriers):
                        router = router.with_closures(barriers, buffer_m=FLOODED_REACH_M)
                    self._routers[key] = router
                closures = self._routers[key].closures
                rows.append(
                    {
                        "hour": hour,
                        "profile": name,
                        "closed_edges": 0
                        if closures is None
                        else int(closures["closed_edges"].iat[0]),
                    }
                )
        self.closures_by_hour = pd.DataFrame(rows, columns=["hour", "profile", "closed_edges"])

    def _closing(self, store: float, profile: str) -> tuple[bytes, gpd.GeoDataFrame]:
        """The flooded roads that close for ``profile`` at ``store``, and a fingerprint of them:
        hours whose water closes the same road parts share one network state."""
        barriers = self._barriers.get(store)
        if barriers is None or len(barriers) == 0:
            return b"", gpd.GeoDataFrame(geometry=[], crs=4326)
        shut = barriers[barriers["closed_for"].map(lambda names: profile in names)]
        fingerprint = b"|".join(sorted(shapely.to_wkb(shut.geometry.values, output_dimension=2)))
        return fingerprint, shut

    def _flood_keys(self, dem, runoff: float, drainage_mm_h: float) -> list[float]:
        """The water store (mm, to 0.1) per slot, and the flooded roads of each store."""
        self._barriers: dict[float, gpd.GeoDataFrame] = {}
        if self.rain is None:
            return [0.0] * self.slots
        dem = dem or self.city.settings.dem
        if dem is None:
            raise SimulationError(
                f"{self.city.name}: rain needs a DEM for the ponding model and this city has "
                "none; pass dem= (a projected GeoTIFF covering its roads) or save the city "
                "with CitySettings(dem=...)"
            )
        by_hour = dict(zip(self.rain["hour"], self.rain["rain_mm_h"], strict=True))
        store, keys = 0.0, []
        for hour in range(
            min(self.start_hour, int(self.rain["hour"].min())), self.start_hour + self.slots
        ):
            store = max(0.0, store + by_hour.get(hour, 0.0) * runoff - drainage_mm_h)
            if hour >= self.start_hour:
                keys.append(round(store, 1))
        for store in sorted(set(keys) - {0.0}):
            surface, water = _water(
                str(dem), Path(dem).stat().st_mtime_ns, store, float(runoff), float(drainage_mm_h)
            )
            self._barriers[store] = road_closures(self.city.layer("roads"), surface, water)
        return keys

    def key(self, profile: str, slot: int) -> tuple:
        """The state of ``profile``'s network in ``slot`` (hours past the last slot keep it)."""
        return self._keys[profile, min(max(slot, 0), self.slots - 1)]

    def router(self, key: tuple) -> routing.Router:
        """The router of a state (:meth:`key`)."""
        return self._routers[key]

    def barriers(self, slot: int) -> gpd.GeoDataFrame:
        """The flooded roads of hour ``slot`` (:func:`cim.waterlogging.road_closures`); empty
        when dry."""
        found = self._barriers.get(self._flood[min(max(slot, 0), self.slots - 1)])
        return found if found is not None else gpd.GeoDataFrame(geometry=[], crs=4326)
