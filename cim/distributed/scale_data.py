"""Synthetic city-scale data by seed, for the scale benchmark and tests (never committed).

:func:`write_scale_data` writes partitioned (Geo)Parquet over the sample city:

- ``addresses/``: ``id, address``; the divisions (district → street → community) come from
  the division table's Chengdu entries, the roads from the sample's road names; door numbers,
  buildings, units and rooms are drawn; noise as real lists have it (the province and city
  left out, a road's section in Arabic digits, spaces, full-width digits, 号 dropped) and
  about 1 % rows no address can be read from (empty, Latin text, digits only);
- ``sensors/``: points (``id, kind, range_m, status``) uniform over the sample's unit grid,
  kinds and ranges in the sample's proportions, 5 % offline; each partition is one west-east
  strip of the city, so partitions are spatial and their GeoParquet bounding boxes tell
  Dask which units each can meet;
- ``incidents/``: points (``id, kind, priority, reported_at``) over the same area through
  one year, one partition after another in time; about 1 % of a kind no one responds to.

The same seed gives the same files.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cim.address.divisions import divisions
from cim.atomic import atomic_path
from cim.paths import SAMPLE_DIR

__all__ = ["CHENGDU", "write_scale_data"]

CHENGDU = "510100000000"
SENSOR_KINDS = {  # kind: (share, range_m), as in the sample's sensors
    "camera": (0.51, 50.0),
    "manhole": (0.25, 30.0),
    "smoke": (0.18, 20.0),
    "water_level": (0.03, 100.0),
    "air": (0.02, 500.0),
    "rain_gauge": (0.01, 1500.0),
}
INCIDENT_KINDS = {"medical": 0.4, "traffic": 0.23, "fire": 0.2, "public_security": 0.16}
UNKNOWN_KIND = "other"  # no responder: these rows get a reason instead of a route
_SECTIONS = ("一段", "二段", "三段", "四段")
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_UNREADABLE = np.array(["", "N/A", "12345", "unknown address", "——"], dtype=object)


def _chains() -> np.ndarray:
    """(district, town, community) of every Chengdu community in the division table."""
    index = divisions()
    rows = [
        index.level_names(d.code)[2:]
        for d in index.by_code.values()
        if d.level == "community" and CHENGDU in d.lineage
    ]
    return np.array(sorted(rows), dtype=object)


def _roads(source: Path) -> np.ndarray:
    names = pd.read_parquet(source / "roads.parquet", columns=["name"])["name"]
    return np.array(sorted(names.dropna().unique()), dtype=object)


def _extent(source: Path) -> tuple[float, float, float, float]:
    return tuple(gpd.read_parquet(source / "grid.parquet", columns=["geometry"]).total_bounds)


def _pick(rng: np.random.Generator, values: np.ndarray, n: int) -> np.ndarray:
    return values[rng.integers(0, len(values), n)]


def _maybe(rng: np.random.Generator, values, share: float) -> pd.Series:
    """``values`` where a draw falls below ``share``, else the empty string."""
    values = pd.Series(values, dtype=object)
    return values.where(rng.random(len(values)) < share, "")


def _addresses(rng, n: int, start: int, chains: np.ndarray, roads: np.ndarray) -> pd.DataFrame:
    chain = chains[rng.integers(0, len(chains), n)]
    road = pd.Series(_pick(rng, roads, n), dtype=object)
    # a section written in Arabic digits (人民南路4段) where the road has one
    sectioned = road.str.endswith(_SECTIONS) & (rng.random(n) < 0.3)
    for i, section in enumerate(_SECTIONS, start=1):
        at = sectioned & road.str.endswith(section)
        road[at] = road[at].str.slice(stop=-2) + f"{i}段"
    door = pd.Series(rng.integers(1, 400, n).astype(str), dtype=object)
    door = door + np.where(rng.random(n) < 0.9, "号", "")
    building = _maybe(rng, pd.Series(rng.integers(1, 30, n).astype(str)) + "栋", 0.5)
    unit = _maybe(rng, pd.Series(rng.integers(1, 6, n).astype(str)) + "单元", 0.4)
    room = pd.Series(rng.integers(1, 33, n) * 100 + rng.integers(1, 9, n)).astype(str)
    text = (
        _maybe(rng, np.full(n, "四川省"), 0.3)
        + _maybe(rng, np.full(n, "成都市"), 0.6)
        + chain[:, 0]
        + _maybe(rng, chain[:, 1], 0.4)
        + _maybe(rng, chain[:, 2], 0.2)
        + road
        + _maybe(rng, np.full(n, " "), 0.1)
        + door
        + building
        + unit
        + _maybe(rng, room, 0.5)
    )
    wide = rng.random(n) < 0.05
    text[wide] = text[wide].str.translate(_FULL_WIDTH)
    bad = rng.random(n) < 0.01
    text[bad] = _pick(rng, _UNREADABLE, int(bad.sum()))
    ids = pd.Series(np.arange(start, start + n)).map("A{:09d}".format)
    return pd.DataFrame({"id": ids.to_numpy(), "address": text.to_numpy()})


def _sensors(rng, n: int, start: int, box: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    kinds = np.array(list(SENSOR_KINDS), dtype=object)
    share = np.array([v[0] for v in SENSOR_KINDS.values()])
    kind = kinds[rng.choice(len(kinds), n, p=share / share.sum())]
    x = rng.uniform(box[0], box[2], n)
    y = rng.uniform(box[1], box[3], n)
    return gpd.GeoDataFrame(
        {
            "id": pd.Series(np.arange(start, start + n)).map("S{:09d}".format).to_numpy(),
            "kind": kind,
            "range_m": pd.Series(kind).map({k: v[1] for k, v in SENSOR_KINDS.items()}).to_numpy(),
            "status": np.where(rng.random(n) < 0.95, "online", "offline").astype(object),
        },
        geometry=shapely.points(x, y),
        crs=4326,
    )


def _incidents(rng, n: int, start: int, box, period: tuple[pd.Timestamp, pd.Timestamp]):
    kinds = np.array([*INCIDENT_KINDS, UNKNOWN_KIND], dtype=object)
    share = np.array([*INCIDENT_KINDS.values(), 0.01])
    span = (period[1] - period[0]).value
    at = np.sort(rng.integers(0, span, n)) + period[0].value
    return gpd.GeoDataFrame(
        {
            "id": pd.Series(np.arange(start, start + n)).map("I{:09d}".format).to_numpy(),
            "kind": kinds[rng.choice(len(kinds), n, p=share / share.sum())],
            "priority": rng.choice([1, 2, 3], n, p=[0.4, 0.5, 0.1]),
            "reported_at": pd.to_datetime(at),
        },
        geometry=shapely.points(rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)),
        crs=4326,
    )


def _sizes(total: int, per: int) -> list[int]:
    return [min(per, total - start) for start in range(0, total, per)]


def write_scale_data(
    out,
    *,
    addresses: int = 0,
    sensors: int = 0,
    incidents: int = 0,
    rows_per_partition: int = 250_000,
    seed: int = 0,
    source=SAMPLE_DIR,
) -> dict[str, list[Path]]:
    """Write synthetic addresses, sensors and incidents over a city as Parquet partitions.

    Parameters
    ----------
    out : path
        Folder for ``addresses/``, ``sensors/`` and ``incidents/`` (only those asked for),
        each holding ``part-00000.parquet`` … of ``rows_per_partition`` rows.
    addresses, sensors, incidents : int
        How many rows of each.
    seed : int
        The same seed writes the same rows.
    source : path
        A saved city folder with ``roads.parquet`` (road names) and ``grid.parquet`` (the
        area points are drawn in); the Chengdu sample by default.

    Returns
    -------
    dict
        Kind → the partition files written.

    Examples
    --------
    >>> import tempfile
    >>> written = write_scale_data(tempfile.mkdtemp(), addresses=5, rows_per_partition=3)
    >>> [p.name for p in written["addresses"]]
    ['part-00000.parquet', 'part-00001.parquet']
    """
    out, source = Path(out), Path(source)
    rng = np.random.default_rng(seed)
    box = _extent(source)
    period = (pd.Timestamp("2024-01-01"), pd.Timestamp("2025-01-01"))
    makers = {
        "addresses": (addresses, lambda n, s: _addresses(rng, n, s, chains, roads)),
        "sensors": (sensors, None),
        "incidents": (incidents, lambda n, s: _incidents(rng, n, s, box, period)),
    }
    if addresses:
        chains, roads = _chains(), _roads(source)
    written: dict[str, list[Path]] = {}
    for kind, (total, make) in makers.items():
        if not total:
            continue
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        sizes = _sizes(total, rows_per_partition)
        written[kind] = []
        for i, size in enumerate(sizes):
            start = sum(sizes[:i])
            if kind == "sensors":  # strip i of the city, west to east
                width = (box[2] - box[0]) / len(sizes)
                strip = (box[0] + i * width, box[1], box[0] + (i + 1) * width, box[3])
                frame = _sensors(rng, size, start, strip)
            else:
                frame = make(size, start)
            path = folder / f"part-{i:05d}.parquet"
            with atomic_path(path) as tmp:
                frame.to_parquet(tmp)
            written[kind].append(path)
    return written
