"""Snipe-IT activity (who had which device when) -> `device` events, from the API or the CSV.

API (`device:snipeit-api`): NDJSON, each line a whole `GET /api/v1/reports/activity`
response `{"total": N, "rows": [...]}` (or a bare list of rows) or one row. Row shape from
snipe/snipe-it app/Http/Transformers/ActionlogsTransformer.php: `id`, `item` {id, name, type,
serial}, `target` {id, name, type: user|asset|location}, `admin`/`created_by` {id, name},
`location` {id, name}, `created_at`/`action_date` {datetime "Y-m-d H:i:s", formatted},
`action_type`, `note`, `log_meta` {field: {old, new}}. Names and notes are HTML-escaped by
Snipe-IT (`e()`), so they are unescaped here. One event per row; its raw record is the row
as canonical JSON, so a row seen in two pages gets one id.

CSV (`device:snipeit-csv`): Reports -> Activity Report -> Download, written by
ReportsController::postActivityReport (app/Http/Controllers/ReportsController.php). Read by
POSITION, never by header name, because the header and the data disagree:
- older releases (commit 02caa132): 8 columns, header = data = Date, Admin, Action, Type,
  Item, To, Notes, Changed (log_meta).
- newer releases (commit b6f05bff): header Date, Admin, Action, Type, Item, License Serial,
  Model Name, Model No., To, Notes, Login IP, Login User Agent, Action Source, Changed; but
  each row is created_at, admin, action, item type, item, serial, model name, model no.,
  target, note, log_meta, remote_ip, user_agent, action_source: column 11 holds "Changed".
- some later builds write log_meta last (matching the header); 14-column rows are told apart
  by content (log_meta is a JSON object, remote_ip an IP address).
A column named `expected_checkin` (or "Expected Checkin Date", as the asset list export calls
it) after those is used if present.
The CSV has no target type: a target named like an asset ("… (TAG)") is an asset, any other
target of a checkout/checkin is taken as the user (a location name would stay unresolved).

Snipe-IT writes times in its app time zone without an offset: `tz` is that zone.
Asset tag rule: Snipe-IT shows an asset as "Name (TAG)", "Model (TAG)", "Name (TAG) - Model"
or just "TAG"; the tag is the first "(…)" without spaces that ends the name or is followed by
" - ", else a name that is one word. Only `asset` items get a tag; accessories, licenses,
consumables and components still become events, with their names in labels.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import orjson

from producers.csv_records import CsvRecord, header_key, reader_for
from producers.incidents import local_time, zone_of
from producers.parsing import ParseContext, ParseResult, check_timestamp, is_ip
from safeguard.deadletters import DeadLetter
from safeguard.events import Event, stable_event_id

DATASET_API = "snipeit.activity"
DATASET_CSV = "snipeit.activity_csv"
MAX_RESPONSE_CHARS = 32 * 1024 * 1024  # one API page per line can be far longer than a log line
_BASE = ("when", "admin", "action_type", "item_type", "item_name")
LAYOUT_8 = (*_BASE, "target_name", "note", "log_meta")
LAYOUT_14 = (*_BASE, "item_serial", "model", "model_number", "target_name", "note", "log_meta",
             "remote_ip", "user_agent", "action_source")
LAYOUT_14_META_LAST = (*LAYOUT_14[:10], "remote_ip", "user_agent", "action_source", "log_meta")
EXPECTED_CHECKIN_COLUMNS = frozenset({"expected_checkin", "expected checkin",
                                      "expected checkin date", "expected_checkin_date"})
_ACTIONS = {"checkin from": "checkin"}
_EVENT_TYPES = {"checkout": "change", "checkin": "change", "update": "change",
                "create": "creation", "delete": "deletion"}
_TAG = re.compile(r"\(([^()\s]{1,64})\)(?=\s+-\s|\s*$)")
_BARE_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/#-]{0,63}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_NOTE_EXPECTED = re.compile(r"expected[\s_-]*check[\s_-]*in\D{0,12}(\d{4}-\d{2}-\d{2})", re.I)
_LABELS = {"log_id": "snipeit.log_id", "action_type": "snipeit.action_type",
           "item_id": "snipeit.item_id", "item_name": "snipeit.item_name",
           "item_type": "snipeit.item_type", "item_serial": "snipeit.item_serial",
           "model": "snipeit.model", "target_type": "snipeit.target_type",
           "target_name": "snipeit.target_name", "target_id": "snipeit.target_id",
           "admin": "snipeit.admin", "note": "snipeit.note", "location": "snipeit.location",
           "action_date": "snipeit.action_date", "action_source": "snipeit.action_source",
           "remote_ip": "snipeit.remote_ip", "expected_checkin": "snipeit.expected_checkin"}


def asset_tag_from_name(name: str) -> str | None:
    """The asset tag inside a Snipe-IT asset display name (rule in the module docstring)."""
    name = name.strip()
    match = _TAG.search(name)
    if match:
        return match.group(1)
    return name if _BARE_TAG.fullmatch(name) else None


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return html.unescape(str(value)).strip()


def _when(value: Any) -> str:
    """A Snipe-IT date object {datetime|date, formatted} or a plain string."""
    if isinstance(value, dict):
        return _text(value.get("datetime") or value.get("date"))
    return _text(value)


def _date_part(text: str) -> str:
    return text[:10] if _DATE.match(text) else text


def _expected_checkin(act: dict[str, str], meta: Any) -> str:
    if act.get("expected_checkin"):
        return _date_part(act["expected_checkin"])
    value = meta.get("expected_checkin") if isinstance(meta, dict) else None
    if isinstance(value, dict):
        value = value.get("new")
    if _text(value):
        return _date_part(_text(value))
    match = _NOTE_EXPECTED.search(act.get("note", ""))
    return match.group(1) if match else ""


def _add(result: ParseResult, out: Event | DeadLetter) -> None:
    if isinstance(out, Event):
        result.events.append(out)
    else:
        result.dead_letters.append(out)


def _dead(ctx: ParseContext, dataset: str, line_no: int, raw: str, reason: str) -> DeadLetter:
    return DeadLetter(school_id=ctx.school_id, dataset=dataset, stage="parse", reason=reason,
                      raw=raw, source=ctx.source, line_no=line_no)


def activity_event(act: dict[str, str], meta: Any, *, raw: str, line_no: int, dataset: str,
                   ctx: ParseContext, tz: str = "UTC") -> Event | DeadLetter:
    """One activity (fields named as in `_LABELS`, plus `when`) -> event or dead letter."""
    when = act.get("when", "")
    if not when:
        return _dead(ctx, dataset, line_no, raw, "row has no created_at/action_date datetime")
    ts = local_time(when, zone_of(tz))
    if ts is None:
        return _dead(ctx, dataset, line_no, raw, f"datetime {when[:60]!r} is not Y-m-d H:i:s")
    reason = check_timestamp(ts, ctx)
    if reason:
        return _dead(ctx, dataset, line_no, raw, reason)
    action_type = act.get("action_type", "").lower()
    if action_type.startswith("general."):  # an untranslated Snipe-IT language key
        action_type = action_type.removeprefix("general.").replace("_", " ")
    action = _ACTIONS.get(action_type, action_type) or "unknown"
    item_name, target_name = act.get("item_name", ""), act.get("target_name", "")
    asset_tag = asset_tag_from_name(item_name) if act.get("item_type") == "asset" else None
    target_type = act.get("target_type", "")
    if not target_type and target_name and action in ("checkout", "checkin"):
        target_type = "asset" if _TAG.search(target_name) else "user"  # CSV: inferred
    labels = {_LABELS[k]: v for k, v in act.items() if k in _LABELS and v}
    if target_type:
        labels["snipeit.target_type"] = target_type
    expected = _expected_checkin(act, meta)
    if expected:
        labels["snipeit.expected_checkin"] = expected
    return Event(timestamp=ts, event_id=stable_event_id(ctx.school_id, dataset, raw),
                 category="device", type=_EVENT_TYPES.get(action, "info"), action=action,
                 outcome="success", dataset=dataset, school_id=ctx.school_id, raw=raw,
                 user_name=target_name if target_type == "user" and target_name else None,
                 asset_tag=asset_tag, labels=labels)


def api_activity(row: dict[str, Any]) -> dict[str, str]:
    """An API row's fields, flattened to the names `activity_event` reads."""
    def obj(key: str) -> dict[str, Any]:
        value = row.get(key)
        return value if isinstance(value, dict) else {}
    item, target = obj("item"), obj("target")
    admin = obj("created_by") or obj("admin")
    return {"when": _when(row.get("created_at")) or _when(row.get("action_date")),
            "log_id": _text(row.get("id")), "action_type": _text(row.get("action_type")),
            "item_id": _text(item.get("id")), "item_name": _text(item.get("name")),
            "item_type": _text(item.get("type")).lower(), "item_serial": _text(item.get("serial")),
            "target_id": _text(target.get("id")), "target_name": _text(target.get("name")),
            "target_type": _text(target.get("type")).lower(), "admin": _text(admin.get("name")),
            "note": _text(row.get("note")), "location": _text(obj("location").get("name")),
            "action_date": _when(row.get("action_date")),
            "expected_checkin": _when(row.get("expected_checkin"))}


