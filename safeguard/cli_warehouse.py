"""Warehouse commands of the CLI (part of the composition root): termly figures,
retention, backtest. Each wires settings to functions in pipelines/ and warehouse/."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from safeguard.errors import SafeguardError
from safeguard.settings import Settings


class WarehouseCommandError(SafeguardError):
    """A warehouse command cannot run; the message is the line the user sees."""


def _school_dir(args: argparse.Namespace) -> Path:
    school = Path(args.school)
    if not (school / "school.yaml").is_file():
        raise WarehouseCommandError(f"no school.yaml in {school}")
    return school


def cmd_termly(args: argparse.Namespace, settings: Settings) -> int:
    """Governors' termly figures from the readers' snapshot (works during ingest)."""
    from pipelines.termly import compare_terms, term_reports
    from producers.school import load_school
    from warehouse.reader import WarehouseReader

    reader = WarehouseReader(settings.db_path)
    if reader.manifest() is None:
        raise WarehouseCommandError(f"no warehouse snapshot for {settings.db_path}; "
                                    "run an ingest first")
    bundle = load_school(_school_dir(args))
    known = [t.name for t in bundle.directory.school.terms]
    unknown = sorted(set(args.term or ()) - set(known))
    if unknown:
        raise WarehouseCommandError(f"unknown term {', '.join(unknown)}; the school's terms: "
                                    f"{', '.join(known)}")
    reports = term_reports(reader.connect(), bundle.directory.school, args.term or None,
                           directory=bundle.directory)
    if args.json:
        print(json.dumps({"terms": [r.to_dict() for r in reports],
                          "trend": compare_terms(reports)}, indent=2, default=str))
        return 0
    for r in reports:
        d = r.to_dict()
        print(f"{d['term']}: {d['alerts_total']} alerts; by severity {d['alerts_by_severity']}")
        print(f"  by category {d['alerts_by_category']}")
        print(f"  out of hours {d['out_of_hours_total']}; response {d['response_times']['all']}")
        print(f"  filter gaps {d['filter_gap_hours']} of {d['school_day_hours']} school-day "
              f"hours; pupil coverage {d['pupil_coverage'].get('all')}")
    print("(counts under 5 are shown as 'suppressed'; no names or ids leave this report)")
    return 0


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    """Run the retention policy now (the sink and the follower also run it daily)."""
    from pipelines.retention_job import apply_retention
    from producers.school import load_retention
    from warehouse.writer import Warehouse

    policy = load_retention(_school_dir(args) if args.school else None)
    if args.show:
        for key, period in policy.to_dict().items():
            print(f"{key:<20} {period}")
        return 0
    with Warehouse(settings.db_path) as wh:
        results = apply_retention(wh, policy, datetime.now(UTC), args.by)
    for r in results:
        print(f"{r.table_name:<20} {r.deleted:>10} deleted (older than {r.cutoff:%Y-%m-%d})")
    print(f"retention run {results[0].run_id if results else '-'} logged in retention_runs")
    return 0


def cmd_backtest(args: argparse.Namespace, settings: Settings) -> int:
    """What a changed rule would have raised over past events (same code as live), read
    from the readers' copy: it runs while ingest holds the writer's lock."""
    from datetime import date, time, timedelta

    from pipelines.backtest import format_report, open_reader, run_backtest
    from producers.school import load_school
    from safeguard.rule_settings import parse_assignments

    bundle = load_school(_school_dir(args))
    tz = bundle.directory.school.tz
    try:  # whole school days, local midnight to local midnight
        start = datetime.combine(date.fromisoformat(args.from_date), time(), tz)
        end = datetime.combine(date.fromisoformat(args.to_date) + timedelta(days=1), time(),
                               tz)
    except ValueError as exc:
        raise WarehouseCommandError(f"--from/--to must be ISO dates: {exc}") from exc
    con = open_reader(settings.db_path)
    try:
        report = run_backtest(con, bundle.profile, bundle.school_id, args.rule,
                              parse_assignments(args.set or []), start, end)
    finally:
        con.close()
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_report(report))
    return 0


def add_parsers(sub: Any) -> None:
    t = sub.add_parser("termly", help="governors' termly figures (pseudonymised, small "
                       "counts suppressed)")
    t.add_argument("--db", required=True)
    t.add_argument("--school", required=True, help="school folder (its terms and calendar)")
    t.add_argument("--term", action="append", help="a term's name (repeatable; default all)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_termly)

    r = sub.add_parser("retention", help="delete what the retention policy no longer keeps")
    r.add_argument("--db", required=True)
    r.add_argument("--school", help="school folder whose school.yaml has a `retention:` "
                   "section (default periods without it)")
    r.add_argument("--by", default="safeguard retention", help="who ran it (logged)")
    r.add_argument("--show", action="store_true", help="print the policy and exit")
    r.set_defaults(func=cmd_retention)

    b = sub.add_parser("backtest", help="what a changed rule would have raised over past "
                       "events, against what was raised and the DSL's outcomes")
    b.add_argument("--db", required=True)
    b.add_argument("--school", required=True, help="school folder (its profile and calendar)")
    b.add_argument("--rule", required=True, help="rule id (see `safeguard rules list`)")
    b.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                   help="changed settings, e.g. threshold=5 within=15m (none: current)")
    b.add_argument("--from", dest="from_date", required=True, help="first day, YYYY-MM-DD")
    b.add_argument("--to", dest="to_date", required=True, help="last day, YYYY-MM-DD")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_backtest)
