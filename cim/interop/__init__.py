"""3D city model interop: CityJSON out and in, 3D Tiles out, buildings with real heights.

>>> from cim import interop
>>> sorted(n for n in interop.__all__ if n.startswith(("to_", "read_")))
['read_buildings', 'read_cityjson', 'to_3dtiles', 'to_cityjson']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cim.lazy import lazy_attributes

if TYPE_CHECKING:
    from cim.interop.cityjson import CityJSONExport, read_cityjson, to_cityjson
    from cim.interop.heights import BuildingImport, read_buildings
    from cim.interop.tiles import TilesetExport, to_3dtiles

__all__ = [
    "BuildingImport",
    "CityJSONExport",
    "TilesetExport",
    "read_buildings",
    "read_cityjson",
    "to_3dtiles",
    "to_cityjson",
]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "BuildingImport": "cim.interop.heights",
        "CityJSONExport": "cim.interop.cityjson",
        "read_buildings": "cim.interop.heights",
        "TilesetExport": "cim.interop.tiles",
        "read_cityjson": "cim.interop.cityjson",
        "to_3dtiles": "cim.interop.tiles",
        "to_cityjson": "cim.interop.cityjson",
    },
)
