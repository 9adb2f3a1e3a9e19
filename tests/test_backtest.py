"""Backtest: with current settings it raises exactly what ran live (so the prefilter loses
nothing), threshold changes show up as new/dropped, the DSL's outcomes become a precision,
and a noisy setting is called out. Simulated schools ingested embedded into real DuckDB."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import backtest_plan
from pipelines.backtest import (
    FALSE_POSITIVE_OUTCOMES,
    TRUE_POSITIVE_OUTCOMES,
    Level,
    NoiseKind,
    format_report,
    predicates,
    prefilter_for,
    replay,
    run_backtest,
)
from producers.school import load_profile
from producers.simulator import simulate
from safeguard import detection
from safeguard.alerts import Alert
from safeguard.cli import main
from safeguard.detection import Detector, latest_versions
from safeguard.errors import ConfigError
from safeguard.events import Event
from safeguard.policy import Profile
from safeguard.rules import (
    AbsenceRule,
    Conditions,
    Facts,
    RiskRule,
    Rule,
    SequenceRule,
    rule_from_dict,
)
from tests.conftest import event
from warehouse.archive import archive_dir
from warehouse.arrow import events_table
from warehouse.errors import WarehouseError
from warehouse.events_read import load_events, where_of
from warehouse.queries import alerts_as_records
from warehouse.reader import WarehouseReader
from warehouse.schema import migrate

PROFILES = {"beaudesert-park": "demo-bps", "twerton-infant": "demo-tis"}
START, END = datetime(2026, 9, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
RANGES = [(START, END),  # everything; then single days and a noon-to-noon day
          (datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 17, tzinfo=UTC)),
          (datetime(2026, 11, 17, tzinfo=UTC), datetime(2026, 11, 18, tzinfo=UTC)),
          (datetime(2026, 11, 16, 12, tzinfo=UTC), datetime(2026, 11, 17, 12, tzinfo=UTC))]


@dataclass(frozen=True)
class Sim:
    db: Path
    school_id: str
    profile: str


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Sim]:
    """Two school days of each profile, ingested embedded (the live detector's alerts)."""
    out = {}
    for profile, school_id in PROFILES.items():
        root = tmp_path_factory.mktemp(profile)
        simulate(root, profile=profile, days=2, seed=3, pupils=40)
        inputs = (root / "inputs.txt").read_text().split()
        db = root / "w.duckdb"
        assert main(["ingest", "--school", str(root / "school"),
                     *[a for i in inputs for a in ("--input", i)],
                     "--embedded", "--db", str(db)]) == 0
        out[profile] = Sim(db, school_id, profile)
    return out


def _read(sim: Sim) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(sim.db), read_only=True)


