"""The data-access layer decides what each role sees, whatever a page asks for.

Real DuckDB files (a copy of the demo site); no UI involved: these are the checks a
page bug cannot get round.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.access import Access, SchoolContext
from pipelines.actions import submit_record
from safeguard.auth import AccessDenied, Role, User
from warehouse.reader import WarehouseReader
from warehouse.spool import Outbox, Record

NOW = datetime(2026, 11, 21, 9, tzinfo=UTC)


def _access(db: Path, role: Role, username: str | None = None) -> Access:
    user = User(username or role.value.replace("_", "-"), role, f"Test {role.label}", NOW)

    def submit(record: Record) -> str:
        return submit_record(record, db_path=db)

    return Access(WarehouseReader(db), user, submit,
                  school=SchoolContext.load(db.parent / "school"))


def _pupil_names(db: Path) -> set[str]:
    school = SchoolContext.load(db.parent / "school")
    assert school is not None
    return {school.names[p] for p in school.pupils}


def test_a_governor_gets_no_alert_no_pupil_and_no_name(demo_copy: Path) -> None:
    gov = _access(demo_copy, Role.governor)
    dsl_alert = _access(demo_copy, Role.dsl).queue()["alert_id"].iloc[0]
    for attempt in (gov.queue, gov.queue_choices, gov.pupils, lambda: gov.alert(dsl_alert),
                    lambda: gov.chronology("P0052"), gov.audit_log, gov.pipeline_health,
                    gov.rules, lambda: gov.triage(dsl_alert, "acknowledge")):
        with pytest.raises(AccessDenied):
            attempt()
    review = gov.governors_review(gov.terms()[-1])
    from pipelines.review_export import chart_frames, to_html

    text = to_html(review) + "".join(f.to_csv() for f in chart_frames(review).values())
    assert not re.search(r"\bP\d{4}\b", text)
    assert not any(name in text for name in _pupil_names(demo_copy))
    refused = WarehouseReader(demo_copy).connect().execute(
        "SELECT count(*) FROM audit_log WHERE action = 'access-refused'").fetchone()
    assert refused and refused[0] >= 1  # refusals are audited (the spool was drained)


def test_each_role_sees_only_its_routings(demo_copy: Path) -> None:
    routes = {role: set(_access(demo_copy, role).queue()["routing"])
              for role in (Role.dsl, Role.deputy_dsl, Role.headteacher, Role.it)}
    assert routes[Role.dsl] == routes[Role.deputy_dsl] == {"dsl"}
    assert routes[Role.headteacher] <= {"headteacher"}
    assert routes[Role.it] <= {"it"}
    it = _access(demo_copy, Role.it)
    dsl_alert = _access(demo_copy, Role.dsl).queue()["alert_id"].iloc[0]
    with pytest.raises(AccessDenied):
        it.alert(dsl_alert)  # an id guessed or pasted into the URL is still refused
    it_queue = it.queue()
    assert "name" not in it_queue.columns and "year_group" not in it_queue.columns
    people = it_queue[it_queue["subject_kind"] == "person"]
    assert set(people["subject"]) <= {"(withheld)"}  # IT acts on accounts, not on pupils
    for forged in ("P0052", "' OR 1=1 --", "x" * 500):
        with pytest.raises(AccessDenied):
            it.alert(forged)
    logged = WarehouseReader(demo_copy).connect().execute(
        "SELECT detail, subject_id FROM audit_log WHERE action = 'access-refused'").fetchall()
    assert ("malformed alert id", None) in logged


def test_dsl_sees_names_evidence_and_every_view_is_audited(demo_copy: Path) -> None:
    dsl = _access(demo_copy, Role.dsl, "dsl1")
    queue = dsl.queue(severities=[5])
    assert list(queue["severity"]) == [5]
    assert queue["name"].iloc[0] in _pupil_names(demo_copy)
    alert = dsl.alert(queue["alert_id"].iloc[0])
    assert len(alert["evidence"]) == alert["event_count"]
    assert all(text for _, text in alert["clauses"])  # the policy's words, not just ids
    history = dsl.chronology(alert["subject"])
    assert {"alert", "incident"} <= set(history["kind"])  # the bullying report names them
    where = dsl.triage(alert["alert_id"], "acknowledge", note="<b>seen</b>")
    assert where == "warehouse"
    con = WarehouseReader(demo_copy).connect()
    assert con.execute("SELECT status FROM alerts WHERE alert_id = ?",
                       [alert["alert_id"]]).fetchone() == ("acknowledged",)
    logged = con.execute("SELECT action, subject_id FROM audit_log WHERE actor = 'dsl1' "
                         "ORDER BY logged_at").fetchall()
    assert ("view-alert", alert["subject"]) in logged  # who was looked at, by id
    assert ("view-chronology", alert["subject"]) in logged
    assert ("triage", alert["alert_id"]) in logged
    assert not Outbox(demo_copy).pending()[0]
    head = _access(demo_copy, Role.headteacher)
    log = head.audit_log()
    assert {"view-alert", "view-chronology", "triage"} <= set(log["action"])
    assert not any(name in log.to_csv() for name in _pupil_names(demo_copy))


def test_it_edits_a_rule_with_validation_and_history(demo_copy: Path) -> None:
    it = _access(demo_copy, Role.it, "it1")
    rule = next(r for r in it.rules() if r.kind == "value_count")
    from safeguard.errors import ConfigError

    with pytest.raises(ConfigError):
        it.edit_rule(rule.id, {"threshold": "lots"}, "typo")
    with pytest.raises(ConfigError):
        it.edit_rule(rule.id, {"no_such_setting": "1"}, "typo")
    assert it.edit_rule(rule.id, {"threshold": "7"}, "too noisy") == "warehouse"
    edited = next(r for r in it.rules() if r.id == rule.id)
    assert edited.changed and edited.settings["threshold"] == 7
    history = it.rule_history()
    assert list(history["changed_by"]) == ["it1"] and list(history["reason"]) == ["too noisy"]
    with pytest.raises(AccessDenied):
        _access(demo_copy, Role.dsl).edit_rule(rule.id, {"threshold": "1"}, "x")


def test_governors_see_the_filter_log_without_pupil_names(demo_copy: Path) -> None:
    from safeguard.review import FilterChange

    head = _access(demo_copy, Role.headteacher)
    pupil = sorted(_pupil_names(demo_copy))[0]
    change = FilterChange.new(head.school.school_id if head.school else "", NOW, "allow",
                              "example.org", f"asked for by {pupil}", "head")
    assert head.record_review(change) == "warehouse"
    _, shown_to_head = head.filter_records()
    assert pupil in shown_to_head[0].reason
    _, shown_to_governor = _access(demo_copy, Role.governor).filter_records()
    assert pupil not in shown_to_governor[0].reason and "[pupil]" in shown_to_governor[0].reason


def test_a_disabled_user_can_do_nothing(demo_copy: Path) -> None:
    user = User("gone", Role.dsl, "Gone", NOW, disabled=True)
    access = Access(WarehouseReader(demo_copy), user, lambda r: "spool")
    with pytest.raises(AccessDenied):
        access.queue()