def _rows_of(line: str) -> list[Any]:
    if len(line) > MAX_RESPONSE_CHARS:
        raise ValueError(f"line longer than {MAX_RESPONSE_CHARS} characters")
    doc = orjson.loads(line)
    if isinstance(doc, dict) and "rows" in doc:
        if not isinstance(doc["rows"], list):
            raise ValueError("`rows` is not a list")
        return list(doc["rows"])
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        return [doc]
    raise ValueError("not an activity response or row (a JSON object)")


def parse_snipeit_api(lines: Iterable[tuple[int, str]], ctx: ParseContext,
                      tz: str = "UTC") -> ParseResult:
    """NDJSON of activity responses or rows; every row is an event or a dead letter."""
    zone_of(tz)
    result = ParseResult()
    for line_no, text in lines:
        line = text.removeprefix("\ufeff").rstrip("\r\n")
        if not line.strip():
            continue
        try:
            rows = _rows_of(line)
        except (ValueError, TypeError) as exc:
            result.dead_letters.append(_dead(ctx, DATASET_API, line_no, line,
                                             f"not Snipe-IT activity JSON: {exc}"))
            continue
        for row in rows:
            try:
                raw = orjson.dumps(row, option=orjson.OPT_SORT_KEYS).decode()
                if not isinstance(row, dict):
                    out: Event | DeadLetter = _dead(ctx, DATASET_API, line_no, raw,
                                                    "activity row is not a JSON object")
                else:
                    out = activity_event(api_activity(row), row.get("log_meta"), raw=raw,
                                         line_no=line_no, dataset=DATASET_API, ctx=ctx, tz=tz)
            except Exception as exc:
                out = _dead(ctx, DATASET_API, line_no, line[:MAX_RESPONSE_CHARS],
                            f"unparseable: {type(exc).__name__}: {exc}")
            _add(result, out)
    return result


