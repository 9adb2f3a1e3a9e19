"""Reference data of a school: the school itself, its people, assets, networks and calendar.

Parsed from the text of the school folder's files (`school.yaml`, `people.csv`,
`assets.csv`, `networks.csv`); reading the files is the caller's job. Extra columns
and keys are allowed; a missing required one is a `ConfigError` naming file, line, field.
"""

from __future__ import annotations

import csv
import io
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safeguard.errors import ConfigError
from safeguard.yamltext import LineDict, load_yaml, require_mapping

ROLES = frozenset({"pupil", "staff", "governor", "visitor"})
ASSET_CATEGORIES = frozenset({"laptop", "desktop", "tablet", "camera", "phone", "usb"})
OWNERSHIPS = frozenset({"school", "personal-registered"})
NETWORK_KINDS = frozenset({"ict-suite", "classroom", "boarding", "staff", "guest", "offsite"})
MAX_REMEMBERED_IPS = 100_000  # addresses whose network is remembered (cleared when full)


@dataclass(frozen=True, slots=True)
class Term:
    name: str
    start: date
    end: date
    half_term: tuple[date, date] | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ConfigError(f"term {self.name!r} ends before it starts", field="terms")

    def contains(self, day: date) -> bool:
        if not self.start <= day <= self.end:
            return False
        return not (self.half_term and self.half_term[0] <= day <= self.half_term[1])


@dataclass(frozen=True, slots=True)
class School:
    """`school.yaml`: identity, profile, time zone, school-day hours and terms."""

    id: str
    name: str
    profile: str
    timezone: str
    day_start: time
    day_end: time
    terms: tuple[Term, ...]
    trips: tuple[Mapping[str, Any], ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, ts: datetime) -> datetime:
        return ts.astimezone(self.tz)

    def is_term_time(self, ts: datetime) -> bool:
        day = self.local(ts).date()
        return any(t.contains(day) for t in self.terms)

    def is_school_hours(self, ts: datetime) -> bool:
        """A weekday in term time (not half term) between the school day's start and end."""
        local = self.local(ts)
        if local.weekday() >= 5 or not self.is_term_time(ts):
            return False
        return self.day_start <= local.time() < self.day_end

    def term_of(self, ts: datetime) -> str | None:
        day = self.local(ts).date()
        for t in self.terms:
            if t.start <= day <= t.end:
                return t.name
        return None


@dataclass(frozen=True, slots=True)
class Person:
    person_id: str
    display_name: str
    role: str
    year_group: str | None
    boarder: bool
    start_date: date | None
    leave_date: date | None
    accounts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Asset:
    asset_tag: str
    serial: str
    category: str
    model: str
    ownership: str
    device_id: str
    assigned_to: str | None


@dataclass(frozen=True, slots=True)
class Network:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    location: str
    kind: str


def normalise_account(name: str) -> str:
    """Account names as logs spell them: `DOMAIN\\user`, `user@school.org`, `User` -> `user`."""
    name = name.strip().lower()
    if "\\" in name:
        name = name.rsplit("\\", 1)[1]
    return name


