"""What every parser returns, and the checks all of them share."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from safeguard.deadletters import DeadLetter
from safeguard.events import Event

# A line far outside this range is a corrupt record, not history.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=1)
MAX_LINE_CHARS = 64 * 1024


@dataclass
class ParseResult:
    """Events and dead letters of a batch of lines; `records_in` = both together."""

    events: list[Event] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

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


def check_timestamp(ts: datetime, ctx: ParseContext) -> str | None:
    """A reason if the timestamp is implausible (corrupt or clock-skewed), else None."""
    if ts < EARLIEST:
        return f"timestamp {ts.isoformat()} is before {EARLIEST.date()}"
    if ts > ctx.now + MAX_FUTURE:
        return f"timestamp {ts.isoformat()} is in the future"
    return None


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
