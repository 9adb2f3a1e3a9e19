"""The benchmarks run (quick mode) and print their figures with a baseline ratio."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(script: str) -> str:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script), "--quick"], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_simulator_benchmark_quick() -> None:
    out = _run("bench_simulator.py")
    assert "lines/s" in out and "ratio" in out


def test_parser_benchmark_quick_covers_every_format_without_dead_letters() -> None:
    from producers.formats import PARSERS

    out = _run("bench_parsers.py")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}
    measured = set(PARSERS) - {"auth:google-json"}  # the simulator writes Google as NDJSON
    assert measured <= set(rows)
    assert all(rows[f][-1] == "0" for f in measured)  # dead letters column


def test_warehouse_benchmark_quick_meets_the_query_target_and_compares_the_sink() -> None:
    out = _run("bench_warehouse.py")
    assert "slowest query" in out and "target met" in out
    assert "ratio bare/sink" in out
    met = re.search(r"backtests within 10 s: (\d+)/(\d+) rules", out)
    assert met, out  # a backtest of every rule of both profiles, each within the target
    assert met[1] == met[2] and int(met[2]) >= 40
