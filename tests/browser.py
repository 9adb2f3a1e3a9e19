"""Helpers for the browser test: a served dashboard, Debian's Chromium driven by Playwright,
and the moves a person makes (sign in, follow the sidebar, pick from a Streamlit widget).

Only `tests/test_dashboard_browser.py` uses this. Nothing here downloads a browser: the
test launches `/usr/bin/chromium` (scripts/system-deps.sh installs it) with a fresh profile
and the network-quiet flags below; the dashboard is a real `streamlit run` on 127.0.0.1,
stopped by its PID.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import stop_process

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = REPO / "test-output" / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LOAD_BOUND_S = 30.0  # every page must show its title and finish its run within this

# the sidebar's page names -> (url path, the page's own h1)
PAGES: dict[str, tuple[str, str]] = {
    "Sign in": ("", "Safeguard"),
    "Alerts": ("alerts", "Alerts"),
    "Alert": ("alert", "Alert"),
    "Pupil chronology": ("chronology", "Pupil chronology"),
    "Record an incident": ("incident", "Record an incident"),
    "Termly review": ("termly", "Termly review"),
    "Filtering review": ("review", "Filtering and monitoring review"),
    "Rules": ("rules", "Rules"),
    "Pipeline health": ("pipeline", "Pipeline health"),
    "Audit log": ("audit", "Audit log"),
}


def require_chromium() -> None:
    """Fail (not skip) when the browser or its driver is missing: the test is part of the
    suite, and a machine without them is set up wrong."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps.sh (as root) to install "
                    "Debian's chromium", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[dev]'", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])




@contextmanager
def served(argv: list[str], port: int, log_path: Path,
           timeout_s: float = 90.0) -> Iterator[str]:
    """Run the dashboard (argv from `safeguard.cli.dashboard_command`) until the block
    ends; yields its base URL once `/_stcore/health` answers ok."""
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            deadline = time.monotonic() + timeout_s
            health = None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    with urllib.request.urlopen(  # noqa: S310 - our loopback server
                            f"{base}/_stcore/health", timeout=2) as r:
                        health = r.read().decode()
                        break
                except OSError:
                    time.sleep(0.2)  # polling with a deadline, not synchronising
            assert health == "ok", f"dashboard did not start:\n{log_path.read_text()}"
            yield base
        finally:
            stop_process(proc, grace=20)


@dataclass
class LoadTime:
    role: str
    page: str
    path: str
    how: str  # "open" (address typed: the whole app loads), "sign-in", "sidebar" (in-app)
    title_visible_s: float  # click/goto to the page's h1 visible
    settled_s: float        # ... to the script run finished and every element drawn


class LoadTimes:
    """Every page load the test measured; written as JSON and printed as a table."""

    def __init__(self) -> None:
        self.rows: list[LoadTime] = []

    def add(self, row: LoadTime) -> None:
        self.rows.append(row)
        assert row.settled_s <= LOAD_BOUND_S, (
            f"{row.role} {row.page}: loaded in {row.settled_s:.1f}s (bound {LOAD_BOUND_S}s)")

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"bound_s": LOAD_BOUND_S,
                                    "pages": [asdict(r) for r in self.rows]}, indent=2) + "\n",
                        encoding="utf-8")

    def table(self) -> str:
        lines = [f"{'role':<9} {'page':<20} {'how':<8} {'title (s)':>9} {'settled (s)':>11}"]
        lines += [f"{r.role:<9} {r.page:<20} {r.how:<8} {r.title_visible_s:>9.2f} "
                  f"{r.settled_s:>11.2f}" for r in self.rows]
        if self.rows:
            worst = max(self.rows, key=lambda r: r.settled_s)
            lines.append(f"slowest: {worst.role} {worst.page} {worst.settled_s:.2f}s; "
                         f"bound {LOAD_BOUND_S:.0f}s")
        return "\n".join(lines)


