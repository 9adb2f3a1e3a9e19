"""Core objects -> Arrow tables, column by column (never row-by-row SQL inserts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pyarrow as pa

from safeguard.alerts import Alert
from safeguard.deadletters import DeadLetter
from safeguard.events import Event

_TS = pa.timestamp("us")


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None)


EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("ts", _TS), ("school_id", pa.string()),
    ("category", pa.string()), ("type", pa.string()), ("action", pa.string()),
    ("outcome", pa.string()), ("dataset", pa.string()), ("reason", pa.string()),
    ("user_name", pa.string()), ("source_ip", pa.string()), ("host_name", pa.string()),
    ("url_original", pa.string()), ("url_domain", pa.string()), ("http_method", pa.string()),
    ("http_status", pa.int32()), ("categories", pa.list_(pa.string())),
    ("search_terms", pa.string()), ("asset_tag", pa.string()), ("labels", pa.string()),
    ("person_id", pa.string()), ("person_role", pa.string()), ("year_group", pa.string()),
    ("boarder", pa.bool_()), ("location", pa.string()), ("location_kind", pa.string()),
    ("school_hours", pa.bool_()), ("term_time", pa.bool_()), ("raw", pa.string()),
    ("themes", pa.list_(pa.string())),
    ("asset_owner", pa.string()), ("asset_ownership", pa.string()),
    ("asset_category", pa.string()), ("after_leave", pa.bool_()),
])
_EVENT_ATTRS = {"ts": "timestamp"}


def events_table(events: Sequence[Event]) -> pa.Table:
    columns = []
    for f in EVENT_SCHEMA:
        attr = _EVENT_ATTRS.get(f.name, f.name)
        values = [getattr(e, attr) for e in events]
        if f.name == "ts":
            values = [_naive_utc(v) for v in values]
        elif f.name in ("categories", "themes"):
            values = [list(v) for v in values]
        elif f.name == "labels":
            values = [orjson.dumps(dict(v)).decode() if v else None for v in values]
        columns.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(columns, schema=EVENT_SCHEMA)


ALERT_SCHEMA = pa.schema([
    ("alert_id", pa.string()), ("version", pa.int32()), ("school_id", pa.string()),
    ("profile_id", pa.string()), ("rule_id", pa.string()), ("title", pa.string()),
    ("clause_ids", pa.list_(pa.string())), ("severity", pa.int8()), ("category", pa.string()),
    ("routing", pa.string()), ("subject", pa.string()), ("subject_kind", pa.string()),
    ("score", pa.float64()), ("first_seen", _TS), ("last_seen", _TS), ("window_start", _TS),
    ("window_end", _TS), ("event_count", pa.int32()), ("evidence_event_ids", pa.list_(pa.string())),
])


def alerts_table(alerts: Sequence[Alert]) -> pa.Table:
    columns = []
    for f in ALERT_SCHEMA:
        values = [getattr(a, f.name) for a in alerts]
        if f.type == _TS:
            values = [_naive_utc(v) for v in values]
        elif pa.types.is_list(f.type):
            values = [list(v) for v in values]
        columns.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(columns, schema=ALERT_SCHEMA)


DEAD_LETTER_SCHEMA = pa.schema([
    ("dead_letter_id", pa.string()), ("school_id", pa.string()), ("dataset", pa.string()),
    ("stage", pa.string()), ("reason", pa.string()), ("raw", pa.string()),
    ("source", pa.string()), ("line_no", pa.int64()), ("received_at", _TS),
])


def dead_letters_table(dead: Sequence[DeadLetter], received_at: datetime) -> pa.Table:
    rows = {
        "dead_letter_id": [d.dead_letter_id for d in dead],
        "school_id": [d.school_id for d in dead], "dataset": [d.dataset for d in dead],
        "stage": [d.stage for d in dead], "reason": [d.reason for d in dead],
        "raw": [d.raw for d in dead], "source": [d.source for d in dead],
        "line_no": [d.line_no for d in dead],
        "received_at": [_naive_utc(received_at)] * len(dead),
    }
    return pa.Table.from_pydict(rows, schema=DEAD_LETTER_SCHEMA)
