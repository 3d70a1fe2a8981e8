"""The event log: SQLite, one transaction per batch, and the lifecycle of each event.

Every event moves ``reported → dispatched → on_scene → resolved → closed``, one step at a
time, each step stamped in ``transitions``. An ingest batch is written in one transaction
(journal in WAL mode, ``synchronous=FULL``): a crash leaves either the whole batch or none of
it, and ids already in the log are skipped on the next run, so nothing is lost or doubled.
Several processes may write one log at once: each waits its turn (up to ``BUSY_TIMEOUT_S``)
and an id that another one logged first is skipped.

A log is created only where no file exists; an existing file that is not an event log (empty,
damaged, or another SQLite database) is refused with a :class:`layers.InputError`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from pathlib import Path

import geopandas as gpd
import pandas as pd

import layers

__all__ = ["BUSY_TIMEOUT_S", "COLUMNS", "STATES", "EventLog", "LifecycleError"]

BUSY_TIMEOUT_S = 30.0  # how long a writer waits for another one to finish its batch

STATES = ("reported", "dispatched", "on_scene", "resolved", "closed")
COLUMNS = (
    "id",
    "source",
    "reported_at",
    "text",
    "address",
    "sensor_id",
    "lon",
    "lat",
    "located_by",
    "unit_code",
    "class_code",
    "class_name",
    "major_name",
    "department",
    "kind",
    "priority",
    "respond_by",
    "resolve_by",
    "status",
    "resource_id",
    "eta_s",
    "note",
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS events (
    {", ".join(f"{c} {'TEXT PRIMARY KEY' if c == 'id' else ''}" for c in COLUMNS)},
    escalated_at TEXT
);
CREATE TABLE IF NOT EXISTS transitions (
    event_id TEXT NOT NULL REFERENCES events(id),
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (event_id, status)
);
CREATE INDEX IF NOT EXISTS events_status ON events(status);
"""
_TABLES = {
    "events": {*COLUMNS, "escalated_at"},
    "transitions": {"event_id", "status", "at", "note"},
}


class LifecycleError(layers.CimError, ValueError):
    """A transition out of order (e.g. closing an event that was never resolved)."""


def _stamp(at) -> str:
    return pd.Timestamp(at).isoformat()