class Browser:
    """One Chromium for the whole module; a new context (no shared cookies or storage)
    per person."""

    def __init__(self, base: str, times: LoadTimes) -> None:
        from playwright.sync_api import expect, sync_playwright

        self.base = base
        self.times = times
        self._pw = sync_playwright().start()
        try:
            # Playwright gives every launch a fresh temporary profile (user-data dir)
            self.browser = self._pw.chromium.launch(executable_path=str(CHROMIUM),
                                                    headless=True, args=CHROMIUM_ARGS)
        except Exception:
            self._pw.stop()
            raise
        expect.set_options(timeout=LOAD_BOUND_S * 1000)

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            self._pw.stop()

    def person(self, role: str, base: str | None = None) -> Person:
        """A new browser context for `role`, on this dashboard or the one at `base`."""
        ctx = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.set_default_timeout(LOAD_BOUND_S * 1000)
        return Person(self, role, ctx, base or self.base)


class Person:
    """One signed-in (or signing-in) person in their own browser context."""

    def __init__(self, browser: Browser, role: str, ctx: Any, base: str) -> None:
        self.browser = browser
        self.base = base
        self.role = role
        self.ctx = ctx
        self.page = ctx.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.current = ""  # the page last loaded (sidebar name)
        self._watch(self.page)

    def _watch(self, page: Any) -> None:
        def dialog(d: Any) -> None:  # alert(), confirm(), prompt(): none should ever open
            self.dialogs.append(str(d.message))
            d.dismiss()

        page.on("dialog", dialog)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def close(self) -> None:
        self.ctx.close()

    # ------------------------------------------------------------ waiting

    def settled(self, page: Any | None = None) -> None:
        """Streamlit has finished the script run (the app root says so) and drawn what
        it sent."""
        from playwright.sync_api import expect

        page = page or self.page
        expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
               ).to_be_attached()
        # charts and buttons whose code loads on demand show a placeholder until drawn
        expect(page.get_by_test_id("stSkeleton")).to_have_count(0)

    def heading(self, title: str, page: Any | None = None) -> Any:
        return (page or self.page).get_by_role("heading", level=1, name=title, exact=True)

    def _timed(self, page_name: str, how: str, start: float, page: Any | None = None) -> None:
        from playwright.sync_api import expect

        page = page or self.page
        path, title = PAGES[page_name]
        try:
            expect(self.heading(title, page)).to_be_visible()
            shown = time.monotonic() - start
            self.settled(page)
            done = time.monotonic() - start
        except AssertionError as exc:
            raise AssertionError(f"{self.role}: {page_name} did not load within "
                                 f"{LOAD_BOUND_S}s: {exc}") from None
        self.no_exception(page)
        self.current = page_name
        self.browser.times.add(LoadTime(self.role, page_name, "/" + path, how, round(shown, 3),
                                        round(done, 3)))

    def no_exception(self, page: Any | None = None) -> None:
        from playwright.sync_api import expect

        page = page or self.page
        expect(page.get_by_test_id("stException")).to_have_count(0)

    # ------------------------------------------------------------ moves

    def sign_in(self, username: str, password: str, path: str = "",
                lands_on: str = "Alerts", page: Any | None = None) -> None:
        """Open `path` in a fresh session, sign in, and wait for the page it lands on.
        A page other than the main one is 'not found' until signed in: Streamlit says so
        in a dialog, which a person closes."""
        from playwright.sync_api import expect

        page = page or self.page
        start = time.monotonic()
        page.goto(self.base + "/" + path)
        self._timed("Sign in", "open", start, page)
        expect(page.get_by_role("textbox", name="Username")).to_be_attached()
        if path.split("?")[0] not in ("", "/"):
            dialog = page.get_by_role("dialog")
            expect(dialog).to_contain_text("Page not found")
            page.keyboard.press("Escape")
            expect(dialog).to_have_count(0)
        self.submit_sign_in(username, password, lands_on, page)

    def submit_sign_in(self, username: str, password: str, lands_on: str = "Alerts",
                       page: Any | None = None) -> None:
        """Fill in the sign-in form on screen and wait for the page it lands on (timed)."""
        from playwright.sync_api import expect

        page = page or self.page
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(password)
        start = time.monotonic()
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        self._timed(lands_on, "sign-in", start, page)

    def nav_names(self) -> list[str]:
        links = self.page.get_by_test_id("stSidebarNav").get_by_role("link")
        return [a.inner_text().strip().splitlines()[-1] for a in links.all()]

    def go(self, page_name: str) -> None:
        """Follow the sidebar link (client-side, the same signed-in session), timed."""
        nav = self.page.get_by_test_id("stSidebarNav")
        start = time.monotonic()
        nav.get_by_role("link", name=page_name, exact=True).click()
        self._timed(page_name, "sidebar", start)

    def screenshot(self, name: str, page: Any | None = None) -> Path:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"{self.role}-{name}.png"
        page = page or self.page
        # Streamlit scrolls inside its main block, so a "full page" shot is one screen:
        # grow the window to the content's height for the shot, then put it back
        size = page.viewport_size or {"width": 1400, "height": 1000}
        tall = int(page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
            "[data-testid=stMainBlockContainer]')].map(e => e.scrollHeight), 0)"))
        if tall > size["height"]:
            page.set_viewport_size({"width": size["width"], "height": min(tall + 40, 8000)})
        try:
            page.screenshot(path=str(path), full_page=True)
        finally:
            page.set_viewport_size(size)
        return path

    def main_text(self, page: Any | None = None) -> str:
        """What the page says: the rendered text plus every table cell (Streamlit's tables
        draw on a canvas and keep their cells in an accessible table)."""
        page = page or self.page
        text: str = page.locator("body").inner_text()
        cells = page.locator('[role="gridcell"], [role="columnheader"]').all_text_contents()
        return text + "\n" + "\n".join(cells)

    def grid(self, header: str, page: Any | None = None) -> Any:
        """The table (st.dataframe) that has a column headed `header`, by its position on
        the page (its headers leave the DOM when it scrolls sideways)."""
        from playwright.sync_api import expect

        page = page or self.page
        grids = page.get_by_test_id("stDataFrame")
        expect(grids.filter(has=page.locator('[role="columnheader"]', has_text=header))
               ).to_have_count(1)
        index = grids.evaluate_all(
            """(grids, header) => grids.findIndex(g => [...g.querySelectorAll(
                   '[role="columnheader"]')].some(c => c.textContent.includes(header)))""",
            header)
        return grids.nth(int(index))

    def grid_cells(self, header: str, page: Any | None = None) -> list[str]:
        """The text of the table's rendered cells (the grid draws only what is in view)."""
        from playwright.sync_api import expect

        cells = self.grid(header, page).locator('[role="gridcell"]')
        expect(cells.first).to_be_attached()
        return [c.strip() for c in cells.all_text_contents()]

    def scroll_grid_right(self, header: str, page: Any | None = None) -> Any:
        """Scroll the table to its last columns (the grid renders only those in view);
        returns the table."""
        grid = self.grid(header, page)
        grid.locator(".dvn-scroller").evaluate("e => { e.scrollLeft = e.scrollWidth; }")
        return grid

    def expect_cell(self, header: str, text: str, page: Any | None = None) -> None:
        """Wait until the table headed `header` shows a cell reading exactly `text`."""
        from playwright.sync_api import expect

        exact = re.compile(rf"^\s*{re.escape(text)}\s*$")
        expect(self.grid(header, page).locator('[role="gridcell"]', has_text=exact).first
               ).to_be_attached()

    def expect_no_cell(self, header: str, text: str, page: Any | None = None) -> None:
        """Wait until no cell of the table headed `header` reads exactly `text`."""
        from playwright.sync_api import expect

        exact = re.compile(rf"^\s*{re.escape(text)}\s*$")
        expect(self.grid(header, page).locator('[role="gridcell"]', has_text=exact)
               ).to_have_count(0)

    def metric(self, label: str) -> str:
        box = self.page.get_by_test_id("stMetric").filter(
            has=self.page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
        return str(box.get_by_test_id("stMetricValue").inner_text()).strip()

    def choose(self, label: str, option: str, *, typed: str | None = None,
               multiple: bool = False) -> None:
        """Pick `option` in the selectbox (or with `multiple`, the multiselect) labelled
        `label`, typing `typed` first to narrow the list."""
        from playwright.sync_api import expect

        box = self.page.get_by_role("combobox", name=label)
        box.click()
        if typed is not None:
            box.fill(typed)
        self.page.get_by_role("option", name=option, exact=True).click()
        if multiple:  # a multiselect's list stays open (Escape on a selectbox clears it)
            self.page.keyboard.press("Escape")
        expect(self.page.get_by_role("listbox")).to_have_count(0)