@dataclass(frozen=True)
class Directory:
    """People, assets and networks of one school, indexed for per-event lookups."""

    school: School
    people: tuple[Person, ...] = ()
    assets: tuple[Asset, ...] = ()
    networks: tuple[Network, ...] = ()
    _by_account: dict[str, Person] = field(default_factory=dict, repr=False, compare=False)
    _by_id: dict[str, Person] = field(default_factory=dict, repr=False, compare=False)
    _by_device: dict[str, Asset] = field(default_factory=dict, repr=False, compare=False)
    _by_tag: dict[str, Asset] = field(default_factory=dict, repr=False, compare=False)
    _by_name: dict[str, Person | None] = field(default_factory=dict, repr=False, compare=False)
    _by_ip: dict[str, Network | None] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for p in self.people:
            self._by_id[p.person_id] = p
            for acct in p.accounts:
                key = normalise_account(acct)
                self._by_account[key] = p
                if "@" in key:  # the local part signs in to Windows and the filter too
                    self._by_account.setdefault(key.split("@", 1)[0], p)
        for p in self.people:  # display names are not unique: an ambiguous name resolves to None
            key = " ".join(p.display_name.lower().split())
            self._by_name[key] = None if key in self._by_name else p
        for a in self.assets:
            self._by_device[a.device_id.lower()] = a
            self._by_tag[a.asset_tag.lower()] = a
        # longest prefix first, so a /28 ICT suite wins over the /16 campus
        object.__setattr__(
            self, "networks", tuple(sorted(self.networks, key=lambda n: -n.network.prefixlen))
        )

    def person(self, person_id: str) -> Person | None:
        return self._by_id.get(person_id)

    def person_by_account(self, account: str) -> Person | None:
        key = normalise_account(account)
        return self._by_account.get(key) or (
            self._by_account.get(key.split("@", 1)[0]) if "@" in key else None
        )

    def person_by_name(self, display_name: str) -> Person | None:
        """By display name (asset systems record borrowers that way), if unambiguous."""
        return self._by_name.get(" ".join(display_name.lower().split()))

    def asset_by_device(self, device_id: str) -> Asset | None:
        """By hostname or MAC; logs often carry the FQDN where the register has the short
        name, so `pc-12.school.lan` also finds `PC-12`."""
        key = device_id.lower()
        found = self._by_device.get(key)
        if found is None and "." in key and not key.replace(".", "").isdigit():
            found = self._by_device.get(key.split(".", 1)[0])
        return found

    def asset_by_tag(self, asset_tag: str) -> Asset | None:
        return self._by_tag.get(asset_tag.lower())

    def leavers_holding_assets(self, day: date) -> list[tuple[Person, Asset]]:
        """School-owned assets still assigned to people whose leave date is before `day`."""
        out = []
        for asset in self.assets:
            person = self.person(asset.assigned_to) if asset.assigned_to else None
            if (person is not None and person.leave_date is not None
                    and person.leave_date < day and asset.ownership == "school"):
                out.append((person, asset))
        return out

    def network_of(self, ip: str) -> Network | None:
        """The most specific network holding `ip`; remembered per address, since a school
        has a few thousand and every event names one (parsing it is the cost)."""
        try:
            return self._by_ip[ip]
        except KeyError:
            pass
        found: Network | None = None
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            pass
        else:
            found = next((net for net in self.networks
                          if addr.version == net.network.version and addr in net.network),
                         None)
        if len(self._by_ip) >= MAX_REMEMBERED_IPS:
            self._by_ip.clear()
        self._by_ip[ip] = found
        return found


# ---------------------------------------------------------------- parsing


def _parse_date(value: Any, source: str, line: int | None, field_name: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ConfigError(f"not an ISO date: {value!r}", source=source, line=line,
                          field=field_name) from exc


def _parse_hhmm(value: Any, source: str, line: int, field_name: str) -> time:
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ConfigError(f"expected \"HH:MM\", got {value!r}", source=source, line=line,
                          field=field_name) from exc


def _required(doc: LineDict, key: str, source: str) -> Any:
    if key not in doc or doc[key] in (None, ""):
        raise ConfigError("required key is missing", source=source, line=doc.line, field=key)
    return doc[key]


def parse_school_yaml(text: str, source: str = "school.yaml") -> School:
    doc = require_mapping(load_yaml(text, source), source, "school.yaml")
    tz = str(_required(doc, "timezone", source))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {tz!r}", source=source,
                          line=doc.line_of("timezone"), field="timezone") from exc
    day = require_mapping(_required(doc, "school_day", source), source, "school_day",
                          doc.line_of("school_day"))
    terms_raw = _required(doc, "terms", source)
    if not isinstance(terms_raw, list):
        raise ConfigError("terms must be a list", source=source, line=doc.line_of("terms"),
                          field="terms")
    terms = []
    for item in terms_raw:
        t = require_mapping(item, source, "a term", doc.line_of("terms"))
        half = t.get("half_term")
        half_term = None
        if half:
            if not isinstance(half, list) or len(half) != 2:
                raise ConfigError("half_term must be [start, end]", source=source,
                                  line=t.line_of("half_term"), field="half_term")
            half_term = (_parse_date(half[0], source, t.line_of("half_term"), "half_term"),
                         _parse_date(half[1], source, t.line_of("half_term"), "half_term"))
        try:
            terms.append(Term(
                name=str(_required(t, "name", source)),
                start=_parse_date(_required(t, "start", source), source, t.line_of("start"),
                                  "start"),
                end=_parse_date(_required(t, "end", source), source, t.line_of("end"), "end"),
                half_term=half_term,
            ))
        except ConfigError as exc:
            raise ConfigError(exc.message, source=source, line=exc.line or t.line,
                              field=exc.field) from exc
    start = _parse_hhmm(_required(day, "start", source), source, day.line_of("start"),
                        "school_day.start")
    end = _parse_hhmm(_required(day, "end", source), source, day.line_of("end"),
                      "school_day.end")
    trips = doc.get("trips") or []
    return School(
        id=str(_required(doc, "id", source)),
        name=str(_required(doc, "name", source)),
        profile=str(_required(doc, "profile", source)),
        timezone=tz,
        day_start=start,
        day_end=end,
        terms=tuple(terms),
        trips=tuple(dict(t) for t in trips if isinstance(t, dict)),
    )


