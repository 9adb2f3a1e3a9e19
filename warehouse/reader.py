"""Readers' side of the warehouse: an in-memory DuckDB over the writer's read snapshot.

Never opens the writer's file, so it works while ingest holds the lock (see the
package docstring). Each `connect()` sees the snapshot as published at that moment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

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
        """A fresh in-memory connection whose tables are the current snapshot (or empty)."""
        con = duckdb.connect(":memory:")
        migrate(con)  # empty tables with the real schema, for what is not published yet
        for table in SNAPSHOT_TABLES:
            path = self.snapshot / f"{table}.parquet"
            if path.exists():
                name = checked_ident(table)
                con.execute(f"DROP TABLE {name}")
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM "  # noqa: S608 - fixed names
                            f"read_parquet({sql_string(str(path))})")
        return con
