"""Profiles as YAML with located errors; rules in a registry; the detector's alert grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from producers.school import load_profile
from safeguard.categories import CategoryIndex, normalise_category
from safeguard.detection import Detector, window_of
from safeguard.errors import ConfigError
from safeguard.policy import IssueSeverity, parse_profile, validate_profile
from safeguard.rules import RULE_KINDS, MatchRule
from safeguard.rules.base import parse_duration
from tests.conftest import event

PROFILE = """\
id: tiny
name: Tiny School
clauses:
  - id: tiny.proxy
    section: Network
    text: "Do not use proxy sites."
  - id: tiny.biscuits
    text: "No biscuits near keyboards."
    monitorable: false
    reason: no event shows biscuits
rules:
  - id: tiny-proxy
    kind: match
    clause_ids: [tiny.proxy]
    severity: 3
    category: security
    window: 1h
    when:
      event_category: [web]
      categories: [proxy]
      role: [pupil, unknown]
"""


def test_profile_parses_and_reports_coverage_issues() -> None:
    profile = parse_profile(PROFILE, "tiny.yaml")
    assert profile.rule("tiny-proxy").window == timedelta(hours=1)
    assert isinstance(profile.rule("tiny-proxy"), MatchRule)
    assert profile.clause("tiny.biscuits").monitorable is False
    assert validate_profile(profile) == []


@pytest.mark.parametrize(("broken", "message"), [
    (PROFILE.replace("kind: match", "kind: telepathy"),
     r"tiny.yaml:13: rules\[0\].kind: unknown rule kind 'telepathy'"),
    (PROFILE.replace("clause_ids: [tiny.proxy]", "clause_ids: [tiny.nope]"),
     r"tiny.yaml:14: rules\[0\].clause_ids: rule 'tiny-proxy' cites unknown clause"),
    (PROFILE.replace("severity: 3", "severity: 9"),
     r"tiny.yaml:15: rules\[0\].severity: severity must be 1-5"),
    (PROFILE.replace("role: [pupil, unknown]", "mood: [grumpy]"),
     r"tiny.yaml:18: rules\[0\].when.mood: unknown condition"),
    (PROFILE.replace("    reason: no event shows biscuits\n", ""),
     r"tiny.yaml:7: clauses\[1\].reason: a not-monitorable clause needs a reason"),
    (PROFILE.replace("window: 1h", "window: soon"), r"tiny.yaml:\d+: rules\[0\]"),
    (PROFILE + "  - id: tiny-proxy\n    kind: match\n    clause_ids: [tiny.proxy]\n"
     "    severity: 1\n    category: security\n", r"rule 'tiny-proxy' is defined twice"),
    ("id: [unclosed", r"tiny.yaml:1: invalid YAML"),
])
def test_profile_errors_name_file_line_and_field(broken: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_profile(broken, "tiny.yaml")


def test_builtin_profiles_cover_required_clauses_and_cite_their_own() -> None:
    for name, prefix in (("beaudesert-park", "bps."), ("twerton-infant", "tis.")):
        profile = load_profile(name)
        assert not [i for i in validate_profile(profile) if i.severity is IssueSeverity.HIGH]
        for rule in profile.rules:
            assert all(c.startswith(prefix) for c in rule.clause_ids)


def test_registry_and_durations() -> None:
    assert RULE_KINDS["match"] is MatchRule
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("14d") == timedelta(days=14)
    assert parse_duration(30) == timedelta(seconds=30)
    with pytest.raises(ConfigError):
        parse_duration("fortnight")


def test_category_mapping_of_filters_labels() -> None:
    assert normalise_category("strong_redirector") == "proxy"
    assert normalise_category("Proxy Avoidance") == "proxy"
    assert normalise_category("social_networks") == "social-networking"
    assert normalise_category("Some New Thing") == "some-new-thing"
    idx = CategoryIndex()
    idx.add("vpn", domains=["nordvpn.com"])
    idx.add("redirector", domains=["nordvpn.com"])
    assert idx.lookup("https://www.NordVPN.com/login") == ("proxy", "vpn")
    assert idx.lookup("not a url at all") == ()


def _detector() -> Detector:
    return Detector(parse_profile(PROFILE, "tiny.yaml"), "test-school")


def _hit(minute: int, subject: str = "P1", raw: str | None = None) -> object:
    ts = datetime(2026, 11, 17, 10, tzinfo=UTC) + timedelta(minutes=minute)
    return event(timestamp=ts, categories=("proxy",), person_id=subject, person_role="pupil",
                 raw=raw or f"{subject}-{minute}")


def test_hits_in_one_window_are_one_alert_with_growing_versions() -> None:
    det, state = _detector(), {}
    a1 = det.process(_hit(1), state)  # type: ignore[arg-type]
    a2 = det.process(_hit(5), state)  # type: ignore[arg-type]
    assert len(a1) == len(a2) == 1
    assert a1[0].alert_id == a2[0].alert_id
    assert (a2[0].version, a2[0].event_count) == (2, 2)
    assert a2[0].clause_ids == ("tiny.proxy",)
    assert a2[0].routing == "it"
    assert a2[0].evidence_event_ids == (a1[0].evidence_event_ids[0],
                                        a2[0].evidence_event_ids[1])
    assert det.process(_hit(70), state)[0].alert_id != a1[0].alert_id  # type: ignore[arg-type]


def test_event_count_counts_each_event_once_after_the_evidence_list_is_full() -> None:
    """A counting hit names its whole window; once the alert's evidence holds 50 ids the
    ones it names again must not be counted again (they were, 186 for 66 on the demo)."""
    burst = PROFILE + """\
  - id: tiny-burst
    kind: event_count
    clause_ids: [tiny.proxy]
    severity: 2
    category: security
    threshold: 2
    within: 1h
    window: 1d
    when: {event_category: [web], categories: [proxy]}
