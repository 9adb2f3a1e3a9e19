"""Two statement shapes every writer repeats: a batch table visible to SQL for a block,
and a block that commits whole or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import duckdb


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table: Any) -> Iterator[None]:
    """`table` (Arrow or DataFrame) visible to SQL as `name` for the block, then gone."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit the block's statements together; any exception rolls them all back."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except Exception:
        # a failed COMMIT (disk full, read-only file) has ended the transaction already;
        # ROLLBACK would then raise "no transaction is active" and hide the real error
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
