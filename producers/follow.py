"""Tailing growing log files from a persisted position (`safeguard ingest --follow`).

A `Cursor` is (path, inode, byte offset, line number) after the last complete line
consumed. Only whole lines are read (a line still being written waits for its newline);
a new inode or a file shorter than the offset means the log was rotated or truncated,
and reading restarts at its beginning. Where the cursor is stored is the caller's
choice: the embedded runner stores it in the warehouse in the same transaction as the
data, the Kafka producer in a JSON file after the broker acknowledged the batch.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from producers.files import decode_line
from safeguard.deadletters import DeadLetter


@dataclass(frozen=True, slots=True)
class Cursor:
    path: str
    inode: int
    offset: int
    line_no: int

    @property
    def key(self) -> str:
        """Identifies one incarnation of a file (a rotated log gets a new key)."""
        return f"{self.path}@{self.inode}"


def read_new_lines(path: Path, cursor: Cursor | None, *, school_id: str, dataset: str,
                   max_lines: int = 5000,
                   ) -> tuple[list[tuple[int, str]], list[DeadLetter], Cursor]:
    """Complete lines after `cursor` (at most `max_lines`) and the cursor after them."""
    st = path.stat()
    if cursor is None or cursor.inode != st.st_ino or st.st_size < cursor.offset:
        cursor = Cursor(str(path), st.st_ino, 0, 0)
    lines: list[tuple[int, str]] = []
    dead: list[DeadLetter] = []
    offset, line_no = cursor.offset, cursor.line_no
    with path.open("rb") as fh:
        fh.seek(offset)
        while len(lines) + len(dead) < max_lines:
            raw = fh.readline()
            if not raw or not raw.endswith(b"\n"):
                break  # end of file, or a line still being written
            offset += len(raw)
            line_no += 1
            decoded = decode_line(raw, line_no, school_id=school_id, dataset=dataset,
                                  source=str(path))
            if isinstance(decoded, DeadLetter):
                dead.append(decoded)
            else:
                lines.append((line_no, decoded))
    return lines, dead, Cursor(str(path), st.st_ino, offset, line_no)


class CursorFile:
    """Cursors kept in a JSON file, replaced atomically on every save."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Cursor]:
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return {k: Cursor(**v) for k, v in data.items()}

    def save(self, cursors: dict[str, Cursor]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: asdict(v) for k, v in cursors.items()}, indent=1),
                       encoding="utf-8")
        os.replace(tmp, self.path)
