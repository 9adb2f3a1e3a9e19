"""The governors' termly review: trends across terms, the DfE filtering and monitoring
standards' annual review record and block/allow change log, exported to HTML and PDF.

`build_review` gathers one term's figures and those of the terms before it
(`pipelines.termly`: aggregates only, counts of 1-4 suppressed), the latest annual review
and the change log from the first of those terms to the end of the chosen one.
`chart_frames` turns it into tidy frames for the dashboard; `to_html` and `to_pdf` render
the same document (headings, paragraphs, tables; bar charts in the HTML).

Privacy: the figures hold no person id, name, account or device. The records are free
text typed by staff, so when the directory is given every person id, account and pupil
name in them is replaced ('[person]', '[account]', '[pupil]'), and who recorded a
record or asked for a change (a login or anyone, even a pupil) is withheld. Named roles,
attendees and approvers stay: the standards ask for them. Suppressed figures stay
suppressed everywhere: '<5' in documents, NaN with `suppressed` true in frames.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any, Literal
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
from fpdf import FPDF

from pipelines.term_calendar import KINDS, OUT_OF_HOURS_KINDS, find_term, term_period
from pipelines.termly import MIN_COUNT, SUPPRESSED, Share, TermReport, Timing, term_report
from safeguard.directory import Directory, School
from safeguard.review import REVIEW_ROLES, FilterChange, FilterReview
from warehouse.review_queries import filter_changes, latest_review

WITHHELD = "withheld"
MAX_GAP_ROWS = 40


@dataclass(frozen=True)
class GovernorsReview:
    """Everything the governors' report shows; `reports` in calendar order, chosen last."""

    school_id: str
    school_name: str
    timezone: str
    reports: tuple[TermReport, ...]
    review: FilterReview | None          # identities scrubbed, recorded_by withheld
    changes: tuple[FilterChange, ...]    # likewise, requested_by withheld
    period_start: date
    period_end: date
    generated_at: datetime
    min_count: int = MIN_COUNT

    @property
    def term(self) -> str:
        return self.reports[-1].term

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(r.term for r in self.reports)

    @property
    def header(self) -> str:
        n = self.min_count
        return f"Anonymised: counts under {n} are shown as '<{n}'"

    def review_status(self) -> str:
        """Whether the annual review is in date, as of `generated_at`."""
        if self.review is None:
            return ("No annual review of filtering and monitoring is recorded; the standards "
                    "ask for one at least once a year.")
        due = self.review.next_review or self.review.review_date + timedelta(days=365)
        late = due < self.generated_at.date()
        return f"The next review {'was due on' if late else 'is due by'} {due.isoformat()}."


