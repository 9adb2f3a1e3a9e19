"""CSV files that arrive as chunks of numbered lines -> records with the line each starts on.

Why a stateful reader: `producers.files.read_lines` hands a parser ~5000 `(line_no, text)`
pairs at a time (500 per Kafka message). Only the first chunk of a file holds the header,
and a quoted field with commas, quotes or newlines can straddle two chunks. So one
`CsvRecordReader` per file keeps the header and any incomplete trailing record between calls.

Contract (both the embedded runner and the Kafka path keep it):
- The chunks of one file go, in order, to one reader: `reader_for(ctx, dataset)` keys it by
  school, `ctx.source` (the path) and dataset. The embedded runner reads each file with one
  generator; Kafka messages are keyed by path, so one file is one partition, read in order.
- A chunk that starts at line 1 is a new read of the file (header and state reset). A chunk
  that starts at or before the last line seen is a re-delivery: it is read again from the
  state it first met (a record left open by the chunk before it is remembered for the last
  CARRIED_CHUNKS chunks), so records read again get the same event ids.
- The file ends when a chunk's last line has no line terminator, or when `finish_source` is
  called; a quoted field still open then is a dead letter ("unterminated quote at end of file").
  A quote still open after MAX_RECORD_LINES lines / MAX_RECORD_CHARS characters is dead-lettered
  too, so a stray quote cannot swallow a file or memory.
- State lives in this process: a worker that starts mid-file has not seen the header; keyed
  readers then dead-letter records with that reason (replay the file from line 1).
Quoting follows Python's `csv` defaults (RFC 4180 with doubled quotes; a quote inside an
unquoted field is literal), which is also what PHP `fputcsv`, Excel and League CSV write.
"""

from __future__ import annotations

import csv
from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

from producers.parsing import ParseContext
from safeguard.deadletters import DeadLetter

MAX_RECORD_LINES = 10_000
MAX_RECORD_CHARS = 1024 * 1024
MAX_READERS = 1024
CARRIED_CHUNKS = 16
BOM = "\ufeff"
_START, _UNQUOTED, _QUOTED, _QUOTE_IN_QUOTED = range(4)


class CsvRecord(NamedTuple):
    """One data record: the line it starts on, its fields (dict by header name when keyed,
    else a list in file order), and its exact text without the final line terminator."""

    line_no: int
    data: dict[str, str] | list[str]
    raw: str


