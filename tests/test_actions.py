"""Triage steps: the model, and the embedded path from the dashboard to the warehouse.

Real DuckDB files; the "busy" case runs a real `safeguard ingest --follow` process that
holds the file, exactly the lock the dashboard must live with.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.actions import submit_action
from safeguard.actions import AlertAction, status_after
from safeguard.cli import main
from tests.conftest import REPO, poll, squid_line
from warehouse.queries import list_alerts
from warehouse.reader import WarehouseReader
from warehouse.spool import ActionSpool

T = datetime(2026, 11, 17, 10, tzinfo=UTC)


def _step(action: str, minutes: int = 0, **kw: str) -> AlertAction:
    return AlertAction.new("a1", "s1", action, "dsl1", "dsl", at=T + timedelta(minutes=minutes),
                           **kw)


def test_an_action_checks_itself_and_round_trips() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        _step("delete")
    with pytest.raises(ValueError, match="unknown outcome"):
        _step("outcome", outcome="maybe")
    with pytest.raises(ValueError, match="assignee"):
        _step("assign")
    with pytest.raises(ValueError, match="needs text"):
        _step("note", note="   ")
    step = _step("outcome", outcome="early-help", note="<b>spoke to parents</b>")
    assert AlertAction.from_dict(step.to_dict()) == step


def test_status_follows_the_order_people_acted_in_not_arrival() -> None:
    steps = [_step("close", 30), _step("acknowledge", 1), _step("note", 40, note="x"),
             _step("assign", 5, assignee="deputy")]
    assert status_after(steps) == "closed"
    assert status_after([*steps, _step("reopen", 50)]) == "acknowledged"
    assert status_after([]) == "new"


def _school_with_an_alert(tmp_path: Path, make_school: Callable[..., Path]) -> tuple[Path, Path]:
    school, log, db = make_school(), tmp_path / "access.log", tmp_path / "w.duckdb"
    t0 = T.timestamp()
    log.write_text(squid_line(ts=t0, url="http://proxysite.com/") + "\n")
    assert main(["ingest", "--school", str(school), "--input", f"filter:squid:{log}",
                 "--embedded", "--db", str(db)]) == 0
    return school, db


def test_a_step_on_a_free_warehouse_is_written_at_once_and_only_once(
        tmp_path: Path, make_school: Callable[..., Path]) -> None:
    _, db = _school_with_an_alert(tmp_path, make_school)
    alert = list_alerts(WarehouseReader(db).connect()).iloc[0]
    step = AlertAction.new(alert["alert_id"], alert["school_id"], "acknowledge", "dsl1", "dsl")
    assert submit_action(step, db_path=db) == "warehouse"
    assert submit_action(step, db_path=db) == "warehouse"  # a retried submit
    con = WarehouseReader(db).connect()
    assert list_alerts(con).iloc[0]["status"] == "acknowledged"
    assert con.execute("SELECT count(*) FROM alert_actions").fetchone() == (1,)
    assert not list(ActionSpool(db).dir.glob("*.json"))


def test_a_step_while_ingest_holds_the_file_waits_in_the_spool_and_is_not_lost(
        tmp_path: Path, make_school: Callable[..., Path],
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    school, db = _school_with_an_alert(tmp_path, make_school)
    reader = WarehouseReader(db)
    alert = list_alerts(reader.connect()).iloc[0]
    live = tmp_path / "live.log"
    live.write_text(squid_line(ts=T.timestamp() + 3600, url="http://www.bbc.co.uk/") + "\n")
    follower = spawn("ingest", "--school", str(school), "--input", f"filter:squid:{live}",
                     "--embedded", "--db", str(db), "--follow", "--poll-interval", "0.2",
                     env={**os.environ, "PYTHONPATH": str(REPO)}, name="follow")
    poll(lambda: (reader.manifest() or {}).get("rows", {}).get("events", 0) >= 2, 60,
         "the follower to hold the file", [follower], tmp_path)
    ActionSpool(db).dir.mkdir(exist_ok=True)
    (ActionSpool(db).dir / "junk.json").write_text("{not json")  # a truncated file
    steps = [AlertAction.new(alert["alert_id"], alert["school_id"], "assign", "dsl1", "dsl",
                             assignee="deputy1"),
             AlertAction.new(alert["alert_id"], alert["school_id"], "outcome", "dsl1", "dsl",
                             outcome="pastoral", note="<script>alert(1)</script>")]
    assert [submit_action(s, db_path=db) for s in steps] == ["spool", "spool"]

    def applied() -> bool:
        con = reader.connect()
        return (list_alerts(con).iloc[0]["status"] == "closed"
                and con.execute("SELECT count(*) FROM dead_letters WHERE "
                                "dataset = 'dashboard-outbox'").fetchone() == (1,))

    poll(applied, 60, "the follower to apply the spooled steps", [follower], tmp_path)
    con = reader.connect()
    notes = con.execute("SELECT note FROM alert_actions WHERE action = 'outcome'").fetchall()
    assert notes == [("<script>alert(1)</script>",)]  # stored as typed; escaping is the page's
    assert not list(ActionSpool(db).dir.glob("*.json"))