def csv_activity(rec: CsvRecord, header: list[str] | None) -> tuple[dict[str, str], Any] | str:
    """A CSV row by position (see module docstring) -> (fields, log_meta), or a reason."""
    fields = rec.data if isinstance(rec.data, list) else list(rec.data.values())
    if header is not None and len(fields) != len(header):
        return f"expected {len(header)} fields (as the header), found {len(fields)}"
    width = len(header) if header is not None else len(fields)
    layout: tuple[str, ...]
    if width >= 14:
        meta_last = (not fields[10].lstrip().startswith("{")
                     and (fields[13].lstrip().startswith("{") or is_ip(fields[10].strip())))
        layout = LAYOUT_14_META_LAST if meta_last else LAYOUT_14
    elif width >= 8:
        layout = LAYOUT_8
    else:
        return f"expected 8 or 14 columns (Snipe-IT activity report), found {width}"
    act = {name: _text(value) for name, value in zip(layout, fields, strict=False)}
    act["item_type"] = act["item_type"].lower()
    for i, name in enumerate(header or ()):
        if i >= len(layout) and header_key(name) in EXPECTED_CHECKIN_COLUMNS:
            act["expected_checkin"] = _text(fields[i])
    meta: Any = None
    if fields[layout.index("log_meta")].lstrip().startswith("{"):
        try:
            meta = orjson.loads(fields[layout.index("log_meta")])
        except orjson.JSONDecodeError:
            meta = None
    return act, meta


def parse_snipeit_csv(lines: Iterable[tuple[int, str]], ctx: ParseContext,
                      tz: str = "UTC") -> ParseResult:
    """One chunk of the activity CSV; header and split records are kept by `csv_records`."""
    zone_of(tz)
    result = ParseResult()
    items = list(lines)
    reader = reader_for(ctx, DATASET_CSV, header=True, keyed=False, require_width=False)
    try:
        records = reader.feed(items)
    except Exception as exc:  # a reader bug must not lose the chunk silently
        result.dead_letters.extend(_dead(ctx, DATASET_CSV, n, t.rstrip("\r\n"),
                                         f"unparseable: {exc}") for n, t in items if t.strip())
        return result
    for rec in records:
        if isinstance(rec, DeadLetter):
            result.dead_letters.append(rec)
            continue
        try:
            parsed = csv_activity(rec, reader.header)
            if isinstance(parsed, str):
                out: Event | DeadLetter = _dead(ctx, DATASET_CSV, rec.line_no, rec.raw, parsed)
            else:
                out = activity_event(parsed[0], parsed[1], raw=rec.raw, line_no=rec.line_no,
                                     dataset=DATASET_CSV, ctx=ctx, tz=tz)
        except Exception as exc:
            out = _dead(ctx, DATASET_CSV, rec.line_no, rec.raw,
                        f"unparseable: {type(exc).__name__}: {exc}")
        _add(result, out)
    return result
