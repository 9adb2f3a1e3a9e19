"""The dashboard's data-access layer: what a signed-in person may read and do, checked here.

Pages ask; this layer decides. Every method checks the person's role (`safeguard.auth`)
before it touches the warehouse, scopes alerts to the routings the role handles, and
leaves names out for roles that must not see them — so a governor's page cannot get a
pupil's name whatever it asks for, and a bug in a page cannot widen what a role sees.
Views of a pupil's data, triage steps and edits are written to the audit log (through
the outbox, see `pipelines.actions`), with ids only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from safeguard.actions import AlertAction
from safeguard.audit import AuditEntry
from safeguard.auth import ROLE_ROUTINGS, AccessDenied, Permission, User, require
from safeguard.directory import Directory, School
from safeguard.errors import ConfigError
from safeguard.policy import Profile
from safeguard.review import FilterChange, FilterReview
from warehouse import dsl_queries, queries
from warehouse.reader import WarehouseReader
from warehouse.spool import Record

if TYPE_CHECKING:
    from pipelines.incident_form import IncidentForm
    from pipelines.review_export import GovernorsReview

log = logging.getLogger(__name__)
ALERT_ID = re.compile(r"^[0-9a-f]{16,64}$")
WITHHELD = "(withheld)"


def _withheld(row: Mapping[str, Any]) -> dict[str, Any]:
    """A person's id and year group, hidden from a role without pupil data."""
    if row.get("subject_kind") != "person":
        return {"year_group": None}
    return {"subject": WITHHELD, "year_group": None, "name": None}
Submit = Callable[[Record], str]


@dataclass(frozen=True)
class SchoolContext:
    """What the dashboard knows of the school besides the warehouse: its id, the policy
    profile (clause texts) and the directory's display names (synthetic in demos)."""

    school_id: str
    profile: Profile | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    pupils: tuple[str, ...] = ()
    timezone: tzinfo = UTC
    school_dir: Path | None = None
    calendar: School | None = None
    directory: Directory | None = None

    @classmethod
    def load(cls, school_dir: Path | None) -> SchoolContext | None:
        if school_dir is None:
            return None
        from producers.school import load_school

        bundle = load_school(school_dir)
        people = bundle.directory.people
        return cls(bundle.school_id, bundle.profile,
                   {p.person_id: p.display_name for p in people},
                   tuple(sorted(p.person_id for p in people if p.role == "pupil")),
                   bundle.directory.school.tz, school_dir, bundle.directory.school,
                   bundle.directory)

    def clause_text(self, clause_id: str) -> str:
        if self.profile is None:
            return ""
        try:
            return self.profile.clause(clause_id).text
        except KeyError:
            return ""


@dataclass(frozen=True)
class RuleView:
    id: str
    kind: str
    title: str
    clause_ids: tuple[str, ...]
    settings: Mapping[str, Any]
    changed: bool


