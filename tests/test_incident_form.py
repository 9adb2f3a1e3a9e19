"""Incidents recorded in the dashboard's form go through the school's own incident format:
ingested at once when the warehouse file is free, by the follower when one holds it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.incident_form import (
    IncidentForm,
    IncidentFormError,
    inbox_dir,
    ingest_inbox,
    pending,
    save_to_inbox,
)
from safeguard.cli import main
from tests.conftest import poll, squid_line
from warehouse.reader import WarehouseReader

HOSTILE = '<script>window.__x=1</script> said "you\'re next", pushed; twice\nsecond line'


def _form(**kw: object) -> IncidentForm:
    values: dict[str, object] = {
        "occurred_at": datetime.now(UTC) - timedelta(hours=2), "reporter": "Form Tutor",
        "category": "cyberbullying", "pupils": (("P0001", "victim"),),
        "description": HOSTILE, "actions": "spoke to both"}
    values.update(kw)
    return IncidentForm(**values)  # type: ignore[arg-type]


def test_the_form_checks_what_was_typed() -> None:
    for bad, field in (({"category": "gossip"}, "category"), ({"pupils": ()}, "pupils"),
                       ({"pupils": (("P1;P2", "victim"),)}, "pupils"),
                       ({"description": "  "}, "description"),
                       ({"occurred_at": datetime.now(UTC) + timedelta(days=1)}, "occurred_at")):
        with pytest.raises(IncidentFormError) as err:
            _form(**bad)
        assert err.value.field == field


def _incidents(db: Path) -> list[tuple[str, str]]:
    con = WarehouseReader(db).connect()
    return con.execute("SELECT raw, dataset FROM events WHERE category = 'incident'").fetchall()


def test_recorded_with_the_file_free_it_is_ingested_verbatim_and_alerts(
        tmp_path: Path, make_school: Callable[..., Path]) -> None:
    school, db = make_school(), tmp_path / "w.duckdb"
    save_to_inbox(db, _form(), recorded_by="dsl1")
    assert ingest_inbox(db, school) == "warehouse"
    assert not pending(db) and list((inbox_dir(db) / "ingested").glob("*.csv"))
    raws = [raw for raw, _ in _incidents(db)]
    assert len(raws) == 1 and "<script>window.__x=1</script>" in raws[0]
    con = WarehouseReader(db).connect()
    rules = {r[0] for r in con.execute("SELECT rule_id FROM alerts WHERE subject = 'P0001'")
             .fetchall()}
    assert "bps-cyberbullying-report" in rules


@pytest.mark.slow
def test_a_running_follower_takes_the_form_s_incidents(
        tmp_path: Path, make_school: Callable[..., Path],
        spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
    school, db, log = make_school(), tmp_path / "w.duckdb", tmp_path / "access.log"
    log.write_text(squid_line(ts=datetime.now(UTC).timestamp() - 60) + "\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    follower = spawn("ingest", "--school", str(school), "--input", f"filter:squid:{log}",
                     "--embedded", "--db", str(db), "--follow", env=env, name="follower")
    poll(lambda: (db.parent / (db.name + ".snapshot") / "manifest.json").exists(), 120,
         "the follower's first snapshot", [follower], tmp_path)
    save_to_inbox(db, _form(), recorded_by="dsl1")
    assert ingest_inbox(db, school) == "inbox"  # the follower holds the file
    poll(lambda: _incidents(db), 60, "the incident in the warehouse", [follower], tmp_path)
    poll(lambda: not pending(db), 30, "the inbox emptied", [follower], tmp_path)
    assert len(_incidents(db)) == 1


def test_the_cli_demo_prints_its_sign_ins(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          demo_site: Path) -> None:
    from pipelines.demo_accounts import DEMO_PASSWORD
    from warehouse.accounts import AccountStore, accounts_path

    users = AccountStore(accounts_path(demo_site / "warehouse.duckdb")).list_users()
    assert {u.role.value for u in users} == {"dsl", "deputy_dsl", "headteacher", "governor", "it"}
    assert main(["users", "list", "--db", str(demo_site / "warehouse.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "governor" in out and DEMO_PASSWORD not in out and "scrypt" not in out
