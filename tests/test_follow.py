"""`ingest --follow`: whole lines only, rotation, and resume after kill -9 with no dupes or gaps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from producers.follow import Cursor, CursorFile, read_new_lines
from tests.conftest import squid_line
from warehouse.reader import WarehouseReader

REPO = Path(__file__).resolve().parents[1]
T = 1795262400.0


def _read(path: Path, cur: Cursor | None) -> tuple[list[tuple[int, str]], Cursor]:
    lines, dead, new = read_new_lines(path, cur, school_id="s", dataset="filter:squid")
    assert dead == []
    return lines, new


def test_only_complete_lines_are_read_and_the_cursor_advances(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"one\ntwo\nthr")
    lines, cur = _read(log, None)
    assert lines == [(1, "one\n"), (2, "two\n")]
    with log.open("ab") as fh:
        fh.write(b"ee\nfour\n")
    lines, cur = _read(log, cur)
    assert lines == [(3, "three\n"), (4, "four\n")]
    assert _read(log, cur) == ([], cur)


def test_rotation_and_truncation_restart_at_the_top(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("a\nb\nc\n")
    _, cur = _read(log, None)
    os.rename(log, tmp_path / "access.log.1")
    log.write_text("new\n")  # a new inode
    lines, cur2 = _read(log, cur)
    assert lines == [(1, "new\n")] and cur2.inode != cur.inode
    log.write_text("")  # truncated in place
    log.write_text("x\n")
    assert _read(log, cur2)[0] == [(1, "x\n")]


def test_cursor_file_round_trip(tmp_path: Path) -> None:
    store = CursorFile(tmp_path / "c.json")
    assert store.load() == {}
    store.save({"p": Cursor("p", 1, 2, 3)})
    assert store.load() == {"p": Cursor("p", 1, 2, 3)}


def _append(log: Path, start: int, n: int) -> None:
    with log.open("a") as fh:
        for i in range(start, start + n):
            fh.write(squid_line(ts=T + i, url=f"http://www.bbc.co.uk/page{i}") + "\n")


def _stored(db: Path) -> int:
    manifest = WarehouseReader(db).manifest()
    return int(manifest["rows"]["events"]) if manifest else 0


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.slow
def test_follow_resumes_after_kill_9_with_no_duplicates_and_no_gaps(
        tmp_path: Path, make_school: Callable[..., Path]) -> None:
    school = make_school()
    log = tmp_path / "access.log"
    db = tmp_path / "w.duckdb"
    _append(log, 0, 300)
    argv = [sys.executable, "-m", "safeguard.cli", "ingest", "--school", str(school), "--input",
            f"filter:squid:{log}", "--embedded", "--db", str(db), "--follow",
            "--poll-interval", "0.05"]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(lambda: _stored(db) >= 300, 60, "the first 300 lines")
        _append(log, 300, 30_000)  # the tailer is mid-way through these when it is killed
        _wait(lambda: _stored(db) > 300, 60, "ingest of the appended lines to start")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    _append(log, 30_300, 200)
    done = subprocess.run([*argv, "--idle-exit", "1"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(db), read_only=True)
    total, distinct = con.execute("SELECT count(*), count(DISTINCT event_id) FROM events"
                                  ).fetchone()  # type: ignore[misc]
    assert (total, distinct) == (30_500, 30_500)
    urls = {r[0] for r in con.execute("SELECT url_original FROM events").fetchall()}
    assert urls == {f"http://www.bbc.co.uk/page{i}" for i in range(30_500)}
    assert con.execute("SELECT sum(records_in)::BIGINT FROM ingest_batches").fetchone() == (
        30_500,)
