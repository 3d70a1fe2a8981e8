"""Unified place-address base (统一地名地址库): parse, normalise, code and geocode addresses.

>>> from cim import address
>>> address.parse("成都市武侯区桂溪街道天府大道北段1700号").town
'桂溪街道'
"""

from cim.address.base import MATCH_LEVELS, AddressBase, LinkResult
from cim.address.parser import Address, parse, parse_many
from layers.schema import ADDRESS_FIELDS

__all__ = [
    "ADDRESS_FIELDS",
    "MATCH_LEVELS",
    "Address",
    "AddressBase",
    "LinkResult",
    "parse",
    "parse_many",
]
