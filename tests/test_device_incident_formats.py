"""Snipe-IT activity (API + CSV) and the incident CSV: real shapes, awkward CSV, never a crash.

Snipe-IT fixtures follow snipe/snipe-it: rows as ActionlogsTransformer builds them, CSV rows
as ReportsController::postActivityReport writes them with PHP fputcsv (fields with spaces
quoted; in the 14-column export the data puts log_meta 11th while the header says "Login IP").
People are synthetic.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.csv_records import (
    CsvRecord,
    CsvRecordReader,
    finish_source,
    parse_csv_text,
    physical_lines,
)
from producers.incidents import parse_incidents
from producers.parsing import ParseContext, ParseResult
from producers.snipeit import asset_tag_from_name, parse_snipeit_api, parse_snipeit_csv

NOW = datetime(2026, 11, 22, tzinfo=UTC)
CTX = ParseContext(school_id="s", source="x.csv", now=NOW)


def _date(text: str) -> dict[str, str]:
    return {"datetime": text, "formatted": text[:16]}


def api_row(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 1201, "icon": "fas fa-barcode", "file": None,
        "item": {"id": 12, "name": "Pupil laptop 12 (BPS-0012) - Dell Latitude 3540",
                 "type": "asset", "serial": "5CG1234XYZ"},
        "location": {"id": 3, "name": "ICT suite"},
        "created_at": _date("2026-11-21 08:20:08"), "updated_at": _date("2026-11-21 08:20:08"),
        "next_audit_date": {"date": "2027-09-01", "formatted": "2027-09-01"},
        "days_to_next_audit": 283, "action_type": "checkout",
        "admin": {"id": 1, "name": "Ina Tech", "first_name": "Ina", "last_name": "Tech"},
        "created_by": {"id": 1, "name": "Ina Tech", "first_name": "Ina", "last_name": "Tech"},
        "target": {"id": 41, "name": "Alex Example", "type": "user"},
        "note": "Loan for the week. Expected checkin 2026-11-28", "signature_file": None,
        "log_meta": None, "action_date": _date("2026-11-21 08:20:08"),
    }
    row.update(over)
    return row


API_RESPONSE = {"total": 3, "rows": [
    api_row(),
    api_row(id=1202, action_type="checkin from", note=None,
            target={"id": 42, "name": "Sam O&#039;Neil", "type": "user"},
            created_at=_date("2026-11-21 15:30:00"), action_date=_date("2026-11-21 15:30:00")),
    api_row(id=1203, item={"id": 5, "name": "USB-C charger", "type": "accessory"},
            target={"id": 41, "name": "Alex Example", "type": "user"}, note=None),
]}
API_LINES = [
    orjson.dumps(API_RESPONSE).decode(),
    orjson.dumps(api_row(id=1204, action_type="update", target=None, note=None, log_meta={
        "expected_checkin": {"old": None, "new": "2026-11-30 00:00:00"}})).decode(),
]
CSV_HEADER_14 = ('Date,Admin,Action,Type,Item,"License Serial","Model Name","Model No.",To,Notes,'
                 '"Login IP","Login User Agent","Action Source",Changed')
CSV_ROWS_14 = [
    '"2026-11-21 08:20:08","Ina Tech",checkout,asset,"Pupil laptop 12 (BPS-0012) - Dell '
    'Latitude 3540",5CG1234XYZ,"Dell Latitude 3540",3540,"Alex Example","Loan, for the '
    '""week""",,192.0.2.10,"Mozilla/5.0 (X11; Linux x86_64)",gui',
    '"2026-11-21 15:30:00","Ina Tech","checkin from",asset," (BPS-0012) - Dell Latitude 3540",'
    '5CG1234XYZ,"Dell Latitude 3540",3540,"Sam O\'Neil","Charger missing\nreturned later",,'
    '192.0.2.10,Mozilla/5.0,gui',
    '"2026-11-21 16:00:00","Ina Tech",update,asset,"Pupil laptop 12 (BPS-0012) - Dell Latitude '
    '3540",5CG1234XYZ,"Dell Latitude 3540",3540,,,"{""expected_checkin"":{""old"":null,""new"":'
    '""2026-11-30 00:00:00""}}",192.0.2.10,Mozilla/5.0,api',
    '"2026-11-21 16:05:00","Ina Tech",checkout,accessory,"USB-C charger",,,,"Alex Example",,,'
    '192.0.2.10,Mozilla/5.0,gui',
]
CSV_14 = "\n".join([CSV_HEADER_14, *CSV_ROWS_14]) + "\n"
CSV_8 = ('Date,Admin,Action,Type,Item,To,Notes,Changed\n'
         '"2026-11-20 10:00:00","Ina Tech",checkout,asset,"Library iPad (BPS-0100)","Jo Sample",,\n'
         '"2026-11-20 12:00:00","Ina Tech","checkin from",asset,BPS-0101,"Jo Sample",,\n')
