"""Readers' side of the warehouse: an in-memory DuckDB over the writer's read snapshot.

Never opens the writer's file, so it works while ingest holds the lock (see the
package docstring). Each `connect()` sees the snapshot as published at that moment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from warehouse.archive import events_view
from warehouse.schema import migrate
from warehouse.snapshot import SNAPSHOT_TABLES, checked_ident, snapshot_dir, sql_string


class WarehouseReader:
    """Query access for pages and commands that only read."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)

    @property
    def snapshot(self) -> Path:
        return snapshot_dir(self.db_path)

    def manifest(self) -> dict[str, Any] | None:
        path = self.snapshot / "manifest.json"
        if not path.exists():
            return None
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory connection holding the current snapshot (or empty tables).

        The tables are copied in once, single-threaded: a parallel scan may open a file
        more than once, and the writer may swap the file in between, so lazily scanned
        views could mix two versions. One handle per file reads one version whole; every
        query on the connection then sees the same snapshot."""
        con = duckdb.connect(":memory:", config={"threads": 1})
        migrate(con)  # empty tables with the real schema, for what is not published yet
        for table in SNAPSHOT_TABLES:
            path = self.snapshot / f"{table}.parquet"
            if path.exists():
                self._copy_in(con, checked_ident(table), path)
        events_view(con, self.db_path)  # the day files, scanned lazily (they never change)
        return con

    @staticmethod
    def _copy_in(con: duckdb.DuckDBPyConnection, name: str, path: Path,
                 attempts: int = 3) -> None:
        """Replace the empty table with the file's rows; a swap between DuckDB's bind and
        its scan of the file is retried (the next read sees the new file whole)."""
        for attempt in range(attempts):
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute(f"DROP TABLE IF EXISTS {name}")
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM "  # noqa: S608 - fixed
                            f"read_parquet({sql_string(str(path))})")
                con.execute("COMMIT")
                return
            except duckdb.Error:
                con.execute("ROLLBACK")
                if attempt == attempts - 1:
                    raise
