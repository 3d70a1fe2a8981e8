"""CIM toolkit: the City Information Model of Chengdu's smart-city programme.

>>> import cim
>>> city = cim.sample_city()
>>> city.router(profile="ambulance").profile.label
'救护车'
"""

from cim import sample, views
from cim.model import CityModel
from cim.sample import sample_city
from cim.settings import CitySettings

__all__ = ["CityModel", "CitySettings", "sample", "sample_city", "views"]