def identity_scrubber(directory: Directory | None) -> Callable[[str], str]:
    """A function replacing every person id and account, and pupils' names, in free text
    (whole words, any case); the identity when there is no directory to know them by."""
    if directory is None:
        return lambda text: text
    marks: dict[str, str] = {}
    for p in directory.people:
        if p.role == "pupil" and p.display_name.strip():
            marks[p.display_name.strip().lower()] = "[pupil]"
        marks.update({a.lower(): "[account]" for a in p.accounts if a})
        marks[p.person_id.lower()] = "[person]"
    if not marks:
        return lambda text: text
    words = "|".join(re.escape(k) for k in sorted(marks, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)
    return lambda text: pattern.sub(lambda m: marks[m.group(0).lower()], text)


def scrub_review(r: FilterReview, scrub: Callable[[str], str]) -> FilterReview:
    return replace(r, roles={k: scrub(v) for k, v in r.roles.items()},
                   attendees=tuple(scrub(a) for a in r.attendees),
                   decisions=tuple(scrub(d) for d in r.decisions), recorded_by=WITHHELD)


def scrub_change(c: FilterChange, scrub: Callable[[str], str]) -> FilterChange:
    return replace(c, target=scrub(c.target), reason=scrub(c.reason), recorded_by=WITHHELD,
                   requested_by=None,
                   approved_by=scrub(c.approved_by) if c.approved_by else None)


def build_review(con: duckdb.DuckDBPyConnection, school: School, term: str, *,
                 previous: int = 2, directory: Directory | None = None,
                 min_count: int = MIN_COUNT,
                 generated_at: datetime | None = None) -> GovernorsReview:
    """The review of `term` with up to `previous` earlier terms for the trends.

    Raises `ConfigError` for a term the school does not have."""
    ordered = sorted(school.terms, key=lambda t: t.start)
    chosen = find_term(school, term)
    at = ordered.index(chosen)
    trend = ordered[max(0, at - max(previous, 0)): at + 1]
    reports = tuple(term_report(con, school, t, directory=directory, min_count=min_count)
                    for t in trend)
    first, last = term_period(school, trend[0]), term_period(school, chosen)
    scrub = identity_scrubber(directory)
    review = latest_review(con, school.id)
    changes = filter_changes(con, school.id, first.start_utc, last.end_utc)
    return GovernorsReview(
        school_id=school.id, school_name=school.name, timezone=school.timezone,
        reports=reports, review=scrub_review(review, scrub) if review else None,
        changes=tuple(scrub_change(c, scrub) for c in changes),
        period_start=first.start, period_end=last.end,
        generated_at=generated_at or datetime.now(UTC), min_count=min_count)


def show(value: Any, min_count: int = MIN_COUNT, *, percent: bool = False) -> str:
    """A figure as the documents print it: '<5' when suppressed, '-' when there is none."""
    if value == SUPPRESSED:
        return f"<{min_count}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if percent:
        return f"{float(value) * 100:.1f}%"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _row(min_count: int, term: str, measure: str, value: Any,
         dims: Mapping[str, Any] | None = None, percent: bool = False) -> dict[str, Any]:
    hidden = value == SUPPRESSED
    number = math.nan if hidden or value is None else float(value)
    return {"term": term, **(dims or {}), "measure": measure, "value": number,
            "suppressed": hidden, "shown": show(value, min_count, percent=percent)}


_TIMING = {"alerts": "alerts", "seen": "seen", "seen_median_min": "median_min",
           "seen_p90_min": "p90_min"}
_CLOSING = {"alerts": "alerts", "closed": "closed", "closed_median_min": "median_min",
            "closed_p90_min": "p90_min"}


def _share_rows(m: int, term: str, s: Share, dims: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [_row(m, term, "total", s.total, dims), _row(m, term, "part", s.part, dims),
            _row(m, term, "share", s.share, dims, percent=True)]


def chart_frames(review: GovernorsReview) -> dict[str, pd.DataFrame]:
    """Tidy frames, one row per (term, dimension..., measure): `value` (float; NaN when
    suppressed or absent), `suppressed` and `shown` (as the documents print it)."""
    m = review.min_count
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "alerts_total", "alerts_by_category", "alerts_by_severity", "alerts_by_year_group",
        "time_to_acknowledge", "time_to_close", "out_of_hours", "out_of_hours_seen",
        "block_rates", "filter_gaps", "filter_gap_ranges", "coverage")}
    groups = sorted({g for r in review.reports for g in r.alerts_by_year_group})
    for r in review.reports:
        t = r.term
        out["alerts_total"] += [_row(m, t, "alerts", r.alerts_total),
                                _row(m, t, "out_of_hours", r.out_of_hours_total)]
        for frame, dim, values in (
                ("alerts_by_category", "category", r.alerts_by_category),
                ("alerts_by_severity", "severity", r.alerts_by_severity),
                ("alerts_by_year_group", "year_group",
                 {g: r.alerts_by_year_group.get(g, 0) for g in groups})):
            out[frame] += [_row(m, t, "alerts", v, {dim: k}) for k, v in values.items()]
        for frame, fields, timings, dim in (
                ("time_to_acknowledge", _TIMING, r.response_times, "severity"),
                ("time_to_close", _CLOSING, r.response_times, "severity"),
                ("out_of_hours_seen", _TIMING, r.out_of_hours_response, "kind")):
            out[frame] += [_row(m, t, name, getattr(tm, attr), {dim: g})
                           for g, tm in timings.items() for attr, name in fields.items()]
        out["out_of_hours"] += [_row(m, t, "alerts", r.alerts_by_time.get(k, 0), {
            "kind": k, "out_of_hours": k in OUT_OF_HOURS_KINDS}) for k in KINDS]
        for cat, s in r.block_rates.items():
            out["block_rates"] += _share_rows(m, t, s, {"category": cat})
        out["filter_gaps"] += [_row(m, t, "gap_hours", r.filter_gap_hours),
                               _row(m, t, "school_day_hours", r.school_day_hours)]
        out["filter_gap_ranges"] += [_row(m, t, "hours", g.hours, {"start": g.start,
                                                                    "end": g.end})
                                     for g in r.filter_gaps]
        for grp, s in r.pupil_coverage.items():
            out["coverage"] += _share_rows(m, t, s, {"population": "pupils", "group": grp})
        if r.device_coverage is not None:
            out["coverage"] += _share_rows(m, t, r.device_coverage, {
                "population": "devices", "group": "school-owned"})
    base = ["term", "measure", "value", "suppressed", "shown"]
    return {k: pd.DataFrame(rows, columns=None if rows else base) for k, rows in out.items()}


