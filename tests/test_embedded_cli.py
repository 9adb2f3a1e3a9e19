"""The embedded slice through the real CLI: squid log -> bps.proxy alert -> DuckDB -> --json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from safeguard.cli import main
from safeguard.evaluation import evaluate
from tests.conftest import squid_line
from warehouse.queries import ingest_accounting
from warehouse.reader import WarehouseReader

T = 1795262400.0  # 2026-11-21 12:00 UTC, a Saturday; school hours do not matter for bps.proxy


def _log(path: Path, lines: list[str]) -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode())
    return path


def _alerts(db: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main(["alerts", "--db", str(db), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_proxy_hits_become_one_clause_citing_alert(tmp_path: Path,
                                                   make_school: Callable[..., Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    school = make_school()
    log = _log(tmp_path / "access.log", [
        squid_line(ts=T, url="http://www.bbc.co.uk/news"),
        squid_line(ts=T + 60, url="www.proxysite.com:443", method="CONNECT",
                   code="TCP_TUNNEL/200"),
        squid_line(ts=T + 120, url="http://nordvpn.com/", code="TCP_DENIED/403"),
        squid_line(ts=T + 180, user="pupil2", url="http://en.wikipedia.org/wiki/Fox"),
        "this is not a squid line",
    ])
    db = tmp_path / "w.duckdb"
    args = ["ingest", "--school", str(school), "--input", f"filter:squid:{log}",
            "--embedded", "--db", str(db)]
    assert main(args) == 0
    assert "5 records: 4 events (4 new), 1 dead letters, 1 alerts" in capsys.readouterr().out
    alerts = _alerts(db, capsys)
    assert len(alerts) == 1
    a = alerts[0]
    required = {"alert_id", "rule_id", "clause_ids", "severity", "category", "subject",
                "first_seen", "last_seen", "evidence_event_ids"}
    assert required <= set(a)
    assert (a["rule_id"], a["clause_ids"], a["subject"], a["category"]) == (
        "bps-proxy-circumvention", ["bps.proxy"], "P1", "security")
    assert len(a["evidence_event_ids"]) == 2
    assert a["first_seen"] == "2026-11-21T12:01:00Z"

    # the same file again: nothing new, same alert id
    assert main(args) == 0
    assert "(0 new)" in capsys.readouterr().out
    assert [x["alert_id"] for x in _alerts(db, capsys)] == [a["alert_id"]]


def test_undecodable_and_malformed_lines_are_accounted_for(tmp_path: Path,
                                                           make_school: Callable[..., Path],
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    log = tmp_path / "access.log"
    good = squid_line(ts=T).encode()
    log.write_bytes(good + b"\n\xff\xfe broken bytes\n" + b"1 2 3\n" + good.replace(b"GET", b"PUT")
                    + b"\n")
    db = tmp_path / "w.duckdb"
    assert main(["ingest", "--school", str(make_school()), "--input", f"filter:squid:{log}",
                 "--embedded", "--db", str(db)]) == 0
    assert "4 records: 2 events (2 new), 2 dead letters" in capsys.readouterr().out
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    reasons = [r[0] for r in con.execute("SELECT reason FROM dead_letters ORDER BY line_no")
               .fetchall()]
    assert reasons[0].startswith("not UTF-8") and "expected 10 fields" in reasons[1]
    assert con.execute("SELECT sum(records_in), sum(events_parsed) + sum(dead_lettered) "
                       "FROM ingest_batches").fetchone() == (4, 4)


@pytest.mark.parametrize(("argv", "message"), [
    (["ingest", "--school", "{school}", "--input", "filter:nosuch:x", "--embedded", "--db", "d"],
     "unsupported input 'filter:nosuch'"),
    (["ingest", "--school", "{school}", "--input", "filter:squid:/no/such.log", "--embedded",
      "--db", "{tmp}/d.duckdb"], "input file not found"),
    (["ingest", "--school", "{tmp}/nope", "--input", "filter:squid:x", "--embedded", "--db",
      "d"], "school folder does not exist"),
    (["ingest", "--school", "{school}", "--input", "filter:squid:x"], "choose a mode"),
    (["alerts", "--db", "{tmp}/never.duckdb"], "no warehouse snapshot"),
])
def test_errors_are_one_line_and_non_zero(tmp_path: Path, make_school: Callable[..., Path],
                                          capsys: pytest.CaptureFixture[str], argv: list[str],
                                          message: str) -> None:
    school = make_school()
    argv = [a.format(school=school, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("safeguard: error:") and message in err
    assert "\n" not in err


def test_demo_without_serving_writes_alerts_for_every_injected_scenario(
        demo_site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`safeguard demo --no-serve` (run once per session by the `demo_site` fixture)."""
    out = demo_site
    alerts = _alerts(out / "warehouse.duckdb", capsys)
    truth = [json.loads(line) for line in (out / "ground_truth.jsonl").read_text().splitlines()]
    assert truth, "the demo injects scenarios"
    report = evaluate(alerts, truth)
    assert report.missed == [], report.missed
    assert report.overall.precision is not None and report.overall.precision >= 0.95
    assert all(a["clause_ids"] for a in alerts)


def test_simulator_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert main(["simulate", "--profile", "twerton-infant", "--days", "3", "--seed", "5",
                     "--out", str(tmp_path / name)]) == 0
    for rel in ("school/people.csv", "ground_truth.jsonl", "logs/squid/access.log"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_rows_failing_a_quality_expectation_are_dead_letters_and_results_are_stored(
        tmp_path: Path, make_school: Callable[..., Path]) -> None:
    """Great Expectations runs on every batch: the odd row goes to dead letters naming the
    expectation, its neighbours go on, and the suite's results are queryable."""
    school, log, db = make_school(), tmp_path / "access.log", tmp_path / "w.duckdb"
    t0 = 1795262400.0
    log.write_text("\n".join([
        squid_line(ts=t0, url="http://www.bbc.co.uk/"),
        squid_line(ts=t0 + 1, url="http://www.bbc.co.uk/a", code="TCP_MISS/1000"),
        squid_line(ts=t0 + 2, url="http://www.bbc.co.uk/b"),
    ]) + "\n")
    assert main(["ingest", "--school", str(school), "--input", f"filter:squid:{log}",
                 "--embedded", "--db", str(db)]) == 0
    con = WarehouseReader(db).connect()
    dead = con.execute("SELECT stage, reason FROM dead_letters").fetchall()
    assert len(dead) == 1 and dead[0][0] == "validate"
    assert "http_status" in dead[0][1]
    acc = ingest_accounting(con).iloc[0]
    assert (acc["records_in"], acc["events_parsed"], acc["dead_lettered"]) == (3, 2, 1)
    failed = con.execute("SELECT expectation, column_name, unexpected_count FROM dq_results "
                         "WHERE NOT success").fetchall()
    assert ("expect_column_values_to_be_between", "http_status", 1) in failed
    assert con.execute("SELECT count(*) FROM dq_results WHERE success").fetchone()[0] >= 5
