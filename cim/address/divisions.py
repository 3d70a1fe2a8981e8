"""Administrative divisions for address parsing: names, aliases, codes and their hierarchy.

The table (``sample_data/divisions/divisions.csv``, built by ``sample_data/build_divisions.py``)
holds every province, city, district and town (街道/镇/乡) of China with official 12-digit codes,
and Chengdu's communities (社区/村). It is read on the first parse (about half a second).
Lookup is a longest-prefix match by dictionary, level by level, which keeps parsing in the
microseconds.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cim.paths import DIVISIONS_CSV

__all__ = ["LEVELS", "OLD_NAMES", "Division", "DivisionIndex", "divisions"]

LEVELS = ("province", "city", "district", "town", "community")
_AT = {level: i for i, level in enumerate(LEVELS)}
_PARENT = {"town": "district", "community": "town"}  # the level that holds a level's names
_KINDS = frozenset("区县旗州")

# Renamed or abolished divisions and common abbreviations -> current official code
OLD_NAMES = {
    "郫县": "510117000000",
    "双流县": "510116000000",
    "新津县": "510118000000",
    "温江县": "510115000000",
    "新都县": "510114000000",
    "龙泉驿": "510112000000",
    "高新区": "510102000000",
    "成都高新区": "510102000000",
    "高新西区": "510102000000",
    "高新南区": "510102000000",
    "四川天府新区": "510156000000",
    "天府新区成都直管区": "510156000000",
}
# Short forms (成都, 四川) are refused when a road suffix follows (四川北路 is a road) that
# does not begin a town's name (崇州街子镇).
_ROAD_AFTER_SHORT = ("路", "街", "巷", "道", "大道", "大街", "东路", "西路", "南路", "北路", "中路")


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: str
    parent_code: str | None
    lineage: tuple[str, ...]  # its own code and its ancestors', finest first

    @property
    def ancestors(self) -> tuple[str, ...]:
        """The codes of the divisions it lies in."""
        return self.lineage[1:]


class DivisionIndex:
    """Name → division lookup with longest-prefix matching and ancestry checks."""

    def __init__(self, rows: Iterable[tuple[str, str, str, str, str | None]]):
        """Index ``rows`` of ``(code, name, short_name, level, parent_code)``."""
        rows = list(rows)
        # parent codes share their division's string, and levels the constants' (a third of
        # the table's memory is strings)
        same = {code: code for code, *_ in rows} | {level: level for level in LEVELS}
        rows = [(c, n, s, same.get(lv, lv), same.get(p, p)) for c, n, s, lv, p in rows]
        parents = {code: parent_code for code, _, _, _, parent_code in rows}
        levels = {code: level for code, _, _, level, _ in rows}
        self.by_code: dict[str, Division] = {}
        # the city each division lies in (itself for a city or a province): towns and
        # communities are also looked for there, after the district named before them
        self.city_of: dict[str, str] = {}
        for code, name, _, level, parent_code in rows:
            lineage, parent, city = [code], parent_code, code
            while isinstance(parent, str) and parent in parents:
                lineage.append(parent)
                if levels[parent] == "city":
                    city = parent
                parent = parents[parent]
            self.by_code[code] = Division(code, name, level, parent_code, tuple(lineage))
            self.city_of[code] = city
        full: dict[str, dict[str, list[Division]]] = {level: {} for level in LEVELS}
        short: dict[str, dict[str, list[Division]]] = {level: {} for level in LEVELS}
        for code, name, short_name, level, _ in rows:
            division = self.by_code[code]
            full[level].setdefault(name, []).append(division)
            if level in ("province", "city", "district") and short_name != name:
                short[level].setdefault(short_name, []).append(division)
            elif level == "district" and name.endswith("新区"):  # 浦东 for 浦东新区
                short[level].setdefault(name[:-2], []).append(division)
        # an ethnic name written with its kind only: 管城区 (管城回族区), 大理州 (大理白族自治州)
        for code, name, short_name, level, _ in rows:
            alias = short_name + name[-1]
            kind = level in ("city", "district") and name[-1] in _KINDS and len(short_name) >= 2
            if kind and alias != name and alias not in full[level]:
                full[level].setdefault(alias, []).append(self.by_code[code])
        for alias, code in OLD_NAMES.items():
            division = self.by_code[code]
            full[division.level].setdefault(alias, []).append(division)
        # name -> (the divisions of that full name, those of that short name), by level
        self.names: dict[str, dict[str, tuple[tuple[Division, ...], tuple[Division, ...]]]] = {
            level: {
                name: (tuple(full[level].get(name, ())), tuple(short[level].get(name, ())))
                for name in {*full[level], *short[level]}
            }
            for level in LEVELS
        }
        # candidate name lengths by first two characters, longest first: most positions fail at once
        self.lengths: dict[str, dict[str, tuple[int, ...]]] = {}
        alike: dict[tuple[int, ...], tuple[int, ...]] = {}  # one tuple for equal lengths
        for level in LEVELS:
            by_prefix: dict[str, set[int]] = {}
            for name in self.names[level]:
                by_prefix.setdefault(name[:2], set()).add(len(name))
            self.lengths[level] = {
                k: alike.setdefault(t, t)
                for k, v in by_prefix.items()
                for t in [tuple(sorted(v, reverse=True))]
            }
        # the longest short name by level and first two characters: looking for a division
        # reads past the name it finds only where a longer short name starts alike
        self.longest_short: dict[str, dict[str, int]] = {level: {} for level in LEVELS}
        for level in LEVELS:
            longest = self.longest_short[level]
            for name, (_, short) in self.names[level].items():
                if short:
                    longest[name[:2]] = max(longest.get(name[:2], 0), len(name))
        # the towns of each district and the communities of each town, by name (None for a
        # name two of them share), with the names' lengths, longest first: a town looked for
        # inside its district is found there at once
        kids: dict[str, dict[str, dict[str, Division | None]]] = {"town": {}, "community": {}}
        for division in self.by_code.values():
            parent = self.by_code.get(division.parent_code or "")
            if (
                division.level in kids
                and parent is not None
                and parent.level == _PARENT[division.level]
            ):
                named = kids[division.level].setdefault(parent.code, {})
                named[division.name] = None if division.name in named else division
        self.children = {
            level: {
                parent: (alike.setdefault(t, t), named)
                for parent, named in by_parent.items()
                for t in [tuple(sorted({len(n) for n in named}, reverse=True))]
            }
            for level, by_parent in kids.items()
        }
        self._level_names: dict[str, tuple[str | None, ...]] = {}  # filled as asked
        # the levels with a name starting with these two characters (one set per combination)
        shared: dict[frozenset[str], frozenset[str]] = {}
        self.starts: dict[str, frozenset[str]] = {}
        for prefix in {p for by_prefix in self.lengths.values() for p in by_prefix}:
            here = frozenset(level for level in LEVELS if prefix in self.lengths[level])
            self.starts[prefix] = shared.setdefault(here, here)

    def chain(self, code: str) -> list[Division]:
        """The division and its ancestors, finest first."""
        out = []
        while code in self.by_code:
            out.append(self.by_code[code])
            code = self.by_code[code].parent_code
        return out

    def match(
        self,
        level: str,
        text: str,
        pos: int,
        within: tuple[str, ...] | None,
        home: str | None,
        shorter_than: int = 99,
    ):
        """Longest division name of ``level`` starting at ``text[pos]`` inside one of ``within``.

        Returns ``(candidates, end, used_short_name)``: the divisions of that name inside
        ``within``, narrowed to those inside ``home`` where any is (more than one candidate
        means the name is ambiguous here); False when names start here but none inside
        ``within``, None when no name does. Only names shorter than ``shorter_than``
        are tried.
        """
        if within is not None and len(within) == 1 and level in self.children:
            kids = self.children[level].get(within[0])
            for length in kids[0] if kids is not None else ():
                division = kids[1].get(text[pos : pos + length])
                if division is not None and pos + length <= len(text):
                    return (division,), pos + length, False
                if division is None and text[pos : pos + length] in kids[1]:
                    break  # a name two of them share: read below
        names = self.names[level]
        named = False
        for length in self.lengths[level].get(text[pos : pos + 2], ()):
            if length >= shorter_than:
                continue
            end = pos + length
            entry = names.get(text[pos:end]) if end <= len(text) else None
            if entry is None:
                continue
            named = True
            full, short = entry
            if full:
                candidates = _pick(full, within, home)
                if candidates:
                    return candidates, end, False
            if short and (not text.startswith(_ROAD_AFTER_SHORT, end) or self._named_at(text, end)):
                candidates = _pick(short, within, home)
                if candidates:
                    return candidates, end, True
        return False if named else None

    def _named_at(self, text: str, pos: int) -> bool:
        """Whether a town or community's full name starts at ``text[pos]`` (崇州街子镇)."""
        for level in ("town", "community"):
            for length in self.lengths[level].get(text[pos : pos + 2], ()):
                entry = self.names[level].get(text[pos : pos + length])
                if entry is not None and entry[0]:
                    return True
        return False

    def level_names(self, code: str) -> tuple[str | None, ...]:
        """The division's name and its ancestors' by level, province first, None for a gap."""
        known = self._level_names.get(code)
        if known is None:
            names: list[str | None] = [None] * len(LEVELS)
            for division in self.chain(code):
                at = _AT[division.level]
                names[at] = names[at] or division.name
            known = self._level_names[code] = tuple(names)
        return known

    def cities(self, codes: tuple[str, ...]) -> tuple[str, ...]:
        """The cities that ``codes`` lie in (a province stays itself), without repeats."""
        if len(codes) == 1:
            return (self.city_of.get(codes[0], codes[0]),)
        return tuple(dict.fromkeys(self.city_of.get(c, c) for c in codes))

    def full_name(self, code: str) -> str:
        """The division with its ancestors, e.g. 湖北省武汉市青山区."""
        names = [d.name for d in reversed(self.chain(code))]
        return "".join(n for i, n in enumerate(names) if i == 0 or n != names[i - 1])