@dataclass(frozen=True)
class Table:
    """A table of the document, optionally drawn as bars: (label, value or None, shown)."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    bars: tuple[tuple[str, float | None, str], ...] = ()
    widths: tuple[int, ...] | None = None


Block = str | Table


def _num(value: Any) -> float | None:
    return None if value in (SUPPRESSED, None) else float(value)


def _trend(rv: GovernorsReview, caption: str, first: str,
           get: Callable[[TermReport], Mapping[str, Any]], keys: Iterable[str] | None = None,
           bars: bool = True, missing: Any = 0) -> Table:
    """One row per key (every term's by default), one column per term (`missing` where a
    term lacks the key); bars for every key not zero in all terms."""
    rows, drawn = [], []
    for k in keys if keys is not None else sorted({k for r in rv.reports for k in get(r)}):
        values = [get(r).get(k, missing) for r in rv.reports]
        rows.append((k, *(show(v, rv.min_count) for v in values)))
        if bars and any(v not in (0, None) for v in values):
            label = f"severity {k}" if first == "severity" else k
            drawn += [(f"{label}, {r.term}", _num(v), show(v, rv.min_count))
                      for r, v in zip(rv.reports, values, strict=True)]
    return Table(caption, (first, *rv.terms), tuple(rows), tuple(drawn))


def _timing_table(rv: GovernorsReview, caption: str, med: str, p90: str, n: str,
                  get: Callable[[TermReport], Mapping[str, Timing]]) -> Table:
    keys = sorted({k for r in rv.reports for k in get(r)})
    def cell(tm: Timing | None) -> str:
        return "-" if tm is None else " ".join((
            show(getattr(tm, med), rv.min_count), "/", show(getattr(tm, p90), rv.min_count),
            f"({show(getattr(tm, n), rv.min_count)} {n})"))
    return Table(caption, ("", *rv.terms),
                 tuple((k, *(cell(get(r).get(k)) for r in rv.reports)) for k in keys))


def _share(s: Share | None, m: int) -> str:
    return "-" if s is None else (
        f"{show(s.share, m, percent=True)} ({show(s.part, m)} of {show(s.total, m)})")


def document(rv: GovernorsReview) -> list[tuple[str, list[Block]]]:
    """The report as sections of paragraphs and tables: what both renderers print."""
    m, cur = rv.min_count, rv.reports[-1]
    tz = ZoneInfo(rv.timezone)
    secs: list[tuple[str, list[Block]]] = [("About this report", [
        rv.header + "; no pupil is named or identified, and times and shares over fewer "
        f"than {m} alerts or people are hidden too.",
        f"School: {rv.school_name}. Term under review: {rv.term}; compared with: "
        f"{', '.join(rv.terms[:-1]) or 'no earlier term'}. Period: "
        f"{rv.period_start.isoformat()} to {rv.period_end.isoformat()}.",
        f"Generated {rv.generated_at.astimezone(tz).strftime('%Y-%m-%d %H:%M %Z')}; year "
        "groups from " + ("the directory snapshot in force at the end of the term."
                          if cur.year_groups_from == "snapshot" else "the term's events.")])]
    totals = _trend(rv, "Alerts per term", "", lambda r: {
        "all alerts": r.alerts_total, "out of hours": r.out_of_hours_total},
        ("all alerts", "out of hours"))
    secs.append(("Alerts", [totals, *(
        _trend(rv, f"Alerts by {name}", name, attrgetter(f"alerts_by_{attr}"))
        for name, attr in (("category", "category"), ("severity", "severity"),
                           ("year group", "year_group")))]))
    secs.append(("How fast alerts were handled", [
        "Minutes from the alert being raised to the first triage step (seen) and to its "
        "close or outcome: median / 90th percentile (how many), by severity.",
        _timing_table(rv, "Time to acknowledge (minutes)", "seen_median_min", "seen_p90_min",
                      "seen", lambda r: r.response_times),
        _timing_table(rv, "Time to close (minutes)", "closed_median_min", "closed_p90_min",
                      "closed", lambda r: r.response_times)]))
    secs.append(("Out of hours", [
        _trend(rv, "Alerts by when they were first seen", "time", lambda r: r.alerts_by_time,
               KINDS),
        _timing_table(rv, "How fast out-of-hours alerts were seen (minutes)",
                      "seen_median_min", "seen_p90_min", "seen",
                      lambda r: r.out_of_hours_response)]))
    cats = sorted({k for r in rv.reports for k in r.block_rates})
    gaps = [(g.start[:16].replace("T", " "), g.end[:16].replace("T", " "), f"{g.hours:g}")
            for g in cur.filter_gaps]
    more = [f"... and {len(gaps) - MAX_GAP_ROWS} more gaps."] if len(gaps) > MAX_GAP_ROWS else []
    secs.append(("Web filter", [
        _trend(rv, "Block rate by filter category (blocked of all web requests)", "category",
               lambda r: {k: _share(s, m) for k, s in r.block_rates.items()}, cats,
               bars=False, missing="-"),
        Table(f"Block rate by category, {rv.term}", ("category", "block rate"),
              tuple((k, _share(s, m)) for k, s in cur.block_rates.items()),
              tuple((k, _num(s.share), show(s.share, m, percent=True))
                    for k, s in cur.block_rates.items()))
        if cur.block_rates else f"No web requests were filtered in {rv.term}.",
        _trend(rv, "Filter gaps: school-day hours with no filtered web traffic", "", lambda r: {
            "gap hours": r.filter_gap_hours, "school-day hours": r.school_day_hours},
            ("gap hours", "school-day hours")),
        Table(f"Filter gaps, {rv.term} (school's local time)", ("from", "to", "hours"),
              tuple(gaps[:MAX_GAP_ROWS])) if gaps else f"No filter gaps in {rv.term}.",
        *more]))
    groups = sorted({k for r in rv.reports for k in r.pupil_coverage})
    secs.append(("Coverage", [
        _trend(rv, "Pupils on roll seen in filter or sign-in logs", "year group",
               lambda r: {k: _share(s, m) for k, s in r.pupil_coverage.items()}, groups,
               bars=False, missing="-"),
        _trend(rv, "School-owned devices seen in filter or sign-in logs", "", lambda r: {
            "devices": _share(r.device_coverage, m)}, ("devices",), bars=False)]))
    secs.append(("DfE filtering and monitoring standards: annual review", _review_blocks(rv)))
    secs.append(("Block/allow change log", [
        f"Changes to what the filter blocks or allows, {rv.period_start.isoformat()} to "
        f"{rv.period_end.isoformat()}, each with its reason.",
        Table("Changes", ("when", "change", "site or category", "reason", "approved by"),
              tuple((c.changed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), c.change,
                     c.target, c.reason, c.approved_by or "-") for c in rv.changes),
              widths=(16, 8, 24, 38, 14))
        if rv.changes else "No block or allow changes were recorded in the period."]))
    return secs


def _review_blocks(rv: GovernorsReview) -> list[Block]:
    r = rv.review
    if r is None:
        return [rv.review_status()]
    roles = [(role, r.roles.get(role) or "not named") for role in REVIEW_ROLES]
    roles += [(k, v) for k, v in r.roles.items() if k not in REVIEW_ROLES]
    return [f"Review date: {r.review_date.isoformat()}. " + rv.review_status(),
            Table("Roles", ("role", "named"), tuple(roles), widths=(40, 60)),
            Table("Attendees", ("attendee",), tuple((a,) for a in r.attendees)),
            Table("Decisions", ("#", "decision"),
                  tuple((str(i), d) for i, d in enumerate(r.decisions, 1)), widths=(6, 94))]


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#222}
.banner{background:#fff3cd;border:1px solid #e0c36c;padding:.5em}
table{border-collapse:collapse;margin:.5em 0 1em}caption{text-align:left;font-weight:bold}
td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}"""


