"""Snipe-IT activity: API rows (`GET /api/v1/reports/activity`, NDJSON) and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from producers.simulator.model import Checkout, Device, Person
from producers.simulator.writers import local

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _dt(ts: float) -> dict[str, str]:
    t = local(ts)  # Snipe-IT stores and shows the app's local time
    return {"datetime": f"{t:%Y-%m-%d %H:%M:%S}", "formatted": f"{t:%a %b %d, %Y %I:%M%p}"}


def _item_name(d: Device) -> str:
    return f"{d.model} ({d.asset_tag})"


def snipeit_api(records: Iterable[Checkout], devices: dict[str, Device],
                people: dict[str, Person]) -> str:
    out = []
    for n, c in enumerate(records, 1):
        d, p = devices[c.asset_tag], people[c.person_id]
        row = {"id": 10_000 + n, "icon": "fas fa-barcode", "file": None,
               "item": {"id": int(d.asset_tag.rsplit("-", 1)[1]), "name": _item_name(d),
                        "type": "asset", "serial": d.serial},
               "next_audit_date": None, "days_to_next_audit": None,
               "action_type": "checkout" if c.action == "checkout" else "checkin from",
               "admin": {"id": 1, "name": "IT Office", "first_name": "IT",
                         "last_name": "Office"},
               "target": {"id": 100 + int(p.person_id[1:]), "name": p.name, "type": "user"},
               "note": c.note or None, "signature_file": None, "log_meta": None,
               "action_date": _dt(c.ts), "created_at": _dt(c.ts), "updated_at": _dt(c.ts),
               "expected_checkin": ({"date": c.expected.isoformat(),
                                     "formatted": c.expected.strftime("%a %b %d, %Y")}
                                    if c.expected else None),
               "remote_ip": "10.30.0.2", "action_source": "gui"}
        out.append(_dumps(row) + "\n")
    return "".join(out)


def snipeit_csv(records: Iterable[Checkout], devices: dict[str, Device],
                people: dict[str, Person]) -> str:
    """ReportsController::postActivityReport: Date, Admin, Action, Type, Item, To, Notes,
    Changed; newest first, as Snipe-IT writes it. The expected check-in date is not in that
    export; it is appended as an "Expected Checkin Date" column (as the asset export names it)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Date", "Admin", "Action", "Type", "Item", "To", "Notes", "Changed",
                "Expected Checkin Date"])
    rows = list(records)
    for c in reversed(rows):
        d, p = devices[c.asset_tag], people[c.person_id]
        w.writerow([f"{local(c.ts):%Y-%m-%d %H:%M:%S}", "IT Office",
                    "checkout" if c.action == "checkout" else "checkin from", "asset",
                    _item_name(d), p.name, c.note, "",
                    c.expected.isoformat() if c.expected else ""])
    return buf.getvalue()
