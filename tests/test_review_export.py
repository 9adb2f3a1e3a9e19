"""The governors' termly review on a simulated school in a real DuckDB file: the DfE review
record and change log read back, HTML and PDF exports, chart frames, anonymity."""

from __future__ import annotations

import html
import math
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.actions import submit_record
from pipelines.review_export import (
    GovernorsReview,
    build_review,
    chart_frames,
    identity_scrubber,
    latin1,
    to_html,
    to_pdf,
)
from pipelines.termly import SUPPRESSED
from producers.school import SchoolBundle, load_school
from safeguard.cli import main
from safeguard.directory import parse_school_yaml
from safeguard.errors import ConfigError
from safeguard.review import FilterChange, FilterReview
from warehouse.reader import WarehouseReader
from warehouse.review_queries import filter_changes, filter_reviews, latest_review
from warehouse.schema import migrate
from warehouse.spool import Outbox

SCRIPT = "<script>alert(1)</script>"
ROLES = {"Senior leadership lead": "Dana Head", "Designated safeguarding lead": "Eli Lead",
         "Governor for safeguarding": "Gwen Governor", "IT lead": "Ian Tech"}
ATTENDEES = ["Dana Head", "Eli Lead", "Gwen Governor", "Ian Tech"]
DECISIONS = ["Keep the social networking block for pupils", SCRIPT,
             "Review the VPN category \u2014 caf\u00e9 Wi\u2011Fi \U0001f600"]
GENERATED = datetime(2027, 3, 30, 12, tzinfo=UTC)
Fixture = tuple[SchoolBundle, Path, dict[str, Any]]


