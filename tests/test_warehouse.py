"""The warehouse on real DuckDB files: migrations, idempotent writes, snapshots for readers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from safeguard.deadletters import DeadLetter
from safeguard.detection import Detector
from safeguard.policy import parse_profile
from tests.conftest import event
from tests.test_policy_and_detection import PROFILE
from warehouse.errors import WarehouseError
from warehouse.queries import alerts_as_records, count_events, ingest_accounting
from warehouse.reader import WarehouseReader
from warehouse.schema import LATEST_VERSION, current_version, migrate
from warehouse.writer import IngestBatch, Warehouse


def _events(n: int, start_minute: int = 0) -> list:  # type: ignore[type-arg]
    t0 = datetime(2026, 11, 17, 10, tzinfo=UTC)
    return [event(timestamp=t0 + timedelta(minutes=start_minute + i), raw=f"line {i}",
                  categories=("proxy",), person_id="P1", person_role="pupil")
            for i in range(n)]


def test_migrations_apply_from_empty_and_are_idempotent(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert migrate(con) == list(range(1, LATEST_VERSION + 1))
    assert migrate(con) == []
    assert current_version(con) == LATEST_VERSION


def test_rewriting_a_batch_adds_nothing(tmp_path: Path) -> None:
    det = Detector(parse_profile(PROFILE, "tiny.yaml"), "test-school")
    events = _events(10)
    state: dict = {}  # type: ignore[type-arg]
    alerts = [a for e in events for a in det.process(e, state)]
    dead = [DeadLetter("test-school", "squid.access", "parse", "bad", "junk", "f", 11)]
    batch = IngestBatch("b1", "test-school", "filter:squid", "f", 11, 10, 1)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first = wh.write_batch(events, alerts, dead, [batch])
        again = wh.write_batch(events, alerts[:3], dead, [batch])  # re-delivery, older versions
        con = wh.con
        assert (first.events_inserted, again.events_inserted) == (10, 0)
        assert count_events(con) == 10
        row = con.execute("SELECT count(*), max(version), max(event_count) FROM alerts").fetchone()
        assert row == (1, 10, 10)  # an older version never overwrites a newer one
        assert con.execute("SELECT count(*) FROM dead_letters").fetchone() == (1,)
        acct = ingest_accounting(con)
        assert acct["records_in"].tolist() == [11]


def test_readers_see_the_snapshot_while_the_writer_holds_the_file(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    det = Detector(parse_profile(PROFILE, "tiny.yaml"), "test-school")
    state: dict = {}  # type: ignore[type-arg]
    events = _events(3)
    alerts = [a for e in events for a in det.process(e, state)]
    with Warehouse(db, publish_interval=0) as wh:
        wh.write_batch(events, alerts)
        with pytest.raises(duckdb.Error):
            duckdb.connect(str(db), read_only=True)  # the file is the writer's alone
        records = alerts_as_records(WarehouseReader(db).connect())
        assert [r["event_count"] for r in records] == [3]
        assert records[0]["clause_ids"] == ["tiny.proxy"]
        assert WarehouseReader(db).manifest()["rows"]["events"] == 3  # type: ignore[index]


def test_reader_without_snapshot_sees_empty_tables(tmp_path: Path) -> None:
    assert alerts_as_records(WarehouseReader(tmp_path / "none.duckdb").connect()) == []


def test_second_writer_gets_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse(db):
        import subprocess
        import sys
        code = ("from warehouse.writer import Warehouse; from pathlib import Path\n"
                f"Warehouse(Path({str(db)!r})).start()")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=False, cwd=Path(__file__).parents[1])
        assert proc.returncode != 0
        assert "cannot open for writing" in proc.stderr


def test_accounting_must_balance() -> None:
    with pytest.raises(WarehouseError, match="in !="):
        IngestBatch("b", "s", "filter:squid", "f", records_in=5, events_parsed=3, dead_lettered=1)


def test_migrating_a_version_1_file_keeps_its_rows(tmp_path: Path) -> None:
    from warehouse.schema import MIGRATIONS

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    current_version(con)
    version, description, statements = MIGRATIONS[0]
    for sql in statements:
        con.execute(sql)
    con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                [version, description])
    con.execute("INSERT INTO alerts (alert_id, version, school_id, profile_id, rule_id, title, "
                "clause_ids, severity, category, routing, subject, subject_kind, score, "
                "first_seen, last_seen, window_start, window_end, event_count, "
                "evidence_event_ids) VALUES ('a', 1, 's', 'p', 'r', 't', ['c.x'], 3, "
                "'security', 'it', 'P1', 'person', 1, now(), now(), now(), now(), 1, [])")
    con.close()
    with Warehouse(db) as wh:
        assert current_version(wh.con) == LATEST_VERSION
        assert wh.con.execute("SELECT alert_id FROM alerts").fetchall() == [("a",)]
        wh.write_batch(_events(2))
        assert count_events(wh.con) == 2


def test_a_directory_snapshot_keeps_roles_and_year_groups_but_no_names(
        tmp_path: Path, make_school: Callable[..., Path]) -> None:
    from producers.school import load_school
    from safeguard.directory_snapshot import DirectorySnapshot, snapshot_of

    bundle = load_school(make_school())
    snap = snapshot_of(bundle.directory, datetime(2026, 11, 17, tzinfo=UTC))
    assert DirectorySnapshot.from_dict(snap.to_dict()) == snap
    names = {p.display_name for p in bundle.directory.people}
    assert not any(n in str(snap.to_dict()) for n in names)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        assert wh.record_directory(snap) is True
        assert wh.record_directory(snap) is False  # same content: one snapshot
        rows = wh.con.execute("SELECT count(*) FROM directory_people").fetchone()
    assert rows == (len(bundle.directory.people),)


def test_rollups_count_each_event_once_however_often_it_is_delivered(tmp_path: Path) -> None:
    t0 = datetime(2026, 11, 17, 9, tzinfo=UTC)
    events = [event(timestamp=t0 + timedelta(minutes=i), raw=f"r{i}", person_id="P1",
                    categories=("vpn", "proxy") if i % 3 == 0 else (),
                    action="blocked" if i % 3 == 0 else "allowed") for i in range(30)]
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.write_batch(events=events)
        wh.write_batch(events=events[10:])  # a re-delivered, overlapping batch
        rows = wh.con.execute("SELECT category, sum(events), sum(blocked) FROM web_rollup "
                              "GROUP BY category ORDER BY category").fetchall()
        presence = wh.con.execute("SELECT kind, id, events FROM presence_daily").fetchall()
    assert rows == [("proxy", 10, 10), ("uncategorised", 20, 0), ("vpn", 10, 10)]
    assert presence == [("person", "P1", 30)]
