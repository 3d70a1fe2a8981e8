"""Vehicle profiles: how fast each vehicle drives on each road class, and how deep it can wade.

The speed factors scale the road's speed (``maxspeed`` or the CJJ 37-2012 class speed); the
result is capped at ``max_speed_kph``. ``congestion`` multiplies travel times by hour of day
(used when a Router is given ``hour=``): ordinary traffic slows ~40% in the 7-9 and 17-19
peaks, emergency vehicles with sirens less. ``max_water_depth_cm`` is the deepest standing water
the vehicle is assumed to pass: GB 51222-2017 calls a lane waterlogged above 15 cm; ordinary
cars are stopped from 30 cm, fire engines much later. ``access_speed_kph`` is the speed over
the straight gap between an incident or station and its nearest road (unmapped lanes and
yards, the last metres on foot): 15 km/h, so 100 m of gap adds 24 s to an ETA. These defaults are planning
assumptions, not measurements: make your own with :func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import layers

__all__ = ["PROFILES", "Profile", "get_profile"]


@dataclass(frozen=True)
class Profile:
    """A vehicle type for routing.

    Examples
    --------
    >>> from dataclasses import replace
    >>> slow_engine = replace(PROFILES["fire_engine"], name="fire_engine_peak", max_speed_kph=40)
    >>> slow_engine.max_speed_kph
    40
    """

    name: str
    label: str
    speed_factor: dict[str, float] = field(default_factory=dict)
    max_speed_kph: float = 120.0
    max_water_depth_cm: float = 30.0
    stations: tuple[str, ...] = ()
    congestion: dict[int, float] = field(default_factory=dict)
    access_speed_kph: float = 15.0

    def speeds(
        self, speed_kph: np.ndarray, road_class: np.ndarray, *, hour: int | None = None
    ) -> np.ndarray:
        """Vehicle speed (km/h) on edges with the given road speeds and classes.

        >>> PROFILES["car"].speeds([50.0], ["arterial"], hour=8).round(1).tolist()
        [35.7]
        """
        factor = np.array([self.speed_factor.get(c, 1.0) for c in road_class], dtype=float)
        free = np.minimum(np.asarray(speed_kph, dtype=float) * factor, self.max_speed_kph)
        if hour is None:
            return free
        if not 0 <= hour <= 23:
            raise layers.InputError(f"hour must be 0-23, not {hour}")
        return free / self.congestion.get(hour, 1.0)


_PEAKS = (7, 8, 17, 18)


def _peaks(factor: float) -> dict[int, float]:
    return dict.fromkeys(_PEAKS, factor)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("car", "小汽车", max_speed_kph=100, max_water_depth_cm=30, congestion=_peaks(1.4)),
        Profile(
            "fire_engine",
            "消防车",
            {"expressway": 0.9, "arterial": 0.9, "secondary": 0.85, "branch": 0.75, "other": 0.6},
            max_speed_kph=80,
            max_water_depth_cm=50,
            stations=("fire_station",),
            congestion=_peaks(1.15),
        ),
        Profile(
            "ambulance",
            "救护车",
            {"expressway": 1.1, "arterial": 1.1, "secondary": 1.05, "branch": 0.95, "other": 0.9},
            max_speed_kph=100,
            max_water_depth_cm=30,
            stations=("ambulance_base", "hospital"),
            congestion=_peaks(1.15),
        ),
        Profile(
            "police",
            "警车",
            {"expressway": 1.1, "arterial": 1.1, "secondary": 1.1, "branch": 1.0, "other": 0.9},
            max_speed_kph=110,
            max_water_depth_cm=35,
            stations=("police",),
            congestion=_peaks(1.15),
        ),
    )
}


def get_profile(profile: str | Profile) -> Profile:
    """Look a profile up by name (or pass a :class:`Profile` through).

    Examples
    --------
    >>> get_profile("ambulance").label
    '救护车'
    """
    if isinstance(profile, Profile):
        return profile
    if profile not in PROFILES:
        raise layers.InputError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[profile]
