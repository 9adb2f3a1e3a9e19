"""The embedded path's speed, stage by stage, on simulator output (target 200,000 events/s).

One simulated school's logs go through the pipeline the embedded runner runs, and each
stage is timed on its own over the same input, in the same run: reading the lines (the
baseline: I/O and UTF-8 decoding, the floor any pipeline pays), parsing with the data
quality suite, enrichment, detection, and the whole `EmbeddedRunner` into a fresh
warehouse file (end to end: all of the above plus the Arrow inserts). Figures are events/s;
the ratio says how many times slower than the floor each stage is.
    python bench/bench_embedded.py            # 5 days of a 600-pupil school
    python bench/bench_embedded.py --quick    # 1 day, 120 pupils (for tests)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from producers.files import read_header, read_lines
from producers.formats import reading_of
from producers.school import load_school
from producers.simulator import simulate
from safeguard.events import Event
from safeguard.inputs import InputSpec
from streams.embedded import PARSE_CHUNK, EmbeddedRunner
from streams.pipeline import Pipeline
from warehouse.writer import Warehouse

TARGET = 200_000  # events/s, the Scale issue's target for the embedded path


def _chunks(pipeline: Pipeline, inputs: list[InputSpec]
            ) -> list[tuple[str, Any, list[tuple[int, str]]]]:
    out = []
    for spec in inputs:
        path = Path(spec.path)
        csv = reading_of(spec.source).csv
        ctx = pipeline.context(str(path), header=read_header(path) if csv else None)
        for lines, _ in read_lines(path, school_id=pipeline.school_id, dataset=spec.source,
                                   source=str(path), csv=csv,
                                   whole_file=reading_of(spec.source).whole_file,
                                   chunk_lines=PARSE_CHUNK):
            out.append((spec.source, ctx, lines))
    return out


def stages(site: Path, db: Path) -> list[tuple[str, int, float]]:
    """(stage, events, seconds) of each stage over the site's logs."""
    inputs = [InputSpec.parse(t) for t in (site / "inputs.txt").read_text().split()]
    bundle = load_school(site / "school")
    pipeline = Pipeline(bundle)
    t0 = time.perf_counter()
    chunks = _chunks(pipeline, inputs)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    events: list[Event] = []
    for source, ctx, lines in chunks:
        result, _ = pipeline.parse_checked(source, lines, ctx)
        events.extend(result.events)
    parse_s = time.perf_counter() - t0
    events.sort(key=lambda e: e.timestamp)
    n = len(events)
    t0 = time.perf_counter()
    identity: dict[str, Any] = {}
    enriched = [pipeline.enrich(e, identity) for raw in events for e in pipeline.with_daily(raw)]
    enrich_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    state: dict[str, Any] = {}
    versions = sum(len(pipeline.detect(e, state)) for e in enriched)
    versions += len(pipeline.advance(enriched[-1].timestamp, state))
    detect_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with Warehouse(db, publish_interval=3600, archive_interval=3600) as wh:
        stats = EmbeddedRunner(Pipeline(load_school(site / "school")), wh).run(inputs)
    e2e_s = time.perf_counter() - t0
    if stats.events != len(enriched):
        raise SystemExit(f"end to end stored {stats.events} events, the stages made "
                         f"{len(enriched)}")
    print(f"{n:,} events parsed, {len(enriched):,} after daily facts, {versions:,} alert "
          f"versions, {stats.alerts} alerts, {stats.dead_letters} dead letters")
    return [("baseline: read lines", n, read_s), ("parse + data quality", n, parse_s),
            ("enrich", n, enrich_s), ("detect (all rules)", n, detect_s),
            ("end to end (EmbeddedRunner)", stats.events, e2e_s)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 day, 120 pupils")
    args = ap.parse_args(argv)
    days, pupils, staff = (1, 120, 32) if args.quick else (5, 600, 60)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        simulate(site, profile="beaudesert-park", days=days, seed=7, pupils=pupils,
                 staff=staff)
        rows = stages(site, Path(tmp) / "bench.duckdb")
    base = rows[0][1] / rows[0][2]
    print(f"{'stage':<30} {'events':>9} {'seconds':>8} {'events/s':>10} {'ratio':>6}")
    for name, n, seconds in rows:
        rate = n / seconds if seconds else float("inf")
        print(f"{name:<30} {n:>9,} {seconds:>8.2f} {rate:>10,.0f} {base / rate:>6.1f}")
    e2e = rows[-1][1] / rows[-1][2]
    verdict = "met" if e2e >= TARGET else f"missed, {TARGET / e2e:.0f}x short"
    print(f"end to end {e2e:,.0f} events/s; target {TARGET:,}: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
