"""Retention on a real DuckDB file: the policy, the deletions, their log, the schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from safeguard.errors import ConfigError
from safeguard.yamltext import load_yaml
from warehouse.retention import (
    DEFAULTS,
    Period,
    RetentionPolicy,
    last_retention_run,
    retention_due,
    run_retention,
)
from warehouse.schema import migrate

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


def ago(**kw: float) -> datetime:
    return (NOW - timedelta(**kw)).replace(tzinfo=None)


# ---------------------------------------------------------------- policy


def test_defaults_keep_filter_logs_short_and_safeguarding_records_long() -> None:
    policy = RetentionPolicy.from_mapping(None)
    assert policy.to_dict() == DEFAULTS
    cut = policy.cutoffs(NOW)
    assert cut["web_events"] == NOW - timedelta(days=90)
    assert cut["other_events"] == NOW - timedelta(days=365)
    assert cut["alerts"] == cut["incidents"] == NOW.replace(year=2002)


def test_a_school_yaml_section_overrides_and_bad_values_name_their_key() -> None:
    doc = load_yaml("id: s\nretention:\n  web_events: 30d\n  dead_letters: 2w\n"
                    "  dq_results: 200\n  audit_log: forever\n", "school.yaml")
    policy = RetentionPolicy.from_mapping(doc["retention"])
    assert policy.to_dict()["web_events"] == "30d"
    assert policy.to_dict()["dq_results"] == "200d"
    assert policy.cutoffs(NOW)["dead_letters"] == NOW - timedelta(days=14)
    assert policy.cutoffs(NOW)["audit_log"] is None
    assert policy.to_dict()["alerts"] == "25y"                  # untouched default

    typo = load_yaml("retention:\n  web_events: 30d\n  web_event: 10d\n", "school.yaml")
    with pytest.raises(ConfigError, match=r"school.yaml:3: retention.web_event: unknown"):
        RetentionPolicy.from_mapping(typo["retention"])
    bad: list[tuple[dict[str, Any], str]] = [
        ({"web_events": "90 days"}, "retention.web_events: expected a period"),
        ({"dead_letters": "0d"}, "retention.dead_letters: a period must be at least 1"),
        ({"alerts": "25d"}, "retention.alerts: safeguarding records are kept at least"),
        ({"incidents": "30w"}, "retention.incidents: safeguarding"),
        ({"audit_log": True}, "retention.audit_log: expected a period"),
        ({"audit_log": 1.5}, "retention.audit_log: expected a period"),
    ]
    for mapping, message in bad:
        with pytest.raises(ConfigError, match=message):
            RetentionPolicy.from_mapping(mapping)


def test_years_are_calendar_years() -> None:
    leap = datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    assert Period(1, "y").before(leap) == datetime(2027, 2, 28, 9, 0, tzinfo=UTC)
    assert Period(4, "y").before(leap) == datetime(2024, 2, 29, 9, 0, tzinfo=UTC)


def test_due_once_a_period_has_passed() -> None:
    assert retention_due(None, NOW)
    assert not retention_due(NOW - timedelta(hours=23), NOW)
    assert retention_due(NOW - timedelta(hours=24), NOW)
    assert not retention_due(NOW - timedelta(days=3), NOW, every=timedelta(days=7))


# ---------------------------------------------------------------- deletions


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    con.register("_rows", pd.DataFrame(rows))
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")  # noqa: S608 - test names
    con.unregister("_rows")


def _event(event_id: str, ts: datetime, category: str = "web") -> dict[str, Any]:
    return {"event_id": event_id, "ts": ts, "school_id": "s", "category": category,
            "dataset": "d", "raw": "r"}


def _alert(alert_id: str, last_seen: datetime, evidence: list[str]) -> dict[str, Any]:
    return {"alert_id": alert_id, "version": 1, "school_id": "s", "profile_id": "p",
            "rule_id": "r", "title": "t", "clause_ids": ["c"], "severity": 5,
            "category": "bullying", "routing": "dsl", "subject": "PUPIL-R1",
            "subject_kind": "person", "score": 1.0, "first_seen": last_seen,
            "last_seen": last_seen, "window_start": last_seen, "window_end": last_seen,
            "event_count": 1, "evidence_event_ids": evidence, "status": "new",
            "raised_at": last_seen}


def _action(action_id: str, alert_id: str, at: datetime) -> dict[str, Any]:
    return {"action_id": action_id, "alert_id": alert_id, "school_id": "s",
            "action": "note", "actor": "dsl", "actor_role": "dsl", "acted_at": at,
            "stored_at": at}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    migrate(con)
    _insert(con, "events", [
        _event("web-old-1", ago(days=100)), _event("web-old-2", ago(days=100)),
        _event("web-evidence", ago(days=100)),          # cited by a kept alert
        _event("web-new", ago(days=10)),
        _event("auth-200", ago(days=200), "authentication"),
        _event("auth-400", ago(days=400), "authentication"),
        _event("device-400", ago(days=400), "device"),
        _event("incident-2y", ago(days=730), "incident"),
        _event("incident-26y", ago(days=26 * 366), "incident"),
        _event("web-ancient-evidence", ago(days=26 * 366)),  # of an alert that goes too
    ])
    _insert(con, "alerts", [
        _alert("kept-recent", ago(days=100), ["web-evidence"]),
        _alert("gone-ancient", ago(days=26 * 366), ["web-ancient-evidence"]),
        _alert("kept-reopened", ago(days=26 * 366), []),
    ])
    _insert(con, "alert_actions", [
        _action("a1", "gone-ancient", ago(days=26 * 366)),
        _action("a2", "kept-reopened", ago(days=26 * 366)),
        _action("a3", "kept-reopened", ago(days=300)),       # touched last year: kept
    ])
    _insert(con, "dead_letters", [
        {"dead_letter_id": f"d{i}", "school_id": "s", "dataset": "d", "stage": "parse",
         "reason": "bad", "raw": "x", "received_at": ago(days=days)}
        for i, days in enumerate((100, 100, 10))])
    _insert(con, "ingest_batches", [
        {"batch_id": f"b{i}", "school_id": "s", "source": "f", "records_in": 1,
         "events_parsed": 1, "dead_lettered": 0, "received_at": ago(days=days)}
        for i, days in enumerate((500, 20))])
    _insert(con, "dq_results", [
        {"batch_id": f"b{i}", "school_id": "s", "source": "f", "suite": "s",
         "expectation": "e", "column_name": "c", "severity": "critical", "success": True,
         "element_count": 1, "unexpected_count": 0, "checked_at": ago(days=days)}
        for i, days in enumerate((500, 20))])
    _insert(con, "audit_log", [
        {"audit_id": f"au{i}", "logged_at": ago(days=days), "actor": "dsl", "action": "view"}
        for i, days in enumerate((8 * 365, 6 * 365))])
    _insert(con, "directory_snapshots", [
        {"snapshot_id": sid, "school_id": "s", "taken_at": ago(days=days), "people": 1,
         "assets": 0, "networks": 0} for sid, days in (("s10y", 3650), ("s8y", 2920))])
    _insert(con, "directory_people", [
        {"snapshot_id": sid, "person_id": "PUPIL-R1", "role": "pupil", "year_group": "Year 3"}
        for sid in ("s10y", "s8y")])
    con.close()
    return path


def _ids(con: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    return {str(r[0]) for r in con.execute(sql).fetchall()}


def test_retention_deletes_per_policy_keeps_evidence_and_logs_each_table(db: Path) -> None:
    con = duckdb.connect(str(db))
    results = run_retention(con, RetentionPolicy.from_mapping(None), NOW, "scheduler")
    deleted = {r.table_name: r.deleted for r in results}
    assert deleted == {"alerts": 1, "alert_actions": 1, "incidents": 1, "web_events": 3,
                       "other_events": 2, "dead_letters": 2, "ingest_batches": 1,
                       "dq_results": 1, "audit_log": 1, "directory_snapshots": 1,
                       "directory_people": 1}
    con.close()

    con = duckdb.connect(str(db))                         # committed to the file
    assert _ids(con, "SELECT event_id FROM events") == {
        "web-evidence", "web-new", "auth-200", "incident-2y"}
    assert _ids(con, "SELECT alert_id FROM alerts") == {"kept-recent", "kept-reopened"}
    assert _ids(con, "SELECT action_id FROM alert_actions") == {"a2", "a3"}
    assert _ids(con, "SELECT snapshot_id FROM directory_people") == {"s8y"}  # the latest
    log = con.execute("SELECT table_name, deleted, cutoff, ran_at, ran_by FROM retention_runs "
                      "ORDER BY table_name").fetchall()
    assert {r[0]: r[1] for r in log} == deleted
    assert {r[4] for r in log} == {"scheduler"} and {r[3] for r in log} == {ago()}
    assert dict((r[0], r[2]) for r in log)["web_events"] == ago(days=90)
    assert last_retention_run(con) == NOW

    again = run_retention(con, RetentionPolicy.from_mapping(None), NOW, "scheduler")
    assert {r.deleted for r in again} == {0}               # idempotent
    assert len({r.run_id for r in again} | {r.run_id for r in results}) == 2
    assert con.execute("SELECT count(*) FROM retention_runs").fetchall() == [(22,)]


def test_a_kept_forever_table_is_not_touched_and_not_logged(db: Path) -> None:
    con = duckdb.connect(str(db))
    policy = RetentionPolicy.from_mapping({"web_events": "forever", "audit_log": "5y"})
    deleted = {r.table_name: r.deleted for r in run_retention(con, policy, NOW, "it-admin")}
    assert "web_events" not in deleted and deleted["audit_log"] == 2
    assert con.execute("SELECT count(*) FROM events WHERE category = 'web'").fetchall() == [(5,)]


def test_a_failure_deletes_nothing(db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE audit_log")                    # a step late in the run fails
    with pytest.raises(duckdb.Error):
        run_retention(con, RetentionPolicy.from_mapping(None), NOW, "scheduler")
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(10,)]
    assert con.execute("SELECT count(*) FROM alerts").fetchall() == [(3,)]
    assert con.execute("SELECT count(*) FROM retention_runs").fetchall() == [(0,)]
    assert last_retention_run(con) is None


def test_naive_times_are_refused(db: Path) -> None:
    con = duckdb.connect(str(db))
    with pytest.raises(ValueError, match="timezone-aware"):
        run_retention(con, RetentionPolicy.from_mapping(None), NOW.replace(tzinfo=None), "x")