def _pick(
    candidates: tuple[Division, ...], within: tuple[str, ...] | None, home: str | None
) -> tuple[Division, ...]:
    if within is not None:
        if len(within) == 1:
            if len(candidates) == 1:
                return candidates if within[0] in candidates[0].lineage else ()
            candidates = tuple(d for d in candidates if within[0] in d.lineage)
        else:
            inside = frozenset(within)
            candidates = tuple(d for d in candidates if not inside.isdisjoint(d.lineage))
    if len(candidates) <= 1:
        return candidates
    unique = {d.code: d for d in candidates}
    if len(unique) > 1 and home is not None:
        at_home = {c: d for c, d in unique.items() if home in d.lineage}
        unique = at_home or unique
    return tuple(unique[c] for c in sorted(unique))


@functools.cache
def divisions(path: str | Path = DIVISIONS_CSV) -> DivisionIndex:
    """The division index read from ``path`` (cached)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"division table {path} is missing; build it with python sample_data/build_divisions.py"
        )
    with path.open(encoding="utf-8", newline="") as file:  # csv, not pandas: a third the memory
        reader = csv.reader(file)
        header = next(reader)
        at = [header.index(c) for c in ("code", "name", "short_name", "level", "parent_code")]
        return DivisionIndex(
            (r[at[0]], r[at[1]], r[at[2]], r[at[3]], r[at[4]] or None) for r in reader
        )
