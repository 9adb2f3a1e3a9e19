"""The dashboard in a real browser: Debian's headless Chromium, launched by the test,
against `streamlit run` on 127.0.0.1 over the demo warehouse.

Each role signs in and the test checks the pages it is shown and the ones it must not
reach; the DSL acknowledges an alert and the deputy, in another session, sees the step;
the headteacher's audit log lists what the DSL did; the governor's pages name no pupil;
an incident description full of HTML stays text. Every page gets a screenshot and its
load time (click to title visible, and to Streamlit's run finished) under
test-output/browser/, printed as a table (`pytest -s`).
"""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from safeguard.cli import dashboard_command
from tests.browser import (
    OUTPUT,
    PAGES,
    Browser,
    LoadTimes,
    Person,
    free_port,
    require_chromium,
    served,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

SAFEGUARDING = ["Alerts", "Alert", "Pupil chronology", "Record an incident", "Termly review",
                "Filtering review"]
NAV = {  # exactly what each role's sidebar lists
    "dsl": SAFEGUARDING,
    "deputy": SAFEGUARDING,
    "head": [*SAFEGUARDING, "Audit log"],
    "governor": ["Termly review", "Filtering review"],
    "it": ["Alerts", "Alert", "Termly review", "Filtering review", "Rules", "Pipeline health"],
}
ROUTING = {"dsl": "dsl", "deputy": "dsl", "head": "headteacher", "it": "it"}
XSS = '<script>window.__xss=1</script><b>bold</b> <img src=x onerror="window.__xss=2">'
NOTE = "Browser test: spoke to the pupil <i>today</i>"
XSS_RAW = "<script>window.__xss=1</script><b>bold</b> <img src=x onerror="  # CSV-quoted
XSS_PUPIL = "P0000"


@dataclass(frozen=True)
class Demo:
    db: Path
    school: Path
    password: str
    alerts: dict[str, list[str]]   # routing -> alert ids
    titles: dict[str, str]         # alert id -> title
    subjects: dict[str, str]       # alert id -> subject (a person id for pupils)

    def pupil_names(self) -> list[str]:
        with (self.school / "people.csv").open(encoding="utf-8", newline="") as f:
            return [r["display_name"] for r in csv.DictReader(f) if r["role"] == "pupil"]

    def pupil_label(self, person_id: str) -> str:
        with (self.school / "people.csv").open(encoding="utf-8", newline="") as f:
            name = next(r["display_name"] for r in csv.DictReader(f)
                        if r["person_id"] == person_id)
        return f"{name} ({person_id})"


def _reader(db: Path):  # type: ignore[no-untyped-def]
    from warehouse.reader import WarehouseReader

    return WarehouseReader(db).connect()


@pytest.fixture(scope="module")
def chromium_present() -> None:
    require_chromium()  # before the demo's build: a missing browser fails at once


@pytest.fixture(scope="module")
def demo(chromium_present: None, demo_site: Path,
         tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A private copy of the session's demo site (this test writes triage and incidents)."""
    import shutil

    from pipelines.demo_accounts import DEMO_PASSWORD

    out = tmp_path_factory.mktemp("browser-demo") / "demo"
    shutil.copytree(demo_site, out)
    db = out / "warehouse.duckdb"
    alerts: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    subjects: dict[str, str] = {}
    for alert_id, routing, title, subject in _reader(db).execute(
            "SELECT alert_id, routing, title, subject FROM alerts "
            "ORDER BY severity DESC, last_seen DESC").fetchall():
        alerts.setdefault(routing, []).append(alert_id)
        titles[alert_id] = title
        subjects[alert_id] = subject
    return Demo(db, out / "school", DEMO_PASSWORD, alerts, titles, subjects)


@pytest.fixture(scope="module")
def browser(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    times = LoadTimes()
    port = free_port()
    log = tmp_path_factory.mktemp("browser-log") / "dashboard.log"
    with served(dashboard_command(demo.db, "127.0.0.1", port), port, log) as base:
        b = Browser(base, times)
        try:
            yield b
        finally:
            b.close()
            times.write(OUTPUT / "page-load-times.json")
            print(f"\npage load times (also in {OUTPUT / 'page-load-times.json'}):")
            print(times.table())
            print(f"screenshots: {', '.join(sorted(p.name for p in OUTPUT.glob('*.png')))}")


@pytest.fixture
def people(browser: Browser) -> Iterator[dict[str, Person]]:
    opened: dict[str, Person] = {}

    class _People(dict[str, Person]):
        def __missing__(self, role: str) -> Person:
            opened[role] = self[role] = browser.person(role)
            return self[role]

    yield _People()
    for person in opened.values():
        assert not person.dialogs, f"{person.role}: a dialog fired: {person.dialogs}"
        assert not person.errors, f"{person.role}: page errors: {person.errors}"
        person.close()


def _visit_every_page(person: Person) -> dict[str, str]:
    """The page on screen, then each other sidebar link in turn; a screenshot and the
    page's text for each."""
    first = person.current
    person.screenshot(PAGES[first][0])
    seen = {first: person.main_text()}
    for name in person.nav_names():
        if name == first:
            continue
        person.go(name)
        person.screenshot(PAGES[name][0])
        seen[name] = person.main_text()
    return seen


def _queue_ids(person: Person) -> set[str]:
    return {m.group(1) for c in person.grid_cells("Sev")
            for m in [re.search(r"alert_id=([0-9a-f]+)", c)] if m}


def _check_queue(person: Person, demo: Demo) -> None:
    """The Alerts page lists the role's routing and nothing routed elsewhere."""
    person.go("Alerts")
    mine = demo.alerts.get(ROUTING[person.role], [])
    assert person.metric("Alerts") == str(len(mine))
    shown = _queue_ids(person)
    assert shown, f"{person.role}: no alert rows in the queue"
    assert shown <= set(mine), f"{person.role} sees alerts routed elsewhere: {shown - set(mine)}"


def _assert_no_pupil(demo: Demo, role: str, pages: dict[str, str]) -> None:
    """No page names a pupil or shows a pupil's id."""
    names = demo.pupil_names()
    for name, text in pages.items():
        ids = re.findall(r"\bP\d{4}\b", text)
        assert not ids, f"{role}'s {name} page shows pupil ids {ids[:5]}"
        shown = [n for n in names if n in text]
        assert not shown, f"{role}'s {name} page shows pupil names {shown[:5]}"


def test_each_role_sees_its_pages_and_triage_persists(demo: Demo, browser: Browser,
                                                      people: dict[str, Person]) -> None:
    from playwright.sync_api import expect

    # ---- DSL: the queue, every safeguarding page, no admin page, then a triage step
    dsl = people["dsl"]
    dsl.sign_in("dsl", demo.password)
    assert dsl.nav_names() == NAV["dsl"]
    pages = _visit_every_page(dsl)
    _check_queue(dsl, demo)
    at_risk = demo.alerts["dsl"][0]
    assert demo.titles[at_risk].startswith("At-risk pupil")
    cells = dsl.grid_cells("Sev")
    assert any(c.startswith("At-risk pupil") for c in cells), cells
    assert cells[1] == "5", f"the queue is not led by the severity-5 alert: {cells[:4]}"
    assert "Evidence timeline" in pages["Alert"]  # the first alert opens by default

    dsl.go("Alert")
    page = dsl.page
    assert dsl.heading("Alert").is_visible()
    assert page.get_by_role("heading", level=3).first.inner_text().startswith("At-risk pupil")
    assert dsl.metric("Status") == "new"
    form = page.get_by_test_id("stForm")
    form.get_by_text("acknowledge", exact=True).click()
    form.get_by_role("textbox", name="Note").fill(NOTE)
    form.get_by_role("button", name="Record").click()
    dsl.settled()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("Recorded (")
    dsl.screenshot("alert-triaged")
    dsl.go("Alerts")
    dsl.go("Alert")  # a new run of the page reads the republished snapshot
    dsl.expect_cell("acted_at", NOTE)
    assert dsl.metric("Status") == "acknowledged"
    dsl.screenshot("alert-history")

    # persisted in the warehouse (the readers' snapshot), not only in the page
    rows = _reader(demo.db).execute(
        "SELECT action, actor, note FROM alert_actions WHERE alert_id = ?", [at_risk]).fetchall()
    assert ("acknowledge", "dsl", NOTE) in rows
    assert _reader(demo.db).execute("SELECT status FROM alerts WHERE alert_id = ?",
                                    [at_risk]).fetchone() == ("acknowledged",)

    # the DSL cannot reach the audit log by its address either
    dsl_direct = browser.person("dsl")
    try:
        dsl_direct.sign_in("dsl", demo.password, path="audit")
        assert dsl_direct.heading("Audit log").count() == 0
        assert "Audit log" not in dsl_direct.nav_names()
        dsl_direct.screenshot("direct-audit")
    finally:
        dsl_direct.close()

    # ---- deputy: a fresh session follows the alert's link and sees the DSL's step
    deputy = people["deputy"]
    deputy.sign_in("deputy", demo.password, path=f"alert?alert_id={at_risk}", lands_on="Alert")
    assert deputy.nav_names() == NAV["deputy"]
    deputy.expect_cell("acted_at", NOTE)
    assert deputy.metric("Status") == "acknowledged"
    history = " ".join(deputy.grid_cells("acted_at"))
    assert "acknowledge" in history and "dsl" in history
    deputy.screenshot("alert-link")
    _visit_every_page(deputy)
    _check_queue(deputy, demo)

    # ---- headteacher: staff-conduct queue and the audit log with the DSL's work in it
    head = people["head"]
    head.sign_in("head", demo.password)
    assert head.nav_names() == NAV["head"]
    _visit_every_page(head)
    _check_queue(head, demo)
    head.go("Audit log")
    head.expect_cell("logged_at", "view-audit-log")  # the head's own view comes first
    head.choose("What", "triage", multiple=True)
    head.expect_no_cell("logged_at", "view-audit-log")
    for text in ("triage", "dsl", at_risk, "acknowledge"):
        head.expect_cell("logged_at", text)
    head.choose("What", "view-alert", multiple=True)  # views are logged by pupil id
    for text in ("view-alert", "deputy", demo.subjects[at_risk], f"alert {at_risk}"):
        head.expect_cell("logged_at", text)
    head.screenshot("audit-filtered")

    # ---- governor: anonymised termly review and the DfE record only
    governor = people["governor"]
    governor.sign_in("governor", demo.password, lands_on="Termly review")
    assert governor.nav_names() == NAV["governor"]
    _assert_no_pupil(demo, "governor", _visit_every_page(governor))

    # ---- IT: rules, pipeline and its own queue; no chronology or audit
    it = people["it"]
    it.sign_in("it", demo.password)
    assert it.nav_names() == NAV["it"]
    _assert_no_pupil(demo, "it", _visit_every_page(it))
    _check_queue(it, demo)
    headers = it.grid("Sev").locator("[role=columnheader]").all_text_contents()
    assert "name" not in [h.strip() for h in headers], headers


def test_incident_description_renders_as_text(demo: Demo, browser: Browser,
                                              people: dict[str, Person]) -> None:
    from playwright.sync_api import expect

    dsl = people["dsl"]
    dsl.sign_in("dsl", demo.password)
    dsl.go("Record an incident")
    page = dsl.page
    dsl.choose("Category", "cyberbullying", typed="cyberbullying")
    label = demo.pupil_label(XSS_PUPIL)
    dsl.choose("Pupils involved", label, typed=XSS_PUPIL, multiple=True)
    form = page.get_by_test_id("stForm")
    form.get_by_role("textbox", name="What happened").fill(XSS)
    form.get_by_role("textbox", name="Actions taken").fill("Spoke to both <u>pupils</u>")
    form.get_by_role("button", name="Record incident").click()
    dsl.settled()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("Incident recorded")
    expect(page.get_by_test_id("stText").get_by_text(XSS, exact=True)).to_be_visible()
    dsl.screenshot("incident-xss")
    _no_html_ran(dsl)

    # the incident raised an alert; its evidence carries the description, as text
    alert_id = _reader(demo.db).execute(
        "SELECT alert_id FROM alerts WHERE subject = ? AND routing = 'dsl' "
        "ORDER BY raised_at DESC LIMIT 1", [XSS_PUPIL]).fetchone()
    assert alert_id is not None, "the cyberbullying incident raised no alert"
    linked = browser.person("dsl")
    try:
        linked.sign_in("dsl", demo.password, path=f"alert?alert_id={alert_id[0]}",
                       lands_on="Alert")
        evidence = linked.scroll_grid_right("event_id")  # the raw record comes last
        expect(evidence.locator("[role=gridcell]", has_text=XSS_RAW).first).to_be_attached()
        linked.screenshot("alert-xss")
        _no_html_ran(linked)

        linked.go("Pupil chronology")
        linked.choose("Pupil", label, typed=XSS_PUPIL)
        linked.settled()
        chronology = linked.grid_cells("happened_at")
        assert any(alert_id[0] == c for c in chronology), chronology
        linked.screenshot("chronology-xss")
        _no_html_ran(linked)
        assert not linked.dialogs and not linked.errors, (linked.dialogs, linked.errors)
    finally:
        linked.close()


def _no_html_ran(person: Person) -> None:
    page = person.page
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("[data-testid=stMain] b").count() == 0
    assert not person.dialogs, person.dialogs


def test_a_page_address_on_a_fresh_server_asks_to_sign_in(demo: Demo, browser: Browser,
                                                         tmp_path: Path) -> None:
    """The first visitor of a new server asks for a page by its address: Streamlit's older
    multipage mode would serve a `pages/` folder's scripts without app.py's sign-in (the
    pages live in `views/` for that reason, and each also redirects when nobody is
    signed in): the visitor must get the sign-in form, not the page."""
    from playwright.sync_api import expect

    port = free_port()
    with served(dashboard_command(demo.db, "127.0.0.1", port), port,
                tmp_path / "fresh.log") as base:
        visitor = browser.person("fresh", base)
        try:
            page = visitor.page
            page.goto(f"{base}/audit")
            expect(page.get_by_role("textbox", name="Username")).to_be_visible()
            visitor.settled()
            visitor.no_exception()
            assert visitor.heading("Audit log").count() == 0
            assert visitor.nav_names() == []
            visitor.screenshot("audit-before-sign-in")
            # a signed-out visitor's address is not a page here: Streamlit says so in a
            # dialog over the sign-in form; dismissing it leaves the form
            dialog = page.get_by_role("dialog")
            if dialog.count():
                page.keyboard.press("Escape")
                expect(dialog).to_have_count(0)
            visitor.submit_sign_in("dsl", demo.password)
            assert visitor.nav_names() == NAV["dsl"]
            assert not visitor.dialogs and not visitor.errors, (visitor.dialogs, visitor.errors)
        finally:
            visitor.close()
