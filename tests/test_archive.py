"""The readers' event archive: day files that never change under a reader."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.conftest import event
from warehouse.archive import GRACE, archive_dir, current_files, publish_days
from warehouse.reader import WarehouseReader
from warehouse.writer import Warehouse

T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _day_events(day: int, n: int, tag: str = "") -> list:
    return [event(timestamp=T0 + timedelta(days=day, minutes=i), raw=f"{tag}{day}-{i}")
            for i in range(n)]


def test_readers_see_every_event_and_only_touched_days_are_rewritten(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        wh.write_batch(events=_day_events(0, 5) + _day_events(1, 7) + _day_events(2, 3))
    first = {f.name.split(".")[0]: f.name for f in current_files(db)}
    assert sorted(first) == ["2026-11-16", "2026-11-17", "2026-11-18"]
    con = WarehouseReader(db).connect()
    assert con.execute("SELECT count(*) FROM events").fetchone() == (15,)

    with Warehouse(db) as wh:  # day 1 gets more events; days 0 and 2 stay as they are
        wh.write_batch(events=_day_events(1, 4, tag="more"))
    second = {f.name.split(".")[0]: f.name for f in current_files(db)}
    assert second["2026-11-16"] == first["2026-11-16"]
    assert second["2026-11-18"] == first["2026-11-18"]
    assert second["2026-11-17"] != first["2026-11-17"]
    # the reader opened before the re-export still reads its own, unchanged files
    assert con.execute("SELECT count(*) FROM events").fetchone() == (15,)
    assert WarehouseReader(db).connect().execute(
        "SELECT count(*) FROM events").fetchone() == (19,)
    assert (archive_dir(db) / first["2026-11-17"]).exists()  # kept for the grace period


def test_superseded_files_go_after_the_grace_period_and_empty_days_leave(
        tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        wh.write_batch(events=_day_events(0, 3) + _day_events(1, 3))
        old = current_files(db)[0]
        wh.con.execute("DELETE FROM events WHERE ts < ?", [datetime(2026, 11, 17)])
        publish_days(wh.con, db, {date(2026, 11, 16)})
        assert [f.name[:10] for f in current_files(db)] == ["2026-11-17"]
        assert old.exists()
        publish_days(wh.con, db, set(), now=datetime.now(UTC).timestamp() + GRACE + 1)
        assert not old.exists()


def test_a_warehouse_from_before_the_archive_is_archived_on_open(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        wh.write_batch(events=_day_events(0, 4))
    for f in archive_dir(db).iterdir():
        f.unlink()
    with Warehouse(db):
        pass
    assert WarehouseReader(db).connect().execute(
        "SELECT count(*) FROM events").fetchone() == (4,)