INCIDENT_HEADER = ("incident_id,occurred_at,reported_at,reporter,category,pupils,description,"
                   "actions,status,cin_factor")
INCIDENTS = [
    'INC-001,2026-11-20T10:15:00,2026-11-20T11:00:00+00:00,staff-007,cyberbullying,'
    'P001:victim;P002:perpetrator;P003:witness,"Group chat said ""nobody likes you"", then\n'
    '<script>alert(1)</script> was posted",Parents informed; DSL notified,open,',
    'INC-002,2026-07-01T09:00:00+01:00,2026-07-01T09:30:00+01:00,staff-003,self-harm,'
    'P004:subject,Marks noticed in PE,Referred to school nurse,closed,',
    'INC-003,2026-11-19 14:00,,staff-003,sexual,P005:victim;P006:perpetrator,,,open,19A',
    'INC-004,2026-11-18T08:00:00Z,2026-11-18T08:05:00Z,staff-001,device-lost,,Tablet left '
    'on bus,Reported to IT,open,',
]
INCIDENT_CSV = "\n".join([INCIDENT_HEADER, *INCIDENTS]) + "\n"


AnyParser = Callable[..., ParseResult]


def parse_whole(parser: AnyParser, text: str, ctx: ParseContext = CTX, **kw: str) -> ParseResult:
    result = parser(physical_lines(text), ctx, **kw)
    result.dead_letters.extend(finish_source(ctx))
    return result


def parse_chunked(parser: AnyParser, text: str, cuts: list[int],
                  ctx: ParseContext = CTX) -> ParseResult:
    lines = physical_lines(text)
    bounds = [0, *sorted({min(c, len(lines)) for c in cuts}), len(lines)]
    result = ParseResult()
    for a, b in itertools.pairwise(bounds):
        if a < b:
            result.extend(parser(lines[a:b], ctx))
    result.dead_letters.extend(finish_source(ctx))
    return result


# ---- Snipe-IT API -----------------------------------------------------------------------

def test_api_rows_become_device_events() -> None:
    r = parse_snipeit_api(enumerate(API_LINES, 1), CTX)
    assert r.dead_letters == [] and len(r.events) == 4
    out, back, acc, upd = r.events
    assert out.timestamp == datetime(2026, 11, 21, 8, 20, 8, tzinfo=UTC)
    assert (out.category, out.action, out.asset_tag, out.user_name) == (
        "device", "checkout", "BPS-0012", "Alex Example")
    assert out.labels["snipeit.item_id"] == "12"
    assert out.labels["snipeit.item_name"] == "Pupil laptop 12 (BPS-0012) - Dell Latitude 3540"
    assert (out.labels["snipeit.target_type"], out.labels["snipeit.target_id"]) == ("user", "41")
    assert out.labels["snipeit.expected_checkin"] == "2026-11-28"  # from the note
    assert (back.action, back.user_name) == ("checkin", "Sam O'Neil")  # HTML unescaped
    assert acc.asset_tag is None and acc.labels["snipeit.item_type"] == "accessory"
    assert upd.action == "update" and upd.user_name is None
    assert upd.labels["snipeit.expected_checkin"] == "2026-11-30"  # from log_meta
    assert all(e.raw.startswith("{") for e in r.events)


