"""CIM toolkit: the City Information Model of Chengdu's smart-city programme.

>>> import cim
>>> city = cim.sample_city()
>>> city.router(profile="ambulance").profile.label
'救护车'

The names below and the submodules (``cim.views``, ``cim.vitals``, …) load on first use,
so that ``import cim``, ``import cim.address`` and ``cim --help`` do not wait for OSMnx,
pydeck or rasterio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cim.lazy import lazy_attributes

if TYPE_CHECKING:
    from cim import sample, views
    from cim.model import CityModel
    from cim.sample import sample_city
    from cim.settings import CitySettings

__all__ = ["CityModel", "CitySettings", "sample", "sample_city", "views"]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {"CityModel": "cim.model", "CitySettings": "cim.settings", "sample_city": "cim.sample"},
)
