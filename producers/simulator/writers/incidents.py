"""The documented incident CSV (`incident:csv`)."""

from __future__ import annotations

import csv
import io
from typing import Any

from producers.simulator.model import iso

COLUMNS = ("incident_id", "occurred_at", "reported_at", "reporter", "category", "pupils",
           "description", "actions", "status", "cin_factor")


def incidents_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in sorted(rows, key=lambda r: (float(str(r["occurred_at"])), str(r["incident_id"]))):
        w.writerow([iso(float(str(r[c]))) if c in ("occurred_at", "reported_at") else r[c]
                    for c in COLUMNS])
    return buf.getvalue()
