"""Address text clean-up: widths, noise, bilingual glosses and Chinese numerals.

>>> clean("琴台路  Qintai Road 73号（青羊宫地铁站C口旁）")
'琴台路 73号'
>>> clean("Chengdu 文殊院巷 B6-6 Buddha Zen Hotel")
'文殊院巷 B6-6'
>>> clean("武侯区玉林北路三栋二单元五零一")
'武侯区玉林北路3栋2单元501'
>>> clean("人民南路4段1号")
'人民南路四段1号'
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_LENGTH", "clean", "cn_to_int", "int_to_cn"]

MAX_LENGTH = 200  # longer text is not an address; parsing it would only waste time

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMERAL = "零〇一二两三四五六七八九十百千"
_DIGIT_CN = "零一二三四五六七八九"

_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕")
# an English word standing alone between spaces or commas is a gloss (琴台路 Qintai Road);
# letters inside a name stay (IFS国际金融中心, B座)
# (the first letter comes first so that the search skips ahead to letters)
_LATIN_WORD = re.compile(r"[A-Za-z](?<![^\s,;][A-Za-z])[A-Za-z.'’]+[,;.]?(?![^\s,;])")
# blanks, punctuation and symbols, and hyphens not between digits (3-2-501 keeps its own):
# one space for each run
_BLANKS = re.compile(
    r"[^\u4e00-\u9fff0-9A-Za-z](?<![0-9]-(?=[0-9]))"
    r"(?:[^\u4e00-\u9fff0-9A-Za-z\-]|(?<![0-9])-|-(?![0-9]))*"
)
# a crossing and the side of it (东北角, 往东50米) leave the first road; the place and building
# after it stay (…路与…路交叉口东北角锦艺城5号楼)
_INTERSECTION = re.compile(
    r"(?:(?:与|和|跟|及).{1,20}?"
    # or the second road right after the first (春熙路红星路路口), not a town (春熙路街道),
    # or a crossing of the road named (红星路路口)
    r"|(?<=[路街巷道段])(?<!街道)(?!道)(?:(?:(?!街道)[^与和跟及段\d\s]){1,10}?[路街巷道])?)"
    r"(?:交叉口|交汇处|交界处|路口|交口)"
    r"(?:\s?(?:往|向)?[东西南北]{1,2}(?:侧|角|面|方向)?(?:约)?(?:\d+米)?(?:处)?)?"
)
_DIRECTION_TAIL = re.compile(
    r"(?:[东西南北]{1,2}(?:侧|角|面|方向)?(?:约)?\d+米|[东西南北]{1,2}(?:侧|角))(?:处)?$"
)
_NOISE = re.compile(r"(?:附近|旁边|斜对面|对面|周边|一带|旁)$")
_CN_BEFORE_UNIT = re.compile(rf"([{_CN_NUMERAL}]+)(?=栋|幢|号楼|号|单元|层|楼|室|座|户)")
_CN_ROOM_TAIL = re.compile(rf"(?:(?<=单元)|(?<=层)|(?<=楼))([{_CN_NUMERAL}]+)$")
_SECTION_DIGITS = re.compile(r"(?<=[路街道])([东西南北中]?)(\d{1,2})段")
# Cheap tests that let clean() skip a substitution that cannot match: text of Chinese
# characters and digits only has nothing to drop; the tails end in one of these characters.
_PLAIN = re.compile(r"[\u4e00-\u9fff0-9]*")
_HAS_CN_NUMERAL = re.compile(rf"[{_CN_NUMERAL}]")
_DIRECTION_ENDS = frozenset("米侧角处")
_NOISE_ENDS = frozenset("近边面带旁")


def cn_to_int(text: str) -> int:
    """Value of a Chinese numeral: positional (二十一 → 21) or digit by digit (五零一 → 501).

    >>> cn_to_int("十二"), cn_to_int("二十"), cn_to_int("一百零三"), cn_to_int("五零一")
    (12, 20, 103, 501)
    """
    if not any(c in _CN_UNITS for c in text):
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, digit = 0, 0
    for char in text:
        if char in _CN_UNITS:
            total += (digit or 1) * _CN_UNITS[char]
            digit = 0
        else:
            digit = _CN_DIGITS[char]
    return total + digit


def int_to_cn(value: int) -> str:
    """Chinese numeral for 1-99, as used for road sections (4 → 四, 12 → 十二).

    >>> int_to_cn(4), int_to_cn(12), int_to_cn(20)
    ('四', '十二', '二十')
    """
    tens, ones = divmod(value, 10)
    if tens == 0:
        return _DIGIT_CN[ones]
    return ("" if tens == 1 else _DIGIT_CN[tens]) + "十" + (_DIGIT_CN[ones] if ones else "")


def _numeral(match: re.Match) -> str:
    return str(cn_to_int(match.group(1)))


def clean(text: str) -> str:
    """Normalise address text for parsing (see the module examples).

    Single spaces are kept where the text had blanks: they end a division name written
    short (成都 青羊 文庙前街). The parser drops them after reading the divisions.
    The result holds nothing but CJK ideographs (U+4E00-U+9FFF), ASCII letters and digits,
    hyphens and single spaces.
    """
    text = unicodedata.normalize("NFKC", text)
    if not _PLAIN.fullmatch(text):
        if "(" in text or "[" in text or "【" in text or "〔" in text:
            text = _BRACKETS.sub("", _BRACKETS.sub("", text))
        text = _LATIN_WORD.sub(" ", text)
        text = _BLANKS.sub(" ", text).strip()
    if "口" in text or "处" in text:
        text = _INTERSECTION.sub(" ", text).strip()
    if text[-1:] in _DIRECTION_ENDS:
        text = _DIRECTION_TAIL.sub("", text)
    if text[-1:] in _NOISE_ENDS:
        text = _NOISE.sub("", text)
    if _HAS_CN_NUMERAL.search(text):
        text = _CN_BEFORE_UNIT.sub(_numeral, text)
        if text[-1] in _CN_NUMERAL:
            text = _CN_ROOM_TAIL.sub(_numeral, text)
    if "段" in text:
        text = _SECTION_DIGITS.sub(lambda m: f"{m.group(1)}{int_to_cn(int(m.group(2)))}段", text)
    return text