def _svg(title: str, bars: Sequence[tuple[str, float | None, str]]) -> str:
    e = html.escape
    top = max([v for _, v, _ in bars if v is not None] + [0.0]) or 1.0
    h, gap, left, width = 16, 4, 240, 300
    parts = []
    for i, (label, value, shown) in enumerate(bars):
        y = i * (h + gap)
        w = max(1.0, value / top * width) if value else 0.0
        parts.append(f'<text x="0" y="{y + 12}" font-size="11">{e(label)}</text>')
        if value is not None:
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{h}" '
                         'fill="#4a6fa5"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 12}" font-size="11">'
                     f'{e(shown)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 60}" '
            f'height="{len(bars) * (h + gap)}" role="img" aria-label="{e(title)}">'
            + "".join(parts) + "</svg>")


def _html_table(t: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                   for row in t.rows)
    chart = f"<figure>{_svg(t.caption, t.bars)}</figure>" if t.bars else ""
    return (f"<table><caption>{e(t.caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{chart}")


def to_html(review: GovernorsReview) -> str:
    """A self-contained HTML document (no scripts, no external resources); every piece of
    text is escaped."""
    e = html.escape
    title = f"Governors' termly review: {review.school_name}, {review.term}"
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'; img-src data:\">",
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
           f'<p class="banner">{e(review.header)}</p><h1>{e(title)}</h1>']
    for heading, blocks in document(review):
        out.append(f"<section><h2>{e(heading)}</h2>")
        out += [_html_table(b) if isinstance(b, Table) else f"<p>{e(b)}</p>" for b in blocks]
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


