"""The DuckDB warehouse: schema, migrations, and every SQL statement of the product.

Concurrency design (DuckDB allows one writing process, and while it holds the file no
other process may open it, not even read-only):

* One owner of the write connection per warehouse file: the embedded runner in
  embedded mode, the sink (`safeguard sink`) in broker mode. Nothing else opens the
  file for writing.
* After each committed batch (throttled to `publish_interval`, always on close) the
  owner publishes a *read snapshot*: the reader-facing tables exported as Parquet into
  `<db>.snapshot/`, each written to a temporary file and swapped in with an atomic
  rename, plus a `manifest.json` written last. Readers (the dashboard, `safeguard
  alerts`) query those files through an in-memory DuckDB connection, so they never
  touch the locked file and never see a half-written table.
* Writes from the dashboard (triage actions) travel as events to the owner (the
  `alert-actions` topic, or the embedded action spool) and are written by it; the
  owner is the only writer, so no action can be lost to a lock error.
"""

from warehouse.errors import WarehouseError

__all__ = ["WarehouseError"]
