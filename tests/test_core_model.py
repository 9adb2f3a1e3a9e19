"""Events, dead letters, input specs, alerts and settings: invariants and round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from safeguard.alerts import Alert, alert_id_for
from safeguard.deadletters import DeadLetter
from safeguard.errors import ConfigError, EventError
from safeguard.events import Event, stable_event_id
from safeguard.inputs import InputSpec
from safeguard.settings import ENV_VARS, Settings
from tests.conftest import event


def test_event_round_trips_through_ecs_names() -> None:
    e = event(categories=("proxy",), labels={"k": "v"}, http_status=403, boarder=True)
    d = e.to_dict()
    assert d["@timestamp"] == "2026-11-17T10:00:00+00:00"
    assert d["url.domain"] == "proxysite.com"
    assert d["rule.category"] == ["proxy"]
    assert Event.from_dict(d) == e


def test_event_rejects_naive_time_unknown_category_and_unknown_fields() -> None:
    with pytest.raises(EventError, match="UTC"):
        event(timestamp=datetime(2026, 1, 1))
    with pytest.raises(EventError, match="category"):
        event(category="email")
    with pytest.raises(EventError, match="unknown field"):
        Event.from_dict({**event().to_dict(), "user.nmae": "x"})
    with pytest.raises(EventError, match="missing"):
        Event.from_dict({"@timestamp": "2026-11-17T10:00:00Z"})


def test_event_id_is_stable_and_depends_on_school_dataset_and_raw() -> None:
    a = stable_event_id("s", "squid.access", "line")
    assert a == stable_event_id("s", "squid.access", "line")
    assert a != stable_event_id("s2", "squid.access", "line")
    assert a != stable_event_id("s", "e2guardian", "line")


def test_dead_letter_needs_reason_and_has_stable_id() -> None:
    d = DeadLetter("s", "squid.access", "parse", "bad", "raw", "f.log", 3)
    assert d.dead_letter_id == DeadLetter.from_dict(d.to_dict()).dead_letter_id
    with pytest.raises(ValueError, match="reason"):
        DeadLetter("s", "squid.access", "parse", "", "raw")


def test_input_spec_parses_kind_format_path_with_colons_in_path() -> None:
    spec = InputSpec.parse("filter:squid:C:/logs/access.log")
    assert (spec.kind, spec.format, spec.path) == ("filter", "squid", "C:/logs/access.log")
    assert spec.source == "filter:squid"
    with pytest.raises(ConfigError, match="unknown kind"):
        InputSpec.parse("email:squid:x")
    with pytest.raises(ConfigError, match="KIND:FORMAT:PATH"):
        InputSpec.parse("filter:squid")


def _alert(**kw: object) -> Alert:
    t = datetime(2026, 11, 17, 10, tzinfo=UTC)
    base: dict[str, object] = dict(
        alert_id="a1", version=1, school_id="s", profile_id="p", rule_id="r", title="t",
        clause_ids=("bps.proxy",), severity=3, category="security", routing="it",
        subject="P1", subject_kind="person", score=3.0, first_seen=t, last_seen=t,
        window_start=t, window_end=t + timedelta(days=1), event_count=1,
        evidence_event_ids=("e1",))
    base.update(kw)
    return Alert(**base)  # type: ignore[arg-type]


def test_alert_invariants_and_round_trip() -> None:
    a = _alert()
    assert Alert.from_dict(a.to_dict()) == a
    with pytest.raises(ValueError, match="severity"):
        _alert(severity=6)
    with pytest.raises(ValueError, match="clause"):
        _alert(clause_ids=())
    with pytest.raises(ValueError, match="category"):
        _alert(category="misc")


def test_alert_id_is_deterministic_per_rule_subject_window() -> None:
    w = datetime(2026, 11, 17, tzinfo=UTC)
    assert alert_id_for("s", "r", "P1", w) == alert_id_for("s", "r", "P1", w)
    assert alert_id_for("s", "r", "P1", w) != alert_id_for("s", "r", "P2", w)
    assert alert_id_for("s", "r", "P1", w) != alert_id_for("s", "r", "P1", w + timedelta(days=1))


def test_settings_from_env_with_overrides_and_secret_hidden() -> None:
    env = {ENV_VARS["broker"]: "127.0.0.1:9092", ENV_VARS["smtp_password"]: "hunter2",
           ENV_VARS["dashboard_port"]: "8600"}
    s = Settings.from_env(env, broker="10.0.0.1:9092", db_path=None)
    assert s.broker == "10.0.0.1:9092"
    assert s.dashboard_port == 8600
    assert "hunter2" not in repr(s)
    assert s.smtp_password is not None and s.smtp_password.get_secret_value() == "hunter2"
    with pytest.raises(ValueError, match="frozen"):
        s.broker = "x"  # type: ignore[misc]
