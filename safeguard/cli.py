"""`safeguard` command line: the composition root.

The one place that reads the environment (via `Settings.from_env`) and imports the
edge packages to wire them. Every command exits non-zero with a one-line reason on error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from safeguard import cli_users, cli_warehouse
from safeguard.directory_snapshot import snapshot_of
from safeguard.errors import SafeguardError
from safeguard.inputs import InputSpec
from safeguard.settings import Settings

log = logging.getLogger("safeguard")
REPO_DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"


class CommandError(SafeguardError):
    """A command cannot do what was asked; the message is the one line the user sees."""


# ---------------------------------------------------------------- commands


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import date

    from producers.simulator import simulate

    start = date.fromisoformat(args.start) if args.start else date(2026, 11, 16)
    out = simulate(Path(args.out), profile=args.profile, days=args.days, seed=args.seed,
                   start=start, pupils=args.pupils, staff=args.staff)
    print(f"simulated {out['people']} people, {out['lines']} log lines, "
          f"{out['scenarios']} scenarios -> {args.out}")
    return 0


def _stop_flag() -> Callable[[], bool]:
    """A flag raised by SIGTERM/SIGINT, so follow loops finish their batch and exit."""
    import signal

    stop = {"now": False}

    def handler(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return lambda: stop["now"]


def _progress(stats: Any) -> None:
    if sys.stderr.isatty():
        print(f"\r{stats.records_in:,} records, {stats.events:,} events, "
              f"{stats.dead_letters:,} dead letters, {stats.alerts:,} alerts",
              end="", file=sys.stderr, flush=True)


def _embedded_ingest(school_dir: Path, inputs: list[InputSpec], db: Path,
                     quiet: bool = False, follow: argparse.Namespace | None = None,
                     settings: Settings | None = None) -> Any:
    from pipelines.notify import notifier_from_settings
    from pipelines.retention_job import RetentionSchedule
    from producers.school import load_retention, load_school
    from streams.embedded import EmbeddedRunner
    from streams.pipeline import Pipeline
    from warehouse.writer import Warehouse

    bundle = load_school(school_dir)
    # a follower owns the file while alerts arrive: it sends the severe ones out
    notifier = (notifier_from_settings(settings, timezone=bundle.directory.school.timezone)
                if follow is not None and settings is not None else None)
    with Warehouse(db) as wh:
        wh.record_directory(snapshot_of(bundle.directory, datetime.now(UTC)))
        schedule = RetentionSchedule(load_retention(school_dir)) if follow else None
        runner = EmbeddedRunner(Pipeline(bundle), wh, progress=None if quiet else _progress,
                                retention=schedule, notifier=notifier)
        if follow is not None:
            stats = runner.follow(inputs, poll_interval=follow.poll_interval,
                                  idle_exit=follow.idle_exit, should_stop=_stop_flag())
        else:
            stats = runner.run(inputs)
    if not quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    if not quiet:
        print(f"ingested {stats.records_in} records: {stats.events} events "
              f"({stats.events_inserted} new), {stats.dead_letters} dead letters, "
              f"{stats.alerts} alerts -> {db}")
    return stats


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from producers.formats import parser_for

    inputs = [InputSpec.parse(text) for text in args.input]
    for spec in inputs:
        parser_for(spec.source)
    if args.embedded:
        if settings.db_path is None:
            raise CommandError("--embedded needs --db FILE")
        _embedded_ingest(Path(args.school), inputs, settings.db_path,
                         follow=args if args.follow else None, settings=settings)
        return 0
    if not settings.broker:
        raise CommandError("choose a mode: --embedded --db FILE, or --broker HOST:PORT")
    from producers.kafka_producer import RawProducer
    from producers.school import load_school
    from streams.topics import Topics, ensure_topics

    bundle = load_school(Path(args.school))
    ensure_topics(settings.broker, Topics(settings.topic_prefix), partitions=args.partitions)
    producer = RawProducer(settings.broker, topic_prefix=settings.topic_prefix).start()
    try:
        total = 0
        if args.follow:
            from producers.follow import CursorFile

            store = CursorFile(Path(args.offsets) if args.offsets
                               else settings.data_dir / "ingest-cursors.json")
            total = producer.follow(inputs, bundle.school_id, store,
                                    poll_interval=args.poll_interval, idle_exit=args.idle_exit,
                                    should_stop=_stop_flag())
        else:
            for spec in inputs:
                total += producer.send_file(spec, bundle.school_id)
    finally:
        producer.close()
    print(f"sent {total} records from {len(inputs)} input(s) to {settings.broker}")
    return 0


def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.queries import alerts_as_records
    from warehouse.reader import WarehouseReader

    reader = WarehouseReader(settings.db_path)
    if reader.manifest() is None:
        raise CommandError(f"no warehouse snapshot for {settings.db_path}; run an ingest first")
    con = reader.connect()
    records = [r for r in alerts_as_records(con) if r["severity"] >= args.min_severity]
    for r in records:
        if args.json:
            print(json.dumps(r, sort_keys=True))
        else:
            print(f"{r['first_seen'][:16]}  sev {r['severity']}  {r['category']:<10} "
                  f"{r['subject']:<14} {','.join(r['clause_ids']):<24} {r['title']} "
                  f"({r['event_count']} events)")
    if not args.json:
        print(f"{len(records)} alert(s)")
    return 0


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from safeguard.evaluation import evaluate, format_report
    from warehouse.queries import alerts_as_records
    from warehouse.reader import WarehouseReader

    reader = WarehouseReader(settings.db_path)
    if reader.manifest() is None:
        raise CommandError(f"no warehouse snapshot for {settings.db_path}; run an ingest first")
    truth_path = Path(args.truth)
    if not truth_path.is_file():
        raise CommandError(f"ground truth file not found: {truth_path}")
    truth = [json.loads(line) for line in truth_path.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    report = evaluate(alerts_as_records(reader.connect()), truth)
    if args.json:
        o = report.overall
        print(json.dumps({"recall": o.recall, "precision": o.precision,
                          "scenarios": o.scenarios, "detected": o.detected, "alerts": o.alerts,
                          "true_alerts": o.true_alerts, "alerts_without_clause": report.uncited,
                          "by_rule": {k: {"alerts": v.alerts, "true_alerts": v.true_alerts}
                                      for k, v in report.by_rule.items()},
                          "missed": [m.scenario for m in report.missed]}, sort_keys=True))
    else:
        print(format_report(report))
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.broker:
        raise CommandError("the worker needs --broker HOST:PORT (or SAFEGUARD_BROKER)")
    from producers.school import load_school
    from streams.app import create_app, run_worker
    from streams.pipeline import Pipeline
    from streams.topics import Topics, ensure_topics

    if settings.school_dir is None:
        raise CommandError("the worker needs --school DIR (or SAFEGUARD_SCHOOL)")
    from streams.rule_config import RuleConfigWatcher
    from streams.topics import partition_count, publish_directory

    topics = Topics(settings.topic_prefix)
    ensure_topics(settings.broker, topics, partitions=args.partitions)
    # tables must match the topics they are partitioned like: whoever created the topics
    # (another worker, the sink, an earlier run) decided the count, so adopt it
    actual = partition_count(settings.broker, topics.signals, wait=30) or args.partitions
    if actual != args.partitions:
        log.warning("topics have %d partitions; using that, not --partitions %d",
                    actual, args.partitions)
        args.partitions = actual
    bundle = load_school(settings.school_dir)
    publish_directory(settings.broker, topics,
                      snapshot_of(bundle.directory, datetime.now(UTC)))
    watcher = RuleConfigWatcher(settings.broker, topics.rules, bundle.school_id).start()
    app = create_app(Pipeline(bundle), bootstrap=settings.broker,
                     data_dir=settings.data_dir / "worker", topics=topics,
                     partitions=args.partitions, store=args.store, rules=watcher)
    sys.argv = sys.argv[:1]  # Faust's worker reads argv; ours are already parsed
    try:
        run_worker(app, loglevel=args.loglevel)
    finally:
        watcher.stop()
    return 0


def cmd_rules(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from producers.school import load_school
    from safeguard.rule_settings import parse_assignments, validated_change

    bundle = load_school(Path(args.school))
    school_id = bundle.school_id
    current = _current_rule_settings(settings, school_id)
    if args.action == "list":
        for rule in bundle.profile.rules:
            effective = rule.with_settings(current[rule.id]) if rule.id in current else rule
            marker = "*" if rule.id in current else " "
            shown = " ".join(f"{k}={v}" for k, v in effective.settings().items())
            print(f"{marker} {rule.id:<38} {rule.kind:<12} {shown}")
        print("(* changed from the profile)")
        return 0
    if not args.rule or not args.by:
        raise CommandError("rules set needs RULE, --by NAME and key=value settings (or --reset)")
    wanted = {} if args.reset else parse_assignments(args.assignments)
    if not wanted and not args.reset:
        raise CommandError("nothing to set: give key=value pairs, or --reset")
    change = validated_change(bundle.profile, school_id, args.rule, wanted,
                              changed_by=args.by, changed_at=datetime.now(UTC),
                              reason=args.reason or "",
                              current={} if args.reset else current)
    if settings.broker:
        from streams.rule_config import publish_change
        from streams.topics import Topics, ensure_topics

        topics = Topics(settings.topic_prefix)
        ensure_topics(settings.broker, topics)
        publish_change(settings.broker, topics.rules, change)
        print(f"{args.rule}: {dict(change.settings) or 'profile values'} -> {topics.rules}")
    else:
        from warehouse.writer import Warehouse

        with Warehouse(settings.db_path) as wh:
            wh.record_rule_change(change)
        print(f"{args.rule}: {dict(change.settings) or 'profile values'} -> {settings.db_path}")
    return 0


def _current_rule_settings(settings: Settings, school_id: str) -> dict[str, dict[str, Any]]:
    if settings.broker:
        from streams.rule_config import RuleConfigWatcher
        from streams.topics import Topics, ensure_topics

        topics = Topics(settings.topic_prefix)
        ensure_topics(settings.broker, topics)
        watcher = RuleConfigWatcher(settings.broker, topics.rules, school_id)
        try:
            return watcher.read_to_end()
        finally:
            watcher.stop()
    import orjson

    from warehouse.reader import WarehouseReader

    rows = WarehouseReader(settings.db_path).connect().execute(
        "SELECT rule_id, settings FROM rule_settings WHERE school_id = ?", [school_id]).fetchall()
    return {rule_id: orjson.loads(text) for rule_id, text in rows}


def cmd_sink(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.broker:
        raise CommandError("the sink needs --broker HOST:PORT (or SAFEGUARD_BROKER)")
    from pipelines.notify import notifier_from_settings
    from pipelines.retention_job import RetentionSchedule
    from pipelines.sink import Sink
    from producers.school import load_retention
    from streams.topics import Topics, ensure_topics
    from warehouse.writer import Warehouse

    topics = Topics(settings.topic_prefix)
    ensure_topics(settings.broker, topics, partitions=args.partitions)
    schedule = RetentionSchedule(load_retention(settings.school_dir))
    stats = Sink(settings.broker, Warehouse(settings.db_path), topics=topics,
                 max_records=args.max_records, retention=schedule,
                 notifier=notifier_from_settings(settings)).start().run()
    print(f"sink stopped after {stats.records} records ({stats.events} events, "
          f"{stats.alerts} alert versions, {stats.dead_letters} dead letters)")
    return 0


def cmd_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from streams.local_kafka import LocalKafka

    kafka = LocalKafka(Path(args.home) if args.home else settings.data_dir / "kafka",
                       cache_dir=settings.cache_dir)
    if args.action == "start":
        print(kafka.start())
    elif args.action == "stop":
        print("stopped" if kafka.stop() else "not running")
    else:
        status = kafka.status()
        print(f"running pid {status.pid} at {status.bootstrap}" if status.running
              else "not running")
        return 0 if status.running else 3
    return 0


def dashboard_command(db: Path, host: str, port: int, school: Path | None = None) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(REPO_DASHBOARD),
            "--server.address", host, "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--", "--db", str(db),
            *(["--school", str(school)] if school else [])]


def _serve_dashboard(db: Path, host: str, port: int, school: Path | None = None) -> int:
    print(f"dashboard: http://{host}:{port}", flush=True)
    proc = subprocess.Popen(dashboard_command(db, host, port, school))  # noqa: S603 - fixed argv
    # stopping this process (SIGTERM, as a service manager or a test does) stops the server
    # too, instead of leaving it serving on its own
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()


def cmd_dashboard(args: argparse.Namespace, settings: Settings) -> int:
    school = Path(args.school) if args.school else settings.school_dir
    return _serve_dashboard(settings.db_path, settings.dashboard_host, settings.dashboard_port,
                            school)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from producers.simulator import simulate

    out = Path(args.out)
    info = simulate(out, profile=args.profile, days=args.days, seed=args.seed)
    inputs = [InputSpec.parse(line) for line in
              (out / "inputs.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    db = out / "warehouse.duckdb"
    print(f"demo school: {info['people']} synthetic people, {info['lines']} log lines")
    _embedded_ingest(out / "school", inputs, db)
    from pipelines.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts

    users = ensure_demo_accounts(db)
    print(f"demo sign-ins (synthetic school only): {', '.join(users)}; "
          f"password {DEMO_PASSWORD}")
    if args.no_serve:
        return 0
    return _serve_dashboard(db, settings.dashboard_host, settings.dashboard_port,
                            out / "school")


# ---------------------------------------------------------------- parser


def _default_store() -> str:
    import importlib.util

    return "rocksdb://" if importlib.util.find_spec("rocksdict") else "memory://"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="safeguard",
        description="Safeguarding analytics for schools: AUP clauses as running detection.")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="simulate a school, run the whole pipeline embedded, "
                                    "serve the dashboard")
    d.add_argument("--out", default=".safeguard/demo", help="where the demo school and "
                   "warehouse go (default: .safeguard/demo)")
    d.add_argument("--profile", default="beaudesert-park",
                   choices=["beaudesert-park", "twerton-infant"])
    d.add_argument("--days", type=int, default=5)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--port", type=int, help="dashboard port (default 8501)")
    d.add_argument("--no-serve", action="store_true", help="stop after the warehouse is written")
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser("ingest", help="read source files into the pipeline")
    i.add_argument("--school", required=True, help="school folder (school.yaml, people.csv, ...)")
    from producers.formats import PARSERS

    i.add_argument("--input", action="append", required=True, metavar="KIND:FORMAT:PATH",
                   help="a source, e.g. filter:squid:/var/log/squid/access.log (repeatable); "
                        f"KIND:FORMAT is one of {', '.join(sorted(PARSERS))}")
    mode = i.add_mutually_exclusive_group()
    mode.add_argument("--embedded", action="store_true",
                      help="process in this process, merged in time order, into --db")
    mode.add_argument("--broker", help="produce to Kafka at HOST:PORT")
    i.add_argument("--db", help="warehouse file (embedded mode)")
    i.add_argument("--partitions", type=int, default=4, help="partitions of created topics")
    i.add_argument("--follow", action="store_true",
                   help="keep tailing the files; resume after a restart with no duplicates or "
                        "gaps (embedded: position stored in the warehouse with the data; "
                        "broker: in --offsets after the broker acknowledged)")
    i.add_argument("--poll-interval", type=float, default=0.5, help="follow: seconds between "
                   "looks at the files")
    i.add_argument("--idle-exit", type=float, help="follow: exit after this many seconds "
                   "with no new lines")
    i.add_argument("--offsets", help="follow, broker mode: cursor file (default "
                   "<data dir>/ingest-cursors.json)")
    i.add_argument("--data-dir", help="state directory (default .safeguard)")
    i.set_defaults(func=cmd_ingest)

    a = sub.add_parser("alerts", help="list alerts from a warehouse")
    a.add_argument("--db", required=True)
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.add_argument("--min-severity", type=int, default=1, choices=range(1, 6))
    a.set_defaults(func=cmd_alerts)

    s = sub.add_parser("simulate", help="write a synthetic school with labelled scenarios")
    s.add_argument("--profile", required=True, choices=["beaudesert-park", "twerton-infant"])
    s.add_argument("--days", type=int, required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--start", help="first day, ISO date (default 2026-11-16, a Monday)")
    s.add_argument("--pupils", type=int, default=120)
    s.add_argument("--staff", type=int, default=20)
    s.set_defaults(func=cmd_simulate)

    ev = sub.add_parser("evaluate", help="recall and precision of the alerts against "
                                         "simulator ground truth")
    ev.add_argument("--db", required=True)
    ev.add_argument("--truth", required=True, help="ground_truth.jsonl from `simulate`")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_evaluate)

    w = sub.add_parser("worker", help="run a Faust stream worker against Kafka")
    w.add_argument("--broker")
    w.add_argument("--school", help="school folder")
    w.add_argument("--data-dir", help="worker state directory (default .safeguard)")
    w.add_argument("--partitions", type=int, default=4)
    w.add_argument("--loglevel", default="warning")
    w.add_argument("--store", default=_default_store(),
                   help="table store: rocksdb:// (default when rocksdict is installed; state "
                        "survives restarts) or memory:// (rebuilt from changelogs)")
    w.set_defaults(func=cmd_worker)

    ru = sub.add_parser("rules", help="list or change rule settings (thresholds, windows, "
                                      "on/off), live")
    ru.add_argument("action", choices=["list", "set"])
    ru.add_argument("rule", nargs="?", help="rule id (for set)")
    ru.add_argument("assignments", nargs="*", metavar="KEY=VALUE",
                    help="e.g. threshold=5 within=15m enabled=false")
    ru.add_argument("--school", required=True, help="school folder (its profile's rules)")
    rm = ru.add_mutually_exclusive_group()
    rm.add_argument("--db", help="embedded: the warehouse holding the settings")
    rm.add_argument("--broker", help="broker mode: publish to config.rules at HOST:PORT")
    ru.add_argument("--by", help="who makes the change (kept in the history)")
    ru.add_argument("--reason", help="why (kept in the history)")
    ru.add_argument("--reset", action="store_true", help="back to the profile's values")
    ru.set_defaults(func=cmd_rules)

    k = sub.add_parser("sink", help="write Kafka's events, alerts and dead letters to DuckDB")
    k.add_argument("--broker")
    k.add_argument("--db", required=True)
    k.add_argument("--partitions", type=int, default=4)
    k.add_argument("--max-records", type=int, default=10_000,
                   help="records per warehouse transaction (default 10000)")
    k.add_argument("--school", help="school folder (its school.yaml `retention:` section "
                   "sets the daily retention; default periods without it)")
    k.set_defaults(func=cmd_sink)

    kf = sub.add_parser("kafka", help="a local single-node Kafka (KRaft) from Maven Central jars")
    kf.add_argument("action", choices=["start", "stop", "status"])
    kf.add_argument("--home", help="broker directory (default .safeguard/kafka)")
    kf.set_defaults(func=cmd_kafka)

    db = sub.add_parser("dashboard", help="serve the Streamlit dashboard (sign-in with roles; "
                                          "accounts from `safeguard users`)")
    db.add_argument("--db", required=True)
    db.add_argument("--school", help="school folder: names, policy clauses, calendar, rules "
                                     "(default SAFEGUARD_SCHOOL, or ./school beside the db)")
    db.add_argument("--host", help="bind address (default 127.0.0.1)")
    db.add_argument("--port", type=int, help="port (default 8501)")
    db.set_defaults(func=cmd_dashboard)
    cli_warehouse.add_parsers(sub)
    cli_users.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    env = dict(os.environ if environ is None else environ)
    try:
        settings = Settings.from_env(
            env, broker=getattr(args, "broker", None),
            db_path=getattr(args, "db", None),
            school_dir=getattr(args, "school", None) if args.command in ("worker", "sink")
            else None,
            data_dir=getattr(args, "data_dir", None),
            dashboard_host=getattr(args, "host", None),
            dashboard_port=getattr(args, "port", None))
        result: int = args.func(args, settings)
        return result
    except KeyboardInterrupt:
        return 130
    except (SafeguardError, ValueError, OSError) as exc:
        print(f"safeguard: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if type(exc).__name__ in {"ProducerError", "WarehouseError", "LocalKafkaError",
                                  "KafkaError", "NoBrokersAvailable"}:
            print(f"safeguard: error: {exc}", file=sys.stderr)
            return 2
        raise


def dashboard_settings(argv: Sequence[str], environ: dict[str, str] | None = None) -> Settings:
    """Settings of the dashboard process, from `-- --db FILE [--school DIR]` or the
    environment (SAFEGUARD_DB, SAFEGUARD_SCHOOL, SAFEGUARD_BROKER, ...)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    parser.add_argument("--school")
    known, _ = parser.parse_known_args(list(argv))
    return Settings.from_env(dict(os.environ if environ is None else environ), db_path=known.db,
                             school_dir=known.school)


if __name__ == "__main__":
    raise SystemExit(main())
