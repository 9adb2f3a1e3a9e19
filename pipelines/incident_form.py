"""Recording an incident from the dashboard's form, as the school's own incident CSV.

A form entry becomes one record of the documented `incident:csv` format, so it goes
through exactly the parser, quality checks and rules that a school's exported incident
log does (no second path to keep in step). In broker mode the record is produced to the
raw incident topic like any ingest; embedded, it is saved in the incident inbox beside
the warehouse file and ingested there and then when nobody holds the file, or by the
follower (`safeguard ingest --follow` takes the inbox as an input) when it runs.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from producers.incidents import CATEGORIES, REQUIRED, ROLES
from safeguard.errors import SafeguardError
from warehouse.spool import write_private

MAX_DESCRIPTION = 20_000


class IncidentFormError(SafeguardError):
    """What the form's user must correct (shown beside the form)."""


def inbox_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".incidents")


@dataclass(frozen=True)
class IncidentForm:
    """What the DSL typed: validated here, kept verbatim (escaping is the page's job)."""

    occurred_at: datetime
    reporter: str
    category: str
    pupils: tuple[tuple[str, str], ...]   # (person id, role in the incident)
    description: str
    actions: str = ""
    status: str = "open"

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise IncidentFormError(f"unknown category {self.category!r}", field="category")
        if not self.pupils:
            raise IncidentFormError("name at least one pupil", field="pupils")
        for person, role in self.pupils:
            if role not in ROLES or not person.strip() or ";" in person or ":" in person:
                raise IncidentFormError(f"bad pupil entry {person!r} as {role!r}",
                                        field="pupils")
        if not self.description.strip():
            raise IncidentFormError("describe what happened", field="description")
        if len(self.description) > MAX_DESCRIPTION:
            raise IncidentFormError("the description is too long", field="description")
        if not self.reporter.strip():
            raise IncidentFormError("who reported it?", field="reporter")
        if self.occurred_at.tzinfo is None:
            raise IncidentFormError("the time needs a zone", field="occurred_at")
        if self.occurred_at > datetime.now(UTC):
            raise IncidentFormError("the incident cannot be in the future", field="occurred_at")

    def to_csv(self, incident_id: str, reported_at: datetime, recorded_by: str) -> str:
        """Header and one record of the documented incident CSV (plus the signed-in
        account that recorded it: the format allows extra columns)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*REQUIRED, "recorded_by"])
        writer.writerow([incident_id, self.occurred_at.isoformat(), reported_at.isoformat(),
                         self.reporter, self.category,
                         ";".join(f"{p}:{r}" for p, r in self.pupils),
                         self.description, self.actions, self.status, recorded_by])
        return out.getvalue()


def save_to_inbox(db_path: Path, form: IncidentForm, *, recorded_by: str) -> Path:
    """Durably write the record as one CSV file in the inbox; returns its path."""
    incident_id = f"DASH-{uuid.uuid4().hex[:12]}"
    text = form.to_csv(incident_id, datetime.now(UTC), recorded_by)
    return write_private(inbox_dir(db_path), f"{incident_id}.csv", text.encode("utf-8"))


def pending(db_path: Path) -> list[Path]:
    inbox = inbox_dir(db_path)
    return sorted(inbox.glob("*.csv")) if inbox.exists() else []


def ingested(paths: Sequence[Path]) -> None:
    """Move ingested records aside (kept: they are the form's own audit copy)."""
    for path in paths:
        done = path.parent / "ingested"
        done.mkdir(exist_ok=True)
        os.replace(path, done / path.name)


def ingest_inbox(db_path: Path, school_dir: Path, *, broker: str | None = None,
                 topic_prefix: str = "") -> str:
    """Send the inbox's records on: 'topic' (broker), 'warehouse' (ingested here) or
    'inbox' (the file is held: the follower takes them on its next poll)."""
    from safeguard.inputs import InputSpec

    paths = pending(db_path)
    if not paths:
        return "warehouse"
    specs = [InputSpec("incident", "csv", str(p)) for p in paths]
    if broker:
        from producers.kafka_producer import RawProducer
        from producers.school import load_school

        school_id = load_school(school_dir).school_id
        producer = RawProducer(broker, topic_prefix=topic_prefix).start()
        try:
            for spec in specs:
                producer.send_file(spec, school_id)
        finally:
            producer.close()
        ingested(paths)
        return "topic"
    from producers.school import load_school
    from streams.embedded import EmbeddedRunner
    from streams.pipeline import Pipeline
    from warehouse.errors import WarehouseError
    from warehouse.writer import Warehouse

    bundle = load_school(school_dir)
    try:
        wh = Warehouse(db_path).start()
    except WarehouseError:
        return "inbox"
    try:
        EmbeddedRunner(Pipeline(bundle), wh).run(specs)
    finally:
        wh.close()
    ingested(paths)
    return "warehouse"
