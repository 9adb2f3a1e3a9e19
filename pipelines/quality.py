"""Great Expectations data-quality suites: one per source (`KIND:FORMAT`), run on every batch.

Parsers refuse what cannot be an event; these suites state, as data a reviewer can read, what a
*valid* event of each source is, and check each parsed batch. Rows failing an "error" expectation
become dead letters (stage "validate") naming every expectation failed and the value; "warning"
expectations (batch facts such as a repeated event id, or lists real installs may extend, e.g.
translated Snipe-IT actions) are only recorded. Nothing is lost: valid + dead == rows in, valid
rows keep their order, and if GX fails the rows go on with a "suite_failed" check.

Two passes because GX's cost is per expectation and result format: BASIC (counts) on every batch,
then COMPLETE (`unexpected_index_list`) only for the error expectations that failed. `timestamp`
is epoch seconds: GX compares datetime columns row by row (~7x slower at 20,000 rows).

Measured on the 2-core box with a CI run sharing it (load ~4; filter:squid, 14 expectations,
simulated events): `start()` (GX import + context) ~3.6 s once; a source's first batch builds its
suite (+~150 ms); then `validate` takes ~105 ms for 500 events and ~200 ms for 20,000 (building
the frame is ~60 ms of that); with 2% failing rows ~125 ms / ~250 ms. GX alone: BASIC ~90 / ~130
ms against ~145 / ~180 ms for one COMPLETE pass. So validate big batches, not Kafka messages.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from producers import (
    e2guardian,
    entra_signin,
    filter_csv,
    fortigate,
    google_workspace,
    incidents,
    samba_audit,
    snipeit,
    squid,
    squidguard,
    winlogbeat,
)
from producers.parsing import EARLIEST, MAX_FUTURE
from safeguard.deadletters import DeadLetter
from safeguard.events import OUTCOMES, Event

log = logging.getLogger(__name__)

SEVERITIES = frozenset({"error", "warning"})
_GX_SEVERITY = {"error": "critical", "warning": "warning"}
SUITE_FAILED = "suite_failed"
MAX_VALUE_CHARS = 80
MAX_REASON_CHARS = 1000

# Columns a suite may name: Event attributes, plus labels some parsers set.
_LABEL_COLUMNS = {"item_type": "snipeit.item_type", "log_id": "snipeit.log_id",
                  "incident_id": "incident.id", "cin_factor": "incident.cin_factor"}
_ATTR_COLUMNS = ("timestamp", "event_id", "school_id", "dataset", "raw", "category", "action",
                 "outcome", "user_name", "url_original", "url_domain", "http_method",
                 "http_status", "asset_tag")
COLUMNS = frozenset(_ATTR_COLUMNS) | frozenset(_LABEL_COLUMNS)
# Required enumerated fields: a missing value becomes "" so their in-set check also catches it.
_ENUMS = frozenset({"school_id", "dataset", "category", "outcome", "action"})

# IANA HTTP Method Registry plus extensions proxies log (Squid PURGE, Exchange/Outlook WebDAV
# and RPC over HTTP). Outside it is only a warning: a method is any token (RFC 9110 9.1).
HTTP_METHODS = frozenset({
    "ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET",
    "HEAD", "LABEL", "LINK", "LOCK", "MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MKREDIRECTREF",
    "MKWORKSPACE", "MOVE", "OPTIONS", "ORDERPATCH", "PATCH", "POST", "PRI", "PROPFIND", "PROPPATCH",
    "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "TRACE", "UNBIND", "UNCHECKOUT", "UNLINK",
    "UNLOCK", "UPDATE", "UPDATEREDIRECTREF", "VERSION-CONTROL", "PURGE", "BCOPY", "BDELETE",
    "BMOVE", "BPROPFIND", "BPROPPATCH", "NOTIFY", "POLL", "SUBSCRIBE", "UNSUBSCRIBE",
    "RPC_IN_DATA", "RPC_OUT_DATA"})
# Snipe-IT's ActionType values as the parser emits them (lower case, "checkin from" ->
# "checkin") and their en-US labels: API and CSV both carry trans('general.<action>'), so
# another language gives other words. Hence a warning, not an error.
SNIPEIT_ACTIONS = frozenset({
    "checkout", "checkin", "requested", "request canceled", "accepted", "declined", "audit",
    "create", "create new", "update", "delete", "restore", "uploaded", "upload deleted",
    "note added", "2fa reset", "merged", "add seats", "added seats", "delete seats",
    "deleted seats", "unknown"})


def _condition_columns(condition: Any) -> set[str]:
    """Columns a GX row condition (its dict form, possibly nested and/or) names."""
    if isinstance(condition, Mapping):
        column = condition.get("column")
        own = {str(column.get("name"))} if isinstance(column, Mapping) else set()
        return own.union(*map(_condition_columns, condition.values()))
    items = condition if isinstance(condition, list) else []
    return set().union(*map(_condition_columns, items))


def where(column: str, value: str) -> dict[str, Any]:
    """A GX row condition `column == value`, as data (GX 1.9+ Condition objects serialise so;
    string conditions with condition_parser are deprecated)."""
    return {"type": "comparison", "column": {"name": column}, "operator": "==", "parameter": value}


@dataclass(frozen=True, slots=True)
class Expectation:
    """One expectation as data: a GX expectation type, its column, other kwargs, severity."""

    type: str
    column: str
    kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)
    severity: str = "error"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"expect_[a-z0-9_]+", self.type):
            raise ValueError(f"not a GX expectation type: {self.type!r}")
        if self.column not in COLUMNS:
            raise ValueError(f"unknown column {self.column!r}; known: {sorted(COLUMNS)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {sorted(SEVERITIES)}")
        object.__setattr__(self, "kwargs", dict(self.kwargs))
        if "column" in self.kwargs or not self.columns() <= COLUMNS:
            raise ValueError(f"kwargs name a column (known: {sorted(COLUMNS)}) badly")

    @property
    def key(self) -> tuple[str, str]:
        return self.type, self.column

    def columns(self) -> set[str]:
        """The column and any its row_condition reads (the frame must hold them)."""
        return {self.column, *_condition_columns(self.kwargs.get("row_condition"))}

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "column": self.column, "kwargs": dict(self.kwargs),
                "severity": self.severity}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Expectation:
        return cls(data["type"], data["column"], data.get("kwargs", {}),
                   data.get("severity", "error"))


@dataclass(frozen=True, slots=True)
class SuiteSpec:
    """A named suite; (type, column) is unique, as the dq_results key needs."""

    name: str
    expectations: tuple[Expectation, ...]

    def __post_init__(self) -> None:
        if not self.name or not self.expectations:
            raise ValueError("a suite needs a name and expectations")
        keys = [e.key for e in self.expectations]
        if len(set(keys)) != len(keys):
            raise ValueError(f"suite {self.name} repeats an expectation on a column")

    def columns(self) -> set[str]:
        return set().union(*(e.columns() for e in self.expectations))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "expectations": [e.to_dict() for e in self.expectations]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuiteSpec:
        return cls(name=data["name"],
                   expectations=tuple(Expectation.from_dict(e) for e in data["expectations"]))


@dataclass(frozen=True, slots=True)
class QualityCheck:
    """The outcome of one expectation on one batch (a row of `dq_results`)."""

    suite: str
    expectation: str
    column: str
    severity: str
    success: bool
    element_count: int
    unexpected_count: int

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {sorted(SEVERITIES)}")
        if self.element_count < 0 or self.unexpected_count < 0:
            raise ValueError("counts cannot be negative")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityCheck:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Rows that go on, rows dead-lettered, and one check per expectation of the suite."""

    valid: tuple[Event, ...]
    dead_letters: tuple[DeadLetter, ...]
    checks: tuple[QualityCheck, ...]

    @property
    def passed(self) -> bool:
        return all(c.success for c in self.checks if c.severity == "error")

    def to_dict(self) -> dict[str, Any]:
        return {"valid": [e.to_dict() for e in self.valid],
                "dead_letters": [d.to_dict() for d in self.dead_letters],
                "checks": [c.to_dict() for c in self.checks]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityReport:
        return cls(valid=tuple(Event.from_dict(e) for e in data["valid"]),
                   dead_letters=tuple(DeadLetter.from_dict(d) for d in data["dead_letters"]),
                   checks=tuple(QualityCheck.from_dict(c) for c in data["checks"]))

    def result_rows(self, *, batch_id: str, school_id: str, source: str,
                    checked_at: datetime) -> list[dict[str, Any]]:
        """The checks as `dq_results` rows (key: batch_id, expectation, column_name)."""
        return [{"batch_id": batch_id, "school_id": school_id, "source": source,
                 "suite": c.suite, "expectation": c.expectation, "column_name": c.column,
                 "severity": c.severity, "success": c.success,
                 "element_count": c.element_count, "unexpected_count": c.unexpected_count,
                 "checked_at": checked_at} for c in self.checks]


# ------------------------------------------------------------------------------- the suites

def _x(type_: str, column: str, severity: str = "error", **kwargs: Any) -> Expectation:
    return Expectation(f"expect_column_values_to_{type_}", column, kwargs, severity)


def _base(datasets: Iterable[str], categories: Iterable[str]) -> list[Expectation]:
    """What every event is: a plausible time, an id, this school, this source, the raw record."""
    return [
        _x("be_between", "timestamp", min_value=EARLIEST.timestamp(),
           max_value={"$PARAMETER": "latest_timestamp"}),
        _x("not_be_null", "event_id"),
        _x("be_in_set", "school_id", value_set={"$PARAMETER": "school_ids"}),
        _x("be_in_set", "dataset", value_set=sorted(datasets)),
        _x("not_be_null", "raw"),
        _x("be_in_set", "category", value_set=sorted(categories)),
        _x("be_unique", "event_id", "warning"),  # a replayed line within one batch
    ]


def _web(dataset: str, verdicts: Iterable[str], *, status: bool, method: str) -> list[Expectation]:
    """`method`: "required" (the format always logs it), "optional" or "none"."""
    out = [*_base([dataset], ["web"]), _x("not_be_null", "url_original"),
           _x("not_be_null", "url_domain"), _x("be_in_set", "action", value_set=sorted(verdicts))]
    if status:  # 0/000 (aborted) is parsed as no status; any other is a 3-digit code
        out.append(_x("be_between", "http_status", min_value=100, max_value=999))
    if method == "required":
        out.append(_x("not_be_null", "http_method"))
    if method != "none":
        out += [_x("match_regex", "http_method", regex=r"^[A-Z][A-Z0-9_-]{0,31}$"),
                _x("be_in_set", "http_method", "warning", value_set=sorted(HTTP_METHODS))]
    return out


def _auth(dataset: str, categories: Iterable[str], actions: Iterable[str] | None
          ) -> list[Expectation]:
    """A login or session: a known outcome, and an account whenever it succeeded (a failed
    attempt may name none, e.g. Windows 4625 with TargetUserName "-")."""
    out = [*_base([dataset], categories), _x("be_in_set", "outcome", value_set=sorted(OUTCOMES)),
           _x("not_be_null", "user_name", row_condition=where("outcome", "success"))]
    if actions is not None:
        out.append(_x("be_in_set", "action", value_set=sorted(actions)))
    else:  # Google: event names are an open list; the actor is always an email address
        out.append(_x("match_regex", "user_name", regex=r"^[^@\s]+@[^@\s]+$"))
    return out


def _device(dataset: str, *, api: bool) -> list[Expectation]:
    """Snipe-IT: every asset row carries its tag (accessories, licenses... have none)."""
    out = [*_base([dataset], ["device"]),
           _x("not_be_null", "asset_tag", row_condition=where("item_type", "asset")),
           _x("be_in_set", "action", "warning", value_set=sorted(SNIPEIT_ACTIONS))]
    if api:  # ActionlogsTransformer always sends the log row's id
        out.append(_x("not_be_null", "log_id"))
    return out


def _incident() -> list[Expectation]:
    return [*_base([incidents.DATASET], ["incident"]),
            _x("be_in_set", "action", value_set=sorted(incidents.CATEGORIES)),
            _x("not_be_null", "incident_id"),
            _x("match_regex", "cin_factor", regex=r"^\d{1,2}[A-Z]?(?:;\d{1,2}[A-Z]?)*$")]


_FILTER_VERDICTS = ("allowed", "blocked")
_SUITES: dict[str, list[Expectation]] = {
    "filter:squid": _web(squid.DATASET, _FILTER_VERDICTS, status=True, method="required"),
    "filter:e2guardian": _web(e2guardian.DATASET, (*_FILTER_VERDICTS, "exception", "error"),
                              status=True, method="required"),
    "filter:squidguard": _web(squidguard.DATASET, _FILTER_VERDICTS, status=False,
                              method="required"),
    "filter:fortigate": _web(fortigate.DATASET, set(fortigate.ACTIONS.values()), status=False,
                             method="optional"),
    "filter:csv": _web(filter_csv.DATASET, set(filter_csv.VERDICTS.values()), status=True,
                       method="none"),
    "auth:winlogbeat": _auth(winlogbeat.DATASET, ["authentication", "session", "iam"],
                             ["logged-in", "logon-failed", "logged-out",
                              "locked-out-user-account"]),
    "auth:samba": _auth(samba_audit.DATASET, ["authentication", "session"],
                        ["logged-in", "logon-failed", "authorized"]),
    "auth:google": _auth(google_workspace.DATASET, ["authentication", "session", "iam"], None),
    "auth:entra": _auth(entra_signin.DATASET, ["authentication"], ["logged-in", "logon-failed"]),
    "device:snipeit-api": _device(snipeit.DATASET_API, api=True),
    "device:snipeit-csv": _device(snipeit.DATASET_CSV, api=False),
    "incident:csv": _incident(),
}
_SUITES["auth:google-json"] = _SUITES["auth:google"]
SOURCES = frozenset(_SUITES)


def suite_for(source: str) -> SuiteSpec:
    """The suite of a `KIND:FORMAT` source, or a ValueError listing the supported ones."""
    try:
        return SuiteSpec(name=f"safeguard.{source}", expectations=tuple(_SUITES[source]))
    except KeyError:
        raise ValueError(f"no quality suite for {source!r}; supported: "
                         f"{', '.join(sorted(_SUITES))}") from None


# ------------------------------------------------------------------------------- validation

def _frame(columns: Iterable[str], events: Sequence[Event]) -> Any:
    """Only the columns the suite reads; blank text is missing (None, or "" for _ENUMS)."""
    import pandas as pd

    data: dict[str, list[Any]] = {}
    for column in sorted(columns):
        if column == "timestamp":
            data[column] = [e.timestamp.timestamp() for e in events]
        elif column == "http_status":
            data[column] = [math.nan if e.http_status is None else float(e.http_status)
                            for e in events]
        else:
            label, missing = _LABEL_COLUMNS.get(column), "" if column in _ENUMS else None
            values = ([e.labels.get(label) for e in events] if label
                      else [getattr(e, column) for e in events])
            data[column] = [v if v and not v.isspace() else missing for v in values]
    return pd.DataFrame(data)


def _shown(event: Event, column: str) -> str:
    label = _LABEL_COLUMNS.get(column)
    value = event.labels.get(label) if label else getattr(event, column)
    text = value.isoformat() if isinstance(value, datetime) else repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 3] + "..."