"""
    det, state = Detector(parse_profile(burst, "tiny.yaml"), "test-school"), {}
    seen = []
    for minute in range(120):
        seen += [a for a in det.process(_hit(minute), state)  # type: ignore[arg-type]
                 if a.rule_id == "tiny-burst"]
    last = max(seen, key=lambda a: a.version)
    assert last.event_count == 120 and len(last.evidence_event_ids) == 50
    assert det.process(_hit(119), state) == []  # type: ignore[arg-type]
    assert det.process(_hit(7), state) == []  # type: ignore[arg-type]  # past the evidence


def test_rules_are_met_only_by_events_of_their_categories() -> None:
    """The detector's dispatch skips rules whose `when` rejects the event's category or
    filter categories, and gives the same alerts as asking every rule."""
    det = _detector()
    web_proxy = event(categories=("proxy",), person_id="P1", person_role="pupil")
    assert [r.id for r in det.rules_for("person", web_proxy)] == ["tiny-proxy"]
    assert det.rules_for("person", event(categories=("news",))) == ()
    assert det.rules_for("person", event(category="authentication", categories=())) == ()
    assert det.rules_for("ip", web_proxy) == ()


def test_redelivered_event_adds_nothing_and_other_subjects_are_separate() -> None:
    det, state = _detector(), {}
    det.process(_hit(1), state)  # type: ignore[arg-type]
    assert det.process(_hit(1), state) == []  # type: ignore[arg-type]
    other = det.process(_hit(2, subject="P2"), state)  # type: ignore[arg-type]
    assert other[0].subject == "P2" and other[0].version == 1


def test_conditions_filter_role_and_category() -> None:
    det, state = _detector(), {}
    staff = event(categories=("proxy",), person_id="S1", person_role="staff")
    assert det.process(staff, state) == []
    unresolved = event(categories=("proxy",), user_name="ghost", raw="x")
    out = det.process(unresolved, state)
    assert out[0].subject == "account:ghost" and out[0].subject_kind == "account"
    assert det.process(event(categories=("news",), person_id="P1", person_role="pupil",
                             raw="y"), state) == []


def test_old_windows_are_pruned_from_state() -> None:
    det, state = _detector(), {}
    det.process(_hit(1), state)  # type: ignore[arg-type]
    det.process(_hit(60 * 5), state)  # type: ignore[arg-type]
    assert len(state["P1"]["alerts"]) == 1


def test_windows_are_epoch_aligned() -> None:
    ts = datetime(2026, 11, 17, 10, 37, tzinfo=UTC)
    assert window_of(ts, timedelta(hours=1)) == (datetime(2026, 11, 17, 10, tzinfo=UTC),
                                                  datetime(2026, 11, 17, 11, tzinfo=UTC))


def test_alerts_do_not_depend_on_the_order_events_arrive_in(tmp_path: Path) -> None:
    """Workers see a subject's events out of time order (several sources and partitions):
    every rule kind decides on event time, so any arrival order gives the same alert ids."""
    import random

    from producers.files import read_header, read_lines
    from producers.formats import reading_of
    from producers.school import load_school
    from producers.simulator import simulate
    from safeguard.inputs import InputSpec
    from streams.pipeline import Pipeline

    for profile, seed in (("beaudesert-park", 3), ("twerton-infant", 11)):
        out = tmp_path / profile
        simulate(out, profile=profile, days=2, seed=seed)
        pipeline = Pipeline(load_school(out / "school"))
        events = []
        for line in (out / "inputs.txt").read_text().split():
            spec = InputSpec.parse(line)
            path = Path(spec.path)
            csv = reading_of(spec.source).csv
            ctx = pipeline.context(str(path), header=read_header(path) if csv else None)
            for chunk, _ in read_lines(path, school_id=pipeline.school_id, dataset=spec.source,
                                       source=str(path), csv=csv):
                events.extend(pipeline.parse(spec.source, chunk, ctx).events)
        events.sort(key=lambda e: e.timestamp)
        identity: dict = {}  # type: ignore[type-arg]
        enriched = [pipeline.enrich(e, identity) for d in events for e in pipeline.with_daily(d)]

        def alert_ids(order: list, pipeline: Pipeline = pipeline) -> set[str]:  # type: ignore[type-arg]
            state: dict = {}  # type: ignore[type-arg]
            found = {a.alert_id for e in order for a in pipeline.detect(e, state)}
            found |= {a.alert_id for a in pipeline.advance(max(e.timestamp for e in order),
                                                          state)}
            return found

        in_order = alert_ids(enriched)
        assert len(in_order) > 10
        for shuffle_seed in range(3):
            shuffled = list(enriched)
            random.Random(shuffle_seed).shuffle(shuffled)
            assert alert_ids(shuffled) == in_order, (profile, shuffle_seed)


def test_coverage_counts_what_the_policy_can_and_does_monitor() -> None:
    from safeguard.policy import coverage

    assert coverage(parse_profile(PROFILE, "tiny.yaml")) == {
        "clauses": 2, "monitorable": 1, "enforced": 1, "not_monitorable": 1}
    bps = coverage(load_profile("beaudesert-park"))
    assert bps["clauses"] == bps["monitorable"] + bps["not_monitorable"]
    assert 0 < bps["enforced"] <= bps["monitorable"]
