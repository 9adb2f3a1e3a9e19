"""Identity resolution: who was behind an IP or a device at a moment.

Login sessions are remembered per network key (`ip:...` or `device:...`, the key the
enrichment stream is partitioned on): a successful login opens a session for the person,
a logout closes it, and an unattributed event on that key inside an open session (or
within `SESSION_TTL` of its start, for sources that never log out) is attributed to
the session's person. The asset register is the fallback for named devices.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from safeguard.directory import Directory, Person
from safeguard.events import Event

SESSION_TTL = 10 * 3600.0  # seconds: a login with no logout counts for a school day
MAX_SESSIONS = 8
LOGIN_ACTIONS = frozenset({"logged-in", "login_success", "authorized"})
LOGOUT_ACTIONS = frozenset({"logged-out", "logout"})


def observe_session(event: Event, person: Person | None,
                    state: MutableMapping[str, Any]) -> None:
    """Open or close a session on the event's network key from a login or logout."""
    if person is None or event.category not in ("authentication", "session"):
        return
    key = event.network_key
    sessions: list[list[Any]] = list((state.get(key) or {}).get("sessions", []))
    now = event.timestamp.timestamp()
    is_login = event.outcome == "success" and (event.action in LOGIN_ACTIONS
                                               or event.type == "start")
    is_logout = event.action in LOGOUT_ACTIONS or event.type == "end"
    if is_login:
        sessions = [*sessions, [now, None, person.person_id]][-MAX_SESSIONS:]
    elif is_logout:
        for s in reversed(sessions):
            if s[2] == person.person_id and s[1] is None:
                s[1] = now
                break
    else:
        return
    state[key] = {"sessions": sessions}


def person_in_session(event: Event, state: MutableMapping[str, Any]) -> str | None:
    """The person whose session on this key covers the event's time, newest first."""
    entry = state.get(event.network_key)
    if not entry:
        return None
    now = event.timestamp.timestamp()
    for start, end, person_id in reversed(entry.get("sessions", [])):
        if start <= now and (now <= end if end is not None else now - start <= SESSION_TTL):
            return str(person_id)
    return None


def person_of_device(event: Event, directory: Directory) -> Person | None:
    """The person a named device is assigned to in the asset register, if any."""
    if not event.host_name:
        return None
    asset = directory.asset_by_device(event.host_name)
    if asset is None or asset.assigned_to is None:
        return None
    return directory.person(asset.assigned_to)
