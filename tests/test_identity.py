"""Who was behind a filter line: login sessions by IP and device, loans, the asset register."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from producers.school import load_school
from safeguard.enrichment import Enricher
from tests.conftest import ASSETS_CSV, event

T0 = datetime(2026, 11, 17, 9, tzinfo=UTC)


def _enricher(make_school: Callable[..., Path]) -> Enricher:
    assets = ASSETS_CSV + "A2,SN2,laptop,Book,school,LT-LOAN-01,\n"
    bundle = load_school(make_school(**{"assets.csv": assets}))
    return Enricher(bundle.directory, bundle.categories, bundle.keywords)


def _web(minutes: float, **kw: Any) -> Any:
    base = dict(timestamp=T0 + timedelta(minutes=minutes), user_name=None,
                raw=f"web {minutes} {sorted(kw.items())}")
    base.update(kw)
    return event(**base)


def test_login_sessions_attribute_traffic_by_ip_and_by_device(
        make_school: Callable[..., Path]) -> None:
    enricher, identity = _enricher(make_school), {}
    login = event(category="authentication", action="logged-in", outcome="success",
                  timestamp=T0, user_name="SCHOOL\\pupil2", source_ip="10.10.1.9",
                  host_name="ICT-PC-07.school.lan", raw="login")
    assert enricher.routing_keys(login) == ["ip:10.10.1.9", "device:ict-pc-07"]
    enricher.enrich(login, identity)
    by_ip = enricher.enrich(_web(5, source_ip="10.10.1.9"), identity)
    by_device = enricher.enrich(_web(6, source_ip=None, host_name="ict-pc-07"), identity)
    assert by_ip.person_id == by_device.person_id == "P2"
    assert by_ip.labels["identity"] == "session"
    logout = event(category="session", type="end", action="logged-out", outcome="success",
                   timestamp=T0 + timedelta(minutes=30), user_name="pupil2",
                   source_ip=None, host_name="ICT-PC-07", raw="logout")
    enricher.enrich(logout, identity)
    after = enricher.enrich(_web(40, source_ip=None, host_name="ict-pc-07"), identity)
    assert after.person_id is None  # the session closed


def test_a_loan_attributes_the_borrowed_laptop_until_check_in(
        make_school: Callable[..., Path]) -> None:
    enricher, identity = _enricher(make_school), {}
    checkout = event(category="device", action="checkout", timestamp=T0, user_name="Pupil Two",
                     asset_tag="A2", source_ip=None, url_original=None, url_domain=None,
                     raw="checkout")
    assert enricher.routing_keys(checkout) == ["device:lt-loan-01"]
    assert enricher.enrich(checkout, identity).person_id == "P2"  # Snipe-IT names people
    day_later = enricher.enrich(_web(24 * 60, source_ip="192.0.2.4", host_name="LT-LOAN-01"),
                                identity)
    assert day_later.person_id == "P2"
    checkin = event(category="device", action="checkin", asset_tag="A2", user_name=None,
                    timestamp=T0 + timedelta(days=2), source_ip=None, raw="checkin")
    enricher.enrich(checkin, identity)
    returned = enricher.enrich(_web(3 * 24 * 60, source_ip="192.0.2.4", host_name="LT-LOAN-01"),
                               identity)
    assert returned.person_id is None


def test_the_asset_register_is_the_last_resort(make_school: Callable[..., Path]) -> None:
    enricher = _enricher(make_school)
    e = enricher.enrich(_web(1, source_ip="10.30.0.5", host_name="lt-0001.school.lan"), {})
    assert (e.person_id, e.labels["identity"]) == ("S1", "asset-register")
    assert e.asset_ownership == "school" and e.asset_owner == "S1"
    unknown = enricher.enrich(_web(2, source_ip="10.30.0.6", host_name="galaxy-s23"), {})
    assert unknown.person_id is None and unknown.asset_ownership == "unregistered"


def test_a_copy_routed_to_another_key_only_records_identity(
        make_school: Callable[..., Path]) -> None:
    """A worker owning `device:...` sees the login's second copy: it opens the session there."""
    enricher, identity = _enricher(make_school), {}
    login = event(category="authentication", action="logged-in", outcome="success",
                  timestamp=T0, user_name="pupil1", source_ip="10.10.1.8",
                  host_name="ICT-PC-03", raw="login2")
    enricher.observe(login, "device:ict-pc-03", identity)
    assert set(identity) == {"device:ict-pc-03"}
    web = enricher.enrich(_web(3, source_ip=None, host_name="ICT-PC-03"), identity,
                          key="device:ict-pc-03")
    assert web.person_id == "P1"


def test_logins_redelivered_or_sharing_a_second_with_an_ended_session_are_kept_apart(
        make_school: Callable[..., Path]) -> None:
    """At-least-once delivery repeats a login; a logout and the next login can share a second.

    Found on a real broker: sorting the sessions compared an open session's end (None)
    with an ended one's (a float) and crashed the enrich agent."""
    enricher, identity = _enricher(make_school), {}

    def auth(action: str, minute: int, user: str, raw: str) -> Any:
        return event(category="authentication" if action == "logged-in" else "session",
                     type="start" if action == "logged-in" else "end", action=action,
                     outcome="success", timestamp=T0 + timedelta(minutes=minute),
                     user_name=user, source_ip="10.10.1.9", host_name=None, raw=raw)

    login = auth("logged-in", 0, "pupil1", "a")
    enricher.enrich(login, identity)
    enricher.enrich(login, identity)  # re-delivered
    assert len(identity["ip:10.10.1.9"]["sessions"]) == 1
    enricher.enrich(auth("logged-out", 10, "pupil1", "b"), identity)
    enricher.enrich(auth("logged-in", 10, "pupil2", "c"), identity)  # same second
    enricher.enrich(auth("logged-in", 10, "pupil1", "d"), identity)  # another at that second
    assert len(identity["ip:10.10.1.9"]["sessions"]) == 3
    assert enricher.enrich(_web(5, source_ip="10.10.1.9"), identity).person_id == "P1"
