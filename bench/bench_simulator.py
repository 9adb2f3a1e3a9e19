"""Simulator speed: 5 days of a 600-pupil school (`--quick`: 1 day, 120 pupils).

Prints the wall time, lines/s, and the ratio against a baseline measured in the same run:
writing the same number of pre-formatted lines to a file (the floor for any generator).
Target (DESIGN-derived brief): the full run under 60 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from producers.simulator import simulate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="1 day, 120 pupils (for tests)")
    ap.add_argument("--profile", default="beaudesert-park")
    args = ap.parse_args(argv)
    days, pupils, staff = (1, 120, 20) if args.quick else (5, 600, 60)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sim"
        t0 = time.perf_counter()
        info = simulate(out, profile=args.profile, days=days, seed=7, pupils=pupils,
                        staff=staff)
        sim_s = time.perf_counter() - t0
        lines = info["lines"]
        line = "1795285208.110      1 10.0.0.7 TCP_MISS/200 478 GET http://x.test/a u1 " \
               "HIER_DIRECT/10.9.0.1 text/html\n"
        t0 = time.perf_counter()
        (Path(tmp) / "baseline.log").write_text(line * lines, encoding="utf-8")
        base_s = max(time.perf_counter() - t0, 1e-6)
    print(f"simulate {days} days x {pupils} pupils ({args.profile}): {sim_s:.2f} s, "
          f"{lines} lines, {lines / sim_s:,.0f} lines/s")
    print(f"baseline (write {lines} pre-formatted lines): {base_s:.3f} s, "
          f"{lines / base_s:,.0f} lines/s; ratio simulate/baseline = {sim_s / base_s:.1f}x")
    ok = args.quick or sim_s < 60
    print("target < 60 s:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
