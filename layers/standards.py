"""Thresholds of China's national standards that the analyses and maps apply, in one place.

Each constant names its standard; a module that applies a rule imports it from here, so a
revised standard is one edit.

>>> from layers.standards import FIRE_RESPONSE_S, WATERLOGGED_CM
>>> FIRE_RESPONSE_S // 60, WATERLOGGED_CM
(5, 15.0)
"""

from __future__ import annotations

__all__ = [
    "CLASS_SPEED_KPH",
    "FIRE_RESPONSE_S",
    "FLOOR_HEIGHT_M",
    "HIGH_RISE_M",
    "SUPER_HIGH_RISE_M",
    "WATERLOGGED_CM",
]

# 建标 152-2017 城市消防站建设标准: engines reach the edge of the station's district within 5 min
FIRE_RESPONSE_S = 300

# GB 51222-2017 城镇内涝防治技术规范: water deeper than 15 cm on a lane is waterlogging (内涝)
WATERLOGGED_CM = 15.0

# CJJ 37-2012 城市道路工程设计规范 design speeds (km/h), mid-range of each class:
# 快速路 60-100, 主干路 40-60, 次干路 30-50, 支路 20-40; "other" (service, living_street) at 20.
CLASS_SPEED_KPH = {
    "expressway": 80.0,
    "arterial": 50.0,
    "secondary": 40.0,
    "branch": 30.0,
    "other": 20.0,
}

# GB 50096-2011 住宅设计规范 caps a dwelling's storey at 2.8 m; with the slab about 3 m a floor
FLOOR_HEIGHT_M = 3.0

# GB 50352-2019 民用建筑设计统一标准: above 24 m a building is high-rise, above 100 m super high-rise
HIGH_RISE_M = 24.0
SUPER_HIGH_RISE_M = 100.0
