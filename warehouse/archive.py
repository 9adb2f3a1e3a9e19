"""The readers' copy of the events: one immutable Parquet file per day and version.

Events are the volume (tens of millions a term), so unlike the small tables they are not
re-exported whole on every publish. The writer remembers which days a batch touched and
re-exports only those days, each to a new file name (`YYYY-MM-DD.<n>.parquet`); a JSON
manifest, replaced atomically, names the current file of every day. A superseded file is
deleted only after `GRACE` seconds, so a reader that listed it in its manifest can finish
its queries on a file that never changes under it: no swap can tear a scan, and no
reader ever needs the writer's lock. Termly figures, chronologies and backtests read
these files; DuckDB prunes them by day and by row group on `ts`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from warehouse.snapshot import sql_string

GRACE = 120.0  # seconds a superseded day file stays for readers that listed it
MANIFEST = "manifest.json"


def archive_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".events")


def _load(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"days": {}, "retired": [], "seq": 0}
    return data


def current_files(db_path: Path, start: date | None = None,
                  end: date | None = None) -> list[Path]:
    """The current file of every day in [start, end] (all days when open)."""
    out = archive_dir(Path(db_path))
    days = _load(out / MANIFEST)["days"]
    return [out / name for day, name in sorted(days.items())
            if (start is None or date.fromisoformat(day) >= start)
            and (end is None or date.fromisoformat(day) <= end)]


def days_of(con: duckdb.DuckDBPyConnection) -> set[date]:
    """Every day the writer's events table holds (to build the archive from scratch)."""
    return {r[0] for r in con.execute("SELECT DISTINCT ts::DATE FROM events").fetchall()}


def publish_days(con: duckdb.DuckDBPyConnection, db_path: Path, days: Iterable[date],
                 *, now: float | None = None) -> int:
    """Re-export `days` from the writer's events table; a day with no events left (after
    retention) leaves the manifest. Returns the number of files written."""
    out = archive_dir(Path(db_path))
    out.mkdir(parents=True, exist_ok=True)
    manifest = _load(out / MANIFEST)
    clock = time.time() if now is None else now
    written = 0
    for day in sorted(set(days)):
        key = day.isoformat()
        old = manifest["days"].get(key)
        lo = datetime(day.year, day.month, day.day)
        row = con.execute("SELECT count(*) FROM events WHERE ts >= ? AND ts < ?",
                          [lo, lo + timedelta(days=1)]).fetchone()
        if not row or not row[0]:
            manifest["days"].pop(key, None)
        else:
            manifest["seq"] += 1
            name = f"{key}.{manifest['seq']}.parquet"
            tmp = out / f".{name}.tmp"
            con.execute(
                "COPY (SELECT * FROM events WHERE ts >= $lo AND ts < $hi ORDER BY ts) "  # noqa: S608
                f"TO {sql_string(str(tmp))} (FORMAT parquet, ROW_GROUP_SIZE 122880)",
                {"lo": lo, "hi": lo + timedelta(days=1)})
            os.replace(tmp, out / name)
            manifest["days"][key] = name
            written += 1
        if old and old != manifest["days"].get(key):
            manifest["retired"].append({"file": old, "at": clock})
    keep = []
    for r in manifest["retired"]:
        if clock - float(r["at"]) >= GRACE:
            (out / r["file"]).unlink(missing_ok=True)
        else:
            keep.append(r)
    manifest["retired"] = keep
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
    return written


def events_view(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Make `events` on a reader's connection the archive's current files (an empty
    table with the real schema stays when nothing is archived yet)."""
    files = current_files(db_path)
    if not files:
        return
    listing = ", ".join(sql_string(str(f)) for f in files)
    con.execute("DROP TABLE IF EXISTS events")
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet([{listing}])")  # noqa: S608
