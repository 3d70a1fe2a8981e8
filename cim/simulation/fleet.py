"""The fleet: emergency units at their stations, one per vehicle in a facility's ``units``.

Each vehicle profile (:data:`routing.PROFILES`) lists the facility kinds that house it
(``Profile.stations``: fire engines at fire stations, ambulances at ambulance bases and
hospitals, police cars at police stations); a facility sends as many units as its ``units``
column says (1 without the column). Incident kinds map onto profiles as in
:data:`cim.response.RESPONSE`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

import layers
import routing
from cim.response import RESPONSE
from cim.simulation.errors import SimulationError

__all__ = ["STATES", "Fleet", "Unit", "build_fleet"]

STATES = ("idle", "en_route", "on_scene", "transporting", "returning", "relocating")
"""What a unit is doing. Only an ``idle`` unit (at its post, or cleared at a scene) is sent."""


@dataclass(eq=False)
class Unit:
    """One vehicle: where it is based (``post``, a place index), where it is, what it does."""

    id: str
    profile: str
    station_id: str
    home: int
    post: int
    place: int
    state: str = "idle"
    busy_since: float | None = None
    busy_s: float = 0.0

    @property
    def sort_key(self) -> tuple[str, str]:
        """Ties between equally near units break by station id, then unit id."""
        return self.station_id, self.id


@dataclass
class Fleet:
    """Units by profile, and the places (stations, hospitals) the travel model needs.

    ``places`` is a GeoDataFrame (EPSG:4326) with ``id`` and ``role`` (``station`` or
    ``hospital``); units and stations refer to its positions.
    """

    units: list[Unit]
    places: gpd.GeoDataFrame
    stations: dict[str, np.ndarray] = field(default_factory=dict)
    hospitals: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    response: dict[str, str] = field(default_factory=dict)

    def of(self, profile: str) -> list[Unit]:
        return [u for u in self.units if u.profile == profile]


def build_fleet(facilities: gpd.GeoDataFrame, *, response: dict[str, str] | None = None) -> Fleet:
    """The units that serve the incident kinds of ``response`` (:data:`cim.response.RESPONSE`).

    Raises
    ------
    SimulationError
        When no facility houses a unit of any profile the response uses (no ``units`` ≥ 1).

    Examples
    --------
    >>> import cim
    >>> fleet = build_fleet(cim.sample_city().layer("facilities"))
    >>> sorted({u.profile for u in fleet.units}), len(fleet.of("fire_engine"))
    (['ambulance', 'fire_engine', 'police'], 18)
    """
    response = dict(RESPONSE if response is None else response)
    facilities = layers.to_wgs84(facilities, kind="facilities")
    count = (
        pd.to_numeric(facilities["units"], errors="coerce").fillna(0).clip(lower=0).astype(int)
        if "units" in facilities.columns
        else pd.Series(1, index=facilities.index)
    )
    profiles = sorted(set(response.values()))
    rows, units, stations = [], [], {}
    for name in profiles:
        profile = routing.get_profile(name)
        here = facilities[facilities["kind"].isin(profile.stations) & (count > 0)]
        here = here.sort_values("id", key=lambda s: s.astype(str))
        positions = []
        for facility_id, geometry, n in zip(
            here["id"].astype(str), here.geometry, count[here.index], strict=True
        ):
            place = len(rows)
            rows.append({"id": facility_id, "role": "station", "geometry": geometry})
            positions.append(place)
            units += [
                Unit(f"{facility_id}#{name}{k + 1}", name, facility_id, place, place, place)
                for k in range(n)
            ]
        stations[name] = np.array(positions, dtype=int)
    if not units:
        kinds = sorted({k for p in profiles for k in routing.get_profile(p).stations})
        raise SimulationError(
            f"facilities: the fleet has no units: no facility of kind {', '.join(kinds)} has "
            "units ≥ 1; set the 'units' column (vehicles per station) of those facilities"
        )
    hospital_rows = facilities[facilities["kind"] == "hospital"]
    hospitals = np.arange(len(rows), len(rows) + len(hospital_rows))
    rows += [
        {"id": str(i), "role": "hospital", "geometry": g}
        for i, g in zip(hospital_rows["id"], hospital_rows.geometry, strict=True)
    ]
    places = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    return Fleet(units, places, stations, hospitals, response)