@pytest.fixture(scope="module")
def school_db(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    """A simulated week ingested into a real file, then the review records submitted as
    the dashboard does (through the outbox; nobody holds the file, so it drains now)."""
    out = tmp_path_factory.mktemp("review")
    assert main(["simulate", "--profile", "twerton-infant", "--days", "3", "--seed", "2",
                 "--out", str(out / "sim")]) == 0
    inputs = (out / "sim" / "inputs.txt").read_text().split()
    db = out / "w.duckdb"
    assert main(["ingest", "--school", str(out / "sim" / "school"),
                 *[a for i in inputs for a in ("--input", i)], "--embedded", "--db",
                 str(db)]) == 0
    bundle = load_school(out / "sim" / "school")
    sid = bundle.directory.school.id
    pupil = next(p for p in bundle.directory.people if p.role == "pupil" and p.accounts)
    old = FilterReview.new(sid, date(2025, 9, 10), {"IT lead": "Old Tech"}, ["Old Tech"],
                           ["First review"], "gov1")
    review = FilterReview.new(sid, date(2026, 9, 10), ROLES, ATTENDEES, DECISIONS, "gov1",
                              next_review=date(2027, 9, 10))
    changes = [
        FilterChange.new(sid, datetime(2026, 8, 20, 9, tzinfo=UTC), "block", "before.example",
                         "before the period", "it-admin"),
        FilterChange.new(sid, datetime(2026, 11, 17, 10, tzinfo=UTC), "block", "proxysite.com",
                         "circumvention attempts seen", "it-admin", approved_by="Dana Head"),
        FilterChange.new(sid, datetime(2026, 11, 18, 14, tzinfo=UTC), "allow", "bbc.co.uk",
                         SCRIPT, "it-admin", requested_by=pupil.accounts[0]),
        FilterChange.new(sid, datetime(2027, 1, 12, 8, tzinfo=UTC), "allow", "museum.example",
                         f"trip research asked by {pupil.display_name} ({pupil.accounts[0]})",
                         "it-admin", approved_by="Eli Lead"),
        FilterChange.new("another-school", datetime(2026, 11, 17, tzinfo=UTC), "block",
                         "other.example", "not ours", "it-admin")]
    records: list[FilterReview | FilterChange] = [old, review, *changes]
    for record in records[:-1]:                # waiting in the dashboard's outbox ...
        Outbox(db).submit(record)
    assert submit_record(records[-1], db_path=db) == "warehouse"   # ... drained with this
    return bundle, db, {"review": review, "old": old, "changes": changes, "pupil": pupil}


@pytest.fixture(scope="module")
def governors(school_db: Fixture) -> GovernorsReview:
    bundle, db, _ = school_db
    return build_review(WarehouseReader(db).connect(), bundle.directory.school, "Spring 2027",
                        directory=bundle.directory, generated_at=GENERATED)


def test_review_records_come_back_newest_first_and_changes_in_order(
        school_db: Fixture) -> None:
    bundle, db, made = school_db
    con = WarehouseReader(db).connect()
    sid = bundle.directory.school.id
    assert filter_reviews(con, sid) == [made["review"], made["old"]]   # round trip, exact
    assert latest_review(con, sid) == made["review"]
    assert latest_review(con, sid, on_or_before=date(2026, 1, 1)) == made["old"]
    assert latest_review(con, "another-school") is None
    assert filter_changes(con, sid) == made["changes"][:4]
    window = filter_changes(con, sid, datetime(2026, 11, 18, tzinfo=UTC),
                            datetime(2027, 1, 12, 8, tzinfo=UTC))
    assert [c.target for c in window] == ["bbc.co.uk"]                 # [since, until)
    assert filter_changes(con, sid, since=datetime(2027, 1, 12, 8)) == made["changes"][3:4]


def test_the_review_gathers_terms_record_and_the_periods_changes(
        governors: GovernorsReview, school_db: Fixture) -> None:
    assert governors.terms == ("Autumn 2026", "Spring 2027")          # no earlier term exists
    assert governors.term == "Spring 2027"
    assert (governors.period_start, governors.period_end) == (date(2026, 9, 3),
                                                              date(2027, 3, 26))
    assert [c.target for c in governors.changes] == [
        "proxysite.com", "bbc.co.uk", "museum.example"]               # not before, not others
    assert governors.review is not None and governors.review.decisions == tuple(DECISIONS)
    assert governors.review.recorded_by == "withheld"
    assert all(c.recorded_by == "withheld" and c.requested_by is None
               for c in governors.changes)
    assert "is due by 2027-09-10" in governors.review_status()
    bundle, db, _ = school_db
    only = build_review(WarehouseReader(db).connect(), bundle.directory.school, "Spring 2027",
                        previous=0, directory=bundle.directory)
    assert only.terms == ("Spring 2027",)
    with pytest.raises(ConfigError, match="Winter"):
        build_review(WarehouseReader(db).connect(), bundle.directory.school, "Winter 1999")


def test_html_escapes_every_text_and_carries_the_dfe_record(
        governors: GovernorsReview) -> None:
    doc = to_html(governors)
    assert doc.startswith("<!DOCTYPE html>") and "<script" not in doc.lower()
    assert html.escape(SCRIPT) in doc                                 # shown as text
    assert html.escape("Anonymised: counts under 5 are shown as '<5'") in doc
    for text in (*ROLES, *ROLES.values(), *ATTENDEES, *DECISIONS, "Filtering provider",
                 "not named", "2026-09-10", "2027-09-10", "proxysite.com",
                 "circumvention attempts seen", "bbc.co.uk", "museum.example",
                 "trip research asked by [pupil] ([account])", "Autumn 2026"):
        assert html.escape(text) in doc, text
    for absent in ("before.example", "other.example", "not ours", "gov1", "it-admin"):
        assert absent not in doc
    assert "<svg" in doc and "http://" not in doc.replace('xmlns="http://www.w3.org/2000/svg"',
                                                          "")


def pdf_string(text: str) -> bytes:
    """Text as an uncompressed PDF page writes it: a literal string, \\ ( ) escaped."""
    raw = latin1(text).encode("latin-1")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def test_pdf_carries_the_same_record_in_core_fonts(governors: GovernorsReview) -> None:
    pdf = to_pdf(governors, compress=False)
    assert pdf.startswith(b"%PDF") and b"/Type /Page" in pdf
    for text in ("Anonymised: counts under 5 are shown as '<5'", "2026-09-10",
                 "Gwen Governor", "proxysite.com", "circumvention attempts seen", SCRIPT,
                 "Review the VPN category - caf\u00e9 Wi?Fi ?"):   # dash made plain, ? for the rest
        assert pdf_string(text) in pdf, text
    assert to_pdf(governors).startswith(b"%PDF")                       # compressed by default
    assert latin1("a\u2019b\u2013c\u0000d\U0001f600") == "a'b-c d?"


def test_suppressed_counts_stay_suppressed(governors: GovernorsReview) -> None:
    autumn = governors.reports[0]
    small = [k for k, v in autumn.alerts_by_category.items() if v == SUPPRESSED]
    assert small, "the simulated week has a category with 1-4 alerts"
    frames = chart_frames(governors)
    cats = frames["alerts_by_category"]
    row = cats[(cats["term"] == "Autumn 2026") & (cats["category"] == small[0])].iloc[0]
    assert row["suppressed"] and math.isnan(row["value"]) and row["shown"] == "<5"
    for name, frame in frames.items():       # a hidden figure is never a number, never 0
        hidden = frame[frame["suppressed"]]
        assert hidden["value"].isna().all() and (hidden["shown"] == "<5").all(), name
    doc = to_html(governors)
    assert f"<tr><td>{html.escape(small[0])}</td><td>&lt;5</td>" in doc
    assert b"(<5)" in to_pdf(governors, compress=False)


def test_chart_frames_have_every_figure_for_every_term(governors: GovernorsReview) -> None:
    frames = chart_frames(governors)
    assert set(frames) == {
        "alerts_total", "alerts_by_category", "alerts_by_severity", "alerts_by_year_group",
        "time_to_acknowledge", "time_to_close", "out_of_hours", "out_of_hours_seen",
        "block_rates", "filter_gaps", "filter_gap_ranges", "coverage"}
    terms = ["Autumn 2026", "Spring 2027"]
    for name in ("alerts_total", "alerts_by_category", "alerts_by_severity",
                 "alerts_by_year_group", "time_to_acknowledge", "out_of_hours",
                 "filter_gaps", "coverage"):
        assert sorted(frames[name]["term"].unique()) == terms, name
    total = frames["alerts_total"].set_index(["term", "measure"])["value"]
    assert total[("Autumn 2026", "alerts")] == float(governors.reports[0].alerts_total)
    assert total[("Spring 2027", "alerts")] == 0.0
    sev = frames["alerts_by_severity"]
    assert sorted(sev["severity"].unique()) == ["1", "2", "3", "4", "5"]
    ack = frames["time_to_acknowledge"]
    assert set(ack["measure"]) == {"alerts", "seen", "median_min", "p90_min"}
    assert "all" in set(ack["severity"])
    assert set(frames["out_of_hours"]["kind"]) == {
        "school-hours", "before-school", "evening", "night", "weekend", "holiday"}
    cov = frames["coverage"]
    assert set(cov["population"]) == {"pupils", "devices"}
    assert set(cov["measure"]) == {"total", "part", "share"}
    gaps = frames["filter_gaps"].set_index(["term", "measure"])["value"]
    assert gaps[("Spring 2027", "gap_hours")] == gaps[("Spring 2027", "school_day_hours")]
    assert {"start", "end"} <= set(frames["filter_gap_ranges"].columns)


def test_no_person_id_name_or_account_leaves_any_output(
        governors: GovernorsReview, school_db: Fixture) -> None:
    bundle, db, made = school_db
    con = WarehouseReader(db).connect()
    ids = {str(v) for (v,) in con.execute(
        """SELECT person_id FROM events UNION SELECT user_name FROM events
           UNION SELECT host_name FROM events UNION SELECT subject FROM alerts
           UNION SELECT alert_id FROM alerts""").fetchall() if v}
    for p in bundle.directory.people:
        ids |= {p.person_id, p.display_name, *p.accounts}
    ids |= {"gov1", "it-admin"}
    frames = chart_frames(governors)
    outputs = {"html": html.unescape(to_html(governors)),
               "pdf": to_pdf(governors, compress=False).decode("latin-1"),
               "frames": "\n".join(f.to_csv() for f in frames.values())}
    for name, text in outputs.items():
        leaked = sorted(i for i in ids if len(i) > 2 and i.lower() in text.lower())
        assert leaked == [], name
    assert made["pupil"].display_name not in repr(governors)          # scrubbed at build


def test_scrubber_and_an_empty_warehouse() -> None:
    school = parse_school_yaml("""\
id: empty-school
name: "O'Brien & Sons <Academy>"
profile: twerton-infant
timezone: Europe/London
school_day: {start: "08:45", end: "15:15"}
terms:
  - {name: Autumn 2026, start: 2026-09-03, end: 2026-12-18}
""")
    con = duckdb.connect()
    migrate(con)
    rv = build_review(con, school, "Autumn 2026", generated_at=GENERATED)
    doc = to_html(rv)
    assert "No annual review of filtering and monitoring is recorded" in doc
    assert "No block or allow changes were recorded" in doc
    assert "O&#x27;Brien &amp; Sons &lt;Academy&gt;" in doc and "<Academy>" not in doc
    assert "and 37 more gaps" in doc                                  # 77 days all down
    assert to_pdf(rv).startswith(b"%PDF")
    assert all(len(f) == 0 or not f["suppressed"].any() for f in chart_frames(rv).values())
    assert identity_scrubber(None)("P0001") == "P0001"
    review = FilterReview.new("s", date(2026, 9, 1), {"IT lead": "x"}, ["x"], ["y"], "g")
    overdue = replace(rv, review=review, generated_at=datetime(2027, 9, 2, tzinfo=UTC))
    assert "was due on 2027-09-01" in overdue.review_status()