def test_api_app_timezone_and_single_row_lines_share_ids() -> None:
    row = api_row(created_at=_date("2026-07-01 09:00:00"))
    r = parse_snipeit_api([(1, orjson.dumps(row).decode())], CTX, tz="Europe/London")
    assert r.events[0].timestamp == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # BST
    page = parse_snipeit_api([(1, orjson.dumps({"total": 1, "rows": [row]}).decode())], CTX,
                             tz="Europe/London")
    assert page.events[0].event_id == r.events[0].event_id


def test_api_malformed_are_dead_letters_with_reasons() -> None:
    lines = ["not json", '{"total": 1, "rows": 5}', "[1]", "42",
             orjson.dumps(api_row(created_at=None, action_date=None)).decode(),
             orjson.dumps(api_row(created_at=_date("yesterday"))).decode(),
             orjson.dumps(api_row(created_at=_date("2030-01-01 00:00:00"))).decode(), ""]
    r = parse_snipeit_api(enumerate(lines, 1), CTX)
    reasons = [d.reason for d in r.dead_letters]
    assert r.events == [] and len(reasons) == 7
    assert "JSON" in reasons[0] and "rows" in reasons[1] and "not a JSON object" in reasons[2]
    assert "not an activity" in reasons[3] and "no created_at" in reasons[4]
    assert "Y-m-d" in reasons[5] and "future" in reasons[6]


def test_asset_tag_rule() -> None:
    assert asset_tag_from_name("Pupil laptop 12 (BPS-0012) - Dell Latitude 3540") == "BPS-0012"
    assert asset_tag_from_name("Dell Latitude 3540 (BPS-0012)") == "BPS-0012"
    assert asset_tag_from_name(" (BPS-0012) - Dell Latitude (i5)") == "BPS-0012"
    assert asset_tag_from_name("BPS-0101") == "BPS-0101"
    assert asset_tag_from_name("Library iPad") is None


# ---- Snipe-IT CSV -----------------------------------------------------------------------

def test_csv_14_columns_by_position_not_header() -> None:
    r = parse_whole(parse_snipeit_csv, CSV_14)
    assert r.dead_letters == [] and len(r.events) == 4
    out, back, upd, acc = r.events
    assert (out.action, out.asset_tag, out.user_name) == ("checkout", "BPS-0012", "Alex Example")
    assert out.labels["snipeit.note"] == 'Loan, for the "week"'
    assert out.labels["snipeit.remote_ip"] == "192.0.2.10"  # 12th in the data, not 11th
    assert out.labels["snipeit.action_source"] == "gui" and out.labels["snipeit.model"]
    assert (back.action, back.user_name, back.asset_tag) == ("checkin", "Sam O'Neil", "BPS-0012")
    assert back.labels["snipeit.note"] == "Charger missing\nreturned later"
    assert upd.labels["snipeit.expected_checkin"] == "2026-11-30"
    assert acc.asset_tag is None and acc.labels["snipeit.item_name"] == "USB-C charger"


def test_csv_8_columns_bom_crlf_and_meta_last_layout() -> None:
    r = parse_whole(parse_snipeit_csv, "\ufeff" + CSV_8.replace("\n", "\r\n"))
    assert r.dead_letters == [] and [e.asset_tag for e in r.events] == ["BPS-0100", "BPS-0101"]
    assert [e.user_name for e in r.events] == ["Jo Sample", "Jo Sample"]
    assert not r.events[0].raw.endswith("\r")
    meta_last = ('"2026-11-21 08:20:08","Ina Tech",checkout,asset,"L (BPS-7)",,,,"Al Ex",,'
                 '192.0.2.9,Mozilla/5.0,gui,"{""expected_checkin"":{""old"":null,""new"":'
                 '""2026-12-01""}}"')
    r = parse_whole(parse_snipeit_csv, f"{CSV_HEADER_14}\n{meta_last}\n")
    e = r.events[0]
    assert (e.labels["snipeit.remote_ip"], e.labels["snipeit.expected_checkin"]) == (
        "192.0.2.9", "2026-12-01")


