"""Identity resolution: who was behind an IP or a device at a moment.

Sessions are remembered per network key (`ip:...` or `device:...`), the key the enrichment
stream is partitioned on. An event is routed to every key it identifies (`routing_keys`):
a login that names both an IP and a workstation opens a session on both; a Snipe-IT
checkout opens one for the borrower on the device's key (found in the asset register) and
the check-in closes it. Traffic is attributed on its primary key: the device if the log
names one, else the IP. Within a session (or `SESSION_TTL` of its start, for sources that
never log out) an unattributed event is the session person's. The asset register's
`assigned_to` is the last resort for named devices.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from safeguard.directory import Directory, Person
from safeguard.events import Event

SESSION_TTL = 10 * 3600.0  # seconds: a login with no logout counts for a school day
LOAN_TTL = 30 * 86400.0  # a checkout with no check-in counts for a month
MAX_SESSIONS = 8
LOGIN_ACTIONS = frozenset({"logged-in", "login_success", "authorized"})
LOGOUT_ACTIONS = frozenset({"logged-out", "logout"})


def short_host(name: str) -> str:
    """`PC-12.school.lan` -> `pc-12`: logs mix FQDNs and short names for one machine;
    IP addresses and MACs are kept whole."""
    name = name.strip().lower()
    if ":" in name or name.replace(".", "").isdigit():
        return name
    return name.split(".", 1)[0]


def routing_keys(event: Event, directory: Directory) -> list[str]:
    """Every network key the event identifies, primary first (see the module docstring)."""
    keys: list[str] = []
    device = short_host(event.host_name) if event.host_name else None
    if event.category == "device" and event.asset_tag:
        asset = directory.asset_by_tag(event.asset_tag)
        if asset is not None and asset.device_id:
            device = short_host(asset.device_id)
    ip = f"ip:{event.source_ip}" if event.source_ip else None
    dev = f"device:{device}" if device else None
    if event.category in ("web", "device"):
        keys = [k for k in (dev, ip) if k]
    else:
        keys = [k for k in (ip, dev) if k]
    return keys or [event.network_key]


def observe(event: Event, person: Person | None, key: str,
            state: MutableMapping[str, Any]) -> None:
    """Open or close a session on `key` from a login, logout, checkout or check-in."""
    if person is None and not (event.category == "device" and event.action == "checkin"):
        return
    now = event.timestamp.timestamp()
    login = event.category in ("authentication", "session") and event.outcome == "success" and (
        event.action in LOGIN_ACTIONS or event.type == "start")
    logout = event.category in ("authentication", "session") and (
        event.action in LOGOUT_ACTIONS or event.type == "end")
    checkout = event.category == "device" and event.action == "checkout"
    checkin = event.category == "device" and event.action == "checkin"
    if not (login or logout or checkout or checkin):
        return
    sessions: list[list[Any]] = list((state.get(key) or {}).get("sessions", []))
    if login or checkout:
        ttl = LOAN_TTL if checkout else SESSION_TTL
        who = person.person_id if person else ""
        if any(s[0] == now and s[2] == who for s in sessions):
            return  # the same login delivered again (at-least-once): nothing new
        # sorted on start and person only: an ended and an open session can share a start
        sessions = sorted([*sessions, [now, None, who, ttl]],
                          key=lambda s: (s[0], s[2]))[-MAX_SESSIONS:]
    else:
        for s in sorted(sessions, key=lambda s: -s[0]):
            if s[1] is None and s[0] <= now and (checkin or person is None
                                                 or s[2] == person.person_id):
                s[1] = now
                break
    state[key] = {"sessions": sessions}


def person_in_session(event: Event, key: str, state: MutableMapping[str, Any]) -> str | None:
    """The person whose session on `key` covers the event's time, newest first."""
    entry = state.get(key)
    if not entry:
        return None
    now = event.timestamp.timestamp()
    for start, end, person_id, *rest in sorted(entry.get("sessions", []), key=lambda s: -s[0]):
        ttl = rest[0] if rest else SESSION_TTL
        if start <= now and (now <= end if end is not None else now - start <= ttl):
            return str(person_id) or None
    return None


def person_of_device(event: Event, directory: Directory) -> Person | None:
    """The person a named device is assigned to in the asset register, if any."""
    if not event.host_name:
        return None
    asset = directory.asset_by_device(event.host_name)
    if asset is None or asset.assigned_to is None:
        return None
    return directory.person(asset.assigned_to)