def _csv_rows(text: str, source: str, required: Iterable[str],
              ) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise ConfigError(f"missing required columns {missing}", source=source, line=1)
    for row in reader:
        line = reader.line_num
        yield line, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _one_of(value: str, allowed: frozenset[str], source: str, line: int, name: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{value!r} is not one of {sorted(allowed)}", source=source, line=line,
                          field=name)
    return value


def _opt_date(value: str, source: str, line: int, name: str) -> date | None:
    return _parse_date(value, source, line, name) if value else None


def parse_people_csv(text: str, source: str = "people.csv") -> tuple[Person, ...]:
    cols = ("person_id", "display_name", "role", "year_group", "boarder", "start_date",
            "leave_date", "accounts")
    people = []
    for line, row in _csv_rows(text, source, cols):
        if not row["person_id"]:
            raise ConfigError("empty person_id", source=source, line=line, field="person_id")
        boarder = row["boarder"].lower()
        if boarder not in ("", "true", "false", "yes", "no", "1", "0"):
            raise ConfigError(f"boarder must be true or false, got {row['boarder']!r}",
                              source=source, line=line, field="boarder")
        people.append(Person(
            person_id=row["person_id"],
            display_name=row["display_name"],
            role=_one_of(row["role"], ROLES, source, line, "role"),
            year_group=row["year_group"] or None,
            boarder=boarder in ("true", "yes", "1"),
            start_date=_opt_date(row["start_date"], source, line, "start_date"),
            leave_date=_opt_date(row["leave_date"], source, line, "leave_date"),
            accounts=tuple(a.strip() for a in row["accounts"].split(";") if a.strip()),
        ))
    return tuple(people)


def parse_assets_csv(text: str, source: str = "assets.csv") -> tuple[Asset, ...]:
    cols = ("asset_tag", "serial", "category", "model", "ownership", "device_id", "assigned_to")
    assets = []
    for line, row in _csv_rows(text, source, cols):
        if not row["asset_tag"]:
            raise ConfigError("empty asset_tag", source=source, line=line, field="asset_tag")
        assets.append(Asset(
            asset_tag=row["asset_tag"],
            serial=row["serial"],
            category=_one_of(row["category"], ASSET_CATEGORIES, source, line, "category"),
            model=row["model"],
            ownership=_one_of(row["ownership"], OWNERSHIPS, source, line, "ownership"),
            device_id=row["device_id"],
            assigned_to=row["assigned_to"] or None,
        ))
    return tuple(assets)


def parse_networks_csv(text: str, source: str = "networks.csv") -> tuple[Network, ...]:
    nets = []
    for line, row in _csv_rows(text, source, ("cidr", "location", "kind")):
        try:
            net = ipaddress.ip_network(row["cidr"], strict=False)
        except ValueError as exc:
            raise ConfigError(f"not a CIDR: {row['cidr']!r}", source=source, line=line,
                              field="cidr") from exc
        nets.append(Network(net, row["location"],
                            _one_of(row["kind"], NETWORK_KINDS, source, line, "kind")))
    return tuple(nets)