def _raised(result: Any) -> bool:
    info = result.exception_info or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(isinstance(v, Mapping) and v.get("raised_exception") for v in info.values())


class Validator:
    """Runs the suites with one ephemeral GX context; GX is imported on first use (~3 s)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: Any = None
        self._context: Any = None
        self._suites: dict[str, tuple[SuiteSpec, Any, dict[tuple[str, str], Any]]] = {}

    @property
    def started(self) -> bool:
        return self._context is not None

    def start(self) -> None:
        """Import GX and build the context, datasource and batch definition (idempotent)."""
        with self._lock:
            if self._context is not None:
                return
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            asset = context.data_sources.add_pandas("safeguard").add_dataframe_asset("batch")
            self._batches = asset.add_batch_definition_whole_dataframe("whole batch")
            self._context = context

    def _suite(self, source: str) -> tuple[SuiteSpec, Any, dict[tuple[str, str], Any]]:
        if source not in self._suites:
            import great_expectations as gx
            from great_expectations.expectations.expectation_configuration import (
                ExpectationConfiguration,
            )
            from great_expectations.expectations.metadata_types import FailureSeverity

            spec = suite_for(source)
            suite = self._context.suites.add(gx.ExpectationSuite(name=spec.name, expectations=[
                ExpectationConfiguration(type=e.type, kwargs={"column": e.column, **e.kwargs},
                                         severity=FailureSeverity(_GX_SEVERITY[e.severity]),
                                         meta={"severity": e.severity}).to_domain_obj()
                for e in spec.expectations]))
            by_key = {(x.expectation_type, x.column): x for x in suite.expectations}
            self._suites[source] = (spec, suite, by_key)
        return self._suites[source]

    def validate(self, source: str, events: Iterable[Event], *, school_id: str,
                 now: datetime, path: str = "") -> QualityReport:
        """Check a batch of one source; never raises (a GX failure lets every row go on).
        `path` is the file the batch came from (DeadLetter.source)."""
        batch = tuple(events)
        if not batch:
            return QualityReport((), (), ())
        try:
            return self._validate(source, batch, school_id, now, path)
        except Exception:
            log.warning("quality suite of %s failed; %d rows go on unchecked", source,
                        len(batch), exc_info=True)
            failed = QualityCheck(f"safeguard.{source}", SUITE_FAILED, "", "error", False,
                                  len(batch), 0)
            return QualityReport(batch, (), (failed,))

    def _validate(self, source: str, events: tuple[Event, ...], school_id: str, now: datetime,
                  path: str) -> QualityReport:
        self.start()
        with self._lock:
            spec, suite, by_key = self._suite(source)
            now = now if now.tzinfo else now.replace(tzinfo=UTC)
            params = {"latest_timestamp": (now + MAX_FUTURE).timestamp(),
                      "school_ids": [school_id]}
            gx_batch = self._batches.get_batch(
                batch_parameters={"dataframe": _frame(spec.columns(), events)})
            first = gx_batch.validate(suite, result_format="BASIC",
                                      expectation_parameters=params)
            results = {(r.expectation_config.type, r.expectation_config.kwargs.get("column")): r
                       for r in first.results}
            checks, failed = [], []
            for e in spec.expectations:  # a check per expectation, even one GX could not run
                r: Any = results.get(e.key)
                ran = r is not None and not _raised(r)
                counts = r.result if ran else {}
                checks.append(QualityCheck(
                    suite=spec.name, expectation=e.type, column=e.column, severity=e.severity,
                    success=ran and bool(r.success),
                    element_count=int(counts.get("element_count", len(events)) or 0),
                    unexpected_count=int(counts.get("unexpected_count") or 0)))
                if ran and not r.success and e.severity == "error":
                    failed.append(e)
            why: dict[int, list[str]] = {}
            for e in failed:  # the rare path: which rows, for error expectations only
                full = gx_batch.validate(by_key[e.key], result_format="COMPLETE",
                                         expectation_parameters=params)
                for index in full.result.get("unexpected_index_list") or ():
                    i = int(index)
                    why.setdefault(i, []).append(
                        f"{e.type}({e.column}) got {_shown(events[i], e.column)}")
        dead = tuple(DeadLetter(
            school_id=school_id, dataset=events[i].dataset, stage="validate",
            reason=("failed " + "; ".join(why[i]))[:MAX_REASON_CHARS], raw=events[i].raw,
            # one raw record can carry several events (a Google activity): the event's id
            # keeps their dead letters apart
            source=f"{path}#{events[i].event_id}", line_no=None) for i in sorted(why))
        valid = tuple(e for i, e in enumerate(events) if i not in why)
        return QualityReport(valid, dead, tuple(checks))
