"""Reading source files as numbered text lines; undecodable lines become dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from safeguard.deadletters import DeadLetter

CHUNK_LINES = 5000


def read_lines(path: Path, *, school_id: str, dataset: str, source: str,
               chunk_lines: int = CHUNK_LINES,
               ) -> Iterator[tuple[list[tuple[int, str]], list[DeadLetter]]]:
    """Chunks of (line number, text) with the dead letters of lines that are not UTF-8.

    Read as bytes so one bad byte costs one line, not the file.
    """
    chunk: list[tuple[int, str]] = []
    dead: list[DeadLetter] = []
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            try:
                chunk.append((line_no, raw.decode("utf-8")))
            except UnicodeDecodeError as exc:
                dead.append(DeadLetter(
                    school_id=school_id, dataset=dataset, stage="parse",
                    reason=f"not UTF-8 text (byte {exc.start})",
                    raw=raw.decode("utf-8", "backslashreplace").rstrip("\r\n"),
                    source=source, line_no=line_no))
            if len(chunk) + len(dead) >= chunk_lines:
                yield chunk, dead
                chunk, dead = [], []
    if chunk or dead:
        yield chunk, dead
