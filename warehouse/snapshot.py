"""Read snapshots: Parquet copies of reader-facing tables, swapped in atomically."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb

# Tables readers see. Events stay in the writer's file; readers get alerts and their
# triage, dead letters, accounting, data-quality results and the logs, which the pages list.
SNAPSHOT_TABLES = ("alerts", "alert_actions", "dead_letters", "ingest_batches",
                   "rule_settings", "rule_setting_history", "dq_results", "audit_log",
                   "retention_runs", "directory_snapshots", "directory_people", "web_rollup",
                   "presence_daily", "notifications", "filter_reviews", "filter_changes")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def snapshot_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".snapshot")


def sql_string(text: str) -> str:
    """A SQL string literal, for the few places (COPY, read_parquet in views) without params."""
    return "'" + text.replace("'", "''") + "'"


def checked_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"invalid SQL identifier {name!r}")
    return name


def publish_snapshot(con: duckdb.DuckDBPyConnection, db_path: Path) -> Path:
    out = snapshot_dir(db_path)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table in SNAPSHOT_TABLES:
        tmp = out / f".{table}.parquet.tmp"
        con.execute(f"COPY (SELECT * FROM {checked_ident(table)}) "  # noqa: S608 - fixed names
                    f"TO {sql_string(str(tmp))} (FORMAT parquet)")
        os.replace(tmp, out / f"{table}.parquet")
        row = con.execute(f"SELECT count(*) FROM {checked_ident(table)}").fetchone()  # noqa: S608
        counts[table] = int(row[0]) if row else 0
    row = con.execute("SELECT count(*) FROM events").fetchone()
    counts["events"] = int(row[0]) if row else 0
    manifest = {"published_at": datetime.now(UTC).isoformat(), "rows": counts}
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest), encoding="utf-8")
    os.replace(tmp, out / "manifest.json")
    return out
