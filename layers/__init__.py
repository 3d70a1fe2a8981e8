"""GeoPandas layers of the city: schemas, validation, readers, coordinate systems.

>>> import layers
>>> layers.KINDS[:3]
('districts', 'streets', 'communities')
"""

from layers import crs, standards, units
from layers.encoding import TextEncodingWarning
from layers.errors import CimError, CimWarning, InputError, MissingError
from layers.grid import unit_grid
from layers.io import load, to_wgs84
from layers.osm import from_osm
from layers.schema import (
    ADDRESS_FIELDS,
    FACILITY_KINDS,
    KINDS,
    ROAD_CLASSES,
    CRSError,
    EmptyLayerError,
    GeometryError,
    LayerError,
    SchemaError,
    validate,
)
from layers.sumo import from_sumo

__all__ = [
    "ADDRESS_FIELDS",
    "FACILITY_KINDS",
    "KINDS",
    "ROAD_CLASSES",
    "CRSError",
    "CimError",
    "CimWarning",
    "EmptyLayerError",
    "GeometryError",
    "InputError",
    "LayerError",
    "MissingError",
    "SchemaError",
    "TextEncodingWarning",
    "crs",
    "from_osm",
    "from_sumo",
    "load",
    "standards",
    "to_wgs84",
    "unit_grid",
    "units",
    "validate",
]
