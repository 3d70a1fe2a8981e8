"""Chinese address parsing into the twelve fields of DESIGN.md, fast enough for batch work.

A parse is: clean the text (:func:`cim.address.normalize.clean`), read the divisions from
the front by longest-prefix dictionary match (province → city → district → town →
community, each constrained to lie inside the one before), fill the missing higher levels
from the lower ones, read the towns, villages and parks no table has by their form
(:mod:`cim.address.forms`), then road, door number, place name, building, unit, floor and
room with one compiled regular expression (:mod:`cim.address.details`).

Canonical forms: ``road`` keeps its section in Chinese numerals (人民南路四段); ``road_no``
ends in 号 (8号附1号, 168号之3) or is a lane (2318弄, 2318弄18号); ``building`` is ``3栋``
(栋, 幢, 号楼 and 3座 alike), ``B座`` or ``后栋``; ``unit`` ``2单元`` or ``A单元``; ``floor``
``5层`` (首层 ``1层``, 负一层 and B1 ``-1层``); ``room`` the bare number (501, 3-218);
``community`` a village with its group ``东溪村5组`` (村委会 read as 村).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, fields
from itertools import chain

import numpy as np
import pandas as pd

from cim.address.details import BARE_ROAD, ROAD, read_details
from cim.address.divisions import LEVELS, divisions
from cim.address.forms import GROUP, PARK, VILLAGE_GROUP, read_forms
from cim.address.normalize import MAX_LENGTH, clean
from layers import InputError
from layers.schema import ADDRESS_FIELDS

__all__ = ["Address", "home_code", "parse", "parse_many"]

_BARE_ROAD = re.compile(BARE_ROAD)
_LATIN = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ]")


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed address. Missing parts are ``None``.

    ``division_code`` is the 12-digit code of the finest division found (not one of the twelve
    fields); ``ambiguous`` names the divisions a name could be when several cities have it
    and no ``home`` context picks one (the name is kept, with the levels all those divisions
    share and their code: nothing is guessed);
    ``error`` says why nothing could be read, when that happens.

    Examples
    --------
    >>> a = parse("四川省成都市武侯区人民南路4段1号3栋2单元501")
    >>> a.district, a.road, a.road_no, a.building, a.unit, a.room
    ('武侯区', '人民南路四段', '1号', '3栋', '2单元', '501')
    """

    province: str | None = None
    city: str | None = None
    district: str | None = None
    town: str | None = None
    community: str | None = None
    road: str | None = None
    road_no: str | None = None
    poi: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    division_code: str | None = None
    ambiguous: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The twelve address fields as a dict."""
        return {f: getattr(self, f) for f in ADDRESS_FIELDS}

    @property
    def text(self) -> str:
        """The standard written form: the fields in order, without gaps."""
        return "".join(v for v in self.as_dict().values() if v)


_COLUMNS = [f.name for f in fields(Address)]
# Division names hold no digits, so the divisions read from a text depend only on the text
# before its first digit (tests/test_address_parse.py checks the table): a batch reads them
# once per distinct head, which many addresses share (成都市武侯区人民南路四段).
_FIRST_DIGIT = re.compile(r"[0-9]")
# A text up to its third division-like suffix (湖南省娄底市冷水江市, 成都市武侯区): the part
# of a text head that a batch reads once for the many texts that start with it.
_CHAIN = re.compile(r"(?:.{1,9}?[省市区县州盟旗]+){1,3}")
# what a reading starts from: the next level, where the last name ends, the names found by
# level, the codes they may be, the finest code, its ambiguity note, the names as written,
# and the levels read from an ambiguous name (settled by a finer one)
_NOTHING_READ = (0, 0, (None,) * len(LEVELS), None, None, None, (), ())


_LISTED = 5  # candidates an ambiguity note names (城关镇 is in 96 places)
_LOWER = {level: LEVELS[i + 1 :] for i, level in enumerate(LEVELS)}
_LEVEL_COUNT = len(LEVELS)
_TOWN_AT = LEVELS.index("town")


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _find(index, level: str, text: str, pos: int, within: tuple[str, ...] | None, home):
    """``index.match`` inside ``within``; a town or community not found there is looked for
    in the same city: districts split or renamed since the address was written (余杭区乔司街道
    is 临平区's now) and functional zones (天府新区) that hold other districts' towns."""
    hit = index.match(level, text, pos, within, home)
    if hit is False and within is not None and level in ("town", "community"):
        wider = index.cities(within)
        if wider != within:
            return index.match(level, text, pos, wider, home) or None
    return hit or None


def _confirmed(
    index,
    level: str,
    text: str,
    start: int,
    end: int,
    codes: tuple[str, ...],
    home: str | None,
    ends: bool,
) -> bool:
    """Whether a short division name (成都, 锦江) really is that division here.

    It is not when a lower division's full name starts at the same place (成都高新技术产业开发区).
    It is when a blank follows (成都 青羊 文庙前街) or, when ``ends`` (``text`` is the whole
    address), nothing does (杭州余杭). Otherwise a short district needs a town or community
    after it (武侯祠大街 is a road), and a short province or city a lower division, a park
    or a road (玉林小区 is a place, 成都横桥街 and 苏州工业园区 are not).
    """
    here = index.starts.get(text[start : start + 2], ())
    lower_here = False  # a lower division's short name starts here too (朝阳: 朝阳市, 朝阳区)
    for nxt in _LOWER[level]:
        if nxt in here and (hit := index.match(nxt, text, start, None, home)):
            if not hit[2]:
                return False
            lower_here = True
    if text[end : end + 1] == " " or (ends and end == len(text) and not lower_here):
        return True
    if _lower_follows(index, level, text, end, codes, home):
        return True
    return (
        not lower_here
        and level != "district"
        and (ROAD.match(text, end) is not None or PARK.match(text, end) is not None)
    )


def _lower_follows(index, level: str, text: str, pos: int, codes: tuple[str, ...], home) -> bool:
    """Whether a division inside ``codes`` and below ``level`` starts at ``text[pos]``."""
    here = index.starts.get(text[pos : pos + 2], ())
    return any(_find(index, nxt, text, pos, codes, home) for nxt in _LOWER[level] if nxt in here)


def _place(text: str, end: int, written: tuple[str, ...]) -> int:
    """Where the next division name may start after one that ends at ``end``: past blanks
    and a division written again right after (浙江省杭州市萧山区浙江省杭州市萧山区, 萧山区萧山区)."""
    if text[end : end + 1] != " " and not text.startswith(written, end):
        return end
    pos = _skip_spaces(text, end)
    while text.startswith(written, pos):
        again = pos + max(len(w) for w in written if text.startswith(w, pos))
        if _BARE_ROAD.match(text, again):  # 东西湖 吴家山街道 东西湖大道: a road
            break
        pos = _skip_spaces(text, again)
    return pos


def _placed_plainly(text: str, end: int, written: tuple[str, ...]) -> bool:
    """Whether :func:`_place` reads no more than a blank and two characters after ``end``:
    no second blank, and no name written so far starts like what follows."""
    pos = end + (text[end : end + 1] == " ")
    head = text[pos : pos + 2]
    return len(head) == 2 and head[0] != " " and not any(w.startswith(head) for w in written)


def _divisions(
    text: str, home: str | None, ends: bool = False, read: dict[str, tuple] | None = None
) -> tuple[tuple[str | None, ...], str | None, int, str | None]:
    """Divisions read from the front: the names by level (province first), the finest code,
    where they end, and a note naming the candidates when the finest name is ambiguous.

    A division written again right after (浙江省杭州市萧山区浙江省杭州市萧山区, 萧山区萧山区) is
    read once. ``ends``: ``text`` is the whole address, not the part before its first digit.

    ``read`` keeps, for a batch with one ``home``, how the text up to its third
    division-like suffix (湖南省娄底市冷水江市, found by ``_CHAIN``) was read, and reads on
    from there for every text that starts alike (every town of the district). A reading is
    kept only when nothing past that prefix was looked at: a short name confirmed by what
    follows it (杭州余杭乔司街道) is read again for each text.
    """
    index = divisions()
    chain = _CHAIN.match(text) if read is not None else None
    prefix = text[: chain.end()] if chain else ""
    state = read.get(prefix) if prefix else None
    tracking = state is None and prefix != ""  # a batch may keep how this prefix reads
    at, end, found, within, code, ambiguous, written, unsure = state or _NOTHING_READ
    found = list(found)
    horizon, keep = 0, None  # how far the reading looked, and what to keep of it
    pos = _place(text, end, written)
    here = index.starts.get(text[pos : pos + 2], ())
    park, before = None, pos  # a park where a district or town would stand, and where it starts
    while at < _LEVEL_COUNT or (
        park is None and found[3] is None and found[1] is not None and PARK.match(text, pos)
    ):
        if at == _LEVEL_COUNT:  # a town of the table may follow the park (苏州工业园区娄葑街道)
            park, before = PARK.match(text, pos), pos
            pos = _skip_spaces(text, park.end())
            here, at, tracking = index.starts.get(text[pos : pos + 2], ()), _TOWN_AT, False
            continue
        level = LEVELS[at]
        at += 1
        if level not in here:
            continue
        hit = _find(index, level, text, pos, within, home)
        tracking = tracking and pos < len(prefix)
        if tracking:  # looking for a name reads its longest name here (青岛市南区: one more)
            head = text[pos : pos + 2]
            horizon = max(horizon, pos + index.lengths[level][head][0] + (level == "city"))
            # and past it where a short name is tried: to confirm it, or a longer one
            longest_short = index.longest_short[level].get(head, 0)
            tracking = (
                not longest_short if hit is None else (not hit[2] and longest_short <= hit[1] - pos)
            )
        if hit is None:
            continue
        candidates, end, used_short = hit
        codes = (candidates[0].code,) if len(candidates) == 1 else tuple(d.code for d in candidates)
        if used_short and not _confirmed(index, level, text, pos, end, codes, home, ends):
            continue
        if (
            level == "city"
            and not used_short
            and text[end : end + 1] != " "
            and "district" in index.starts.get(text[end - 1 : end + 1], ())
        ):
            # 青岛市南区 is 青岛 + 市南区 when nothing below 青岛市 follows it
            tracking = False
            shorter = index.match(level, text, pos, within, home, shorter_than=end - pos)
            if (
                shorter
                and not _lower_follows(index, level, text, end, codes, home)
                and _lower_follows(index, level, text, shorter[1], codes, home)
            ):
                candidates, end, used_short = shorter
                codes = tuple(d.code for d in candidates)
        found[at - 1], within = candidates[0].name, codes
        written = (*written, text[pos:end])
        if len(candidates) == 1:
            code, ambiguous = codes[0], None
        else:
            unsure = (*unsure, at - 1)
            # the levels its candidates all lie in are known (a 城关镇 of one city)
            common = set(candidates[0].ancestors).intersection(*(d.ancestors for d in candidates))
            if common and (code is None or code in common):
                code = max(common, key=lambda c: len(index.by_code[c].lineage))
            ambiguous = (
                f"{candidates[0].name} is in {len(candidates)} places ("
                + ", ".join(f"{index.full_name(c)} {c}" for c in codes[:_LISTED])
                + (", …" if len(codes) > _LISTED else "")
                + "): write the city, or give the home province / city"
            )
        if tracking and horizon <= len(prefix):
            keep = (at, end, tuple(found), within, code, ambiguous, written, unsure)
            tracking = _placed_plainly(text, end, written)
        pos = _place(text, end, written)
        here = index.starts.get(text[pos : pos + 2], ())
    if park is not None and found[3] is None and found[4] is None:
        pos, park = before, None  # no town follows: the park is read by its form below
    if keep is not None:
        read[prefix] = keep
    if code is not None:
        known = index.level_names(code)
        if ambiguous is None:
            for at in unsure:
                found[at] = known[at] or found[at]
        if None in found:
            found = [name if name is not None else k for name, k in zip(found, known, strict=True)]
    (town, community), pos = read_forms(text, pos, found)
    found[3], found[4] = found[3] or town, community or found[4] or (park and park.group())
    return tuple(found), code, pos, ambiguous


@functools.lru_cache(maxsize=64)
def home_code(home: str | None) -> str | None:
    """The division code of a home context: a 12-digit code or province / city names.

    Raises
    ------
    layers.InputError
        When ``home`` is not one known division.

    Examples
    --------
    >>> home_code("湖北省武汉市"), home_code("武汉"), home_code("420100000000")
    ('420100000000', '420100000000', '420100000000')
    """
    if home is None:
        return None
    index = divisions()
    text = clean(str(home)).replace(" ", "")
    if text in index.by_code:
        return text
    _, code, pos, ambiguous = _divisions(text, None, ends=True)
    if code is not None and ambiguous is None and pos == len(text):
        return code
    named = {
        d.code: d
        for level in LEVELS
        for divisions_named in index.names[level].get(text, ())
        for d in divisions_named
    }
    finest = [d for d in named.values() if all(c in d.ancestors for c in named if c != d.code)]
    if len(finest) == 1:
        return finest[0].code
    raise InputError(
        f"home {home!r} is not one province, city or district; give its full name "
        "(湖北省武汉市) or its 12-digit division code (420100000000)"
    )


def _failed(reason: str) -> tuple[str | None, ...]:
    return (None,) * (len(_COLUMNS) - 1) + (reason,)


def _cleaned(text) -> str | tuple[str | None, ...]:
    """The text cleaned for reading, or the row of a text that is no address."""
    if not isinstance(text, str):
        if text is None or (isinstance(text, float) and text != text):
            return _failed("empty")
        return _failed(f"not text but {type(text).__name__}")
    if len(text) > MAX_LENGTH * 4:
        return _failed(f"too long for an address ({len(text)} characters)")
    cleaned = clean(text)
    if cleaned.isascii():  # clean() leaves no other character than these and CJK ideographs
        if _LATIN.search(text):
            return _failed("no Chinese characters: only Chinese addresses are parsed")
        return _failed("no address characters")
    if len(cleaned) > MAX_LENGTH:
        return _failed(f"too long for an address ({len(cleaned)} characters after cleaning)")
    return cleaned


def _head(cleaned: str) -> str:
    """The text before the first digit, which the divisions are read from; a text with no
    digit ends in a line break, as the whole of a text is read differently."""
    digit = _FIRST_DIGIT.search(cleaned)
    return cleaned + "\n" if digit is None else cleaned[: digit.start()]


def _read_head(head: str, home: str | None, read: dict[str, tuple]) -> tuple:
    """:func:`_divisions` of a text head from :func:`_head`."""
    whole = head.endswith("\n")
    return _divisions(head[:-1] if whole else head, home, whole, read)


def _fields(cleaned: str, division: tuple) -> tuple[str | None, ...]:
    """The fields in the order of :class:`Address` of a cleaned text and its divisions."""
    names, code, pos, ambiguous = division
    rest = cleaned[pos:].replace(" ", "")
    if names[4] is not None and (group := GROUP.match(rest)):
        names = (*names[:4], f"{names[4]}{group.group(1)}{group.group(2)}")
        rest = rest[group.end() :]
    elif names[4] is None and (names[2] or names[3]) and (group := VILLAGE_GROUP.match(rest)):
        names = (*names[:4], "".join(group.groups()))
        rest = rest[group.end() :]
    details = read_details(rest)
    if not any(names) and not any(details):
        return _failed("no address parts recognised")
    return (*names, *details, code, ambiguous, None)


def _safely(read, *args) -> tuple:
    """``read(*args)``, or the row of an unparseable text when it raises (the contract is
    to never raise on bad input)."""
    try:
        return read(*args)
    except Exception as err:
        return _failed(f"unparseable: {type(err).__name__}")


def _row(cleaned: str, division: tuple) -> tuple[str | None, ...]:
    """The row of a cleaned text from its divisions, or of an unparseable one."""
    if len(division) != 4:  # reading the divisions raised: the row says why
        return division
    return _safely(_fields, cleaned, division)


def _parse(text, home: str | None) -> tuple[str | None, ...]:
    """The fields of one text in the order of :class:`Address`."""
    cleaned = _cleaned(text)
    if not isinstance(cleaned, str):
        return cleaned
    return _fields(cleaned, _read_head(_head(cleaned), home, {}))


def parse(text, *, home: str | None = None) -> Address:
    """Parse one address. Never raises on bad text: it gives an Address with ``error`` set.

    Parameters
    ----------
    text : str
        The address.
    home : str, optional
        Province / city names or a division code (see :func:`home_code`): a district name
        that several cities share is read as the one there. Without it such a name is
        kept but flagged in ``ambiguous``, with only what the places it could be share
        (a town of two provinces has no province, one of two counties of a city has its
        city).

    Examples
    --------
    >>> parse("成都高新区天府三街199号B座1806").as_dict()["building"]
    'B座'
    >>> parse("郫县犀浦镇").district
    '郫都区'
    >>> parse(None).error
    'empty'
    >>> parse("青山区和平大道1号", home="湖北省武汉市").city
    '武汉市'
    >>> parse("青山区和平大道1号").ambiguous[:18]
    '青山区 is in 2 places'
    """
    return Address(*_safely(_parse, text, home_code(home)))


def parse_many(texts, *, home: str | None = None) -> pd.DataFrame:
    """Parse many addresses into a DataFrame: the twelve fields, ``division_code``,
    ``ambiguous`` and ``error``; ``home`` as in :func:`parse`.

    Repeated strings are parsed once, and the divisions once per distinct text before its
    first digit (成都市武侯区人民南路四段 for every door on that road), the province, city and
    district before a town once for all the towns of the batch written after them (the
    result is the same as :func:`parse` of each text); ``benchmarks/address.py`` times it
    against cpca and jionlp.
    Rows that cannot be read have all fields ``None`` and the reason in ``error``.

    Examples
    --------
    >>> frame = parse_many(["武侯区玉林北路2号3-2-501", ""])
    >>> frame.loc[0, ["district", "road", "building", "unit", "room"]].tolist()
    ['武侯区', '玉林北路', '3栋', '2单元', '501']
    >>> frame.loc[1, "error"]
    'no address characters'
    """
    code = home_code(home)
    texts = texts if isinstance(texts, list) else list(texts)
    heads: dict[str, tuple] = {}  # text: (cleaned, head), or its row when it is no address
    for text in texts:
        if isinstance(text, str) and text not in heads:
            cleaned = _safely(_cleaned, text)
            heads[text] = (cleaned, _head(cleaned)) if isinstance(cleaned, str) else cleaned
    # in sorted order, texts that start alike follow each other: each reading of a prefix
    # is kept for them (see _divisions), and the divisions they share stay in the cache
    read: dict[str, tuple] = {}
    distinct = sorted({v[1] for v in heads.values() if len(v) == 2})
    division = {head: _safely(_read_head, head, code, read) for head in distinct}
    for text, v in heads.items():
        if len(v) == 2:
            heads[text] = _row(v[0], division[v[1]])  # the row replaces what it was read from
    rows = [heads[text] if isinstance(text, str) else _cleaned(text) for text in texts]
    cells = np.fromiter(chain.from_iterable(rows), dtype=object, count=len(rows) * len(_COLUMNS))
    return pd.DataFrame(
        cells.reshape(len(rows), len(_COLUMNS)), columns=_COLUMNS, dtype=object, copy=False
    )
