"""The action spool: where the dashboard leaves triage steps for the warehouse's owner.

The dashboard cannot open the warehouse file while ingest holds it (see the package
docstring). A step is first made durable here — one JSON file per action, written to a
temporary name and renamed into place, so a reader never sees half a file — and the
owner of the write connection (the sink, the embedded runner, or the dashboard itself
when nobody holds the file) appends it in a transaction and only then deletes the file.
A crash in between leaves the file, and the action's id makes the retry a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from safeguard.actions import AlertAction
from warehouse.errors import WarehouseError


def spool_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".actions")


@dataclass(frozen=True)
class Spooled:
    path: Path
    action: AlertAction


@dataclass(frozen=True)
class Rejected:
    """A spool file that is not an action (hand-edited, truncated by a full disk)."""

    path: Path
    reason: str
    raw: str


class ActionSpool:
    """A directory of pending actions beside the warehouse file."""

    def __init__(self, db_path: Path) -> None:
        self.dir = spool_dir(Path(db_path))

    def submit(self, action: AlertAction) -> Path:
        """Make the action durable; safe to call again with the same action."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            final = self.dir / f"{action.action_id}.json"
            tmp = self.dir / f".{action.action_id}.json.tmp"
            with tmp.open("wb") as fh:
                fh.write(orjson.dumps(action.to_dict()))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            raise WarehouseError(f"cannot save the action: {exc}", path=str(self.dir)) from exc
        return final

    def pending(self) -> tuple[list[Spooled], list[Rejected]]:
        """Every spooled action in submission order, and files that are not actions."""
        if not self.dir.exists():
            return [], []
        good: list[Spooled] = []
        bad: list[Rejected] = []
        files = sorted(self.dir.glob("*.json"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        for path in files:
            raw = path.read_bytes()
            try:
                good.append(Spooled(path, AlertAction.from_dict(orjson.loads(raw))))
            except (ValueError, KeyError, TypeError) as exc:
                bad.append(Rejected(path, f"not an alert action: {type(exc).__name__}: {exc}",
                                    raw.decode("utf-8", "backslashreplace")))
        return good, bad

    @staticmethod
    def done(paths: list[Path]) -> None:
        """Forget files whose actions (or dead letters) are committed."""
        for path in paths:
            path.unlink(missing_ok=True)
