"""Divisions that no table lists, read by their form: towns (…街道/镇/乡), villages and
communities (…村/社区/居委会, with their groups 组/社) and parks (…工业园区/开发区/新区),
which stand for the town where none is named and for the community otherwise.

A form is read only where a division stands: after a district or a town read from the
table (a park also right after a city), before the road. It gets a name and no code.

>>> read_forms("太和镇大源村大源北路", 0, [None, None, "白云区", None, None])
(['太和镇', '大源村'], 6)
>>> read_forms("莫干山镇 劳岭村委会 五组", 5, [None, None, "德清县", "莫干山镇", None])
([None, '劳岭村5组'], 13)
>>> read_forms("灌口工业区安仁大道", 0, [None, None, "集美区", "灌口镇", None])
([None, '灌口工业区'], 5)
"""

from __future__ import annotations

import re

from cim.address.details import BARE_ROAD
from cim.address.normalize import cn_to_int

__all__ = ["GROUP", "PARK", "VILLAGE_GROUP", "read_forms"]

_NAME = r"(?:(?![路街道巷弄号组社])[\u4e00-\u9fff])"
_TOWN = re.compile(rf"{_NAME}{{1,6}}?(?:街道|镇|乡)(?![路街巷道弄])")
_NOT_TOWN = ("古镇", "小镇")  # scenic and themed places, not towns
_VILLAGE = re.compile(
    r"((?:(?![路街道号组])[\u4e00-\u9fff]){1,8}?)"
    r"(社区居民委员会|社区居委会|社区|居民委员会|居委会|村民委员会|村委会|村)"
    rf"(?: ?(?:村民委员会|村委会|委员会|委会|居民委员会|居委会))?(?![路街巷道弄])(?!{BARE_ROAD})"
)
_COMMITTEE = re.compile(r" ?(?:村民委员会|村委会|居民委员会|居委会|委员会|委会)")
_NOT_VILLAGE = ("新村", "文化村", "度假村")  # housing estates and resorts (湖墅新村)
# a village group written in Chinese numerals stays in the text before the first digit
_CN_GROUP = re.compile(r" ?第?([一二三四五六七八九十]+)([组社])(?![区会])")
GROUP = re.compile(r"第?(\d+)([组社])(?![区会])")  # a village group written in digits
# a 新村 is a housing estate, unless a village group follows it (东新村0组)
VILLAGE_GROUP = re.compile(
    r"((?:(?![路街道号组])[\u4e00-\u9fff]){1,8}村)第?(\d+)([组社])(?![区会])"
)
PARK = re.compile(
    rf"{_NAME}{{0,10}}?(?:经济技术开发区|经济开发区|高新技术产业开发区|开发区|工业园区|工业集中区"
    r"|工业区|工业园|产业园|科技园|高校园区|园区|高新区|新区|大学城|微电园|火炬园)(?:[东西南北中]区)?"
)


def _skip(text: str, pos: int) -> int:
    while text[pos : pos + 1] == " ":
        pos += 1
    return pos


def read_forms(text: str, pos: int, found: list[str | None]) -> tuple[list[str | None], int]:
    """The town and community read by their form at ``text[pos:]``, and where they end.

    ``found`` holds the division names read from the table (province first); a level it
    already has is not read again, but a group after a community of the table is joined to
    it. Returns ``[town, community]`` (None where nothing was read) and the position after
    them.
    """
    town, community = None, None
    _, city, district, known_town, known_community = found
    if district is None and known_town is None:  # after a city only a park stands (苏州工业园区)
        park = PARK.match(text, pos) if city is not None else None
        return ([park.group(), None], _skip(text, park.end())) if park else ([None, None], pos)
    match = _TOWN.match(text, pos) if known_town is None else None
    if match and not match.group().endswith(_NOT_TOWN):
        town, pos = match.group(), _skip(text, match.end())
    if known_community is not None:  # from the table: its committee and group may follow
        committee = _COMMITTEE.match(text, pos)
        pos = _skip(text, committee.end()) if committee else pos
        if group := _CN_GROUP.match(text, pos):
            community = f"{known_community}{cn_to_int(group.group(1))}{group.group(2)}"
            pos = _skip(text, group.end())
        return [town, community], pos
    # a village's suffix starts with 村 社 or 居 after one to eight characters, a park's ends
    # in 区 园 or 城 within nineteen: most roads are passed without trying either pattern
    window = text[pos + 1 : pos + 19]
    if ("村" in window[:8] or "社" in window[:8] or "居" in window[:8]) and (
        match := _VILLAGE.match(text, pos)
    ):
        name, kind = match.groups()
        if not (name + kind).endswith(_NOT_VILLAGE):
            kind = "社区" if kind.startswith("社区") else "村" if kind.startswith("村") else kind
            community, pos = name + kind, _skip(text, match.end())
            if group := _CN_GROUP.match(text, pos):
                community += f"{cn_to_int(group.group(1))}{group.group(2)}"
                pos = _skip(text, group.end())
            return [town, community], pos
    if ("区" in window or "园" in window or "城" in window) and (match := PARK.match(text, pos)):
        park, pos = match.group(), _skip(text, match.end())
        if known_town is None and town is None:  # a park where the town stands
            return [park, None], pos
        community = park
    return [town, community], pos
