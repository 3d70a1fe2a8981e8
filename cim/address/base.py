"""The unified place-address base (统一地名地址库, 一标多实): standard addresses with codes,
geocoding, reverse geocoding and record linkage.

Standard records come from address points (and named buildings). Each gets a hierarchical
code in the structure of GB/T 39609-2020: division code (12 digits) → road → door number →
building → unit → room. One place written several ways (人民南路4段1号, 人民南路四段1号)
becomes one record that keeps every source id.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import layers
from cim.address.divisions import divisions
from cim.address.normalize import clean
from cim.address.parser import home_code, parse_many
from layers.crs import metric_crs as _metric_crs
from layers.schema import ADDRESS_FIELDS

__all__ = ["MATCH_LEVELS", "AddressBase", "LinkResult"]

MATCH_LEVELS = (
    "room",
    "building",
    "road_no",
    "road",
    "community",
    "town",
    "district",
    "city",
    "none",
)
_LEVEL_SCORE = dict(zip(MATCH_LEVELS, (1.0, 0.95, 0.9, 0.7, 0.5, 0.4, 0.3, 0.2, 0.0), strict=True))
GEOCODE_COLUMNS = (
    "text",
    "address_id",
    "standard",
    "code",
    "match_level",
    "score",
    "candidates",
    "district",
    "town",
    "reason",
)
_DETAIL = ("road", "road_no", "poi", "building", "unit", "floor", "room")
# lookup keys per level, most specific first; a place name (小区/单位) stands at door-number level
_KEYS = {
    "room": (("road", "road_no", "building", "unit", "room"), ("poi", "building", "unit", "room")),
    "building": (("road", "road_no", "building"), ("poi", "building")),
    "road_no": (("road", "road_no", "poi"), ("road", "road_no"), ("poi",)),
}
_UNIT_LEVELS = (
    ("community", "communities"),
    ("town", "streets"),
    ("district", "districts"),
    ("city", None),
)
_FIRST_NUMBER = re.compile(r"\d+")


class LinkResult(NamedTuple):
    """Records linked to the address base, and the rows that need a person's look."""

    linked: gpd.GeoDataFrame
    report: pd.DataFrame


def _alias_key(text) -> str | None:
    """How a known source text is recognised: width, case and blanks do not matter."""
    if not isinstance(text, str):
        return None
    key = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return key or None


