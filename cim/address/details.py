"""The part of an address after its divisions: road, door number, place name (POI),
building, unit, floor and room, read by their form with one compiled regular expression.

No dictionary of roads or places is used. A road ends in a road word (路 街 大道 道 巷 巷子
胡同 环; 弄 里 坊 条 门 only before a number), with its section (四段), a named segment
(兴隆段), a numbered lane (3巷 → 三巷), a branch (一支路) or 步行街 joined to it; a route is
its number (105国道大石段) and a lane may be its side and number (东3巷); the last road named
before the door number is the road, and a block named by its lanes (三坊七巷) is a place.
The door number ends in 号 (8号附1号, 168号之3) or is a Shanghai lane (2318弄, with the door
inside it: 2318弄18号). The place name is what stands between the door number and the
building (三林苑, 北辰三角洲E1区, 恒隆888广场).

>>> read_details("东明路2318弄三林苑18号602")
('东明路', '2318弄18号', '三林苑', None, None, None, '602')
>>> read_details("文化路3巷11号")
('文化路三巷', '11号', None, None, None, None, None)
>>> read_details("万松路188号东栋3楼")
('万松路', '188号', None, '东栋', None, '3层', None)
>>> read_details("淞沪路8号百联又一城B1")
('淞沪路', '8号', '百联又一城', None, None, '-1层', None)
"""

from __future__ import annotations

import re

from cim.address.normalize import int_to_cn

__all__ = ["BARE_ROAD", "ROAD", "read_details"]

# a road word with no name before it: what stands before it is the road's name (中关村大街)
BARE_ROAD = r"(?:大道|大街|路|街|巷|道)(?:[ 0-9]|$)"

_CN = "一二三四五六七八九十"
_SIDES = "东西南北"
_CONTINUATION = (
    rf"(?:[东西南北中]?[{_CN}]+段|[东西南北中]段|\d{{1,2}}巷|[{_CN}]+支路|步行街"
    r"|(?:(?![段号])[\u4e00-\u9fff]){2,5}段)"
)
_ROAD_TOKEN = (
    # a route by its number (105国道, G312国道) or a lane by its side and number (东3巷)
    r"(?:[GSXY]?\d{1,4}(?:国道|省道|县道|乡道)|[东西南北]\d{1,3}巷(?=[甲乙丙丁]?\d)"
    r"|[\u4e00-\u9fffA-Za-z]{1,20}?"
    r"(?:大道|大街|路|街(?![道区路])|巷子|巷|胡同|(?<![街隧通轨渠管频])道(?![路街])|(?<=[一二三四五六七八九十内外中])环(?!路)"
    r"|(?:弄|里|坊|条|门)(?=[甲乙丙丁]?\d+(?:号(?!楼)|弄|-|$))))"
    rf"{_CONTINUATION}?"
)
ROAD = re.compile(_ROAD_TOKEN)
# a place name's characters: those that cannot start a building, unit or floor go by at once
_STARTS = "东西南北前后中首负地"
_PLAIN = (
    "[a-z"
    + "".join(
        f"{chr(lo)}-{chr(hi)}"
        for lo, hi in zip(
            [0x4E00, *(ord(c) + 1 for c in sorted(_STARTS))],
            [*(ord(c) - 1 for c in sorted(_STARTS)), 0x9FFF],
            strict=True,
        )
    )
    + "]"
)
_DETAIL = re.compile(
    rf"""
    (?:(?P<road>{_ROAD_TOKEN}))*  # a repeated group keeps its last match: the last road
    (?P<road_no>[A-Z甲乙丙丁]?\d+(?:-\d+)?
        (?:号(?!楼)院?(?:附\d+号?|之\d+)?|附\d+号?|(?P<lane>弄)|(?![\d\-栋幢单元层楼室座号弄门组社])))?
    (?P<poi>(?:{_PLAIN}|(?![A-Z]\d*(?:栋|幢|座|号楼)|[A-Z]\d|[东西南北前后中][栋座]|[A-Z]单元|首层|负\d|地下\d)
        [A-Z{_STARTS}]|[A-Z]\d+区
        |\d+(?![\d\-栋幢单元层楼室座号户弄门组社区期米])(?=[\u4e00-\u9fff]|[BFL]\d+$))+)?  # 国贸360广场
    (?(lane)(?P<lane_door>\d+)号(?!楼))?
    (?:(?P<compact_building>\d+)-(?P<compact_unit>\d+)-(?P<compact_room>\d+)$)?
    (?:(?P<building>[A-Z]\d*|\d+[A-Z]?)(?P<building_kind>栋|幢|号楼|座)
        |(?P<side>[东西南北前后中][栋座]))?
    (?:(?P<unit>\d+|[A-Z])单元)?
    (?:(?P<floor>-?\d+)(?:层|楼)|(?P<ground>首层)|(?:负|地下)(?P<below>\d+)(?:层|楼)
        |B(?P<basement>\d)$|[FL](?P<letter_floor>\d+)$|(?P<floor_letter>\d+)F$)?
    (?:(?P<room>[A-Z]?\d+(?:-\d+)?)(?:室|号|户)?)?
    """,
    re.VERBOSE,
)
_GATE = re.compile(r"[东西南北]?\d+号?门$")  # a gate of the place, not a part of the address
_LANE_DIGITS = re.compile(r"(\d+)巷$")
_PLACE_FIRST = re.compile(r".{1,8}?(?:古镇|古城|文化村)(?=.{2})")  # a place the road runs in
_BLOCK = re.compile(rf"[{_CN}百]+[坊街][{_CN}百]+巷")  # a block named by its lanes (三坊七巷)
_ESTATE = ("小区", "花园", "公寓", "新村")  # 米市巷小区 is a place named after its lane