def test_csv_expected_checkin_column_and_bad_rows() -> None:
    text = ("Date,Admin,Action,Type,Item,To,Notes,Changed,expected_checkin\n"
            '"2026-11-20 10:00:00",A,checkout,asset,"iPad (T-1)","Jo Sample",,,2026-11-27\n'
            '"2026-11-20 10:00:00",A,checkout\n'
            ',A,checkout,asset,"iPad (T-1)","Jo Sample",,,\n')
    r = parse_whole(parse_snipeit_csv, text)
    assert r.events[0].labels["snipeit.expected_checkin"] == "2026-11-27"
    assert [d.reason for d in r.dead_letters] == [
        "expected 9 fields (as the header), found 3", "row has no created_at/action_date datetime"]


# ---- incident CSV -----------------------------------------------------------------------

def test_incidents_one_event_each_with_labels() -> None:
    r = parse_whole(parse_incidents, INCIDENT_CSV)
    assert r.dead_letters == [] and len(r.events) == 4
    bully, harm, sexual, lost = r.events
    assert (bully.category, bully.action, bully.type) == ("incident", "cyberbullying", "info")
    assert bully.timestamp == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)  # naive -> tz UTC
    assert bully.labels["incident.description"] == (
        'Group chat said "nobody likes you", then\n<script>alert(1)</script> was posted')
    assert (bully.labels["incident.victims"], bully.labels["incident.perpetrators"],
            bully.labels["incident.witnesses"], bully.labels["incident.subjects"]) == (
        "P001", "P002", "P003", "")
    assert bully.labels["incident.kcsie_type"].startswith("bullying (including cyberbullying")
    assert bully.labels["incident.actions"] == "Parents informed; DSL notified"
    assert "incident.cin_factor" not in bully.labels
    assert harm.timestamp == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # offset honoured
    assert harm.labels["incident.cin_factor"] == "15A"  # default for self-harm
    assert sexual.labels["incident.cin_factor"] == "19A"  # given, passed through
    assert sexual.labels["incident.kcsie_type"] == "sexual violence and sexual harassment"
    assert "incident.reported_at" not in sexual.labels
    assert "incident.kcsie_type" not in lost.labels and lost.labels["incident.pupils"] == ""


def test_incident_timezone_parameter_and_same_ids_twice() -> None:
    a = parse_whole(parse_incidents, INCIDENT_CSV, tz="Europe/London")
    b = parse_whole(parse_incidents, INCIDENT_CSV, tz="Europe/London")
    assert a.events[0].timestamp == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)  # GMT
    assert [e.event_id for e in a.events] == [e.event_id for e in b.events]
    assert len({e.event_id for e in a.events}) == 4


def test_incident_record_split_across_chunks_crlf_and_bom() -> None:
    text = "\ufeff" + INCIDENT_CSV.replace("\n", "\r\n")
    for cut in range(1, len(physical_lines(text))):
        r = parse_chunked(parse_incidents, text, [cut])
        assert r.dead_letters == [] and len(r.events) == 4, cut
        assert r.events[0].labels["incident.description"].count("\r\n") == 1


