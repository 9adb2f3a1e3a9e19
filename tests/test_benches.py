"""The benchmarks run (quick mode) and print their figures with a baseline ratio."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(script: str, *extra: str, timeout: float = 300) -> str:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script), "--quick", *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
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


def test_embedded_benchmark_quick_times_every_stage_against_reading_the_lines() -> None:
    out = _run("bench_embedded.py")
    for stage in ("baseline: read lines", "parse + data quality", "enrich",
                  "detect (all rules)", "end to end (EmbeddedRunner)"):
        assert re.search(rf"^{re.escape(stage)} +[\d,]+ +[\d.]+ +[\d,]+ +[\d.]+$", out,
                         re.MULTILINE), out
    assert re.search(r"end to end [\d,]+ events/s; target 200,000: (met|missed)", out), out


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(900)  # <= 60 s on a quiet machine; several minutes when it is shared
def test_kafka_benchmark_quick_prints_every_figure_and_the_accounting_holds(
        kafka_bootstrap: str) -> None:
    """On the session's broker; speed targets are the bench's to report, not this test's
    to assert (the machine is shared)."""
    out = _run("bench_kafka.py", "--bootstrap", kafka_bootstrap, timeout=840)
    assert re.search(r"[\d,]+ events stored after [\d.]+ s: [\d,]+ events/s end to end", out)
    assert re.search(r"ratio bare/e2e = [\d.]+x", out), out
    hits = re.search(r"\((\d+)/(\d+) hits alerted\): p50 (\d+|inf) ms, p99 (\d+|inf) ms", out)
    assert hits and int(hits[2]) >= 5, out
    assert re.search(r"worker RSS peak per quarter .*last/first quarter = [\d.]+", out), out
    assert re.search(r"accounting: .*: ok$", out, re.MULTILINE), out