def _tidy(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(unicodedata.normalize("NFKC", value).split())
    return value or None


def _number(value, letters: bool = False) -> int:
    if not isinstance(value, str):
        return 0
    match = _FIRST_NUMBER.search(value)
    if match:
        return int(match.group())
    return 900 + ord(value[0]) - ord("A") if letters and value[:1].isalpha() else 0


@dataclass
class _Units:
    """Polygon layers used for centroid fallbacks and reverse geocoding."""

    layers: dict[str, gpd.GeoDataFrame]

    def centroid(self, layer: str | None, name: str):
        gdf = self.layers.get(layer) if layer else None
        if gdf is None or "name" not in gdf.columns:
            return None
        hit = gdf[gdf["name"] == name]
        return None if hit.empty else hit.geometry.iloc[0].representative_point()


class AddressBase:
    """Standard addresses of a city, for geocoding, reverse geocoding and record linkage.

    Build it with :meth:`from_layer` or :meth:`from_city`.

    Examples
    --------
    >>> import cim
    >>> from cim.address import AddressBase
    >>> base = AddressBase.from_city(cim.sample_city())
    >>> hit = base.geocode(["成都市青羊区永陵路10号永陵公园"]).iloc[0]
    >>> hit.match_level, hit.standard
    ('road_no', '四川省成都市金牛区永陵路10号永陵公园')
    """

    def __init__(
        self,
        records: gpd.GeoDataFrame,
        *,
        units: dict[str, gpd.GeoDataFrame] | None = None,
        roads: gpd.GeoDataFrame | None = None,
        home: str | None = None,
        metric_crs=None,
    ):
        self.records = records
        self.home = home_code(home)
        # the cities the base covers: an address in another one matches nothing here
        home_city = divisions().level_names(self.home)[1] if self.home else None
        self.cities = frozenset(
            {c for c in records["city"] if isinstance(c, str)} | ({home_city} - {None})
        )
        self._units = _Units({k: v for k, v in (units or {}).items() if v is not None})
        self._index: dict[tuple, list[int]] = {}
        for level, key_sets in _KEYS.items():
            for fields in key_sets:
                values = records[list(fields)]
                complete = values.notna().all(axis=1)
                for position, key in zip(
                    np.flatnonzero(complete), map(tuple, values[complete].to_numpy()), strict=True
                ):
                    self._index.setdefault((level, fields, key), []).append(position)
        self._aliases: dict[str, int] = {}
        for position, aliases in enumerate(records["aliases"]):
            for alias in aliases:
                self._aliases.setdefault(alias, position)
        self._roads = self._road_points(records, roads)
        self._metric = metric_crs if metric_crs is not None else _metric_crs(records)
        self._tree = shapely.STRtree(records.geometry.to_crs(self._metric).values)

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_layer(
        cls,
        addresses: gpd.GeoDataFrame,
        *,
        buildings: gpd.GeoDataFrame | None = None,
        roads: gpd.GeoDataFrame | None = None,
        districts: gpd.GeoDataFrame | None = None,
        streets: gpd.GeoDataFrame | None = None,
        communities: gpd.GeoDataFrame | None = None,
        grid: gpd.GeoDataFrame | None = None,
        home: str | None = None,
        metric_crs=None,
    ) -> AddressBase:
        """Build the base from standard-address points (an ``addresses`` layer).

        Parameters
        ----------
        addresses : GeoDataFrame
            Points with ``id`` and ``address`` (free text). Where the text cannot be parsed,
            the layer's own address columns are used.
        buildings : GeoDataFrame, optional
            Named buildings become place-name records at a point inside them.
        roads : GeoDataFrame, optional
            Roads with ``name``, for road-level fallbacks.
        districts, streets, communities, grid : GeoDataFrame, optional
            Polygons with ``code`` and ``name``, for unit fallbacks and :meth:`reverse`.
        home : str, optional
            The city's province / city (names or a division code): district names shared
            by several cities, in the records and in the queries, are read as the ones
            there (see :func:`cim.address.parse`).
        metric_crs : pyproj.CRS, optional
            CRS in metres for distances; the CGCS2000 zone of the addresses by default.
        """
        addresses = addresses.reset_index(drop=True)
        sources = addresses[["id", "address", "geometry"]].copy()
        if buildings is not None and "name" in buildings.columns:
            named = buildings[buildings["name"].notna()]
            sources = pd.concat(
                [
                    sources,
                    gpd.GeoDataFrame(
                        {"id": named["id"], "address": named["name"]},
                        geometry=named.geometry.representative_point(),
                        crs=4326,
                    ),
                ],
                ignore_index=True,
            )
        parsed = parse_many(sources["address"].tolist(), home=home)
        # structured columns (OSM addr:street, addr:housenumber, name) fill what the text lacks
        own = addresses.reindex(columns=list(_DETAIL)).reindex(range(len(sources)))
        for field in _DETAIL:
            values = own[field].map(_tidy)
            if field == "road_no":
                values = values.map(lambda v: f"{v}号" if isinstance(v, str) and v.isdigit() else v)
            parsed[field] = parsed[field].where(parsed[field].notna(), values)
        table = pd.concat(
            [sources.reset_index(drop=True), parsed.drop(columns=["ambiguous", "error"])], axis=1
        )
        table["alias"] = table["address"].map(_alias_key)
        table = gpd.GeoDataFrame(table, geometry="geometry", crs=4326)
        if districts is not None:
            _place_in_districts(table, districts)
        records = _deduplicate(table)
        units = {
            "districts": districts,
            "streets": streets,
            "communities": communities,
            "grid": grid,
        }
        return cls(records, units=units, roads=roads, home=home, metric_crs=metric_crs)

    @classmethod
    def from_city(cls, city) -> AddressBase:
        """The base of a :class:`cim.CityModel`: its addresses, named buildings, roads and
        units, with its settings' ``home`` and metric CRS."""
        layers = city.layers
        return cls.from_layer(
            layers["addresses"],
            buildings=layers.get("buildings"),
            roads=layers.get("roads"),
            districts=layers.get("districts"),
            streets=layers.get("streets"),
            communities=layers.get("communities"),
            grid=layers.get("grid"),
            home=city.settings.home,
            metric_crs=city.metric_crs,
        )

    @staticmethod
    def _road_points(
        records: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | None
    ) -> dict[str, shapely.Point]:
        points: dict[str, shapely.Point] = {}
        if roads is not None and "name" in roads.columns:
            named = roads[roads["name"].notna()]
            keys = [clean(str(n)).replace(" ", "") for n in named["name"]]
            for name, lines in _grouped(keys, named.geometry.values):
                line = shapely.line_merge(shapely.union_all(lines))
                points[name] = (
                    line.interpolate(0.5, normalized=True)
                    if line.geom_type == "LineString"
                    else line.representative_point()
                )
        placed = records[records["road"].notna()]
        for road, group in _grouped(placed["road"], placed.geometry.values):
            points.setdefault(road, shapely.MultiPoint(group).centroid)
        return points

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"AddressBase({len(self.records)} standard addresses, {len(self._roads)} roads)"

    # -- geocoding --------------------------------------------------------------------------

    def _agreeing(self, found: list[int], parsed: pd.Series) -> tuple[list[int], float]:
        """Candidates in the query's city (others are ruled out); a wrong district costs score."""
        for level, penalty in (("city", None), ("district", 0.8)):
            wanted = parsed[level]
            if wanted is None:
                continue
            column = self.records[level]
            agree = [p for p in found if column.iat[p] in (None, wanted)]
            if agree:
                found = agree
            elif penalty is None:
                return [], 0.0
            else:
                return found, penalty
        return found, 1.0

    def _elsewhere(self, parsed: pd.Series) -> bool:
        """Whether the address names a city that the base does not cover."""
        return (
            parsed["city"] is not None and bool(self.cities) and parsed["city"] not in self.cities
        )

    def _match(self, parsed: pd.Series, alias: str | None) -> tuple[str, list[int], object, float]:
        for level, key_sets in _KEYS.items():
            for fields in key_sets:
                key = tuple(parsed[f] for f in fields)
                if any(v is None for v in key):
                    continue
                found, factor = self._agreeing(self._index.get((level, fields, key), []), parsed)
                if found:
                    return level, found, None, factor
        if alias is not None and alias in self._aliases:
            position = self._aliases[alias]
            return self.records["level"].iat[position], [position], None, 1.0
        if self._elsewhere(parsed):  # its road or district may share a name with one here
            return "none", [], None, 1.0
        if parsed["road"] is not None and parsed["road"] in self._roads:
            return "road", [], self._roads[parsed["road"]], 1.0
        for level, layer in _UNIT_LEVELS:
            if parsed[level] is not None:
                point = self._units.centroid(layer, parsed[level])
                if point is None:
                    inside = self.records[self.records[level] == parsed[level]]
                    point = (
                        None
                        if inside.empty
                        else shapely.MultiPoint(inside.geometry.values).centroid
                    )
                if point is not None:
                    return level, [], point, 1.0
        return "none", [], None, 1.0

    def geocode(self, texts) -> gpd.GeoDataFrame:
        """Match address texts to standard addresses.

        Parsed parts are matched from the finest level down (room, building, door number or
        place name, road, community, town, district); a text the parser cannot read may still
        match a source text of the base exactly. Where nothing finer is known the point is
        the unit's centroid (or the middle of the road).

        Returns
        -------
        GeoDataFrame
                ``text, address_id, standard, code, match_level, score, candidates, district,
            town, reason`` and the point (EPSG:4326; empty where ``match_level`` is
            ``none``). ``reason`` says why nothing matched, or names the places an
            ambiguous district name could be (see :func:`cim.address.parse`).
        """
        texts = list(texts)
        parsed = parse_many(texts, home=self.home)
        rows, points = [], []
        for i, text in enumerate(texts):
            level, found, point, factor = self._match(parsed.iloc[i], _alias_key(text))
            record = (
                self.records.iloc[min(found, key=lambda p: self.records["address_id"].iat[p])]
                if found
                else None
            )
            score = _LEVEL_SCORE[level] * factor * (1.0 if len(found) <= 1 else 0.9)
            rows.append(
                {
                    "text": text,
                    "address_id": None if record is None else record["address_id"],
                    "standard": None if record is None else record["standard"],
                    "code": None if record is None else record["code"],
                    "match_level": level,
                    "score": score,
                    "candidates": len(found),
                    "district": parsed["district"].iat[i]
                    if record is None
                    else record["district"] or parsed["district"].iat[i],
                    "town": parsed["town"].iat[i]
                    if record is None
                    else record["town"] or parsed["town"].iat[i],
                    "reason": (self._why_none(parsed.iloc[i]) if level == "none" else None)
                    or parsed["ambiguous"].iat[i],
                }
            )
            points.append(record.geometry if record is not None else point)
        return gpd.GeoDataFrame(
            pd.DataFrame(rows, columns=GEOCODE_COLUMNS), geometry=gpd.GeoSeries(points, crs=4326)
        )

    def _why_none(self, parsed: pd.Series) -> str | None:
        if parsed["error"] is not None:
            return parsed["error"]
        if self._elsewhere(parsed):
            return f"in {parsed['city']}, outside this base ({'、'.join(sorted(self.cities))})"
        return None

    def reverse(self, points: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoDataFrame:
        """For each point: its district / street / community / grid cell and the nearest address.

        Returns
        -------
        GeoDataFrame
            The input points with ``<unit>_code`` and ``<unit>_name`` for each unit layer the
            base holds, ``address_id``, ``standard`` and ``distance_m`` to the nearest
            standard address.
        """
        gdf = points.to_frame("geometry") if isinstance(points, gpd.GeoSeries) else points.copy()
        gdf = gdf.to_crs(4326) if gdf.crs is not None else gdf.set_crs(4326)
        for layer, gdf_units in self._units.layers.items():
            unit = layer.removesuffix("s") if layer != "grid" else "grid"
            columns = [c for c in ("code", "name") if c in gdf_units.columns]
            joined = gpd.sjoin(
                gdf[["geometry"]], gdf_units[[*columns, "geometry"]], predicate="within", how="left"
            )
            joined = joined[~joined.index.duplicated()]
            for column in columns:
                gdf[f"{unit}_{column}"] = joined[column]
        index, distance = self._tree.query_nearest(
            gdf.geometry.to_crs(self._metric).values, return_distance=True, all_matches=False
        )
        nearest = self.records.iloc[index[1]]
        gdf["address_id"] = nearest["address_id"].to_numpy()
        gdf["standard"] = nearest["standard"].to_numpy()
        gdf["distance_m"] = distance
        return gdf

    def link(self, records: pd.DataFrame, *, address_col: str = "address") -> LinkResult:
        """Attach people / house / organisation records (实有人口/房屋/单位) to addresses and units.

        Returns
        -------
        LinkResult
            ``linked``: the records with ``address_id``, ``match_level``, ``score``, the
            spatial units of the matched point, and the point; ``report``: the rows that were
            not matched or matched ambiguously, with the reason.
        """
        if address_col not in records.columns:
            raise layers.MissingError(
                f"records have no column {address_col!r}; pass address_col= naming the address column"
            )
        matched = self.geocode(records[address_col].tolist())
        matched.index = records.index
        located = matched.geometry.notna() & ~matched.geometry.is_empty
        units = self.reverse(matched.loc[located, ["geometry"]].set_crs(4326, allow_override=True))
        unit_columns = [
            c for c in units.columns if c.endswith(("_code", "_name")) and c != "address_id"
        ]
        linked = gpd.GeoDataFrame(
            pd.concat(
                [
                    records,
                    matched[["address_id", "standard", "match_level", "score", "candidates"]],
                    units[unit_columns].reindex(records.index),
                ],
                axis=1,
            ),
            geometry=matched.geometry,
            crs=4326,
        )
        unmatched = matched["match_level"].eq("none")
        ambiguous = matched["candidates"] > 1
        coarse = ~unmatched & ~matched["match_level"].isin(["room", "building", "road_no"])
        reason = np.select(
            [unmatched, ambiguous, coarse],
            [
                "unmatched: " + matched["reason"].fillna("no part of it is in the base"),
                "ambiguous: " + matched["candidates"].astype(str) + " standard addresses fit",
                "coarse: only matched at " + matched["match_level"] + " level",
            ],
            None,
        )
        report = pd.DataFrame(
            {"row": records.index, "text": records[address_col], "reason": reason}
        )
        return LinkResult(linked, report[report["reason"].notna()].reset_index(drop=True))


def _place_in_districts(table: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> None:
    """Fill missing divisions from the district polygon each point lies in."""
    missing = table["district"].isna()
    if not missing.any():
        return
    joined = gpd.sjoin(
        table.loc[missing, ["geometry"]],
        districts[["code", "geometry"]],
        predicate="within",
        how="inner",
    )
    joined = joined[~joined.index.duplicated()]
    index = divisions()
    for row, code in zip(joined.index, joined["code"], strict=True):
        for division in index.chain(code):
            if division.level in ADDRESS_FIELDS and table.at[row, division.level] is None:
                table.at[row, division.level] = division.name
        current = table.at[row, "division_code"]
        if current is None or len(current.rstrip("0")) <= 4:  # none, or only a province or city
            table.at[row, "division_code"] = code


def _finest_level(frame: pd.DataFrame) -> pd.Series:
    level = pd.Series("city", index=frame.index, dtype=object)
    for name, fields in (
        ("district", ("district",)),
        ("town", ("town",)),
        ("community", ("community",)),
        ("road", ("road",)),
        ("road_no", ("road_no",)),
        ("road_no", ("poi",)),
        ("building", ("building",)),
        ("room", ("room",)),
    ):
        level[frame[list(fields)].notna().all(axis=1)] = name
    return level


def _deduplicate(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    key = table[list(_DETAIL)].fillna("").agg("|".join, axis=1)
    table = table.assign(_key=key)
    first = table.groupby("_key", sort=False).agg(
        source_ids=("id", list),
        aliases=("alias", lambda a: sorted({x for x in a if x})),
        **{f: (f, "first") for f in ADDRESS_FIELDS},
        division_code=("division_code", "first"),
        geometry=(
            "geometry",
            lambda g: shapely.MultiPoint(list(g)).centroid if len(g) > 1 else g.iloc[0],
        ),
    )
    records = gpd.GeoDataFrame(first.reset_index(drop=True), geometry="geometry", crs=4326)
    records = records.astype({f: object for f in ADDRESS_FIELDS}).where(records.notna(), None)
    records["level"] = _finest_level(records)
    records["standard"] = records[list(ADDRESS_FIELDS)].apply(
        lambda r: "".join(v for v in r if v), axis=1
    )
    records["code"] = _codes(records)
    records.insert(0, "address_id", [f"A{i:06d}" for i in range(1, len(records) + 1)])
    return records


def _codes(records: pd.DataFrame) -> pd.Series:
    """GB/T 39609-style codes: division-road-door-building-unit-room, unique by a suffix."""
    roads = {name: i for i, name in enumerate(sorted(records["road"].dropna().unique()), start=1)}
    division = records["division_code"].fillna("000000000000")
    codes = [
        f"{d}-{roads.get(r, 0):04d}-{_number(n):05d}-{_number(b, True):03d}-{_number(u):02d}-{_number(m, True):05d}"
        for d, r, n, b, u, m in zip(
            division,
            records["road"],
            records["road_no"],
            records["building"],
            records["unit"],
            records["room"],
            strict=True,
        )
    ]
    seen: dict[str, int] = {}
    unique = []
    for code in codes:
        seen[code] = seen.get(code, 0) + 1
        unique.append(f"{code}-{seen[code]:02d}")
    return pd.Series(unique, index=records.index)


def _grouped(keys, geometries) -> list[tuple[str, np.ndarray]]:
    """The geometries of each key, keys sorted, each group in its rows' order: what
    ``groupby`` gives, without making a GeoDataFrame per group."""
    keys = np.asarray(keys, dtype=object)
    if not len(keys):
        return []
    order = np.argsort(keys, kind="stable")
    names, starts = np.unique(keys[order], return_index=True)
    return list(zip(names, np.split(np.asarray(geometries)[order], starts[1:]), strict=True))