_PUNCT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " "})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def latin1(text: str) -> str:
    """Text the PDF core fonts can print: common punctuation made plain, control
    characters dropped, anything else outside latin-1 replaced by '?'."""
    text = _CONTROL.sub(" ", text.translate(_PUNCT))
    return text.encode("latin-1", "replace").decode("latin-1")


def to_pdf(review: GovernorsReview, *, compress: bool = True) -> bytes:
    """The same document as tables (A4, core fonts); `compress=False` leaves the page
    text readable in the bytes."""
    pdf = FPDF(format="A4")
    pdf.set_compression(compress)
    pdf.set_title(latin1(f"Governors' termly review: {review.school_name}, {review.term}"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def para(text: str, size: int, height: float, style: str = "",
             border: Literal[0, 1] = 0) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(0, height, latin1(text), border=border, align="L",
                       new_x="LMARGIN", new_y="NEXT")

    para(review.header, 10, 6, "B", border=1)
    para(f"Governors' termly review: {review.school_name}, {review.term}", 15, 9, "B")
    for heading, blocks in document(review):
        if pdf.get_y() > pdf.h - 50:  # no heading alone at the foot of a page
            pdf.add_page()
        para(heading, 12, 7, "B")
        for block in blocks:
            if isinstance(block, str):
                para(block, 9, 5)
                continue
            para(block.caption, 9, 6, "B")
            pdf.set_font("Helvetica", "", 8)
            with pdf.table(col_widths=block.widths, text_align="LEFT", line_height=4.5,
                           first_row_as_headings=True) as table:
                for row in (block.header, *block.rows):
                    cells = table.row()
                    for cell in row:
                        cells.cell(latin1(cell))
            pdf.ln(2)
    return bytes(pdf.output())
