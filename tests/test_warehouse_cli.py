"""`safeguard termly` and `safeguard retention` on a simulated school in a real DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safeguard.cli import main
from warehouse.queries import alerts_as_records
from warehouse.reader import WarehouseReader


@pytest.fixture(scope="module")
def school_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("sim")
    assert main(["simulate", "--profile", "twerton-infant", "--days", "3", "--seed", "2",
                 "--out", str(out / "sim")]) == 0
    inputs = (out / "sim" / "inputs.txt").read_text().split()
    db = out / "w.duckdb"
    assert main(["ingest", "--school", str(out / "sim" / "school"),
                 *[a for i in inputs for a in ("--input", i)], "--embedded", "--db",
                 str(db)]) == 0
    return out / "sim" / "school", db


def test_termly_figures_are_pseudonymised_and_suppress_small_counts(
        school_db: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    school, db = school_db
    capsys.readouterr()
    assert main(["termly", "--db", str(db), "--school", str(school), "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    with_events = [t for t in report["terms"] if t["school_day_hours"]]
    assert with_events, "the simulated days fall in a term"
    term = max(with_events, key=lambda t: t["alerts_total"] if isinstance(
        t["alerts_total"], int) else 0)
    assert term["alerts_total"] == "suppressed" or term["alerts_total"] >= 5
    people = (school / "people.csv").read_text().splitlines()[1:]
    for line in people:  # no id, name or account of anyone leaves the report
        person_id, name, *_rest, accounts = line.split(",")
        assert f'"{person_id}"' not in out and name not in out
        assert not any(a and a in out for a in accounts.split(";"))
    assert main(["termly", "--db", str(db), "--school", str(school), "--term", "Nope"]) == 2


def test_alert_evidence_and_a_pupils_chronology_come_from_the_readers_copy(
        school_db: tuple[Path, Path]) -> None:
    from pipelines.actions import submit_action
    from safeguard.actions import AlertAction
    from warehouse.queries import alert_evidence, list_alerts, pupil_chronology

    _, db = school_db
    alerts = list_alerts(WarehouseReader(db).connect())
    person_alerts = alerts[alerts["subject_kind"] == "person"]
    for _, a in person_alerts.iterrows():
        timeline = alert_evidence(WarehouseReader(db).connect(), a["alert_id"])
        assert set(timeline["event_id"]) == set(a["evidence_event_ids"])
        assert list(timeline["ts"]) == sorted(timeline["ts"])
    first = person_alerts.iloc[0]
    step = AlertAction.new(first["alert_id"], first["school_id"], "note", "dsl1", "dsl",
                           note="spoke to class teacher")
    submit_action(step, db_path=db)
    chronology = pupil_chronology(WarehouseReader(db).connect(), first["subject"])
    assert {"alert", "triage"} <= set(chronology["kind"])
    assert list(chronology["happened_at"]) == sorted(chronology["happened_at"])
    assert "spoke to class teacher" in " ".join(chronology["what"])


def test_backtest_command_reproduces_the_live_alerts_and_previews_a_change(
        school_db: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    school, db = school_db
    live = [a for a in alerts_as_records(WarehouseReader(db).connect())
            if a["rule_id"] == "tis-one-account-concurrent"]
    assert live, "the simulated week has a concurrent sign-in"
    days = sorted(a["first_seen"][:10] for a in live)
    args = ["backtest", "--db", str(db), "--school", str(school), "--rule",
            "tis-one-account-concurrent", "--from", "2026-01-01", "--to", "2027-12-31",
            "--json"]
    capsys.readouterr()
    assert main(args) == 0
    same = json.loads(capsys.readouterr().out)
    would = {a["alert_id"] for a in same["would_raise"]}
    assert would == {a["alert_id"] for a in live}
    assert main([*args, "--set", "threshold=3"]) == 0
    stricter = json.loads(capsys.readouterr().out)
    assert {a["alert_id"] for a in stricter["would_raise"]} <= would
    assert main([*args[:-1], "--set", "threshold=1"]) == 0  # the text report
    assert "tis-one-account-concurrent" in capsys.readouterr().out
    assert main(["backtest", "--db", str(db), "--school", str(school), "--rule", "nope",
                 "--from", days[0], "--to", days[-1]]) == 2


def test_retention_deletes_old_filter_events_keeps_evidence_and_logs_the_run(
        school_db: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    school, db = school_db
    con = WarehouseReader(db).connect()
    web_before = con.execute("SELECT count(*) FROM events WHERE category = 'web'").fetchone()
    assert web_before and web_before[0] > 0
    (school / "school.yaml").write_text((school / "school.yaml").read_text()
                                        + "retention:\n  web_events: 1d\n")
    assert main(["retention", "--db", str(db), "--school", str(school), "--show"]) == 0
    assert "web_events" in capsys.readouterr().out
    assert main(["retention", "--db", str(db), "--school", str(school), "--by", "IT"]) == 0
    printed = capsys.readouterr().out
    assert "web_events" in printed and "logged in retention_runs" in printed
    con = WarehouseReader(db).connect()
    web_after = con.execute("SELECT count(*) FROM events WHERE category = 'web'").fetchone()
    assert web_after is not None and web_after[0] < web_before[0]
    missing = con.execute(
        """SELECT count(*) FROM (SELECT unnest(evidence_event_ids) AS id FROM alerts) a
           WHERE a.id NOT IN (SELECT event_id FROM events)""").fetchone()
    assert missing == (0,), "evidence of a kept alert was deleted"
    runs = con.execute("SELECT ran_by, count(*) FROM retention_runs GROUP BY ran_by").fetchall()
    assert runs and runs[0][0] == "IT"
    (school / "school.yaml").write_text((school / "school.yaml").read_text()
                                        + "  alerts: 25d\n")
    assert main(["retention", "--db", str(db), "--school", str(school)]) == 2