def _strip_eol(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\n", "\r")) else text


def _scan(text: str, state: int) -> int:
    """Quote state after one physical line (without its terminator); jumps between `"`/`,`."""
    if '"' not in text:
        return _QUOTED if state == _QUOTED else _START
    i, n = 0, len(text)
    while i < n:
        if state == _QUOTED:
            j = text.find('"', i)
            if j < 0:
                return _QUOTED
            if j + 1 == n:
                return _QUOTE_IN_QUOTED
            nxt = text[j + 1]
            state = _QUOTED if nxt == '"' else _START if nxt == "," else _UNQUOTED
            i = j + 2
        elif state == _START:
            ch = text[i]
            if ch == '"':
                state, i = _QUOTED, i + 1
            elif ch == ",":
                i += 1
            else:
                state = _UNQUOTED
        else:  # unquoted field (a quote inside it is literal): on to the next comma
            j = text.find(",", i)
            if j < 0:
                return _UNQUOTED
            state, i = _START, j + 1
    return state


def quote_open_after(line: str, was_open: bool) -> bool:
    """Whether a quoted field is open after this physical line, given whether one was open
    before it: the rule the readers follow (a quote inside an unquoted field is literal, so
    counting quotes is not enough). `read_lines(csv=True)` cuts chunks by it."""
    return _scan(_strip_eol(line), _QUOTED if was_open else _START) == _QUOTED


def header_key(name: str) -> str:
    """How a header cell is matched: BOM and spaces stripped, lower case."""
    return name.replace(BOM, "").strip().lower()


class CsvRecordReader:
    """Turns one file's chunks, fed in order, into `CsvRecord`s and `DeadLetter`s."""

    def __init__(self, *, school_id: str, dataset: str, source: str, header: bool = True,
                 keyed: bool = True, require_width: bool = True) -> None:
        self.school_id, self.dataset, self.source = school_id, dataset, source
        self.expect_header = header
        self.keyed = keyed and header
        self.require_width = require_width
        self.header: list[str] | None = None
        self._awaiting_header = False
        self._no_header = ("the file's header (line 1) was not read by this reader: "
                           "replay the file from its first line")
        self._pending: list[tuple[int, str]] = []
        self._pending_chars = 0
        self._state = _START
        self._last_line = 0
        # the record still open at the start of recent chunks, so a re-delivered chunk that
        # begins inside a quoted field is read the same way again
        self._carried: OrderedDict[int, list[tuple[int, str]]] = OrderedDict()

    def _dead(self, line_no: int, raw: str, reason: str) -> DeadLetter:
        return DeadLetter(school_id=self.school_id, dataset=self.dataset, stage="parse",
                          reason=reason, raw=raw, source=self.source, line_no=line_no)

    def _rewind(self, first: int) -> None:
        """A chunk at or before the last line seen: a new read (line 1) or a re-delivery."""
        if first <= 1:
            self.header, self._awaiting_header = None, self.expect_header
            self._carried.clear()
        if first in self._carried:  # re-delivered chunk: the record open when it first came
            kept = self._carried[first]
        else:
            kept = [(n, t) for n, t in self._pending if n < first]
        self._pending, self._pending_chars, self._state = [], 0, _START
        for n, t in kept:
            self._pending.append((n, t))
            self._pending_chars += len(t)
            self._state = _scan(_strip_eol(t), self._state)

    def feed(self, lines: Iterable[tuple[int, str]]) -> list[CsvRecord | DeadLetter]:
        """Records completed by these lines; an open quoted record waits for the next chunk."""
        out: list[CsvRecord | DeadLetter] = []
        items = list(lines)
        if not items:
            return out
        first = items[0][0]
        if first <= self._last_line or first <= 1:
            self._rewind(first)
            if first <= 1:
                self._last_line = 0
        elif self._last_line == 0:  # a reader that never saw the start of this file
            self._awaiting_header = False
        self._carried[first] = list(self._pending)
        while len(self._carried) > CARRIED_CHUNKS:
            self._carried.popitem(last=False)
        for line_no, text in items:
            self._last_line = max(self._last_line, line_no)
            if line_no == 1:
                text = text.removeprefix(BOM)
            body = _strip_eol(text)
            if not self._pending and not body.strip():
                continue  # blank line between records: not a record
            self._pending.append((line_no, text))
            self._pending_chars += len(text)
            self._state = _scan(body, _START if len(self._pending) == 1 else self._state)
            if self._state != _QUOTED:
                out.extend(self._complete())
            elif (len(self._pending) > MAX_RECORD_LINES
                  or self._pending_chars > MAX_RECORD_CHARS):
                out.extend(self._flush(f"quoted field not closed within {MAX_RECORD_LINES} "
                                       f"lines / {MAX_RECORD_CHARS} characters"))
        if self._pending and items[-1][1] == _strip_eol(items[-1][1]):
            out.extend(self.finish())  # last line has no terminator: the end of the file
        return out

    def finish(self) -> list[DeadLetter]:
        """End of file: an open quoted record becomes a dead letter."""
        return self._flush("unterminated quote at end of file") if self._pending else []

    def _flush(self, reason: str) -> list[DeadLetter]:
        line_no, raw = self._pending[0][0], _strip_eol("".join(t for _, t in self._pending))
        self._pending, self._pending_chars, self._state = [], 0, _START
        return [self._header_failed(line_no, raw, reason)]

    def _header_failed(self, line_no: int, raw: str, reason: str) -> DeadLetter:
        if self._awaiting_header:
            self._awaiting_header = False
            self._no_header = f"the file's header (line {line_no}) is unreadable: {reason}"
            reason = f"header: {reason}"
        return self._dead(line_no, raw, reason)

    def _complete(self) -> list[CsvRecord | DeadLetter]:
        parts = [t if i == len(self._pending) - 1 or t != _strip_eol(t) else t + "\n"
                 for i, (_, t) in enumerate(self._pending)]
        line_no, raw = self._pending[0][0], _strip_eol("".join(parts))
        self._pending, self._pending_chars, self._state = [], 0, _START
        try:
            rows = list(csv.reader(parts))
        except csv.Error as exc:
            return [self._header_failed(line_no, raw, f"malformed CSV: {exc}")]
        if len(rows) != 1:
            return [self._header_failed(line_no, raw,
                                        f"malformed CSV: {len(rows)} rows in one record")]
        fields = rows[0]
        if self._awaiting_header:
            self._awaiting_header = False
            self.header = fields
            return []
        if not self.keyed:
            return [CsvRecord(line_no, fields, raw)]
        if self.header is None:
            return [self._dead(line_no, raw, self._no_header)]
        if self.require_width and len(fields) != len(self.header):
            return [self._dead(line_no, raw, f"expected {len(self.header)} fields (as the "
                                             f"header), found {len(fields)}")]
        keys = [header_key(h) for h in self.header]
        return [CsvRecord(line_no, dict(zip(keys, fields, strict=False)), raw)]


_READERS: OrderedDict[tuple[str, str, str], CsvRecordReader] = OrderedDict()


def reader_for(ctx: ParseContext, dataset: str, *, header: bool = True, keyed: bool = True,
               require_width: bool = True) -> CsvRecordReader:
    """The reader of one file (school, `ctx.source`, dataset), created on first use."""
    key = (ctx.school_id, ctx.source, dataset)
    reader = _READERS.get(key)
    if reader is None:
        reader = CsvRecordReader(school_id=ctx.school_id, dataset=dataset, source=ctx.source,
                                 header=header, keyed=keyed, require_width=require_width)
        _READERS[key] = reader
        while len(_READERS) > MAX_READERS:
            _READERS.popitem(last=False)
    _READERS.move_to_end(key)
    return reader


def finish_source(ctx: ParseContext) -> list[DeadLetter]:
    """Call after the last chunk of a file: dead letters for open records; state dropped."""
    out: list[DeadLetter] = []
    for key in [k for k in _READERS if k[:2] == (ctx.school_id, ctx.source)]:
        out.extend(_READERS.pop(key).finish())
    return out


def physical_lines(text: str) -> list[tuple[int, str]]:
    """Numbered lines split on "\\n" only, terminators kept, as `read_lines` yields them."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    return list(enumerate(lines, 1))


def parse_csv_text(text: str, *, school_id: str = "", dataset: str = "csv", source: str = "",
                   header: bool = True, keyed: bool = True, require_width: bool = True,
                   ) -> tuple[list[str] | None, list[CsvRecord], list[DeadLetter]]:
    """A whole file's text at once (no shared state): header, records, dead letters."""
    reader = CsvRecordReader(school_id=school_id, dataset=dataset, source=source,
                             header=header, keyed=keyed, require_width=require_width)
    items = reader.feed(physical_lines(text))
    items.extend(reader.finish())
    records = [r for r in items if isinstance(r, CsvRecord)]
    return reader.header, records, [d for d in items if isinstance(d, DeadLetter)]
