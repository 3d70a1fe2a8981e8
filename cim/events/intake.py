"""Event intake: hotline calls, grid patrol reports and sensor alarms, located, classified,
dispatched and logged in batches.

- ``hotline`` (12345): an address text (and the complaint text), geocoded through the
  :class:`cim.address.AddressBase`; a match coarser than a road is kept for statistics but
  not dispatched, with the reason in ``note``;
- ``patrol`` (网格巡查): a point (``lon``, ``lat`` in WGS84) and a text;
- ``sensor`` (物联感知告警): a ``sensor_id`` from the city's ``sensors`` layer; the sensor's
  position and kind locate and classify the alarm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

import layers
import routing
from cim.address import AddressBase
from cim.events.classify import EventClass, classify
from cim.events.log import EventLog
from cim.model import CityModel
from cim.response import dispatch_incidents
from layers.times import local_times

__all__ = ["DISPATCHABLE", "SOURCES", "IngestResult", "check_events", "ingest"]

SOURCES = ("hotline", "patrol", "sensor")
DISPATCHABLE = (
    "room",
    "building",
    "road_no",
    "road",
)  # geocode levels precise enough to send a unit
OPTIONAL = ("text", "address", "lon", "lat", "sensor_id")


@dataclass
class IngestResult:
    """What an ingest did: rows logged, already in the log, refused, dispatched, not located."""

    logged: int
    skipped: int
    bad_rows: pd.DataFrame
    dispatched: int
    unlocated: int


def check_events(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split raw event rows into usable ones and bad ones with the reason.

    Needs ``id``, ``source`` (hotline / patrol / sensor) and ``reported_at``; a hotline row
    an ``address`` or ``text``, a patrol row ``lon``/``lat``, a sensor row ``sensor_id``.
    A bad row's ``row`` is its index label: ``"line 7"`` for a table read by
    :func:`cim.tables.read_table`.

    Examples
    --------
    >>> raw = pd.DataFrame({"id": ["a", "a", None], "source": ["patrol", "patrol", "hotline"],
    ...                     "reported_at": ["2026-07-15 08:00"] * 3, "lon": [104.06, 104.06, None],
    ...                     "lat": [30.66, 30.66, None]})
    >>> good, bad = check_events(raw)
    >>> len(good), bad["reason"].tolist()
    (1, ['id repeats an earlier row', 'no id'])
    """
    for column in ("id", "source", "reported_at"):
        if column not in table.columns:
            raise layers.MissingError(
                f"events need a {column!r} column; they have {', '.join(map(str, table.columns))}"
            )
    frame = table.reindex(columns=[*table.columns, *[c for c in OPTIONAL if c not in table]])
    frame = frame.assign(id=frame["id"].where(frame["id"].notna(), None))
    reported = local_times(frame["reported_at"])
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    blank = {c: frame[c].isna() | (frame[c].astype(str).str.strip() == "") for c in OPTIONAL}
    reasons = [
        (frame["id"].isna() | (frame["id"].astype(str).str.strip() == ""), "no id"),
        (frame["id"].notna() & frame["id"].duplicated(), "id repeats an earlier row"),
        (~frame["source"].isin(SOURCES), f"source is not one of {', '.join(SOURCES)}"),
        (reported.isna(), "reported_at is not a time"),
        (
            (frame["source"] == "hotline") & blank["address"] & blank["text"],
            "hotline call without address or text",
        ),
        (
            (frame["source"] == "patrol") & ~(lon.between(73, 136) & lat.between(3, 54)),
            "patrol report without lon/lat in China",
        ),
        ((frame["source"] == "sensor") & blank["sensor_id"], "sensor alarm without sensor_id"),
    ]
    reason = pd.Series(None, index=frame.index, dtype=object)
    for mask, text in reversed(reasons):
        reason[mask] = text
    refused = reason.notna()
    bad = frame[refused].assign(row=frame.index[refused], reason=reason[refused])
    good = frame[reason.isna()].assign(
        reported_at=reported[reason.isna()], lon=lon[reason.isna()], lat=lat[reason.isna()]
    )
    return good.reset_index(drop=True), bad[["row", "id", "source", "reason"]]


def _locate(events: pd.DataFrame, city: CityModel, base: AddressBase) -> pd.DataFrame:
    """lon, lat, located_by, sensor_kind and a note per event."""
    out = pd.DataFrame(
        {
            "lon": events["lon"],
            "lat": events["lat"],
            "located_by": np.where(events["source"] == "patrol", "patrol", None),
            "sensor_kind": None,
            "note": None,
        },
        index=events.index,
    )
    calls = events["source"] == "hotline"
    if calls.any():
        texts = events.loc[calls, "address"].fillna(events.loc[calls, "text"]).astype(str)
        found = base.geocode(texts.tolist())
        found.index = texts.index
        point = found.geometry
        out.loc[calls, "lon"] = point.x.where(~point.is_empty)
        out.loc[calls, "lat"] = point.y.where(~point.is_empty)
        out.loc[calls, "located_by"] = "address:" + found["match_level"]
        coarse = ~found["match_level"].isin(DISPATCHABLE)
        out.loc[coarse[coarse].index, "note"] = np.where(
            found.loc[coarse, "match_level"] == "none",
            "address not found; locate by hand before dispatch",
            "address located only to " + found.loc[coarse, "match_level"] + "; not dispatched",
        )
    alarms = events["source"] == "sensor"
    if alarms.any():
        sensors = city.layers.get("sensors", gpd.GeoDataFrame({"id": [], "kind": []}))
        sensors = sensors.set_index("id")
        ids = events.loc[alarms, "sensor_id"].astype(str)
        known = ids.isin(sensors.index)
        hit = ids[known]
        if len(hit):
            geometry = sensors.geometry.loc[hit]
            out.loc[hit.index, "lon"] = geometry.x.to_numpy()
            out.loc[hit.index, "lat"] = geometry.y.to_numpy()
            out.loc[hit.index, "sensor_kind"] = sensors["kind"].loc[hit].to_numpy()
            out.loc[hit.index, "located_by"] = "sensor"
        out.loc[ids[~known].index, "note"] = "unknown sensor_id; not in the sensors layer"
    return out