class Access:
    """One signed-in person's view of the warehouse and the things they may do."""

    def __init__(self, reader: WarehouseReader, user: User, submit: Submit, *,
                 school: SchoolContext | None = None,
                 lag: Callable[[], int | None] = lambda: None) -> None:
        self.reader = reader
        self.user = user
        self.school = school
        self._submit = submit
        self._lag = lag

    # ------------------------------------------------------------------ checks

    def can(self, permission: Permission) -> bool:
        return self.user.can(permission)

    def _require(self, permission: Permission, what: str) -> None:
        try:
            if self.user.disabled:
                raise AccessDenied(self.user.role, permission)
            require(self.user.role, permission)
        except AccessDenied:
            self._audit("access-refused", detail=what)
            raise

    @property
    def can_triage(self) -> bool:
        return self.can(Permission.triage)

    @property
    def routings(self) -> list[str]:
        return sorted(ROLE_ROUTINGS[self.user.role])

    def _require_alert(self, con: Any, alert_id: str) -> None:
        if not ALERT_ID.fullmatch(alert_id):  # whatever a URL carried stays out of the log
            self._audit("access-refused", subject_kind="alert", detail="malformed alert id")
            raise AccessDenied(self.user.role, Permission.view_alerts)
        routing = dsl_queries.routing_of(con, alert_id)
        if routing is None or routing not in ROLE_ROUTINGS[self.user.role]:
            self._audit("access-refused", subject_kind="alert", subject_id=alert_id)
            raise AccessDenied(self.user.role, Permission.view_alerts)

    def _audit(self, action: str, *, subject_kind: str | None = None,
               subject_id: str | None = None, detail: str | None = None,
               required: bool = False) -> None:
        """Record what the person did; `required` for views of a pupil's data, which are
        refused when they cannot be recorded (no unaudited access)."""
        entry = AuditEntry.new(self.user.username, self.user.role.value, action,
                               subject_kind=subject_kind, subject_id=subject_id, detail=detail)
        try:
            self._submit(entry)
        except Exception:
            log.exception("could not record an audit entry (%s)", action)
            if required:
                raise

    def _name(self, person_id: str | None) -> str | None:
        if person_id is None or not self.can(Permission.view_pupil_data):
            return None
        return (self.school.names.get(person_id) if self.school else None)

    # ------------------------------------------------------------------ DSL

    def queue(self, *, severities: Sequence[int] = (), categories: Sequence[str] = (),
              statuses: Sequence[str] = (), year_groups: Sequence[str] = ()) -> pd.DataFrame:
        """The role's alert queue, most severe then newest first."""
        self._require(Permission.view_alerts, "alert queue")
        df = dsl_queries.alert_queue(self.reader.connect(), routings=self.routings,
                                     severities=severities, categories=categories,
                                     statuses=statuses, year_groups=year_groups)
        if self.can(Permission.view_pupil_data):
            df.insert(5, "name", [self._name(s) for s in df["subject"]])
        else:  # accounts and devices stay (IT acts on them); people are withheld
            df["subject"] = [WITHHELD if k == "person" else s
                             for s, k in zip(df["subject"], df["subject_kind"], strict=True)]
            df = df.drop(columns=["year_group"])
        return df

    def queue_choices(self) -> dict[str, list[Any]]:
        self._require(Permission.view_alerts, "alert queue")
        return dsl_queries.queue_choices(self.reader.connect(), self.routings)

    def alert(self, alert_id: str) -> dict[str, Any]:
        """One alert with its clause texts, triage history and (for the DSL) the evidence."""
        self._require(Permission.view_alerts, "alert")
        con = self.reader.connect()
        self._require_alert(con, alert_id)
        row = dsl_queries.alert_row(con, alert_id)
        if row is None:  # pragma: no cover - routing_of found it
            raise AccessDenied(self.user.role, Permission.view_alerts)
        row["name"] = self._name(row["subject"])
        row["clauses"] = [(c, self.school.clause_text(c) if self.school else "")
                          for c in row["clause_ids"]]
        row["actions"] = dsl_queries.alert_actions(con, alert_id)
        if self.can(Permission.view_pupil_data):
            self._audit("view-alert", subject_kind=str(row["subject_kind"]),
                        subject_id=str(row["subject"]), detail=f"alert {alert_id}",
                        required=True)
            row["evidence"] = queries.alert_evidence(con, alert_id)
        else:
            row["evidence"] = None
            row.update(_withheld(row))
        return row

    def triage(self, alert_id: str, action: str, *, assignee: str | None = None,
               outcome: str | None = None, note: str | None = None) -> str:
        """Record a triage step; returns where it went ('topic', 'warehouse', 'spool')."""
        self._require(Permission.triage, "triage")
        con = self.reader.connect()
        self._require_alert(con, alert_id)
        school_id = str((dsl_queries.alert_row(con, alert_id) or {})["school_id"])
        step = AlertAction.new(alert_id, school_id, action, self.user.username,
                               self.user.role.value, assignee=assignee, outcome=outcome,
                               note=note)
        self._audit("triage", subject_kind="alert", subject_id=alert_id, detail=action)
        return self._submit(step)

    def pupils(self) -> list[tuple[str, str]]:
        """(person id, label) of every pupil, for the chronology picker."""
        self._require(Permission.view_pupil_data, "pupil list")
        if self.school is None:
            return []
        return [(p, f"{self.school.names.get(p, p)} ({p})") for p in self.school.pupils]

    def chronology(self, person_id: str) -> pd.DataFrame:
        self._require(Permission.view_pupil_data, "pupil chronology")
        con = self.reader.connect()
        if not dsl_queries.subject_routings(con, person_id) <= ROLE_ROUTINGS[self.user.role]:
            # e.g. an allegation about a member of staff is the headteacher's, not the DSL's
            df = queries.pupil_chronology(con, person_id)
            keep = dsl_queries.alert_ids_with_routing(con, self.routings)
            df = df[df["alert_id"].isna() | df["alert_id"].isin(keep)]
        else:
            df = queries.pupil_chronology(con, person_id)
        self._audit("view-chronology", subject_kind="pupil", subject_id=person_id,
                    required=True)
        return df.reset_index(drop=True)

    def record_incident(self, form: IncidentForm, db_path: Path,
                        ingest: Callable[[], str]) -> str:
        """Save the form's record (see `pipelines.incident_form`), audit who recorded it
        under the incident's id, then send it on (`ingest`)."""
        from pipelines.incident_form import save_to_inbox

        self._require(Permission.record_incident, "record incident")
        path = save_to_inbox(db_path, form, recorded_by=self.user.username)
        self._audit("record-incident", subject_kind="incident", subject_id=path.stem,
                    detail=f"{form.category}; pupils {', '.join(p for p, _ in form.pupils)}")
        return ingest()

    # ------------------------------------------------------------------ headteacher

    def audit_log(self, limit: int = 1_000) -> pd.DataFrame:
        self._require(Permission.view_audit, "audit log")
        self._audit("view-audit-log")
        return dsl_queries.audit_log(self.reader.connect(), limit=limit)

    # ------------------------------------------------------------------ IT

    def pipeline_health(self) -> dict[str, Any]:
        self._require(Permission.view_pipeline, "pipeline health")
        con = self.reader.connect()
        return {"manifest": self.reader.manifest(),
                "accounting": queries.ingest_accounting(con),
                "dead_letters": queries.dead_letter_reasons(con),
                "quality": queries.quality_summary(con),
                "throughput": dsl_queries.throughput(con),
                "lag": self._lag()}

    def rule_history(self) -> pd.DataFrame:
        self._require(Permission.edit_rules, "rule settings")
        school_id = self.school.school_id if self.school else ""
        return dsl_queries.rule_setting_history(self.reader.connect(), school_id)

    def current_rule_settings(self) -> dict[str, dict[str, Any]]:
        import orjson

        self._require(Permission.edit_rules, "rule settings")
        school_id = self.school.school_id if self.school else ""
        raw = dsl_queries.current_rule_settings(self.reader.connect(), school_id)
        return {k: orjson.loads(v) for k, v in raw.items()}

    def rules(self) -> list[RuleView]:
        """Every rule of the school's profile with IT's current settings applied."""
        from safeguard.rule_settings import effective_rules

        self._require(Permission.edit_rules, "rule settings")
        if self.school is None or self.school.profile is None:
            return []
        current = self.current_rule_settings()
        return [RuleView(r.id, r.kind, r.title, r.clause_ids, r.settings(), r.id in current)
                for r in effective_rules(self.school.profile, current)]

    def backtest_preview(self, rule_id: str, assignments: Mapping[str, str],
                         start: datetime, end: datetime) -> dict[str, Any]:
        """What the edit would have raised over [start, end), beside what was raised."""
        from pipelines.backtest import format_report, run_backtest

        self._require(Permission.edit_rules, "backtest")
        if self.school is None or self.school.profile is None:
            raise ConfigError("a backtest needs the school folder (--school)", field="school")
        report = run_backtest(self.reader.connect(), self.school.profile,
                              self.school.school_id, rule_id, dict(assignments), start, end)
        self._audit("backtest", subject_kind="rule", subject_id=rule_id,
                    detail=str(dict(assignments))[:500])
        pct = "n/a" if report.precision is None else f"{report.precision:.0%}"
        # the per-alert lines name subjects and the DSL's outcomes: only for pupil-data roles
        text = format_report(report) if self.can(Permission.view_pupil_data) else ""
        return {"current": len(report.raised), "would": len(report.would_raise),
                "precision": pct, "warnings": [w.message for w in report.warnings],
                "text": text}

    def edit_rule(self, rule_id: str, settings: Mapping[str, Any], reason: str) -> str:
        """Validate and submit IT's change; refused values raise `ConfigError`."""
        from safeguard.rule_settings import validated_change

        self._require(Permission.edit_rules, "edit rule")
        if self.school is None or self.school.profile is None:
            raise ConfigError("rule editing needs the school folder (--school)", field="school")
        change = validated_change(self.school.profile, self.school.school_id, rule_id,
                                  settings, changed_by=self.user.username,
                                  changed_at=datetime.now(UTC), reason=reason,
                                  current=self.current_rule_settings())
        self._audit("edit-rule", subject_kind="rule", subject_id=rule_id,
                    detail=str(dict(change.settings))[:500])
        return self._submit(change)

    # ------------------------------------------------------------------ governors

    def record_review(self, record: FilterReview | FilterChange) -> str:
        """A DfE review record or a block/allow change, audited."""
        self._require(Permission.edit_review, "review record")
        is_review = isinstance(record, FilterReview)
        self._audit("edit-review" if is_review else "record-filter-change",
                    subject_kind="review", subject_id=record.record_id)
        return self._submit(record)

    def terms(self) -> list[str]:
        self._require(Permission.view_termly, "termly review")
        if self.school is None or self.school.calendar is None:
            return []
        return [t.name for t in sorted(self.school.calendar.terms, key=lambda t: t.start)]

    def current_term(self) -> str:
        """The term under way today, else the latest that has started (else the first)."""
        terms = self.terms()
        if not terms or self.school is None or self.school.calendar is None:
            return terms[0] if terms else ""
        today = datetime.now(self.school.timezone).date()
        started = [t.name for t in sorted(self.school.calendar.terms, key=lambda t: t.start)
                   if t.start <= today]
        return started[-1] if started else terms[0]

    def governors_review(self, term: str, previous: int = 2) -> GovernorsReview:
        """The anonymised termly review (no names or ids, counts under 5 suppressed) —
        the same for every role that may see it."""
        from pipelines.review_export import build_review

        self._require(Permission.view_termly, "termly review")
        if self.school is None or self.school.calendar is None:
            raise ConfigError("the termly review needs the school folder (--school)",
                              field="school")
        return build_review(self.reader.connect(), self.school.calendar, term,
                            previous=previous, directory=self.school.directory)

    def export_review(self, review: GovernorsReview, fmt: str) -> bytes:
        from pipelines.review_export import to_html, to_pdf

        self._require(Permission.view_termly, "export")
        self._audit("export-review", subject_kind="review", detail=f"{review.term} {fmt}")
        return to_pdf(review) if fmt == "pdf" else to_html(review).encode("utf-8")

    def filter_records(self) -> tuple[list[FilterReview], list[FilterChange]]:
        """The DfE review records and the block/allow change log (staff names only)."""
        from warehouse.review_queries import filter_changes, filter_reviews

        self._require(Permission.view_termly, "filtering review")
        school_id = self.school.school_id if self.school else ""
        con = self.reader.connect()
        reviews, changes = filter_reviews(con, school_id), filter_changes(con, school_id)
        if self.can(Permission.view_pupil_data):
            return reviews, changes
        from pipelines.review_export import identity_scrubber, scrub_change, scrub_review

        scrub = identity_scrubber(self.school.directory if self.school else None)
        return [scrub_review(r, scrub) for r in reviews], [scrub_change(c, scrub) for c in changes]
