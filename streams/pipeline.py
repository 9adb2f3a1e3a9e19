"""The processing steps both modes share: parse -> enrich -> detect.

The embedded runner calls these in one process; the Faust agents call the very same
functions, one step per topic hop. Nothing about a rule can differ between the two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from pipelines.quality import QualityReport, Validator
from producers.formats import parser_for
from producers.parsing import ParseContext, ParseResult
from producers.school import SchoolBundle
from safeguard.alerts import Alert
from safeguard.daily import DailyFacts
from safeguard.detection import Detector, SubjectKey
from safeguard.enrichment import Enricher
from safeguard.events import Event
from safeguard.rule_settings import effective_rules
from warehouse.writer import IngestBatch


class Pipeline:
    """One school's configured steps; stateless apart from the `state` passed to `detect`."""

    def __init__(self, bundle: SchoolBundle) -> None:
        self.bundle = bundle
        self.enricher = Enricher(bundle.directory, bundle.categories, bundle.keywords)
        self.detector = Detector(bundle.profile, bundle.school_id)
        self.daily_facts = DailyFacts(bundle.directory)
        self.validator = Validator()  # Great Expectations loads on the first batch

    @property
    def school_id(self) -> str:
        return self.bundle.school_id

    def context(self, source: str, now: datetime | None = None,
                header: str | None = None) -> ParseContext:
        """Parse context for one file of this school (its id, time zone, CSV header)."""
        return ParseContext(school_id=self.school_id, source=source,
                            now=now or datetime.now(UTC),
                            timezone=self.bundle.directory.school.timezone, header=header)

    def parse(self, source: str, lines: list[tuple[int, str]], ctx: ParseContext) -> ParseResult:
        """Parse only (no data-quality suite): for tools that look at a file's records."""
        return parser_for(source)(lines, ctx)

    def parse_checked(self, source: str, lines: list[tuple[int, str]],
                      ctx: ParseContext) -> tuple[ParseResult, QualityReport]:
        """Parse, then run the source's data-quality suite on the batch: rows failing an
        expectation join the dead letters with its name, valid rows go on (DESIGN
        "Data quality"); records in = events + dead letters still holds."""
        result = parser_for(source)(lines, ctx)
        report = self.validator.validate(source, result.events, school_id=ctx.school_id,
                                         now=ctx.now, path=ctx.source)
        return ParseResult(list(report.valid),
                           [*result.dead_letters, *report.dead_letters]), report

    @staticmethod
    def quality_rows(report: QualityReport, batch: IngestBatch,
                     now: datetime) -> list[dict[str, Any]]:
        """The batch's expectation results as `dq_results` rows."""
        return report.result_rows(batch_id=batch.batch_id, school_id=batch.school_id,
                                  source=batch.source,
                                  checked_at=now.astimezone(UTC).replace(tzinfo=None))

    def apply_settings(self, overrides: Mapping[str, Mapping[str, Any]]) -> None:
        """IT's rule settings take effect (live: state of every rule is kept)."""
        self.detector.set_rules(effective_rules(self.bundle.profile, overrides))

    def with_daily(self, event: Event) -> list[Event]:
        """The directory's derived events for a new school day (see `safeguard.daily`),
        then the event itself."""
        return [*self.daily_facts.events_for(event.timestamp), event]

    def enrich(self, event: Event, identity: MutableMapping[str, Any],
               key: str | None = None) -> Event:
        """Enrich with identity state: as the copy routed to `key` (a worker), or for all
        the event's keys at once (embedded)."""
        return self.enricher.enrich(event, identity, key)

    def routing_keys(self, event: Event) -> list[str]:
        """The `events` topic keys of a parsed event, primary first."""
        return self.enricher.routing_keys(event)

    def observe(self, event: Event, key: str, identity: MutableMapping[str, Any]) -> None:
        """A non-primary copy: only the sessions it opens or closes on `key`."""
        self.enricher.observe(event, key, identity)

    def detect(self, event: Event, state: MutableMapping[str, Any]) -> list[Alert]:
        """All keys of the event in one process (embedded)."""
        return self.detector.process(event, state)

    def keys(self, event: Event) -> list[SubjectKey]:
        """The keys a worker fans an enriched event out to (one `signals` message each)."""
        return self.detector.keys(event)

    def detect_key(self, event: Event, key: SubjectKey,
                   state: MutableMapping[str, Any]) -> list[Alert]:
        """One key of the event (a worker owning that key's partition)."""
        return self.detector.process_key(event, key, state)

    def advance(self, now: datetime, state: MutableMapping[str, Any],
                subjects: list[str] | None = None,
                changed: set[str] | None = None) -> list[Alert]:
        """Absence deadlines passed by event time `now`."""
        return self.detector.advance(now, state, subjects, changed)


def batch_accounting(school_id: str, source: str, path: str, line_numbers: list[int],
                     result: ParseResult) -> IngestBatch:
    """The accounting row of one parsed chunk; its id is stable so re-ingest adds nothing."""
    first = min(line_numbers) if line_numbers else 0
    last = max(line_numbers) if line_numbers else 0
    digest = hashlib.blake2b(f"{school_id}|{source}|{path}|{first}|{last}".encode(),
                             digest_size=12).hexdigest()
    return IngestBatch(batch_id=digest, school_id=school_id, source=source, path=path,
                       records_in=result.records_in, events_parsed=len(result.events),
                       dead_lettered=len(result.dead_letters))
