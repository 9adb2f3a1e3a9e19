"""`safeguard dashboard` really serves: a real Streamlit server on 127.0.0.1, stopped by PID."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import stop_process

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dashboard_serves_on_loopback(tmp_path: Path, demo_site: Path) -> None:
    port = _free_port()
    log = (tmp_path / "dashboard.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "safeguard.cli", "dashboard", "--db",
         str(demo_site / "warehouse.duckdb"), "--port", str(port)],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as r:
                    health = r.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert health == "ok", (tmp_path / "dashboard.log").read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert "<title>Streamlit</title>" in r.read().decode()
        assert f"http://127.0.0.1:{port}" in (tmp_path / "dashboard.log").read_text()
    finally:
        stop_process(proc, grace=20)
    # stopping `safeguard dashboard` stops the Streamlit server it started (no orphan)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
        except OSError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the Streamlit server on port {port} outlived its parent")