def _unit_codes(points: gpd.GeoDataFrame, city: CityModel) -> pd.Series:
    if "districts" not in city.layers or points.empty:
        return pd.Series(None, index=points.index, dtype=object)
    joined = points[["geometry"]].sjoin(
        city.layer("districts")[["code", "geometry"]], predicate="within", how="left"
    )
    return joined.groupby(level=0)["code"].first().reindex(points.index)


def _batch(
    events: pd.DataFrame, city: CityModel, base: AddressBase, classes
) -> tuple[pd.DataFrame, pd.DataFrame]:
    where = _locate(events, city, base)
    kinds = classify(events["text"], where["sensor_kind"], classes=classes)
    kinds.index = events.index
    rows = pd.concat([events.drop(columns=["lon", "lat"]), where, kinds], axis=1)
    rows["id"] = rows["id"].astype(str)
    placed = rows["lon"].notna()
    points = gpd.GeoDataFrame(
        rows[placed],
        geometry=gpd.points_from_xy(rows["lon"][placed], rows["lat"][placed]),
        crs=4326,
    )
    rows["unit_code"] = _unit_codes(points, city)
    reported = pd.to_datetime(rows["reported_at"])
    rows["respond_by"] = (reported + pd.to_timedelta(rows["respond_min"], unit="min")).map(
        pd.Timestamp.isoformat
    )
    rows["resolve_by"] = (reported + pd.to_timedelta(rows["resolve_min"], unit="min")).map(
        pd.Timestamp.isoformat
    )
    rows["reported_at"] = reported.map(pd.Timestamp.isoformat)
    ready = placed & rows["note"].isna()
    send = ready & rows["kind"].notna()
    rows["resource_id"], rows["eta_s"] = None, np.nan  # for a batch with nothing to send
    if send.any():
        incidents = points.loc[send[send].index, ["id", "kind", "priority", "geometry"]]
        routes = dispatch_incidents(city, incidents.assign(reported_at=reported[send]))
        first = routing.first_units(routes).set_index("incident_id")
        rows.loc[send, "resource_id"] = rows.loc[send, "id"].map(first["resource_id"])
        rows.loc[send, "eta_s"] = rows.loc[send, "id"].map(first["eta_s"])
        failed = send & rows["resource_id"].isna()
        rows.loc[failed, "note"] = rows.loc[failed, "id"].map(first["reason"]).fillna("no unit")
        ready &= ~failed
    rows["status"] = np.where(ready, "dispatched", "reported")
    steps = pd.concat(
        [
            pd.DataFrame({"event_id": rows["id"], "status": "reported", "at": rows["reported_at"]}),
            pd.DataFrame(
                {
                    "event_id": rows.loc[ready, "id"],
                    "status": "dispatched",
                    "at": rows.loc[ready, "reported_at"],
                    "note": "派遣至 " + rows.loc[ready, "department"],
                }
            ),
        ],
        ignore_index=True,
    )
    return rows, steps


def ingest(
    events: pd.DataFrame,
    city: CityModel,
    log: EventLog,
    *,
    base: AddressBase | None = None,
    classes: list[EventClass] | None = None,
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Locate, classify, dispatch and log events, one transaction per ``batch``.

    Rows that cannot be used are returned in ``bad_rows`` with the reason; ids already in
    the log are skipped, so rerunning after a crash finishes the rest without doubling, and
    two ingests of overlapping tables into one log at once both finish, each id logged once.

    Examples
    --------
    >>> import cim, tempfile
    >>> calls = pd.DataFrame({"id": ["e1"], "source": ["patrol"], "reported_at": ["2026-07-15 08:00"],
    ...                       "text": ["路边着火冒烟"], "lon": [104.0705], "lat": [30.6601]})
    >>> log = EventLog(tempfile.mkdtemp() + "/events.db")
    >>> result = ingest(calls, cim.sample_city(), log)
    >>> result.logged, log.events()[["class_name", "department", "status"]].values.tolist()
    (1, [['火灾', '消防救援支队', 'dispatched']])
    """
    good, bad = check_events(events)
    seen = log.known(good["id"].astype(str))
    fresh = good[~good["id"].astype(str).isin(seen)]
    base = AddressBase.from_city(city) if base is None else base
    logged = dispatched = unlocated = 0
    for start in range(0, len(fresh), batch):
        rows, steps = _batch(fresh.iloc[start : start + batch], city, base, classes)
        added = rows[rows["id"].isin(log.write(rows, steps))]
        logged += len(added)
        dispatched += int(added["resource_id"].notna().sum())
        unlocated += int(added["note"].notna().sum())
        if progress:
            progress(len(rows))
    return IngestResult(logged, len(good) - logged, bad, dispatched, unlocated)