def test_incident_validation_dead_letters() -> None:
    bad = [
        "INC-9,2026-11-20T10:00:00,,s,gossip,P1:victim,d,a,open,",
        "INC-9,2026-11-20T10:00:00,,s,bullying,P1:bystander,d,a,open,",
        "INC-9,2026-11-20T10:00:00,,s,bullying,P1,d,a,open,",
        "INC-9,20/11/2026,,s,bullying,P1:victim,d,a,open,",
        "INC-9,2026-11-20T10:00:00,2026-11-19T10:00:00,s,bullying,P1:victim,d,a,open,",
        "INC-9,2030-11-20T10:00:00,,s,bullying,P1:victim,d,a,open,",
        "INC-9,2026-11-20T10:00:00,,s,bullying,P1:victim,d,a,open,self harm",
        "INC-9,2026-11-20T10:00:00,,s,bullying,P1:victim,d,a,open",
        ',2026-11-20T10:00:00,,s,bullying,P1:victim,"d,a,open,',
    ]
    r = parse_whole(parse_incidents, "\n".join([INCIDENT_HEADER, *bad]))  # no final newline
    reasons = [d.reason for d in r.dead_letters]
    assert r.events == [] and len(reasons) == 9
    for reason, expected in zip(reasons, ["unknown category", "bad pupil role",
                                          "malformed pupil pair", "not an ISO 8601",
                                          "before occurred_at", "future", "not a DfE factor",
                                          "expected 10 fields", "unterminated quote"],
                                strict=True):
        assert expected in reason
    assert all(d.stage == "parse" and d.source == "x.csv" for d in r.dead_letters)


def test_missing_header_columns_dead_letter_every_record() -> None:
    text = "incident_id,occurred_at,reported_at,reporter,category,description,actions\n" + (
        "INC-1,2026-11-20T10:00:00,,s,bullying,d,a\n" * 3)
    text += "INC-2,2026-11-20T10:00:00,,s,bullying,P1:victim,d,a,open\n"  # wider than header
    r = parse_whole(parse_incidents, text)
    assert len(r.dead_letters) == 4 and r.events == []
    assert all(d.reason.endswith("pupils, status") for d in r.dead_letters)


def test_open_quote_waits_for_next_chunk_and_finish_source_flushes() -> None:
    ctx = ParseContext(school_id="s", source="open.csv", now=NOW)
    r = parse_incidents(physical_lines(INCIDENT_HEADER + '\nINC-1,x,,s,other,,"open\n'), ctx)
    assert r.records_in == 0  # waiting: the file may continue
    dead = finish_source(ctx)
    assert [d.reason for d in dead] == ["unterminated quote at end of file"]
    assert finish_source(ctx) == []


def test_redelivered_chunk_and_reader_that_missed_the_header() -> None:
    lines = physical_lines(INCIDENT_CSV)
    ctx = ParseContext(school_id="s", source="redeliver.csv", now=NOW)
    first, second = parse_incidents(lines[:2], ctx), parse_incidents(lines[2:], ctx)
    again = parse_incidents(lines[2:], ctx)  # Kafka re-delivery of the second message
    assert [e.event_id for e in again.events] == [e.event_id for e in second.events]
    assert first.records_in + second.records_in == 4
    late = ParseContext(school_id="s", source="late.csv", now=NOW)
    r = parse_incidents(lines[3:], late)
    assert r.events == [] and all("header" in d.reason for d in r.dead_letters)


def test_pure_helper_whole_text() -> None:
    header, records, dead = parse_csv_text('a,b\n1,"x\ny"\n2\n', require_width=True)
    assert header == ["a", "b"]
    assert records == [CsvRecord(2, {"a": "1", "b": "x\ny"}, '1,"x\ny"')]
    assert [d.line_no for d in dead] == [4]


# ---- properties -------------------------------------------------------------------------

