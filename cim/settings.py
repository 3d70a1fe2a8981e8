"""Per-city settings carried by a :class:`cim.CityModel` and saved in its ``manifest.json``."""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from pyproj import CRS
from pyproj.exceptions import CRSError

import layers

__all__ = ["CitySettings"]


@dataclass(frozen=True)
class CitySettings:
    """What the toolkit cannot read from a city's layers: where it is, whose data, which CRS.

    Parameters
    ----------
    home : str, optional
        The city's province / city for addresses, as names (``"湖北省武汉市"``) or a
        12-digit division code (``"420100000000"``): a district name shared by several
        cities (青山区, 鼓楼区) is read as the one in ``home``.
    credits : str, optional
        Attribution printed on every map (``"© OpenStreetMap contributors (ODbL)"``); maps
        of a city without credits print none.
    metric_crs : int, optional
        EPSG code of the projected CRS (in metres) for lengths, areas and buffers; by
        default the CGCS2000 3-degree zone of the data (:func:`layers.crs.metric_crs`).
    dem : str or Path, optional
        The city's DEM GeoTIFF for flood scenarios.

    Examples
    --------
    >>> s = CitySettings(home="上海市", metric_crs="EPSG:4549")
    >>> s.metric_crs, CitySettings.from_dict(s.to_dict()) == s
    (4549, True)
    """

    home: str | None = None
    credits: str | None = None
    metric_crs: int | None = None
    dem: Path | None = None

    def __post_init__(self) -> None:
        for name in ("home", "credits"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise layers.InputError(f"city settings: {name} must be text, not {value!r}")
        if self.metric_crs is not None:
            object.__setattr__(self, "metric_crs", _metric_epsg(self.metric_crs))
        if self.dem is not None:
            if not isinstance(self.dem, (str, os.PathLike)):
                raise layers.InputError(f"city settings: dem must be a file path, not {self.dem!r}")
            object.__setattr__(self, "dem", Path(self.dem))

    def to_dict(self, *, relative_to: Path | None = None) -> dict:
        """The settings as JSON values; ``dem`` relative to ``relative_to`` where it can be."""
        out = asdict(self)
        if self.dem is not None:
            dem = self.dem
            if relative_to is not None and dem.is_absolute():
                with contextlib.suppress(ValueError):  # on another drive it stays absolute
                    dem = Path(os.path.relpath(dem, relative_to))
            out["dem"] = dem.as_posix()
        return out

    @classmethod
    def from_dict(cls, data: dict, *, base: Path | None = None) -> CitySettings:
        """Settings from :meth:`to_dict`; a relative ``dem`` is taken from ``base``."""
        if not isinstance(data, dict):
            raise layers.InputError(f"city settings must be a mapping, not {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise layers.InputError(
                f"city settings: unknown {', '.join(map(repr, unknown))}; "
                f"the settings are {', '.join(sorted(known))}"
            )
        settings = cls(**data)
        if settings.dem is not None and base is not None and not settings.dem.is_absolute():
            settings = cls(**{**data, "dem": (base / settings.dem).resolve()})
        return settings


def _metric_epsg(value) -> int:
    try:
        crs = CRS.from_user_input(value)
    except CRSError:
        raise layers.InputError(
            f"city settings: metric_crs {value!r} is not a CRS; give an EPSG code such as 4549"
        ) from None
    epsg = crs.to_epsg()
    unit = crs.axis_info[0].unit_name if crs.axis_info else None
    if epsg is None or not crs.is_projected or unit not in ("metre", "meter"):
        raise layers.InputError(
            f"city settings: metric_crs {value!r} must be a projected CRS in metres with an "
            "EPSG code, such as 4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E)"
        )
    return epsg
