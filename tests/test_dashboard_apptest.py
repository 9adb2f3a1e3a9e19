"""Every page for every role, through Streamlit's AppTest on real DuckDB files.

Each role signs in (a real session from the account store); the navigation offers only
its pages, and a page it may not use, opened directly, shows a refusal from the access
layer and none of the data.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.session import SESSION_KEY
from pipelines.demo_accounts import DEMO_PASSWORD
from warehouse.accounts import AccountStore, accounts_path

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
PAGES = ("alerts", "alert", "chronology", "incident", "termly", "review", "rules", "pipeline",
         "audit")
ALLOWED = {
    "dsl": {"alerts", "alert", "chronology", "incident", "termly", "review"},
    "deputy": {"alerts", "alert", "chronology", "incident", "termly", "review"},
    "head": {"alerts", "alert", "chronology", "incident", "termly", "review", "audit"},
    "governor": {"termly", "review"},
    "it": {"alerts", "alert", "termly", "review", "rules", "pipeline"},
}


def _token(db: Path, username: str) -> str:
    result = AccountStore(accounts_path(db)).sign_in(username, DEMO_PASSWORD, datetime.now(UTC))
    assert result.ok and result.token
    return result.token


def _run(script: Path, db: Path, username: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SAFEGUARD_DB", str(db))
    at = AppTest.from_file(str(script), default_timeout=90)
    at.session_state[SESSION_KEY] = _token(db, username)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.text, *at.caption, *at.title, *at.subheader)]
    parts += [str(m.value) for m in at.metric]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(str(p) for p in parts)


def test_signing_in_shows_the_roles_pages_and_bad_passwords_are_refused(
        demo_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_DB", str(demo_site / "warehouse.duckdb"))
    at = AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=90).run()
    assert at.title[0].value == "Safeguard"
    at.text_input[0].input("dsl")
    at.text_input[1].input("wrong password!")
    at.button[0].click().run()
    assert at.error[0].value == "bad username or password"
    at.text_input[0].input("dsl")
    at.text_input[1].input(DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert at.session_state[SESSION_KEY]  # the rerun shows the role's navigation
    at.switch_page("views/alerts.py").run()
    assert at.title[0].value == "Alerts"


@pytest.mark.parametrize("username", sorted(ALLOWED))
def test_every_page_for_every_role(username: str, demo_site: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db = demo_site / "warehouse.duckdb"
    names = (demo_site / "school" / "people.csv").read_text(encoding="utf-8")
    pupil_names = {line.split(",")[1] for line in names.splitlines()[1:]
                   if ",pupil," in line}
    for page in PAGES:
        at = _run(DASHBOARD / "views" / f"{page}.py", db, username, monkeypatch)
        text = _text(at)
        refused = [e.value for e in at.error if "Not available to your role" in e.value]
        if page in ALLOWED[username]:
            assert not refused, (username, page, refused)
        else:
            assert refused, (username, page)
            assert not at.dataframe, (username, page)  # the refusal shows no data
        if username == "governor":
            assert not re.search(r"\bP\d{4}\b", text), page
            assert not any(n in text for n in pupil_names), page


def test_alert_queue_is_most_severe_first_and_cites_clauses(
        demo_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(DASHBOARD / "views" / "alerts.py", demo_site / "warehouse.duckdb", "dsl",
              monkeypatch)
    table = at.dataframe[0].value
    assert table["severity"].iloc[0] == 5  # the at-risk pupil leads the queue
    assert list(table["severity"]) == sorted(table["severity"], reverse=True)
    assert all(len(c) > 0 for c in table["clause_ids"])
    at.multiselect[0].set_value([5]).run()
    assert set(at.dataframe[0].value["severity"]) == {5}


def test_triage_from_the_alert_page_persists(demo_copy: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(DASHBOARD / "views" / "alert.py", demo_copy, "dsl", monkeypatch)
    at.radio[0].set_value("acknowledge")
    at.text_area[0].input("<script>alert(1)</script> spoke to tutor")
    at.button[0].click().run()
    assert not at.exception
    assert "Recorded (warehouse)" in at.success[0].value
    again = _run(DASHBOARD / "views" / "alert.py", demo_copy, "deputy", monkeypatch)
    assert again.metric[1].value == "acknowledged"
    history = again.dataframe[1].value
    assert list(history["note"]) == ["<script>alert(1)</script> spoke to tutor"]


def test_pipeline_page_accounts_for_every_record(demo_site: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(DASHBOARD / "views" / "pipeline.py", demo_site / "warehouse.duckdb", "it",
              monkeypatch)
    acct = at.dataframe[0].value
    assert (acct["records_in"] == acct["events_parsed"] + acct["dead_lettered"]).all()
    quality = at.dataframe[2].value
    assert set(acct["source"]) <= set(quality["source"])


def test_empty_warehouse_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.demo_accounts import ensure_demo_accounts

    db = tmp_path / "empty.duckdb"
    ensure_demo_accounts(db)
    at = _run(DASHBOARD / "views" / "alerts.py", db, "dsl", monkeypatch)
    assert any("No alerts yet" in i.value for i in at.info)


def test_it_previews_a_rule_change_against_past_events(demo_copy: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(DASHBOARD / "views" / "rules.py", demo_copy, "it", monkeypatch)
    at.selectbox[0].set_value("bps-password-spray").run()
    threshold = next(t for t in at.text_input if t.label == "threshold")
    threshold.input("2")
    next(b for b in at.button if b.label == "Preview (backtest)").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= {"Raised with current settings", "Would raise with the edit",
                            "Estimated precision"}
    assert int(metrics["Would raise with the edit"]) >= int(metrics["Raised with current settings"])
    assert not at.text or all("P0" not in t.value for t in at.text)  # IT gets no alert lines
