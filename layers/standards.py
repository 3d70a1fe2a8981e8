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
    "CROSSING_WALK_SPEED_MPS",
    "FIRE_RESPONSE_S",
    "FLOOR_HEIGHT_M",
    "HIGH_RISE_M",
    "LIVING_CIRCLES",
    "LIVING_CIRCLE_M",
    "SUPER_HIGH_RISE_M",
    "WALK_SPEED_MPS",
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

# GB 50180-2018 城市居住区规划设计标准 表 3.0.4: the 15-, 10- and 5-minute living circles
# (生活圈居住区) are set by walking distance: 800-1,000 m, 500 m and 300 m (the upper bound here).
LIVING_CIRCLE_M = {"5min": 300.0, "10min": 500.0, "15min": 1000.0}

# GB 50180-2018 附录 B (配套设施设置规定), the services each circle must hold within its walking
# distance, by the kinds of cim.access.SERVICE_KINDS:
#   15min: 初中 (school), 社区卫生服务中心 (clinic), 养老院 (elderly_care),
#          大型多功能运动场地 (sports), 商场 (market);
#   10min: 小学 (school), 菜市场或生鲜超市 (market), 中型多功能运动场地 (sports);
#    5min: 幼儿园 (kindergarten), 社区卫生服务站 (clinic), 老年人日间照料中心 (elderly_care),
#          室外综合健身场地 (sports).
LIVING_CIRCLES = {
    "15min": ("school", "clinic", "elderly_care", "sports", "market"),
    "10min": ("school", "market", "sports"),
    "5min": ("kindergarten", "clinic", "elderly_care", "sports"),
}

# Walking speed for the minutes of the walking network (isochrones, walking times). GB 50180-2018
# gives distances, not a speed: its 300 m / 5 min and 1,000 m / 15 min imply 1.0-1.1 m/s.
# GB 50647-2011 城市道路交叉口规划规范 designs pedestrian crossings for 1.0 m/s (a slow walker);
# 1.2 m/s is the usual planning figure for an adult's free walk (observed crossing speeds in
# Chinese cities are 1.17-1.29 m/s). A parameter wherever it is used.
WALK_SPEED_MPS = 1.2
CROSSING_WALK_SPEED_MPS = 1.0