PARSERS = [parse_incidents, parse_snipeit_csv]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=20), st.sampled_from(PARSERS))
def test_arbitrary_text_never_raises(lines: list[str], parser: AnyParser) -> None:
    r = parse_whole(parser, "", ctx=CTX) if not lines else parser(enumerate(lines, 1), CTX)
    r.dead_letters.extend(finish_source(CTX))
    assert all(d.reason for d in r.dead_letters)
    if not any('"' in line for line in lines):  # no quoting: one record per non-blank line
        bodies = [line.removeprefix("\ufeff") if i == 0 else line for i, line in enumerate(lines)]
        nonblank = sum(1 for b in bodies if b.removesuffix("\n").removesuffix("\r").strip())
        bad_header = sum(1 for d in r.dead_letters if d.reason.startswith("header:"))
        assert r.records_in - bad_header == max(0, nonblank - 1)  # the first is the header


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=10))
def test_api_arbitrary_text_counts_balance(lines: list[str]) -> None:
    r = parse_snipeit_api(enumerate(lines, 1), CTX)
    expected = 0
    for line in lines:
        body = line.removeprefix("\ufeff").rstrip("\r\n")
        if not body.strip():
            continue
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            expected += 1
            continue
        rows = doc.get("rows") if isinstance(doc, dict) else doc
        expected += len(rows) if isinstance(rows, list) else 1
    assert r.records_in == expected


_row = st.lists(st.text(max_size=30), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(st.lists(_row, min_size=1, max_size=12), st.lists(st.integers(0, 80), max_size=3),
       st.sampled_from(["\n", "\r\n"]))
def test_reader_round_trips_any_csv_in_any_chunks(rows: list[list[str]], cuts: list[int],
                                                  eol: str) -> None:
    if eol == "\n":  # Python's writer leaves a lone \r unquoted unless it ends lines
        rows = [[f.replace("\r", "") for f in r] for r in rows]
    rows = [r for r in rows if not (len(r) == 1 and not r[0].strip())]  # blank lines skip
    if rows and rows[0][0].startswith("\ufeff"):
        rows[0][0] = "x"
    buf = io.StringIO()
    csv.writer(buf, lineterminator=eol).writerows(rows)
    lines = physical_lines(buf.getvalue())
    reader = CsvRecordReader(school_id="s", dataset="d", source="p", keyed=False)
    bounds = [0, *sorted({min(c, len(lines)) for c in cuts}), len(lines)]
    out = [item for a, b in itertools.pairwise(bounds) if a < b
           for item in reader.feed(lines[a:b])] + list(reader.finish())
    assert all(isinstance(o, CsvRecord) for o in out)
    assert reader.header == (rows[0] if rows else None)
    assert [o.data for o in out if isinstance(o, CsvRecord)] == rows[1:]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=6), st.integers(1, 30))
def test_incident_descriptions_survive_any_chunking(descriptions: list[str], cut: int) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # so a lone \r in a field is quoted
    writer.writerow(INCIDENT_HEADER.split(","))
    for i, d in enumerate(descriptions):
        writer.writerow([f"INC-{i}", "2026-11-20T10:00:00", "", "s", "bullying", "P1:victim",
                         d, "", "open", ""])
    r = parse_chunked(parse_incidents, buf.getvalue(), [cut])
    assert r.dead_letters == []
    assert [e.labels["incident.description"] for e in r.events] == descriptions


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([*API_LINES, *CSV_ROWS_14, *INCIDENTS]), st.integers(0, 400),
       st.text(max_size=8), st.sampled_from(["api", "csv", "incident"]))
def test_mutated_real_lines_never_raise(line: str, pos: int, insert: str, kind: str) -> None:
    pos = min(pos, len(line))
    mutated = line[:pos] + insert + line[pos + len(insert):]
    if kind == "api":
        r = parse_snipeit_api([(1, mutated)], CTX)
    else:
        header = CSV_HEADER_14 if kind == "csv" else INCIDENT_HEADER
        parser = parse_snipeit_csv if kind == "csv" else parse_incidents
        r = parse_whole(parser, f"{header}\n{mutated}\n")
    assert all(d.reason for d in r.dead_letters)
    assert r.records_in >= (1 if kind != "api" and mutated.strip() else 0) or '"' in mutated
