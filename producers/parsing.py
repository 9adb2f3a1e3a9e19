"""What every parser returns, and the checks all of them share."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from safeguard.deadletters import DeadLetter
from safeguard.events import Event

# A line far outside this range is a corrupt record, not history.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=1)
MAX_LINE_CHARS = 64 * 1024


Outcome = Event | DeadLetter | None | list[Event | DeadLetter]


@dataclass
class ParseResult:
    """Events and dead letters of a batch of lines; `records_in` = both together."""

    events: list[Event] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def add(self, out: Outcome) -> None:
        """Sort one parser outcome (or a list of them) into events and dead letters;
        None (a blank or header line, not a record) adds nothing."""
        for item in out if isinstance(out, list) else [out]:
            if isinstance(item, Event):
                self.events.append(item)
            elif item is not None:
                self.dead_letters.append(item)

    @property
    def records_in(self) -> int:
        return len(self.events) + len(self.dead_letters)

    def extend(self, other: ParseResult) -> None:
        self.events.extend(other.events)
        self.dead_letters.extend(other.dead_letters)


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs besides the lines: the school, the file, the clock, and the
    school's time zone for formats that log local wall-clock times without an offset."""

    school_id: str
    source: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    timezone: str = "UTC"
    header: str | None = None  # CSV formats: the file's header line


Parser = Callable[[Iterable[tuple[int, str]], ParseContext], ParseResult]


class Verdict(TypedDict):
    action: str
    type: str
    outcome: str


def verdict(action: str) -> Verdict:
    """A filter's verdict as ECS `event.action`, `event.type` and `event.outcome`: one
    mapping for every filter format, so a block means the same whichever filter logged it."""
    return {"action": action,
            "type": {"blocked": "denied", "error": "error"}.get(action, "access"),
            "outcome": "failure" if action in ("blocked", "error") else "success"}


def check_timestamp(ts: datetime, ctx: ParseContext) -> str | None:
    """A reason if the timestamp is implausible (corrupt or clock-skewed), else None."""
    if ts < EARLIEST:
        return f"timestamp {ts.isoformat()} is before {EARLIEST.date()}"
    if ts > ctx.now + MAX_FUTURE:
        return f"timestamp {ts.isoformat()} is in the future"
    return None


@functools.lru_cache(maxsize=65_536)  # a school's few thousand addresses, on every line
def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


LineParser = Callable[[int, str, "ParseContext"], Outcome]


def parse_each(lines: Iterable[tuple[int, str]], ctx: ParseContext, dataset: str,
               parse_line: LineParser) -> ParseResult:
    """Apply `parse_line` to every line; an unexpected exception is a dead letter with its
    reason, never a crash (the contract every parser keeps)."""
    result = ParseResult()
    for line_no, raw in lines:
        try:
            out = parse_line(line_no, raw, ctx)
        except Exception as exc:
            out = DeadLetter(school_id=ctx.school_id, dataset=dataset, stage="parse",
                             reason=f"unparseable: {type(exc).__name__}: {exc}"[:500],
                             raw=raw.rstrip("\r\n"), source=ctx.source, line_no=line_no)
        result.add(out)
    return result


def school_zone(ctx: ParseContext, tz: str | None) -> ZoneInfo | None:
    """The zone for local wall-clock times: an explicit `tz`, else the school's; None for an
    unknown name (callers dead-letter every record with that reason rather than guess)."""
    try:
        return ZoneInfo(tz or ctx.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return None


def unknown_zone(ctx: ParseContext, dataset: str, tz: str | None) -> LineParser:
    """A line parser that dead-letters every record because the time zone is unknown."""
    def parse(line_no: int, raw: str, _: ParseContext) -> Outcome:
        if not raw.strip():
            return None
        return DeadLetter(school_id=ctx.school_id, dataset=dataset, stage="parse",
                          reason=f"unknown time zone {tz or ctx.timezone!r}",
                          raw=raw.rstrip("\r\n"), source=ctx.source, line_no=line_no)
    return parse
