"""The dashboard's outbox: every kind of record people make reaches the warehouse once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipelines.actions import submit_record
from safeguard.audit import AuditEntry
from safeguard.review import FilterChange, FilterReview
from safeguard.rule_settings import RuleChange
from warehouse.reader import WarehouseReader
from warehouse.spool import Outbox
from warehouse.writer import Warehouse

T = datetime(2026, 11, 17, 10, tzinfo=UTC)


def _review() -> FilterReview:
    return FilterReview.new("s1", date(2026, 9, 10), {"Designated safeguarding lead": "A. Lead"},
                            ["A. Lead", "B. Governor"], ["Keep the gambling block"], "gov1",
                            next_review=date(2027, 9, 10))


def test_records_check_themselves_and_round_trip() -> None:
    with pytest.raises(ValueError, match="decision"):
        FilterReview.new("s1", date(2026, 9, 10), {"IT lead": "C"}, ["C"], [], "gov1")
    with pytest.raises(ValueError, match="after this one"):
        FilterReview.new("s1", date(2026, 9, 10), {"IT lead": "C"}, ["C"], ["x"], "gov1",
                         next_review=date(2026, 1, 1))
    with pytest.raises(ValueError, match="reason"):
        FilterChange.new("s1", T, "allow", "example.org", "  ", "it1")
    with pytest.raises(ValueError, match="block"):
        FilterChange.new("s1", T, "maybe", "example.org", "why", "it1")
    with pytest.raises(ValueError, match="unknown audit action"):
        AuditEntry.new("dsl1", "dsl", "delete-everything")
    for record in (_review(), FilterChange.new("s1", T, "allow", "example.org", "<b>x</b>", "it1"),
                   AuditEntry.new("dsl1", "dsl", "view-chronology", subject_kind="pupil",
                                  subject_id="P1")):
        assert type(record).from_dict(record.to_dict()) == record


def test_every_kind_is_stored_once_even_when_drained_twice(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    review = _review()
    change = FilterChange.new("s1", T, "block", "proxysite.com", "circumvention seen", "it1")
    audit = AuditEntry.new("head1", "headteacher", "view-audit-log")
    rule = RuleChange("s1", "bps.proxy", {"threshold": 3}, "it1", T, "too noisy")
    with Warehouse(db) as wh:  # the owner holds the file: everything waits in the outbox
        outbox = Outbox(db)
        for record in (review, change, audit, rule):
            outbox.submit(record)
        paths = [s.path for s in outbox.pending()[0]]
        copies = [p.read_bytes() for p in paths]
        assert wh.drain_spool() == 4
        for path, raw in zip(paths, copies, strict=True):  # a crash before the delete
            path.write_bytes(raw)
        assert wh.drain_spool() == 4
    con = WarehouseReader(db).connect()
    assert con.execute("SELECT count(*) FROM filter_reviews").fetchone() == (1,)
    assert con.execute("SELECT target, reason FROM filter_changes").fetchall() == [
        ("proxysite.com", "circumvention seen")]
    assert con.execute("SELECT action FROM audit_log").fetchall() == [("view-audit-log",)]
    assert con.execute("SELECT count(*) FROM rule_setting_history").fetchone() == (1,)
    assert not Outbox(db).pending()[0]


def test_a_file_that_is_no_record_becomes_a_dead_letter(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    outbox = Outbox(db)
    outbox.dir.mkdir(parents=True)
    (outbox.dir / "audit--x.json").write_text('{"audit_id": "x"}')
    assert submit_record(AuditEntry.new("it1", "it", "edit-rule"), db_path=db) == "warehouse"
    con = WarehouseReader(db).connect()
    assert con.execute("SELECT count(*) FROM audit_log").fetchone() == (1,)
    reason = con.execute("SELECT reason FROM dead_letters").fetchone()
    assert reason and "not a valid audit record" in reason[0]