def read_details(rest: str) -> tuple[str | None, ...]:
    """Road, door number, place name, building, unit, floor and room read from ``rest``
    (the address after its divisions, without blanks); see the module examples."""
    if rest[-1:] == "门":
        rest = _GATE.sub("", rest)
    block = _BLOCK.search(rest) if "巷" in rest else None
    if block:  # 三坊七巷 is a place named for its lanes, not the road of the door number
        rest = rest[: block.start()] + rest[block.end() :]
    (  # every part is optional: the pattern always matches, what it leaves is not read
        road,
        road_no,
        _,
        poi,
        lane_door,
        compact_building,
        compact_unit,
        compact_room,
        building,
        kind,
        side,
        unit,
        *floors,
        room,
    ) = _DETAIL.match(rest).groups()
    if road is not None:
        if road[-1] == "巷" and road[-2].isdigit() and not road[:-1].lstrip(_SIDES).isdigit():
            road = _LANE_DIGITS.sub(lambda m: f"{int_to_cn(int(m.group(1)))}巷", road)
        if not road_no and poi is not None and poi.startswith(_ESTATE):
            road, poi = None, road + poi
        elif poi is None and ("古" in road or "文化村" in road) and (m := _PLACE_FIRST.match(road)):
            poi, road = m.group(), road[m.end() :]  # 南头古城中山东街
    if block and poi is None:
        poi = block.group()
    if road_no and not (road_no[-1] == "号" and road_no[:-1].isdigit()):
        road_no = _door_number(road_no, lane_door)
    elif road_no and road_no[-1] != "号":
        road_no += "号"
    if compact_building:
        building, unit = f"{compact_building}栋", f"{compact_unit}单元"
        return road, road_no, poi, building, unit, None, compact_room
    if building:
        letter = kind == "座" and not building[0].isdigit()
        building += "座" if letter else "栋"  # B座, but 2座 is the second building: 2栋
    return (
        road,
        road_no,
        poi,
        building or side,
        f"{unit}单元" if unit else None,
        _floor(*floors) if any(floors) else None,
        room,
    )


def _door_number(road_no: str, lane_door: str | None) -> str:
    if road_no.endswith("弄"):
        return road_no + (f"{lane_door}号" if lane_door else "")
    road_no = road_no.removesuffix("院")
    for mark in ("附", "之"):
        number, found, annex = road_no.partition(mark)
        if found:
            return f"{number.removesuffix('号')}号{mark}{annex.removesuffix('号')}" + (
                "号" if mark == "附" else ""
            )
    return road_no.removesuffix("号") + "号"


def _floor(floor, ground, below, basement, letter_floor, floor_letter) -> str:
    if floor:
        return f"{floor}层"
    if ground:
        return "1层"
    if below or basement:
        return f"-{below or basement}层"
    return f"{letter_floor or floor_letter}层"
