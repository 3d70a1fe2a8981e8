"""Spatial-unit levels: the names that analyses, vital signs and maps use, and their layers.

>>> from layers.units import LEVELS, unit_layer
>>> LEVELS
('city', 'grid', 'community', 'street', 'district')
>>> unit_layer("street")
'streets'
"""

from __future__ import annotations

from layers.errors import InputError

__all__ = ["LEVELS", "UNIT_LAYERS", "unit_layer"]

UNIT_LAYERS = {
    "grid": "grid",
    "community": "communities",
    "street": "streets",
    "district": "districts",
}  # finest first
LEVELS = ("city", *UNIT_LAYERS)  # the city as one unit, then the unit layers


def unit_layer(level: str) -> str:
    """The layer whose polygons are the units of ``level``.

    Raises
    ------
    InputError
        For ``"city"`` (one unit, no layer) or an unknown level, naming the levels.
    """
    if level not in UNIT_LAYERS:
        raise InputError(f"level must be one of {', '.join(UNIT_LAYERS)}, not {level!r}")
    return UNIT_LAYERS[level]
