"""The single owner of a warehouse file's write connection (see the package docstring)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from safeguard.actions import AlertAction, status_after
from safeguard.alerts import Alert
from safeguard.deadletters import DeadLetter
from safeguard.detection import latest_versions
from safeguard.directory_snapshot import DirectorySnapshot
from safeguard.events import Event
from safeguard.rule_settings import RuleChange
from warehouse.archive import MANIFEST, archive_dir, days_of, publish_days
from warehouse.arrow import alerts_table, dead_letters_table, events_table
from warehouse.errors import WarehouseError
from warehouse.records import PeopleRecord, insert_records
from warehouse.rollup import add_to_rollups
from warehouse.schema import migrate
from warehouse.snapshot import publish_snapshot
from warehouse.spool import Outbox
from warehouse.sqlutil import registered, transaction


@dataclass(frozen=True)
class IngestBatch:
    """Accounting of one batch of source records: records_in = events + dead letters."""

    batch_id: str
    school_id: str
    source: str
    path: str
    records_in: int
    events_parsed: int
    dead_lettered: int

    def __post_init__(self) -> None:
        if self.records_in != self.events_parsed + self.dead_lettered:
            raise WarehouseError(f"batch {self.batch_id}: {self.records_in} in != "
                                 f"{self.events_parsed} parsed + {self.dead_lettered} dead")


@dataclass(frozen=True)
class SourceCursor:
    """Where follow mode stands in one file: committed with the data it produced."""

    path: str
    inode: int
    byte_offset: int
    line_no: int


@dataclass(frozen=True)
class WriteStats:
    events_inserted: int
    alerts_upserted: int
    dead_letters_inserted: int


_ALERT_UPDATE = ", ".join(
    f"{c} = excluded.{c}" for c in (
        "version", "title", "clause_ids", "severity", "category", "routing", "score",
        "first_seen", "last_seen", "window_end", "event_count", "evidence_event_ids")
)


class Warehouse:
    """Opens lazily on `start()`, writes batches atomically, publishes read snapshots."""

    def __init__(self, path: Path, *, publish_interval: float = 2.0,
                 archive_interval: float = 10.0) -> None:
        self.path = Path(path)
        self.publish_interval = publish_interval
        self.archive_interval = archive_interval
        self._con: duckdb.DuckDBPyConnection | None = None
        self._last_publish = 0.0
        self._last_archive = 0.0
        self._dirty = False
        self._dirty_days: set[date] = set()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise WarehouseError("warehouse is not started", path=str(self.path))
        return self._con

    def start(self) -> Warehouse:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            raise WarehouseError(f"cannot open for writing: {exc}", path=str(self.path)) from exc
        migrate(self._con)
        if not (archive_dir(self.path) / MANIFEST).exists():
            self._dirty_days |= days_of(self._con)  # a file from before the archive
            self._dirty = self._dirty or bool(self._dirty_days)
        self.drain_spool()
        return self

    def drain_spool(self) -> int:
        """Append what the dashboard left in the outbox (triage steps, audit entries, rule
        edits, review records), then forget their files; a file that is no record becomes
        a dead letter, so nothing is dropped silently."""
        outbox = Outbox(self.path)
        good, bad = outbox.pending()
        if not good and not bad:
            return 0
        dead = [DeadLetter(school_id="unknown", dataset="dashboard-outbox", stage="sink",
                           reason=r.reason, raw=r.raw, source=r.path.name) for r in bad]
        for item in good:
            if item.kind == "rule-change":
                self.record_rule_change(item.record)
        self.write_batch(actions=[g.record for g in good if g.kind == "action"],
                         records=[g.record for g in good
                                  if g.kind not in ("action", "rule-change")],
                         dead_letters=dead)
        outbox.done([g.path for g in good] + [r.path for r in bad])
        return len(good)

    def close(self) -> None:
        if self._con is not None:
            try:
                self.publish(force=True)
            finally:  # an unwritable disk must not keep the file open (and locked)
                self._con.close()
                self._con = None

    def reopen(self) -> None:
        """Drop the connection without publishing and open the file again: after a fatal
        I/O error DuckDB invalidates the database, and only a new connection (which
        replays the WAL) can write again."""
        if self._con is not None:
            with suppress(duckdb.Error):
                self._con.close()
            self._con = None
        self.start()

    def __enter__(self) -> Warehouse:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_batch(self, events: Sequence[Event] = (), alerts: Sequence[Alert] = (),
                    dead_letters: Sequence[DeadLetter] = (),
                    batches: Sequence[IngestBatch] = (),
                    cursors: Sequence[SourceCursor] = (),
                    state: Mapping[str, Any] | None = None,
                    actions: Sequence[AlertAction] = (),
                    quality: Sequence[Mapping[str, Any]] = (),
                    records: Sequence[PeopleRecord] = ()) -> WriteStats:
        """Write everything of one batch in one transaction; re-delivery adds nothing.

        `cursors` and `state` (follow mode) commit with the data, so a crash leaves
        the file position and the detector's memory consistent with what is stored.
        """
        con = self.con
        now = datetime.now(UTC)
        with transaction(con):
            n_events = self._insert_events(con, events) if events else 0
            n_alerts = self._upsert_alerts(con, alerts) if alerts else 0
            n_dead = self._insert_dead(con, dead_letters, now) if dead_letters else 0
            if batches:
                self._insert_batches(con, batches, now)
            if cursors:
                self._upsert_cursors(con, cursors, now)
            if state:
                self._upsert_state(con, state, now)
            if actions:
                self._insert_actions(con, actions, now)
            if quality:
                self._insert_quality(con, quality)
            if records:
                insert_records(con, records)
        if n_events:
            self._dirty_days |= {e.timestamp.astimezone(UTC).date() for e in events}
        self._dirty = True
        self.publish()
        return WriteStats(n_events, n_alerts, n_dead)

    @staticmethod
    def _insert_events(con: duckdb.DuckDBPyConnection, events: Sequence[Event]) -> int:
        batch = events_table(events)
        lo = min(e.timestamp for e in events).astimezone(UTC).replace(tzinfo=None)
        hi = max(e.timestamp for e in events).astimezone(UTC).replace(tzinfo=None)
        with registered(con, "_events_batch", batch):
            # Anti-join restricted to the batch's time range: zone maps keep it cheap at
            # term scale, with no primary-key index to maintain over millions of rows.
            con.execute(
                """CREATE OR REPLACE TEMP TABLE _new_events AS
                   SELECT b.* FROM (SELECT DISTINCT ON (event_id) * FROM _events_batch) b
                   WHERE NOT EXISTS (SELECT 1 FROM events e
                                     WHERE e.ts BETWEEN ? AND ? AND e.event_id = b.event_id)""",
                [lo, hi])
            rows = con.execute("INSERT INTO events BY NAME SELECT * FROM _new_events").fetchall()
            add_to_rollups(con, "_new_events")  # only what was new: re-delivery adds nothing
            con.execute("DROP TABLE _new_events")
        return int(rows[0][0]) if rows else 0

    @staticmethod
    def _upsert_alerts(con: duckdb.DuckDBPyConnection, alerts: Sequence[Alert]) -> int:
        newest = list(latest_versions(list(alerts)).values())
        with registered(con, "_alerts_batch", alerts_table(newest)):
            con.execute(
                "INSERT INTO alerts BY NAME SELECT *, 'new' AS status, "  # noqa: S608 - fixed
                "(now() AT TIME ZONE 'UTC') AS raised_at FROM _alerts_batch "
                f"ON CONFLICT (alert_id) DO UPDATE SET {_ALERT_UPDATE} "
                "WHERE excluded.version > alerts.version")
        return len(newest)

    @staticmethod
    def _insert_dead(con: duckdb.DuckDBPyConnection, dead: Sequence[DeadLetter],
                     now: datetime) -> int:
        with registered(con, "_dead_batch", dead_letters_table(dead, now)):
            row = con.execute(
                """INSERT INTO dead_letters BY NAME
                   SELECT b.* FROM (SELECT DISTINCT ON (dead_letter_id) * FROM _dead_batch) b
                   WHERE b.dead_letter_id NOT IN (SELECT dead_letter_id FROM dead_letters)"""
            ).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _insert_batches(con: duckdb.DuckDBPyConnection, batches: Sequence[IngestBatch],
                        now: datetime) -> None:
        table = pa.Table.from_pylist([
            {"batch_id": b.batch_id, "school_id": b.school_id, "source": b.source,
             "path": b.path, "records_in": b.records_in, "events_parsed": b.events_parsed,
             "dead_lettered": b.dead_lettered, "received_at": now.replace(tzinfo=None)}
            for b in batches])
        with registered(con, "_batches", table):
            con.execute("INSERT INTO ingest_batches BY NAME SELECT * FROM _batches "
                        "ON CONFLICT (batch_id) DO NOTHING")

    @staticmethod
    def _upsert_cursors(con: duckdb.DuckDBPyConnection, cursors: Sequence[SourceCursor],
                        now: datetime) -> None:
        table = pa.Table.from_pylist([
            {"path": c.path, "inode": c.inode, "byte_offset": c.byte_offset,
             "line_no": c.line_no, "updated_at": now.replace(tzinfo=None)} for c in cursors])
        with registered(con, "_cursors", table):
            con.execute("INSERT INTO source_cursors BY NAME SELECT * FROM _cursors "
                        "ON CONFLICT (path) DO UPDATE SET inode = excluded.inode, "
                        "byte_offset = excluded.byte_offset, line_no = excluded.line_no, "
                        "updated_at = excluded.updated_at")

    @staticmethod
    def _upsert_state(con: duckdb.DuckDBPyConnection, state: Mapping[str, Any],
                      now: datetime) -> None:
        stamp = now.replace(tzinfo=None)
        table = pa.Table.from_pylist([
            {"subject": k, "state": orjson.dumps(v).decode(), "updated_at": stamp}
            for k, v in state.items()])
        with registered(con, "_state", table):
            con.execute("INSERT INTO detector_state BY NAME SELECT * FROM _state "
                        "ON CONFLICT (subject) DO UPDATE SET state = excluded.state, "
                        "updated_at = excluded.updated_at")

    @staticmethod
    def _insert_quality(con: duckdb.DuckDBPyConnection,
                        rows: Sequence[Mapping[str, Any]]) -> None:
        """Expectation results per batch; a re-delivered batch's results add nothing."""
        with registered(con, "_quality", pa.Table.from_pylist([dict(r) for r in rows])):
            con.execute("INSERT INTO dq_results BY NAME SELECT * FROM _quality "
                        "ON CONFLICT DO NOTHING")

    @staticmethod
    def _insert_actions(con: duckdb.DuckDBPyConnection, actions: Sequence[AlertAction],
                        now: datetime) -> None:
        """Append triage steps (re-delivered ones add nothing), then re-derive the status
        of the alerts they touch from all their steps, in the order people took them."""
        stamp = now.replace(tzinfo=None)
        rows = [{**a.to_dict(), "acted_at": a.acted_at.astimezone(UTC).replace(tzinfo=None),
                 "stored_at": stamp} for a in actions]
        with registered(con, "_actions", pa.Table.from_pylist(rows)):
            con.execute("INSERT INTO alert_actions BY NAME SELECT * FROM _actions "
                        "ON CONFLICT (action_id) DO NOTHING")
        touched = sorted({a.alert_id for a in actions})
        stored = con.execute(
            "SELECT action_id, alert_id, school_id, action, actor, actor_role, acted_at, "
            "assignee, outcome, note FROM alert_actions WHERE alert_id IN "
            "(SELECT unnest(?::VARCHAR[]))", [touched]).fetchall()
        by_alert: dict[str, list[AlertAction]] = {}
        for r in stored:
            by_alert.setdefault(r[1], []).append(AlertAction(
                action_id=r[0], alert_id=r[1], school_id=r[2], action=r[3], actor=r[4],
                actor_role=r[5], acted_at=r[6].replace(tzinfo=UTC), assignee=r[7],
                outcome=r[8], note=r[9]))
        statuses = pa.Table.from_pylist([{"alert_id": k, "status": status_after(v)}
                                         for k, v in by_alert.items()])
        with registered(con, "_statuses", statuses):
            con.execute("UPDATE alerts SET status = s.status FROM _statuses s "
                        "WHERE alerts.alert_id = s.alert_id")

    def record_actions(self, actions: Sequence[AlertAction]) -> None:
        """Triage steps on their own (the dashboard's spool, the alert-actions topic)."""
        self.write_batch(actions=actions)

    def record_directory(self, snap: DirectorySnapshot) -> bool:
        """Keep the directory as it is now; the same content twice is one snapshot."""
        con = self.con
        row = con.execute("SELECT count(*) FROM directory_snapshots WHERE snapshot_id = ?",
                          [snap.snapshot_id]).fetchone()
        if row and row[0]:
            return False
        people = pa.Table.from_pylist(
            [{"snapshot_id": snap.snapshot_id, "person_id": p.person_id, "role": p.role,
              "year_group": p.year_group, "boarder": p.boarder, "start_date": p.start_date,
              "leave_date": p.leave_date} for p in snap.people],
            schema=pa.schema([("snapshot_id", pa.string()), ("person_id", pa.string()),
                              ("role", pa.string()), ("year_group", pa.string()),
                              ("boarder", pa.bool_()), ("start_date", pa.date32()),
                              ("leave_date", pa.date32())]))
        with transaction(con):
            con.execute("INSERT INTO directory_snapshots VALUES (?, ?, ?, ?, ?, ?)",
                        [snap.snapshot_id, snap.school_id,
                         snap.taken_at.astimezone(UTC).replace(tzinfo=None), len(snap.people),
                         snap.assets, snap.networks])
            with registered(con, "_people", people):
                con.execute("INSERT INTO directory_people BY NAME SELECT * FROM _people")
        self._dirty = True
        return True

    def record_rule_change(self, change: RuleChange) -> None:
        """Store a rule change as current and in the history (idempotent on redelivery)."""
        con = self.con
        at = change.changed_at.astimezone(UTC).replace(tzinfo=None)
        settings = orjson.dumps(dict(change.settings)).decode()
        with transaction(con):
            con.execute(
                "INSERT INTO rule_setting_history VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [change.school_id, change.rule_id, settings,
                 orjson.dumps(dict(change.previous)).decode(), change.changed_by, at,
                 change.reason])
            con.execute(
                "INSERT INTO rule_settings VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(school_id, rule_id) DO UPDATE SET settings = excluded.settings, "
                "changed_by = excluded.changed_by, changed_at = excluded.changed_at, "
                "reason = excluded.reason WHERE excluded.changed_at >= rule_settings.changed_at",
                [change.school_id, change.rule_id, settings, change.changed_by, at,
                 change.reason])
        self._dirty = True
        self.publish()

    def load_rule_settings(self, school_id: str) -> dict[str, dict[str, Any]]:
        rows = self.con.execute("SELECT rule_id, settings FROM rule_settings WHERE school_id = ?",
                                [school_id]).fetchall()
        return {rule_id: orjson.loads(text) for rule_id, text in rows}

    def load_cursors(self) -> dict[str, SourceCursor]:
        rows = self.con.execute(
            "SELECT path, inode, byte_offset, line_no FROM source_cursors").fetchall()
        return {r[0]: SourceCursor(*r) for r in rows}

    def load_state(self) -> dict[str, Any]:
        rows = self.con.execute("SELECT subject, state FROM detector_state").fetchall()
        return {subject: orjson.loads(text) for subject, text in rows}

    def publish(self, force: bool = False) -> bool:
        """Refresh the readers' snapshot if something changed and the interval has passed."""
        if not self._dirty and not force:
            return False
        now = time.monotonic()
        if not force and now - self._last_publish < self.publish_interval:
            return False
        publish_snapshot(self.con, self.path)
        self._last_publish = now
        self._dirty = False
        if self._dirty_days and (force or now - self._last_archive >= self.archive_interval):
            publish_days(self.con, self.path, self._dirty_days)
            self._dirty_days = set()
            self._last_archive = now
        elif self._dirty_days:
            self._dirty = True  # the archive is still behind: publish again later
        return True

    def mark_days(self, days: set[date]) -> None:
        """Days whose events changed outside write_batch (retention): re-archive them."""
        self._dirty_days |= days
        self._dirty = True
