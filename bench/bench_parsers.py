"""Parser speed: lines/s for every registered source format, on simulator output.

For each `kind:format` the simulator writes a school's logs in that format; the parser
runs over all of them, and the baseline, measured in the same run over the same lines,
is the cheapest possible "parse": `str.split()` of every line. The ratio says how many
times slower than that floor each parser is (lower is better).
    python bench/bench_parsers.py            # 5 days of a 600-pupil school per format set
    python bench/bench_parsers.py --quick    # 1 day, 120 pupils (for tests)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from producers.files import read_header, read_lines
from producers.formats import PARSERS, reading_of
from producers.parsing import ParseContext
from producers.simulator import simulate

FORMAT_SETS = (
    {"filter": "squid", "auth": "winlogbeat", "cloud": "google", "device": "snipeit-api"},
    {"filter": "e2guardian", "auth": "samba", "cloud": "entra", "device": "snipeit-csv"},
    {"filter": "fortigate"}, {"filter": "squidguard"}, {"filter": "csv"},
)


def bench_file(source: str, path: Path) -> tuple[int, float, float, int]:
    """(records, parse seconds, baseline seconds, dead letters) for one file."""
    reading = reading_of(source)
    ctx = ParseContext(school_id="bench", source=str(path), now=datetime(2030, 1, 1, tzinfo=UTC),
                       timezone="Europe/London",
                       header=read_header(path) if reading.csv else None)
    chunks = [c for c, _ in read_lines(path, school_id="bench", dataset=source, source=str(path),
                                       csv=reading.csv, whole_file=reading.whole_file)]
    parser = PARSERS[source]
    t0 = time.perf_counter()
    records = dead = 0
    for chunk in chunks:
        result = parser(chunk, ctx)
        records += result.records_in
        dead += len(result.dead_letters)
    parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for chunk in chunks:
        for _, line in chunk:
            line.split()
    base_s = time.perf_counter() - t0
    return records, parse_s, base_s, dead


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 day, 120 pupils")
    args = ap.parse_args(argv)
    days, pupils, staff = (1, 120, 32) if args.quick else (5, 600, 60)
    totals: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n, formats in enumerate(FORMAT_SETS):
            out = Path(tmp) / f"sim{n}"
            simulate(out, profile="beaudesert-park", days=days, seed=7, pupils=pupils,
                     staff=staff, formats=formats)
            for line in (out / "inputs.txt").read_text().split():
                kind, fmt, path = line.split(":", 2)
                source = f"{kind}:{fmt}"
                if source in totals and source != f"filter:{formats.get('filter')}":
                    continue
                records, parse_s, base_s, dead = bench_file(source, Path(path))
                t = totals.setdefault(source, [0, 0.0, 0.0, 0])
                t[0] += records
                t[1] += parse_s
                t[2] += base_s
                t[3] += dead
    print(f"{'format':<22} {'records':>9} {'lines/s':>10} {'baseline/s':>11} {'ratio':>6} "
          f"{'dead':>5}")
    for source, (records, parse_s, base_s, dead) in sorted(totals.items()):
        rate = records / parse_s if parse_s else float("inf")
        base = records / base_s if base_s else float("inf")
        print(f"{source:<22} {int(records):>9} {rate:>10,.0f} {base:>11,.0f} "
              f"{base / rate:>6.1f} {int(dead):>5}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