def _copy(sim: Sim, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A writable copy, for tests that record outcomes or settings."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(sim.db, path)
    return duckdb.connect(str(path))


def _ids(con: duckdb.DuckDBPyConnection, rule_id: str, start: datetime,
         end: datetime) -> set[str]:
    rows = con.execute("SELECT alert_id FROM alerts WHERE rule_id = ? AND last_seen >= ? "
                       "AND last_seen < ?", [rule_id, start.replace(tzinfo=None),
                                             end.replace(tzinfo=None)]).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_current_settings_reproduce_the_stored_alerts_of_every_rule(
        sims: dict[str, Sim], profile: str) -> None:
    sim = sims[profile]
    con = _read(sim)
    rules = load_profile(profile).rules
    raised = 0
    for start, end in RANGES:
        for rule in rules:
            report = run_backtest(con, load_profile(profile), sim.school_id, rule.id, {},
                                  start, end)
            stored = _ids(con, rule.id, start, end)
            assert {a.alert_id for a in report.would_raise} == stored, (rule.id, start)
            assert {a.alert_id for a in report.raised} == stored
            assert set(report.kept) == stored and not report.new and not report.dropped
            by_id = {a.alert_id: a for a in report.raised}
            for a in report.would_raise:  # the same activity, not only the same ids
                assert (a.first_seen, a.last_seen) == (by_id[a.alert_id].first_seen,
                                                       by_id[a.alert_id].last_seen), rule.id
            assert report.warnings == ()
            raised += (start, end) == (START, END) and bool(stored)
            assert report.events_considered <= report.events_total
    assert raised >= 20  # nearly every rule raised something: the comparison means something


def _condition_sets(rule: Rule) -> list[Conditions]:
    sets = [rule.when]
    if isinstance(rule, SequenceRule):
        sets += rule.steps
    if isinstance(rule, AbsenceRule):
        sets += [c for c in (rule.start, rule.expect, rule.expect_end) if c]
    if isinstance(rule, RiskRule):
        sets += [s.when for s in rule.scores]
    return sets


def _facts_for(c: Conditions) -> Facts:
    """The facts that let `c` pass, as far as facts go: the SQL never sees them."""
    return Facts(new_device=bool(c.new_device), first_use=bool(c.first_use),
                 incident_role=min(c.incident_role) if c.incident_role else None)


def _assert_superset(con: duckdb.DuckDBPyConnection, school_id: str,
                     conditions: list[Conditions]) -> int:
    """Every event `c` accepts in Python is selected by its SQL; returns how many
    conditions accepted any event at all (a vacuous pass proves nothing)."""
    everything = list(load_events(con, school_id, START, END, None))
    nonempty = 0
    for c in {repr(c): c for c in conditions}.values():
        python = {e.event_id for e in everything if c.matches(e, _facts_for(c))}
        where, params = where_of([predicates(c)])
        rows = con.execute(f"SELECT event_id FROM events WHERE {where}",  # noqa: S608 - test
                           params).fetchall()
        sql = {r[0] for r in rows}
        assert python <= sql, (c, sorted(python - sql)[:3])
        assert not predicates(c) or len(sql) < len(everything) or len(python) == len(sql)
        nonempty += bool(python)
    return nonempty


def test_every_condition_of_both_profiles_pushes_down_to_a_superset(
        sims: dict[str, Sim]) -> None:
    for profile, sim in sims.items():
        conditions = [c for r in load_profile(profile).rules for c in _condition_sets(r)]
        assert _assert_superset(_read(sim), sim.school_id, conditions) >= 20


def _edge_events() -> list[Event]:
    """Values where SQL and Python could read a condition differently."""
    t = datetime(2026, 11, 17, 10, tzinfo=UTC)
    cases: list[dict[str, Any]] = [
        {"person_role": None, "location_kind": ""},
        {"person_role": "", "asset_ownership": ""},
        {"person_role": "staff", "url_domain": "Files.SIMS.co.uk"},
        {"url_original": "http://x.example/Setup.EXE?v=1", "url_domain": "x.example"},
        {"url_original": "http://x.example/page?file=setup.exe"},
        {"url_original": None, "url_domain": None},
        {"labels": {"a/b": "1", "locked_out": "true", "m~n": "x", "os.name": "iOS"}},
        {"asset_owner": "P9", "person_id": "P1", "asset_ownership": "school"},
        {"asset_owner": "P1", "person_id": "P1", "asset_ownership": "unregistered"},
        {"asset_owner": "", "person_id": None, "boarder": None, "school_hours": None},
        {"category": "authentication", "outcome": "unknown", "type": "start"},
        {"categories": ("proxy", "games"), "themes": ("self-harm",)},
        {"categories": (), "themes": (), "outcome": "success"},
    ]
    return [event(raw=str(i), timestamp=t + timedelta(seconds=i), **kw)
            for i, kw in enumerate(cases)]


def test_edge_values_push_down_to_a_superset() -> None:
    con = _warehouse(_edge_events())
    con.execute("UPDATE events SET type = NULL, outcome = NULL WHERE raw = '10'")
    loaded = list(load_events(con, "test-school", START, END, None))
    assert len(loaded) == 13 and loaded[10].outcome == "unknown" and loaded[10].type == "info"
    assert loaded[6].labels["a/b"] == "1" and loaded[0].timestamp.tzinfo is UTC
    when = Conditions.from_dict
    conditions = [
        when({"role": ["unknown"]}), when({"role": ["staff"], "location_kind": ["unknown"]}),
        when({"device_ownership": ["unknown"]}), when({"domains": ["sims.co.uk"]}),
        when({"url_extensions": [".exe"]}), when({"labels": {"a/b": ["1"], "m~n": ["x"]}}),
        when({"labels": {"locked_out": ["true", "True"]}}), when({"device_of_other": True}),
        when({"labels": {"os.name": ["iOS"]}}),
        when({"device_of_other": False}), when({"device_registered": False}),
        when({"device_registered": True}), when({"boarder": False, "school_hours": False}),
        when({"outcome": ["unknown"]}), when({"event_type": ["info"]}),
        when({"outcome": ["success", "failure"]}), when({"categories": ["proxy", "vpn"]}),
        when({"themes": ["self-harm"]}), when({"event_category": ["authentication"]})]
    assert _assert_superset(con, "test-school", conditions) == len(conditions)
    # and it does filter: the extension test is not a pass-everything
    terms = [predicates(when({"url_extensions": [".exe"]}))]
    assert len(list(load_events(con, "test-school", START, END, terms))) == 1


def test_prefilter_is_the_union_of_a_rules_condition_sets() -> None:
    rules = {r.id: r for p in PROFILES for r in load_profile(p).rules}
    spec = prefilter_for(rules["bps-compromised-account"])
    assert spec.terms is not None and len(spec.terms) == 3  # one per step
    assert spec.memory.devices and not spec.memory.domains  # new_device needs sign-ins
    assert spec.warmup == timedelta(hours=2)
    spec = prefilter_for(rules["tis-new-technology"])
    assert spec.memory.domains and spec.prune is not None and spec.prune.keyed
    spec = prefilter_for(rules["bps-ict-suite-unsupervised"])
    assert spec.terms is not None and len(spec.terms) == 3  # start, expect, expect_end
    assert spec.warmup == timedelta(minutes=55)
    spec = prefilter_for(rules["bps-persistent-circumvention"])
    assert spec.terms is not None and len(spec.terms) == 2  # one per score


def _warehouse(events: list[Event]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    migrate(con)
    con.register("batch", events_table(events))
    con.execute("INSERT INTO events BY NAME SELECT * FROM batch")
    con.unregister("batch")
    return con


MEMORY_RULES = [
    {"id": "guest-new-device", "kind": "match", "clause_ids": ["tis.one-account"],
     "severity": 3, "category": "security",
     "when": {"event_category": ["authentication"], "outcome": ["success"],
              "location_kind": ["guest"], "new_device": True}},
    {"id": "first-filehosting", "kind": "match", "clause_ids": ["tis.new-technology"],
     "severity": 2, "category": "conduct",
     "when": {"event_category": ["web"], "role": ["staff"], "categories": ["filehosting"],
              "first_use": True}},
    {"id": "never-logged-out", "kind": "absence", "clause_ids": ["tis.one-account"],
     "severity": 2, "category": "security", "group_by": "device", "correlate_on": "host_name",
     "within": "10h", "start": {"action": ["logged-in"]}, "expect": {"action": ["logged-out"]}},
]


def test_facts_from_outside_the_rules_conditions_and_deadlines_by_event_time() -> None:
    """`new_device` and `first_use` depend on events the rule's conditions reject (a device
    seen in a classroom, a domain visited under another category), and an absence deadline
    only passes when event time does: each case raises once, and only once."""
    t0 = datetime(2026, 11, 17, 8, tzinfo=UTC)
    at = [t0 + timedelta(minutes=m) for m in range(400)]
    sign_in = {"category": "authentication", "outcome": "success", "person_id": "P1",
               "person_role": "staff", "url_original": None, "url_domain": None}
    web = {"person_role": "staff", "url_original": None}
    rows: list[dict[str, Any]] = [
        {**sign_in, "host_name": "D1", "location_kind": "classroom"},
        {**sign_in, "host_name": "D1", "location_kind": "guest"},   # seen before: not new
        {**sign_in, "host_name": "D2", "location_kind": "guest"},   # new: an alert
        {**web, "person_id": "P2", "url_domain": "files.example", "categories": ("news",)},
        {**web, "person_id": "P1", "url_domain": "files.example", "categories": ("news",)},
        {**web, "person_id": "P1", "url_domain": "files.example",
         "categories": ("filehosting",)},                          # used before: no alert
        {**web, "person_id": "P1", "url_domain": "new.example",
         "categories": ("filehosting",)},                          # first use: an alert
        {**web, "person_id": "P2", "url_domain": "other.example",
         "categories": ("filehosting",)},                          # and P2's first use
        {"category": "authentication", "outcome": "success", "action": "logged-in",
         "host_name": "PC1", "person_id": "P3", "url_original": None, "url_domain": None},
    ]
    events = [event(raw=f"m{i}", timestamp=at[i * 10], **kw) for i, kw in enumerate(rows)]
    later = event(raw="later", timestamp=at[0] + timedelta(hours=12))  # after the deadline
    profile = replace(load_profile("twerton-infant"),
                      rules=tuple(rule_from_dict(r) for r in MEMORY_RULES))
    for extra, expected in (([], {"guest-new-device": 1, "first-filehosting": 2,
                                  "never-logged-out": 0}),
                            ([later], {"never-logged-out": 1})):
        con = _warehouse(events + extra)
        everything = list(load_events(con, "test-school", START, END, None))
        firsts = {"guest-new-device": {at[20]}, "first-filehosting": {at[60], at[70]}}
        for rule_id, count in expected.items():
            report = run_backtest(con, profile, "test-school", rule_id, {}, START, END)
            oracle = replay(profile, "test-school", profile.rule(rule_id), everything,
                            start=START, end=END, until=everything[-1].timestamp)
            assert len(report.would_raise) == count, rule_id
            assert ({(a.alert_id, a.first_seen, a.last_seen) for a in report.would_raise}
                    == {(a.alert_id, a.first_seen, a.last_seen) for a in oracle.alerts})
            if rule_id in firsts:  # the event that really was new, not one before it
                assert {a.first_seen for a in report.would_raise} == firsts[rule_id]
            assert report.events_considered < len(everything), rule_id


def test_lowering_a_threshold_adds_alerts_and_raising_it_drops_them(
        sims: dict[str, Sim]) -> None:
    sim = sims["beaudesert-park"]
    con, profile = _read(sim), load_profile(sim.profile)
    stored = _ids(con, "bps-failed-login-burst", START, END)
    assert stored
    lower = run_backtest(con, profile, sim.school_id, "bps-failed-login-burst",
                         {"threshold": "3"}, START, END)
    assert (lower.old_settings["threshold"], lower.new_settings["threshold"]) == (10, 3)
    assert set(lower.kept) == stored and lower.new and not lower.dropped
    assert {a.alert_id for a in lower.would_raise} > stored
    higher = run_backtest(con, profile, sim.school_id, "bps-failed-login-burst",
                          {"threshold": "50"}, START, END)
    assert set(higher.dropped) == stored and not higher.would_raise and not higher.kept
    text = format_report(lower)
    assert "threshold 10 -> 3" in text and lower.new[0] in text


def test_stored_settings_are_the_baseline_and_assignments_add_to_them(
        sims: dict[str, Sim], tmp_path: Path) -> None:
    sim = sims["beaudesert-park"]
    con = _copy(sim, tmp_path)
    con.execute("INSERT INTO rule_settings VALUES (?, 'bps-failed-login-burst', ?, 'it', "
                "now()::TIMESTAMP, 'tuning')", [sim.school_id, json.dumps({"threshold": 3})])
    report = run_backtest(con, load_profile(sim.profile), sim.school_id,
                          "bps-failed-login-burst", {"within": "20m"}, START, END)
    assert report.old_settings["threshold"] == 3
    assert report.new_settings["threshold"] == 3 and report.new_settings["within"] == "20m"


def _outcome(con: duckdb.DuckDBPyConnection, school_id: str, alert_id: str, outcome: str,
             at: datetime, action: str = "outcome") -> None:
    con.execute("INSERT INTO alert_actions VALUES (?, ?, ?, ?, 'dsl', 'dsl', ?, NULL, ?, NULL, "
                "now()::TIMESTAMP)", [f"{alert_id}-{outcome}-{at.isoformat()}-{action}",
                                      alert_id, school_id, action, at, outcome])


def test_dsl_outcomes_give_precision_and_the_true_positives_a_change_loses(
        sims: dict[str, Sim], tmp_path: Path) -> None:
    assert TRUE_POSITIVE_OUTCOMES.isdisjoint(FALSE_POSITIVE_OUTCOMES)
    sim = sims["beaudesert-park"]
    con, profile = _copy(sim, tmp_path), load_profile(sim.profile)
    rid = "bps-failed-login-burst"
    lower = run_backtest(con, profile, sim.school_id, rid, {"threshold": "3"}, START, END)
    (kept,), new = lower.kept, lower.new[0]
    at = datetime(2026, 11, 20, 9)
    _outcome(con, sim.school_id, kept, "no-concern", at)  # superseded by the later one
    _outcome(con, sim.school_id, kept, "pastoral", at + timedelta(hours=1))
    _outcome(con, sim.school_id, new, "no-concern", at)   # outcomes of an id never raised
    _outcome(con, sim.school_id, new, "police", at, action="note")  # not an outcome step
    _outcome(con, "other-school", new, "police", at + timedelta(hours=2))

    lower = run_backtest(con, profile, sim.school_id, rid, {"threshold": "3"}, START, END)
    assert dict(lower.raised_outcomes) == {"tp": 1, "fp": 0, "none": 0}
    assert lower.precision_current == 1.0 and lower.precision == 0.5
    assert lower.true_positives_lost == ()
    assert {a.alert_id: a.verdict for a in lower.would_raise}[new] == "fp"
    assert NoiseKind.LOW_PRECISION not in {w.kind for w in lower.warnings}  # 50% is the floor

    higher = run_backtest(con, profile, sim.school_id, rid, {"threshold": "50"}, START, END)
    assert higher.true_positives_lost == (kept,) and higher.precision is None
    assert "true positives lost: 1" in format_report(higher)

    _outcome(con, sim.school_id, new, "no-concern", at + timedelta(days=1))
    rid = "bps-proxy-circumvention"
    current = run_backtest(con, profile, sim.school_id, rid, {}, START, END)
    ids = [a.alert_id for a in current.raised]
    assert len(ids) >= 3
    for alert_id, outcome in zip(ids, ["police", "no-concern", "no-concern"], strict=False):
        _outcome(con, sim.school_id, alert_id, outcome, at)
    current = run_backtest(con, profile, sim.school_id, rid, {}, START, END)
    assert current.precision == pytest.approx(1 / 3)
    (warning,) = current.warnings
    assert (warning.kind, warning.level) == (NoiseKind.LOW_PRECISION, Level.WARNING)


def test_a_threshold_of_one_on_a_noisy_rule_is_called_noise(sims: dict[str, Sim]) -> None:
    sim = sims["beaudesert-park"]
    con, profile = _read(sim), load_profile(sim.profile)
    noisy = run_backtest(con, profile, sim.school_id, "bps-staff-personal-use",
                         {"threshold": "1"}, START, END)
    kinds = {w.kind: w for w in noisy.warnings}
    assert {NoiseKind.ALERT_RATE, NoiseKind.RATE_INCREASE} <= set(kinds)
    assert kinds[NoiseKind.ALERT_RATE].level == Level.CRITICAL
    assert len(noisy.would_raise) > 5 * max(len(noisy.raised), 1)
    assert "CRITICAL alert-rate" in format_report(noisy)
    data = json.loads(json.dumps(noisy.to_dict()))
    assert {w["kind"] for w in data["warnings"]} >= {"alert-rate", "rate-increase"}
    assert data["rule_id"] == "bps-staff-personal-use" and data["elapsed_seconds"] >= 0
    assert len(data["would_raise"]) == len(noisy.would_raise)


def test_bad_requests_are_refused_with_a_reason(sims: dict[str, Sim]) -> None:
    sim = sims["twerton-infant"]
    con, profile = _read(sim), load_profile(sim.profile)
    with pytest.raises(ConfigError, match="nosuch"):
        run_backtest(con, profile, sim.school_id, "tis-lockout", {"nosuch": "1"}, START, END)
    with pytest.raises(ConfigError, match="no rule"):
        run_backtest(con, profile, sim.school_id, "bps-chat", {}, START, END)
    with pytest.raises(ConfigError, match="range"):
        run_backtest(con, profile, sim.school_id, "tis-lockout", {}, END, START)
    with pytest.raises(WarehouseError, match="timezone"):
        run_backtest(con, profile, sim.school_id, "tis-lockout", {},
                     START.replace(tzinfo=None), END.replace(tzinfo=None))


def test_an_empty_warehouse_gives_an_empty_report() -> None:
    con = duckdb.connect()
    migrate(con)
    report = run_backtest(con, load_profile("twerton-infant"), "demo-tis",
                          "tis-device-overdue", {"within": "3d"}, START, END)
    assert report.events_total == report.events_considered == 0
    assert report.would_raise == report.raised == () and report.warnings == ()
    assert "0 raised" in format_report(report)


# --- the prune: the same result as replaying every candidate, on data made to be hard ---

PRUNED_RULES: list[dict[str, Any]] = [
    {"id": "burst", "kind": "event_count", "threshold": 3, "within": "10m", "window": "1h",
     "when": {"event_category": ["authentication"], "outcome": ["failure"]}},
    {"id": "burst-ip", "kind": "event_count", "group_by": "ip", "threshold": 3,
     "within": "10m", "window": "1h", "when": {"event_category": ["authentication"]}},
    {"id": "devices", "kind": "value_count", "field": "host_name", "threshold": 2,
     "within": "10m", "window": "2h",
     "when": {"event_category": ["authentication"], "outcome": ["success"]}},
    {"id": "spray", "kind": "value_count", "field": "user_name", "group_by": "ip",
     "threshold": 3, "within": "15m", "window": "1h",
     "when": {"event_category": ["authentication"], "outcome": ["failure"]}},
    {"id": "chain", "kind": "sequence", "within": "30m", "window": "1h", "steps": [
        {"when": {"event_category": ["authentication"], "outcome": ["failure"]}},
        {"when": {"event_category": ["authentication"], "outcome": ["success"],
                  "new_device": True}},
        {"when": {"event_category": ["web"], "action": ["blocked"]}}]},
    {"id": "either", "kind": "sequence", "ordered": False, "within": "20m", "steps": [
        {"when": {"event_category": ["web"], "action": ["blocked"]}},
        {"when": {"event_category": ["authentication"], "outcome": ["failure"]}}]},
    {"id": "proxy", "kind": "match", "window": "1h",
     "when": {"event_category": ["web"], "categories": ["proxy"], "role": ["pupil"]}},
    {"id": "proxy-domain", "kind": "match", "window": "1h",
     "when": {"event_category": ["web"], "domains": ["proxy.example"]}},
    {"id": "first-proxy", "kind": "match", "window": "1h",
     "when": {"event_category": ["web"], "categories": ["proxy"], "first_use": True}},
    {"id": "first-blocked-site", "kind": "match", "window": "1h",
     "when": {"event_category": ["web"], "action": ["blocked"], "first_use": True}},
    {"id": "new-device-logins", "kind": "event_count", "threshold": 2, "within": "20m",
     "window": "1h", "when": {"event_category": ["authentication"], "action": ["logged-in"],
                              "new_device": True}},
    {"id": "no-logout", "kind": "absence", "group_by": "device",
     "correlate_on": "host_name", "within": "30m",
     "start": {"action": ["logged-in"]}, "expect": {"action": ["logged-out"]}},
]
SHAPES = {"burst": "Density", "burst-ip": "Density", "devices": "Density", "spray": "Density",
          "chain": "Density", "either": "Density", "proxy": "Edges", "proxy-domain": None,
          "first-proxy": None, "first-blocked-site": None, "new-device-logins": "Density",
          "no-logout": None}


def _hard_events(seed: int) -> list[Event]:
    """Sparse traffic of many subjects plus clusters spanning exactly a rule's `within`
    (or a minute less or more), equal times, alert-window edges, unresolved accounts
    (two spellings of one, one with a Kelvin sign, a non-ASCII one), a person id shaped
    like an account key, events without an IP or a device, events naming only a device
    (keyed like the device), subjects using more devices and sites than remembered."""
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 17, 7, 59, 58, tzinfo=UTC)
    people = [(f"P{i}", f"pupil{i}", "pupil") for i in range(30)] + [
        ("S1", "staff1", "staff"), (None, "guest7", None), (None, "Guest7", None),
        (None, "kate", None), (None, "\u212aATE", None), (None, "zoë", None),
        (None, "ZOË", None), ("account:pupil1", "x", "pupil"), (None, None, None)]
    times = [t0 + timedelta(minutes=rng.uniform(0, 600)) for _ in range(1500)]
    for _ in range(120):  # clusters: n events over a span at or near a `within`
        at = t0 + timedelta(minutes=rng.choice([rng.uniform(0, 600), rng.uniform(55, 65)]))
        span = timedelta(minutes=rng.choice([10, 15, 20, 30]) + rng.choice([-1, 0, 0, 1]))
        n = rng.choice([2, 3, 3, 4])
        times += [at + span * k / (n - 1) for k in range(n)]
    out: list[Event] = []
    who = rng.choice(people)
    for i, at in enumerate(times):
        if rng.random() < 0.7:  # clusters mostly belong to one subject
            roamers = [people[0], people[31]]
            who = rng.choice(people) if rng.random() < 0.6 else rng.choice(roamers)
        person, user, role = who
        roams = user in ("pupil0", "guest7")  # more devices and sites than are remembered
        common: dict[str, Any] = {
            "person_id": person, "user_name": user, "person_role": role,
            "source_ip": rng.choice([None, *(f"10.1.0.{n}" for n in range(12))]),
            "host_name": f"PC-{rng.randrange(60)}" if roams else rng.choice(
                ["PC-1", "pc-1.school.lan", "PC-2", "LT-3", None])}
        if rng.random() < 0.5:
            common.update(category="authentication", url_original=None, url_domain=None,
                          outcome=rng.choice(["success", "failure", "failure"]),
                          action=rng.choice(["logged-in", "logged-out", None]))
        else:
            common.update(action=rng.choice(["allowed", "blocked"]),
                          url_domain=f"s{rng.randrange(60)}.proxy.example" if roams else
                          rng.choice(["proxy.example", "www.proxy.example", "news.example"]),
                          categories=rng.choice([("proxy",), ("news",), ()]))
        out.append(event(raw=f"h{seed}-{i}", timestamp=at, **common))
        if rng.random() < 0.2:  # a sign-in at the very same instant, same subject
            out.append(event(raw=f"t{seed}-{i}", timestamp=at, **{
                **common, "category": "authentication", "outcome": "success",
                "url_domain": None, "categories": (), "host_name": f"PC-{rng.randrange(60)}"}))
    return out


@pytest.mark.parametrize(("seed", "remembered"), [(1, 50), (2, 50), (3, 50), (4, 3)])
def test_the_prune_gives_exactly_the_result_of_replaying_every_candidate(
        seed: int, remembered: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule kind the prune handles, at and around its thresholds; with a detector
    that remembers only 3 devices and sites, forgetting (and re-learning) is everyday."""
    monkeypatch.setattr(detection, "MAX_REMEMBERED", remembered)
    monkeypatch.setattr(backtest_plan, "MAX_REMEMBERED", remembered)
    profile = replace(load_profile("twerton-infant"), rules=tuple(
        rule_from_dict({"clause_ids": ["tis.one-account"], "severity": 3,
                        "category": "security", **r}) for r in PRUNED_RULES))
    con = _warehouse(_hard_events(seed))
    start, end = datetime(2026, 11, 17, 9, tzinfo=UTC), datetime(2026, 11, 17, 16, tzinfo=UTC)
    pruned_some = fired = 0
    for rule in profile.rules:
        spec = prefilter_for(rule)
        assert spec.prune is not None
        shape = spec.prune.shape
        assert (type(shape).__name__ if shape else None) == SHAPES[rule.id], rule.id
        others = ([{"threshold": str(rule.settings()["threshold"] + d)} for d in (-1, 1)]
                  if "threshold" in rule.TUNABLE else [{"window": "30m"}])
        for settings in ({}, *others):
            fast = run_backtest(con, profile, "test-school", rule.id, settings, start, end)
            slow = run_backtest(con, profile, "test-school", rule.id, settings, start, end,
                                prune=False)
            assert ([(a.alert_id, a.subject, a.first_seen, a.last_seen) for a in fast.would_raise]
                    == [(a.alert_id, a.subject, a.first_seen, a.last_seen)
                        for a in slow.would_raise]), (rule.id, settings)
            assert (fast.events_considered, fast.context_events) == (
                slow.events_considered, slow.context_events), rule.id
            assert fast.events_replayed <= slow.events_replayed
            pruned_some += fast.events_replayed < slow.events_replayed
            fired += bool(fast.would_raise)
    assert pruned_some >= 12 and fired >= 14  # the prune did drop events; hits were at stake


def _plain_replay(profile: Profile, rule: Rule, events: list[Event],
                  until: datetime) -> set[tuple[str, datetime, datetime]]:
    """The detector at its plainest: every key of every event; before each event, and
    at `until`, every passed deadline, earliest first (any order of two subjects whose
    states give one alert id the same version decides which of the two is newest)."""
    detector = Detector(profile, "test-school")
    detector.set_rules((rule,))
    state: dict[str, Any] = {}
    alerts: list[Alert] = []

    def judge(now: datetime) -> None:
        while due := min(((p["deadline"], s) for s, st in state.items()
                          for p in st.get("rules", {}).get(rule.id, {}).get("pending", [])
                          if p["deadline"] < now.timestamp()), default=None):
            at = min(now, datetime.fromtimestamp(due[0], UTC) + timedelta(microseconds=1))
            alerts.extend(detector.advance(at, state, [due[1]]))

    for e in events:
        judge(e.timestamp)
        alerts.extend(detector.process(e, state))
    judge(until)
    return {(a.alert_id, a.first_seen, a.last_seen) for a in latest_versions(alerts).values()}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_replay_is_the_plain_detector(seed: int) -> None:
    """`replay` skips keys that cannot touch the rule and asks about deadlines only when
    one has passed: the same alerts as the detector run plainly."""
    profile = replace(load_profile("twerton-infant"), rules=tuple(
        rule_from_dict({"clause_ids": ["tis.one-account"], "severity": 3,
                        "category": "security", **r}) for r in PRUNED_RULES))
    events = sorted(_hard_events(seed), key=lambda e: (e.timestamp, e.event_id))
    until = events[-1].timestamp + timedelta(hours=1)
    for rule in profile.rules:
        fast = replay(profile, "test-school", rule, events, start=START, end=END, until=until)
        assert ({(a.alert_id, a.first_seen, a.last_seen) for a in fast.alerts}
                == _plain_replay(profile, rule, events, until)), rule.id


def test_memory_at_the_instant_of_the_last_candidate_is_read() -> None:
    """A sign-in on PC-9 and a logon on PC-9 at the same instant: the first (by event id)
    makes the device known, so the logon is no new device, pruned or not."""
    rule = {"id": "new-device-logon", "kind": "match", "clause_ids": ["tis.one-account"],
            "severity": 3, "category": "security",
            "when": {"event_category": ["authentication"], "action": ["logged-in"],
                     "new_device": True}}
    profile = replace(load_profile("twerton-infant"), rules=(rule_from_dict(rule),))
    at = datetime(2026, 11, 17, 10, tzinfo=UTC)
    sign_in = {"category": "authentication", "outcome": "success", "person_id": "P1",
               "host_name": "PC-9", "url_original": None, "url_domain": None}
    first, second = sorted([event(raw=f"r{i}", timestamp=at, **sign_in) for i in range(2)],
                           key=lambda e: e.event_id)
    logon = replace(second, action="logged-in")
    for events in ([first, logon], [logon]):
        con = _warehouse(events)
        runs = [run_backtest(con, profile, "test-school", "new-device-logon", {}, START, END,
                             prune=p) for p in (True, False)]
        assert [len(r.would_raise) for r in runs] == [len(events) == 1] * 2


def test_only_the_kelvin_sign_lower_cases_to_ascii_outside_ascii() -> None:
    """SQL keys unresolved accounts by lower(), which agrees with Python's str.lower on
    ASCII; `warehouse.events_prune` folds the one other character that becomes ASCII."""
    assert [c for c in map(chr, range(128, sys.maxunicode + 1))
            if c.lower().isascii()] == ["\u212a"]


def test_every_profile_rule_gives_the_same_result_pruned_and_on_the_readers_copy(
        sims: dict[str, Sim]) -> None:
    for profile_name, sim in sims.items():
        profile = load_profile(profile_name)
        reader = WarehouseReader(sim.db).connect()
        for rule in profile.rules:
            reports = [run_backtest(reader, profile, sim.school_id, rule.id, {}, START, END),
                       run_backtest(_read(sim), profile, sim.school_id, rule.id, {}, START, END,
                                    prune=False)]
            fast, slow = ([(a.alert_id, a.first_seen, a.last_seen) for a in r.would_raise]
                          for r in reports)
            assert fast == slow, rule.id
            assert {a for a, _, _ in fast} == _ids(_read(sim), rule.id, START, END)
            assert reports[0].events_considered == reports[1].events_considered, rule.id


def test_columns_left_out_are_ones_the_rule_never_reads() -> None:
    rules = {r.id: r for p in PROFILES for r in load_profile(p).rules}
    cols = prefilter_for(rules["bps-failed-login-burst"]).columns
    assert {"url_original", "categories", "labels", "raw", "search_terms"}.isdisjoint(cols)
    assert {"ts", "event_id", "person_id", "user_name", "outcome", "category"} <= cols
    assert "labels" in prefilter_for(rules["bps-cyberbullying-report"]).columns  # incidents
    assert "url_original" in prefilter_for(rules["bps-executable-download"]).columns
    assert "asset_tag" in prefilter_for(rules["tis-device-overdue"]).columns
    assert "labels" in prefilter_for(rules["tis-device-overdue"]).columns  # the due date


# --- the readers' copy: a backtest while ingest holds the writer's lock ---

def test_backtest_runs_while_a_follower_holds_the_writers_lock(
        sims: dict[str, Sim], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = sims["twerton-infant"].db.parent
    school, inputs = root / "school", (root / "inputs.txt").read_text().split()
    db = tmp_path / "live.duckdb"
    assert main(["backtest", "--db", str(db), "--school", str(school), "--rule",
                 "tis-lockout", "--from", "2026-01-01", "--to", "2027-12-31"]) == 2
    assert "no published snapshot" in capsys.readouterr().err
    expected = _read(sims["twerton-infant"]).execute(
        "SELECT count(*) FROM events").fetchone()
    proc = subprocess.Popen(
        [sys.executable, "-m", "safeguard.cli", "ingest", "--school", str(school),
         *[a for i in inputs for a in ("--input", i)], "--embedded", "--db", str(db),
         "--follow", "--poll-interval", "0.05"],
        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        def archived() -> bool:  # everything ingested, published and archived
            if not (archive_dir(db) / "manifest.json").exists():
                return False
            return WarehouseReader(db).connect().execute(
                "SELECT count(*) FROM events").fetchone() == expected
        deadline = time.monotonic() + 120
        while not archived():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the follower did not archive its ingest"
            time.sleep(0.1)  # polling interval, not synchronisation: the check decides
        with pytest.raises(duckdb.IOException):  # the writer really holds the file
            duckdb.connect(str(db), read_only=True)
        stored = {a["alert_id"] for a in alerts_as_records(WarehouseReader(db).connect())
                  if a["rule_id"] == "tis-one-account-concurrent"}
        assert stored
        capsys.readouterr()
        assert main(["backtest", "--db", str(db), "--school", str(school), "--rule",
                     "tis-one-account-concurrent", "--from", "2026-01-01", "--to",
                     "2027-12-31", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert {a["alert_id"] for a in report["would_raise"]} == stored
        assert proc.poll() is None  # and the writer is still running
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
