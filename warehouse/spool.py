"""The outbox: where the dashboard leaves what people did for the warehouse's owner.

The dashboard cannot open the warehouse file while ingest holds it (see the package
docstring). Triage steps, audit entries, rule edits and the filtering review's records
are first made durable here — one JSON file per record, written to a temporary name and
renamed into place, so a reader never sees half a file — and the owner of the write
connection (the sink, the embedded runner, or the dashboard itself when nobody holds the
file) appends them in a transaction and only then deletes the files. A crash in between
leaves the files, and each record's own id makes the retry a no-op.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from safeguard.actions import AlertAction
from safeguard.audit import AuditEntry
from safeguard.review import FilterChange, FilterReview
from safeguard.rule_settings import RuleChange
from warehouse.errors import WarehouseError


class Record(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


# kind -> (parse a dict, the record's own id); a file's name starts with its kind
KINDS: Mapping[str, tuple[Callable[[Mapping[str, Any]], Any], Callable[[Any], str]]] = {
    "action": (AlertAction.from_dict, lambda r: r.action_id),
    "audit": (AuditEntry.from_dict, lambda r: r.audit_id),
    "rule-change": (RuleChange.from_dict,
                    lambda r: f"{r.school_id}.{r.rule_id}.{r.changed_at.timestamp():.6f}"),
    "filter-review": (FilterReview.from_dict, lambda r: r.review_id),
    "filter-change": (FilterChange.from_dict, lambda r: r.change_id),
}
_KIND_OF: Mapping[type, str] = {AlertAction: "action", AuditEntry: "audit",
                                RuleChange: "rule-change", FilterReview: "filter-review",
                                FilterChange: "filter-change"}


def write_private(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` to `folder/name` durably and atomically (a temporary name, fsync, rename:
    a reader never sees half a file), readable by the service's user only (0600 in a 0700
    folder): what people record (notes, audit rows, incidents) is private."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    final, tmp = folder / name, folder / f".{name}.tmp"
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def spool_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".actions")


@dataclass(frozen=True)
class Spooled:
    path: Path
    kind: str
    record: Any

    @property
    def action(self) -> AlertAction:
        assert isinstance(self.record, AlertAction)  # noqa: S101 - callers filter by kind
        return self.record


@dataclass(frozen=True)
class Rejected:
    """A spool file that is no record (hand-edited, truncated by a full disk)."""

    path: Path
    reason: str
    raw: str


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:120]


class Outbox:
    """A directory of pending records beside the warehouse file."""

    def __init__(self, db_path: Path) -> None:
        self.dir = spool_dir(Path(db_path))

    def submit(self, record: Record) -> Path:
        """Make the record durable; safe to call again with the same record."""
        kind = _KIND_OF.get(type(record))
        if kind is None:
            raise WarehouseError(f"the outbox takes no {type(record).__name__}")
        name = f"{kind}--{_safe(KINDS[kind][1](record))}.json"
        try:
            return write_private(self.dir, name, orjson.dumps(record.to_dict()))
        except OSError as exc:
            raise WarehouseError(f"cannot save the record: {exc}", path=str(self.dir)) from exc

    def pending(self) -> tuple[list[Spooled], list[Rejected]]:
        """Every spooled record in submission order, and files that are no record."""
        if not self.dir.exists():
            return [], []
        good: list[Spooled] = []
        bad: list[Rejected] = []
        files = sorted(self.dir.glob("*.json"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        for path in files:
            raw = path.read_bytes()
            # files from before the outbox held more than actions have no kind prefix
            kind = path.name.split("--", 1)[0] if "--" in path.name else "action"
            try:
                parse = KINDS[kind][0]
                good.append(Spooled(path, kind, parse(orjson.loads(raw))))
            except (ValueError, KeyError, TypeError) as exc:
                bad.append(Rejected(path, f"not a valid {kind} record: {type(exc).__name__}: {exc}",
                                    raw.decode("utf-8", "backslashreplace")))
        return good, bad

    @staticmethod
    def done(paths: list[Path]) -> None:
        """Forget files whose records (or dead letters) are committed."""
        for path in paths:
            path.unlink(missing_ok=True)


ActionSpool = Outbox  # the name the triage path has always used
