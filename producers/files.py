"""Reading source files as numbered text lines; undecodable lines become dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from producers.csv_records import quote_open_after
from safeguard.deadletters import DeadLetter

CHUNK_LINES = 5000


def decode_line(raw: bytes, line_no: int, *, school_id: str, dataset: str,
                source: str) -> str | DeadLetter:
    """A line's text, or a dead letter if it is not UTF-8 (one bad byte costs one line)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return DeadLetter(school_id=school_id, dataset=dataset, stage="parse",
                          reason=f"not UTF-8 text (byte {exc.start})",
                          raw=raw.decode("utf-8", "backslashreplace").rstrip("\r\n"),
                          source=source, line_no=line_no)


def read_header(path: Path) -> str | None:
    """The first line of a CSV file (its header), without a UTF-8 BOM."""
    with path.open("rb") as fh:
        first = fh.readline()
    try:
        return first.decode("utf-8-sig").rstrip("\r\n") or None
    except UnicodeDecodeError:
        return None


def read_lines(path: Path, *, school_id: str, dataset: str, source: str,
               chunk_lines: int = CHUNK_LINES, csv: bool = False, whole_file: bool = False,
               ) -> Iterator[tuple[list[tuple[int, str]], list[DeadLetter]]]:
    """Chunks of (line number, text) with the dead letters of lines that are not UTF-8.

    Read as bytes so one bad byte costs one line, not the file. With `csv`, a chunk
    never ends inside a quoted field, so a multi-line record stays whole; with
    `whole_file`, the file is one chunk (a JSON document spread over many lines).
    """
    chunk: list[tuple[int, str]] = []
    dead: list[DeadLetter] = []
    open_quote = False
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            decoded = decode_line(raw, line_no, school_id=school_id, dataset=dataset,
                                  source=source)
            if isinstance(decoded, DeadLetter):
                dead.append(decoded)
            else:
                chunk.append((line_no, decoded))
                if csv:
                    open_quote = quote_open_after(decoded, open_quote)
            if (not whole_file and not open_quote
                    and len(chunk) + len(dead) >= chunk_lines):
                yield chunk, dead
                chunk, dead = [], []
    if chunk or dead:
        yield chunk, dead
