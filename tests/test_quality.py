"""Data-quality suites: valid records of every source pass, each kind of bad row is one dead
letter naming its expectation while its neighbours go on, and nothing is lost."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest

from pipelines.quality import (
    SOURCES,
    SUITE_FAILED,
    Expectation,
    QualityCheck,
    QualityReport,
    SuiteSpec,
    Validator,
    suite_for,
)
from producers.files import read_header, read_lines
from producers.formats import PARSERS, reading_of
from producers.parsing import ParseContext
from producers.simulator import simulate
from safeguard.events import Event, stable_event_id
from tests import test_auth_formats as auth_samples
from tests import test_device_incident_formats as device_samples
from tests import test_filter_formats as filter_samples
from tests import test_squid as squid_samples
from tests.conftest import REPO, event

NOW = datetime(2026, 11, 22, tzinfo=UTC)
SCHOOL = "test-school"
REAL = REPO / "tests" / "fixtures" / "real"
DQ_COLUMNS = {"batch_id", "school_id", "source", "suite", "expectation", "column_name",
              "severity", "success", "element_count", "unexpected_count", "checked_at"}


@pytest.fixture(scope="module")
def validator() -> Validator:
    v = Validator()
    v.start()
    return v


def parse_lines(source: str, lines: list[str], name: str, tz: str = "UTC",
                strict: bool = True) -> list[Event]:
    """Records through the registered parser, as the runners call it; `strict`: none may be
    refused (some documented samples are there to be refused by the parser)."""
    ctx = ParseContext(school_id=SCHOOL, source=f"quality/{source}/{name}", now=NOW, timezone=tz,
                       header=lines[0] if reading_of(source).csv else None)
    numbered = list(enumerate((line if line.endswith("\n") else line + "\n" for line in lines),
                              start=1))
    if reading_of(source).whole_file:
        numbered = [(1, "".join(text for _, text in numbered))]
    result = PARSERS[source](numbered, ctx)
    assert not strict or result.dead_letters == [], [d.reason for d in result.dead_letters]
    assert result.events
    return result.events


def assert_all_pass(report: QualityReport, events: list[Event], source: str) -> None:
    assert report.dead_letters == (), [d.reason for d in report.dead_letters[:5]]
    assert report.valid == tuple(events)
    failed = [c for c in report.checks if not c.success]
    assert failed == [], failed
    assert {(c.expectation, c.column) for c in report.checks} == {
        e.key for e in suite_for(source).expectations}


# ------------------------------------------------------------------------ valid records pass

SIMULATIONS = [  # every format of every source, both profiles
    ("beaudesert-park", {"filter": "squid", "auth": "winlogbeat", "cloud": "google",
                         "device": "snipeit-api"}),
    ("twerton-infant", {"filter": "e2guardian", "auth": "samba", "cloud": "entra",
                        "device": "snipeit-csv"}),
    ("beaudesert-park", {"filter": "squidguard", "auth": "samba", "cloud": "entra"}),
    ("twerton-infant", {"filter": "fortigate", "auth": "winlogbeat", "cloud": "google"}),
    ("beaudesert-park", {"filter": "csv"}),
]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Event]]:
    """Events per source of small simulated schools, read and parsed as the embedded runner
    does (chunks from `read_lines`, the CSV header, the school's time zone)."""
    by_source: dict[str, list[Event]] = defaultdict(list)
    for n, (profile, formats) in enumerate(SIMULATIONS):
        out = tmp_path_factory.mktemp(f"sim{n}")
        simulate(out, profile=profile, days=1, seed=n, pupils=40, staff=32, formats=formats)
        for spec in (out / "inputs.txt").read_text().splitlines():
            kind, fmt, path_text = spec.split(":", 2)
            source, path = f"{kind}:{fmt}", Path(path_text)
            reading = reading_of(source)
            ctx = ParseContext(school_id=SCHOOL, source=str(path), now=NOW + timedelta(days=30),
                               timezone="Europe/London",
                               header=read_header(path) if reading.csv else None)
            for lines, undecodable in read_lines(path, school_id=SCHOOL, dataset=source,
                                                 source=str(path), csv=reading.csv,
                                                 whole_file=reading.whole_file):
                result = PARSERS[source](lines, ctx)
                assert not undecodable and not result.dead_letters, result.dead_letters[:3]
                by_source[source].extend(result.events)
    return by_source


def test_every_parser_has_a_suite_and_suites_round_trip() -> None:
    assert set(PARSERS) == SOURCES
    for source in SOURCES:
        spec = suite_for(source)
        assert SuiteSpec.from_dict(spec.to_dict()) == spec
        assert len(spec.expectations) <= 14  # each costs a few ms per batch
    with pytest.raises(ValueError, match="supported"):
        suite_for("filter:smoke-signals")


def test_simulated_schools_pass_every_suite(validator: Validator,
                                            simulated: dict[str, list[Event]]) -> None:
    assert set(simulated) == SOURCES - {"auth:google-json"}
    for source, events in sorted(simulated.items()):
        report = validator.validate(source, events, school_id=SCHOOL, now=NOW + timedelta(days=30))
        assert_all_pass(report, events, source)


@pytest.mark.parametrize(("source", "name"), [
    ("filter:squid", "squid/access.log"),
    ("filter:e2guardian", "e2guardian/access.log"),
    ("filter:e2guardian", "e2guardian/format1.log"),
    ("filter:squidguard", "squidguard/blocked.log"),
    ("auth:samba", "samba/auth_audit.log"),
])
def test_real_software_logs_pass(validator: Validator, source: str, name: str) -> None:
    events = parse_lines(source, (REAL / name).read_text(encoding="utf-8").splitlines(), name)
    assert_all_pass(validator.validate(source, events, school_id=SCHOOL, now=NOW), events, source)


def _lines(text: str) -> list[str]:
    return text.splitlines()


DOCUMENTED = [  # vendor-shaped records the format tests are built on (see their sources)
    ("filter:squid", squid_samples.REAL),
    ("filter:e2guardian", [*filter_samples.E2G_6, *filter_samples.E2G_1, filter_samples.E2G_8,
                           filter_samples.E2G_3]),
    ("filter:squidguard", filter_samples.SG),
    ("filter:fortigate", filter_samples.FG),
    ("filter:csv", [line for line in filter_samples.CSV if line]),
    ("auth:winlogbeat", auth_samples.WINLOGBEAT),
    ("auth:samba", auth_samples.SAMBA),
    ("auth:entra", auth_samples.ENTRA[:2]),  # the third line holds an AuditLogs record
    ("auth:google", [auth_samples.dumps(auth_samples.PAGE)]),
    ("auth:google-json", [auth_samples.dumps(auth_samples.PAGE)]),
    ("device:snipeit-api", device_samples.API_LINES),
    ("device:snipeit-csv", _lines(device_samples.CSV_14)),
    ("device:snipeit-csv", _lines(device_samples.CSV_8)),
    ("incident:csv", _lines(device_samples.INCIDENT_CSV)),
]


@pytest.mark.parametrize(("source", "lines"), DOCUMENTED,
                         ids=[f"{s}-{i}" for i, (s, _) in enumerate(DOCUMENTED)])
def test_documented_records_pass(validator: Validator, source: str, lines: list[str]) -> None:
    """Includes what a naive suite would reject: a failed Windows logon naming no account, a
    Snipe-IT accessory without an asset tag, web requests with no user or no status."""
    events = parse_lines(source, lines, "documented", tz="Europe/London", strict=False)
    assert_all_pass(validator.validate(source, events, school_id=SCHOOL, now=NOW), events, source)


# ------------------------------------------------------------------------- bad rows, one each

def web(raw: str, **over: Any) -> Event:
    base: dict[str, Any] = {"raw": raw, "action": "allowed", "type": "access",
                            "outcome": "success", "http_method": "GET", "http_status": 200}
    return event(**{**base, **over})


def login(raw: str, dataset: str = "winlogbeat.security", **over: Any) -> Event:
    base: dict[str, Any] = {
        "raw": raw, "dataset": dataset, "category": "authentication", "type": "start",
        "action": "logged-in", "outcome": "success", "user_name": "pupil1",
        "event_id": stable_event_id(SCHOOL, dataset, raw), "url_original": None,
        "url_domain": None}
    return event(**{**base, **over})


def device(raw: str, dataset: str = "snipeit.activity", **over: Any) -> Event:
    labels = {"snipeit.item_type": "asset", "snipeit.log_id": raw}
    base: dict[str, Any] = {
        "raw": raw, "dataset": dataset, "category": "device", "type": "change",
        "action": "checkout", "outcome": "success", "asset_tag": "BPS-0012", "labels": labels,
        "event_id": stable_event_id(SCHOOL, dataset, raw), "url_original": None,
        "url_domain": None}
    return event(**{**base, **over})


def incident(raw: str, **over: Any) -> Event:
    labels = {"incident.id": raw, "incident.category": "bullying"}
    base: dict[str, Any] = {
        "raw": raw, "dataset": "incident.csv", "category": "incident", "action": "bullying",
        "labels": labels, "event_id": stable_event_id(SCHOOL, "incident.csv", raw),
        "url_original": None, "url_domain": None, "user_name": None, "source_ip": None}
    return event(**{**base, **over})


GOOD = {  # a valid event of each source, as its parser builds them
    "filter:squid": web,
    "filter:e2guardian": lambda r: web(r, dataset="e2guardian.access"),
    "filter:squidguard": lambda r: web(r, dataset="squidguard.block", http_status=None),
    "filter:fortigate": lambda r: web(r, dataset="fortigate.webfilter", http_status=None,
                                      http_method=None),
    "filter:csv": lambda r: web(r, dataset="filter.csv", http_method=None),
    "auth:winlogbeat": login,
    "auth:samba": lambda r: login(r, "samba.auth_audit"),
    "auth:google": lambda r: login(r, "google_workspace.login", user_name="p1@school.example"),
    "auth:entra": lambda r: login(r, "entra.signin", user_name="p1@school.example"),
    "device:snipeit-api": device,
    "device:snipeit-csv": lambda r: device(r, "snipeit.activity_csv"),
    "incident:csv": incident,
}
BETWEEN, NOT_NULL, IN_SET, REGEX = (f"expect_column_values_to_{n}" for n in (
    "be_between", "not_be_null", "be_in_set", "match_regex"))
BAD: list[tuple[str, str, dict[str, Any], str]] = [
    ("future timestamp", "filter:squid", {"timestamp": NOW + timedelta(days=2)},
     f"{BETWEEN}(timestamp)"),
    ("ancient timestamp", "filter:squid", {"timestamp": datetime(1999, 12, 31, tzinfo=UTC)},
     f"{BETWEEN}(timestamp)"),
    ("status below 100", "filter:e2guardian", {"http_status": 42}, f"{BETWEEN}(http_status)"),
    ("status of four digits", "filter:csv", {"http_status": 1000}, f"{BETWEEN}(http_status)"),
    ("missing domain", "filter:squid", {"url_domain": None}, f"{NOT_NULL}(url_domain)"),
    ("blank url", "filter:squidguard", {"url_original": "  "}, f"{NOT_NULL}(url_original)"),
    ("malformed method", "filter:fortigate", {"http_method": "get me"}, f"{REGEX}(http_method)"),
    ("missing method", "filter:e2guardian", {"http_method": None}, f"{NOT_NULL}(http_method)"),
    ("verdict squid never logs", "filter:squid", {"action": "exception"}, f"{IN_SET}(action)"),
    ("another school", "filter:squid", {"school_id": "other"}, f"{IN_SET}(school_id)"),
    ("another dataset", "filter:squid", {"dataset": "e2guardian.access"}, f"{IN_SET}(dataset)"),
    ("empty raw record", "filter:csv", {"raw": ""}, f"{NOT_NULL}(raw)"),
    ("category of another source", "auth:entra", {"category": "web"}, f"{IN_SET}(category)"),
    ("unknown outcome", "auth:winlogbeat", {"unchecked": {"outcome": "maybe"}},
     f"{IN_SET}(outcome)"),
    ("logon succeeded for nobody", "auth:samba", {"user_name": None}, f"{NOT_NULL}(user_name)"),
    ("unknown action", "auth:winlogbeat", {"action": "logged-on"}, f"{IN_SET}(action)"),
    ("google actor is no email", "auth:google", {"user_name": "p 1"}, f"{REGEX}(user_name)"),
    ("asset without tag", "device:snipeit-csv", {"asset_tag": None}, f"{NOT_NULL}(asset_tag)"),
    ("api row without id", "device:snipeit-api", {"labels": {"snipeit.item_type": "asset"}},
     f"{NOT_NULL}(log_id)"),
    ("incident category", "incident:csv", {"action": "gossip"}, f"{IN_SET}(action)"),
    ("incident without id", "incident:csv", {"labels": {}}, f"{NOT_NULL}(incident_id)"),
    ("CIN factor code", "incident:csv", {"labels": {"incident.id": "9",
                                                    "incident.cin_factor": "self harm"}},
     f"{REGEX}(cin_factor)"),
]


def make_bad(source: str, over: dict[str, Any]) -> Event:
    over = dict(over)
    skipped = over.pop("unchecked", {})
    bad = dataclasses.replace(GOOD[source]("bad"), **over)
    for name, value in skipped.items():  # a field that skipped the model's own checks
        object.__setattr__(bad, name, value)
    return bad


def test_good_rows_of_every_source_pass(validator: Validator) -> None:
    assert set(GOOD) == SOURCES - {"auth:google-json"}
    for source, make in GOOD.items():
        events = [make("one"), make("two")]
        assert_all_pass(validator.validate(source, events, school_id=SCHOOL, now=NOW), events,
                        source)


@pytest.mark.parametrize(("source", "over", "name"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_each_kind_of_bad_row_is_one_dead_letter(validator: Validator, source: str,
                                                 over: dict[str, Any], name: str) -> None:
    before, bad, after = GOOD[source]("before"), make_bad(source, over), GOOD[source]("after")
    report = validator.validate(source, [before, bad, after], school_id=SCHOOL, now=NOW,
                                path="logs/x.log")
    assert report.valid == (before, after)
    [dead] = report.dead_letters
    assert dead.reason.startswith(f"failed {name} got ") and ";" not in dead.reason
    assert (dead.stage, dead.raw, dead.dataset, dead.school_id, dead.source) == (
        "validate", bad.raw, bad.dataset, SCHOOL, f"logs/x.log#{bad.event_id}")
    failed = [c for c in report.checks if not c.success and c.severity == "error"]
    assert [f"{c.expectation}({c.column})" for c in failed] == [name]
    assert (failed[0].unexpected_count, failed[0].severity) == (1, "error")


def test_a_row_failing_several_expectations_is_one_dead_letter(validator: Validator) -> None:
    bad = web("bad", timestamp=NOW + timedelta(days=9), url_domain=None, http_status=7)
    events = [web("a"), bad, web("b"), web("c", http_status=999)]
    report = validator.validate("filter:squid", events, school_id=SCHOOL, now=NOW)
    [dead] = report.dead_letters
    for name in ("be_between(timestamp) got 2026-12-01T00:00:00+00:00",
                 "not_be_null(url_domain) got None", "be_between(http_status) got 7"):
        assert name in dead.reason
    assert [e.raw for e in report.valid] == ["a", "b", "c"]


def test_warnings_are_recorded_but_rows_go_on(validator: Validator) -> None:
    same = web("replayed line")
    events = [same, web("webdav", http_method="DESCRIBE"), same]
    report = validator.validate("filter:squid", events, school_id=SCHOOL, now=NOW)
    assert report.valid == tuple(events) and report.dead_letters == () and report.passed
    warned = {(c.column, c.expectation.rsplit("_to_", 1)[1]): c.unexpected_count
              for c in report.checks if not c.success}
    assert warned == {("event_id", "be_unique"): 2, ("http_method", "be_in_set"): 1}
    assert all(c.severity == "warning" for c in report.checks if not c.success)
    german = device("x", action="herausgeben")  # Snipe-IT translates action_type
    report = validator.validate("device:snipeit-api", [german], school_id=SCHOOL, now=NOW)
    assert report.valid == (german,) and not report.checks[-2].success


def test_optional_fields_are_not_required(validator: Validator) -> None:
    """A failed logon may name no account; an accessory has no asset tag."""
    failed = login("f", "samba.auth_audit", user_name=None, outcome="failure",
                   action="logon-failed")
    report = validator.validate("auth:samba", [failed], school_id=SCHOOL, now=NOW)
    assert report.valid == (failed,)
    charger = device("c", asset_tag=None, labels={"snipeit.item_type": "accessory",
                                                  "snipeit.log_id": "9"})
    report = validator.validate("device:snipeit-api", [charger], school_id=SCHOOL, now=NOW)
    assert report.valid == (charger,)


def test_accounting_holds_on_a_large_mixed_batch(validator: Validator) -> None:
    events = [web(f"r{i}", http_status=1234 if i % 7 == 0 else 200) for i in range(5000)]
    report = validator.validate("filter:squid", events, school_id=SCHOOL, now=NOW)
    assert [d.raw for d in report.dead_letters] == [f"r{i}" for i in range(0, 5000, 7)]
    assert [e.raw for e in report.valid] == [f"r{i}" for i in range(5000) if i % 7]
    assert len(report.valid) + len(report.dead_letters) == len(events)
    [status] = [c for c in report.checks if c.column == "http_status"]
    assert (status.element_count, status.unexpected_count) == (5000, 715)


# ------------------------------------------------------------------------ never raise, never lose

def test_empty_batch_does_not_start_gx() -> None:
    v = Validator()
    assert v.validate("filter:squid", [], school_id=SCHOOL, now=NOW) == QualityReport((), (), ())
    assert not v.started


class _Broken:
    def get_batch(self, **_: Any) -> NoReturn:
        raise RuntimeError("GX is having a bad day")


def test_gx_failure_lets_every_row_go_on(validator: Validator) -> None:
    v = Validator()
    v.start()
    v._batches = _Broken()  # GX fails mid-validation
    events = [web("a"), web("b", url_domain=None)]
    for source in ("filter:squid", "filter:smoke-signals"):
        report = v.validate(source, events, school_id=SCHOOL, now=NOW)
        assert report.valid == tuple(events) and report.dead_letters == ()
        [check] = report.checks
        assert (check.expectation, check.severity, check.success, check.element_count) == (
            SUITE_FAILED, "error", False, 2)
        assert not report.passed


def test_checks_become_dq_result_rows(validator: Validator) -> None:
    report = validator.validate("filter:squid", [web("a")], school_id=SCHOOL, now=NOW)
    rows = report.result_rows(batch_id="b1", school_id=SCHOOL, source="filter:squid",
                              checked_at=NOW)
    assert rows and all(set(r) == DQ_COLUMNS for r in rows)
    assert len({(r["batch_id"], r["expectation"], r["column_name"]) for r in rows}) == len(rows)
    assert QualityReport.from_dict(report.to_dict()) == report


def test_specs_reject_what_cannot_be_stored_or_run() -> None:
    with pytest.raises(ValueError, match="severity"):
        Expectation("expect_column_values_to_not_be_null", "raw", severity="fatal")
    with pytest.raises(ValueError, match="unknown column"):
        Expectation("expect_column_values_to_not_be_null", "shoe_size")
    with pytest.raises(ValueError, match="GX expectation"):
        Expectation("drop table", "raw")
    twice = Expectation("expect_column_values_to_not_be_null", "raw")
    with pytest.raises(ValueError, match="repeats"):
        SuiteSpec("s", (twice, dataclasses.replace(twice, severity="warning")))
    with pytest.raises(ValueError, match="negative"):
        QualityCheck("s", "e", "c", "error", True, -1, 0)
    check = QualityCheck("s", "e", "c", "warning", False, 3, 1)
    assert QualityCheck.from_dict(check.to_dict()) == check


def test_importing_the_module_does_not_import_gx() -> None:
    code = "import sys, pipelines.quality; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "False"