def _create(path: Path) -> None:
    """Write an empty log beside ``path`` and link it into place, unless a file appeared there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with contextlib.closing(sqlite3.connect(tmp, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(tmp, path)
    except sqlite3.OperationalError as err:  # e.g. a folder we may not write in
        raise layers.InputError(f"cannot create the event log {path} ({err})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _refuse(path: Path, what: str) -> layers.InputError:
    return layers.InputError(
        f"{path} is {what}, not an event log; name a file that does not exist yet to start "
        "a new log there",
        source=str(path),
    )


class EventLog:
    """An event log in a SQLite file.

    Examples
    --------
    >>> import tempfile
    >>> log = EventLog(tempfile.mkdtemp() + "/events.db")
    >>> len(log.events())
    0
    """

    def __init__(self, path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise _refuse(self.path, "a folder")
        if not self.path.exists():
            _create(self.path)
        elif self.path.stat().st_size == 0:
            raise _refuse(self.path, "an empty file (0 bytes)")
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        try:
            self._check()
        except BaseException:
            self._db.close()
            raise
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")

    def _check(self) -> None:
        """Refuse a file that is not a SQLite database holding this log's tables."""
        try:
            found = self._db.execute(
                "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
                "WHERE m.type = 'table'"
            ).fetchall()
        except sqlite3.OperationalError as err:  # unreadable, or locked past BUSY_TIMEOUT_S
            raise layers.InputError(
                f"{self.path}: cannot read the event log ({err})", source=str(self.path)
            ) from None
        except sqlite3.DatabaseError as err:  # not a database, or damaged (e.g. truncated)
            raise _refuse(self.path, f"not a readable SQLite database ({err})") from None
        columns: dict[str, set[str]] = {}
        for table, column in found:
            columns.setdefault(table, set()).add(column)
        for table, needed in _TABLES.items():
            if not needed <= columns.get(table, set()):
                have = ", ".join(sorted(columns)) or "none"
                raise _refuse(
                    self.path, f"a database without this log's {table!r} table (its tables: {have})"
                )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def known(self, ids) -> set[str]:
        """Which of ``ids`` are already in the log."""
        ids = [str(i) for i in ids]
        found: set[str] = set()
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT id FROM events WHERE id IN ({marks})", part)
            found.update(r[0] for r in rows)
        return found

    def write(self, events: pd.DataFrame, transitions: pd.DataFrame) -> set[str]:
        """Add a batch of new events and their first transitions, all or nothing.

        Events whose id is already in the log (another process may have logged them since
        :meth:`known` was asked) are left as they are, with their transitions.

        Returns
        -------
        set of str
            The ids this call added.
        """
        marks = ",".join("?" * len(COLUMNS))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            ids = events["id"].astype(str)
            fresh = ~ids.isin(self.known(ids))
            rows = events[fresh].reindex(columns=COLUMNS).astype(object)
            rows = rows.where(rows.notna(), None)
            steps = transitions[transitions["event_id"].astype(str).isin(ids[fresh])]
            steps = steps[["event_id", "status", "at", "note"]].astype(object)
            steps = steps.where(steps.notna(), None)
            self._db.executemany(
                f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({marks})",
                rows.itertuples(index=False, name=None),
            )
            self._db.executemany(
                "INSERT INTO transitions VALUES (?, ?, ?, ?)",
                steps.itertuples(index=False, name=None),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return set(ids[fresh])

    def advance(self, event_id: str, status: str, *, at, note: str | None = None) -> None:
        """Move an event to its next state; anything else is a :class:`LifecycleError`."""
        if status not in STATES:
            raise LifecycleError(f"unknown state {status!r}; states are {', '.join(STATES)}")
        row = self._db.execute("SELECT status FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            raise LifecycleError(f"no event {event_id!r} in {self.path}")
        current = STATES.index(row[0])
        if STATES.index(status) != current + 1:
            expected = STATES[current + 1] if current + 1 < len(STATES) else "nothing (closed)"
            raise LifecycleError(
                f"event {event_id!r} is {row[0]}; its next state is {expected}, not {status}"
            )
        last = self._db.execute(
            "SELECT MAX(at) FROM transitions WHERE event_id = ?", (event_id,)
        ).fetchone()[0]
        if last is not None and pd.Timestamp(at) < pd.Timestamp(last):
            raise LifecycleError(f"event {event_id!r}: {status} at {at} is before {last}")
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("UPDATE events SET status = ? WHERE id = ?", (status, event_id))
        self._db.execute(
            "INSERT INTO transitions VALUES (?, ?, ?, ?)", (event_id, status, _stamp(at), note)
        )
        self._db.execute("COMMIT")

    def escalate(self, now) -> pd.DataFrame:
        """Mark events past their time limit (on scene, or resolved) as escalated.

        Returns the events escalated by this call (each event is escalated once).
        """
        now = _stamp(now)
        query = """
            SELECT id, status, department, respond_by, resolve_by FROM events
            WHERE escalated_at IS NULL AND (
                (status IN ('reported', 'dispatched') AND respond_by < :now) OR
                (status = 'on_scene' AND resolve_by < :now))
        """
        late = pd.read_sql_query(query, self._db, params={"now": now})
        self._db.execute("BEGIN IMMEDIATE")
        self._db.executemany(
            "UPDATE events SET escalated_at = ? WHERE id = ?", [(now, i) for i in late["id"]]
        )
        self._db.execute("COMMIT")
        return late

    def events(self) -> pd.DataFrame:
        """Every event with its current state."""
        return pd.read_sql_query("SELECT * FROM events ORDER BY reported_at, id", self._db)

    def transitions(self, event_id: str | None = None) -> pd.DataFrame:
        query = "SELECT * FROM transitions" + (" WHERE event_id = ?" if event_id else "")
        return pd.read_sql_query(
            query + " ORDER BY at, rowid", self._db, params=(event_id,) if event_id else None
        )

    def stats(self) -> pd.DataFrame:
        """Per class: events, open, escalated, mean minutes to on scene and to closed."""
        query = """
            SELECT e.major_name, e.class_name, e.department,
                   COUNT(*) AS events,
                   SUM(e.status != 'closed') AS open,
                   SUM(e.escalated_at IS NOT NULL) AS escalated,
                   AVG((julianday(s.at) - julianday(e.reported_at)) * 1440) AS minutes_to_scene,
                   AVG((julianday(c.at) - julianday(e.reported_at)) * 1440) AS minutes_to_close
            FROM events e
            LEFT JOIN transitions s ON s.event_id = e.id AND s.status = 'on_scene'
            LEFT JOIN transitions c ON c.event_id = e.id AND c.status = 'closed'
            GROUP BY e.major_name, e.class_name, e.department
            ORDER BY events DESC
        """
        return pd.read_sql_query(query, self._db)

    def incidents(self) -> gpd.GeoDataFrame:
        """Located emergencies as an ``incidents`` layer, e.g. for the vital signs."""
        frame = pd.read_sql_query(
            "SELECT id, kind, priority, reported_at, lon, lat FROM events "
            "WHERE kind IS NOT NULL AND lon IS NOT NULL",
            self._db,
        )
        return gpd.GeoDataFrame(
            frame.drop(columns=["lon", "lat"]).assign(
                reported_at=pd.to_datetime(frame["reported_at"])
            ),
            geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
            crs=4326,
        )
