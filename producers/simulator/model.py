"""The simulator's working state: people, devices, networks and the records it emits.

Records are source-neutral (a web request, a sign-in, a checkout, an incident); the writers
in `writers/` turn them into the real formats. Times are UTC epoch seconds (floats), so
sorting and formatting stay cheap at hundreds of thousands of lines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/London")


class Web(NamedTuple):
    """One filtered web request; `cat` is the UT1 category name the filter knows, or ""."""

    ts: float
    ip: str
    user: str
    device: str
    url: str
    method: str
    blocked: bool
    cat: str
    size: int
    mime: str
    group: str


class Auth(NamedTuple):
    """One sign-in event. realm: onprem (Windows/Samba domain) | cloud (Google/Entra).

    kind: ok | fail | logoff | lockout. reason: bad-password | no-such-user | "".
    app (cloud): mail | sims | portal. mobile (cloud): "" or ios | android (unmanaged phone).
    """

    ts: float
    realm: str
    kind: str
    account: str
    ip: str
    device: str
    app: str
    reason: str
    mobile: str


class Checkout(NamedTuple):
    ts: float
    action: str  # checkout | checkin
    asset_tag: str
    person_id: str
    expected: date | None
    note: str


@dataclass
class Person:
    person_id: str
    first: str
    last: str
    role: str  # pupil | staff | governor | visitor
    year_group: str = ""
    boarder: bool = False
    job: str = ""
    start_date: date | None = None
    leave_date: date | None = None
    username: str = ""
    email: str = ""
    index: int = 0

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Device:
    asset_tag: str
    serial: str
    category: str  # laptop | desktop | tablet | camera | phone | usb
    model: str
    ownership: str  # school | personal-registered
    device_id: str
    assigned_to: str = ""
    ip: str = ""  # the device's usual address, where it has one


@dataclass
class Sim:
    """Everything one run builds; every random draw comes from `rng` (seeded once)."""

    profile: str
    prefix: str  # bps | tis
    days: list[date]
    seed: int
    rng: random.Random
    people: list[Person] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    web: list[Web] = field(default_factory=list)
    auth: list[Auth] = field(default_factory=list)
    checkouts: list[Checkout] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    used_subjects: set[str] = field(default_factory=set)
    day_start: float = 8.5
    day_end: float = 16.5

    @property
    def school_days(self) -> list[date]:
        weekdays = [d for d in self.days if d.weekday() < 5]
        return weekdays or list(self.days)

    @property
    def domain(self) -> str:
        return f"{self.prefix}.example"

    def by_role(self, role: str) -> list[Person]:
        return [p for p in self.people if p.role == role]

    def device(self, device_id: str) -> Device:
        for d in self.devices:
            if d.device_id == device_id:
                return d
        raise KeyError(device_id)

    def pick(self, candidates: list[Person]) -> Person:
        """A person not yet the subject of another scenario (scenarios stay separable)."""
        free = [p for p in candidates if p.person_id not in self.used_subjects]
        if not free:
            raise ValueError("not enough people to give every scenario its own subject")
        p = self.rng.choice(free)
        self.used_subjects.add(p.person_id)
        return p

    def label(self, scenario: str, clause_ids: list[str], subject: str, start: float,
              end: float) -> None:
        self.truth.append({"scenario": scenario, "clause_ids": clause_ids, "subject": subject,
                           "start": iso(start), "end": iso(end)})


def at(day: date, hours: float) -> float:
    """Epoch seconds of a local (Europe/London) time of day given as fractional hours."""
    whole = int(hours)
    minutes = (hours - whole) * 60
    local = datetime.combine(day, time(whole, int(minutes), int((minutes % 1) * 60)), tzinfo=TZ)
    return local.timestamp()


def day_offset(day: date, n: int) -> date:
    return day + timedelta(days=n)


def iso(ts: float) -> str:
    """`2026-11-16T09:12:01Z` (whole seconds), the ground truth's and CSVs' time format."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
