"""The registry of source formats: `kind:format` -> parser, and how its files are read.

Add a format by adding a line to `PARSERS` (and, for CSV or whole-file JSON, to
`READING`). Line formats are read in chunks of lines; CSV formats get the file's header
line in `ParseContext.header` and chunks that never split a quoted multi-line record;
whole-file formats (a pretty-printed API response) are read as one document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from producers.csv_records import finish_source
from producers.e2guardian import parse_e2guardian
from producers.entra_signin import parse_entra_signin
from producers.filter_csv import parse_filter_csv
from producers.fortigate import parse_fortigate
from producers.google_workspace import parse_google_document, parse_google_login
from producers.incidents import parse_incidents
from producers.parsing import ParseContext, Parser, ParseResult
from producers.samba_audit import parse_samba_audit
from producers.snipeit import parse_snipeit_api, parse_snipeit_csv
from producers.squid import parse_squid
from producers.squidguard import parse_squidguard
from producers.winlogbeat import parse_winlogbeat


@dataclass(frozen=True)
class Reading:
    """How a format's files are cut into chunks for its parser."""

    csv: bool = False
    whole_file: bool = False


def _filter_csv(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> ParseResult:
    return parse_filter_csv(lines, ctx, header=ctx.header)


def _google_document(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> ParseResult:
    numbered = list(lines)  # NDJSON falls back to these: the file's own line numbers
    return parse_google_document("".join(text for _, text in numbered), ctx, numbered)


def _local_time_csv(parse: Callable[..., ParseResult]) -> Parser:
    """A stateful CSV parser made chunk-safe: the file's header goes first when a chunk
    starts later in the file (a worker may join mid-file), and each chunk is finished,
    since chunks never end inside a record (see `read_lines(csv=True)`). Times without
    an offset are read in the school's time zone."""
    def parser(lines: Iterable[tuple[int, str]], ctx: ParseContext) -> ParseResult:
        chunk = list(lines)
        if chunk and chunk[0][0] != 1 and ctx.header is not None:
            chunk.insert(0, (1, ctx.header + "\n"))
        result = parse(chunk, ctx, tz=ctx.timezone)
        result.dead_letters.extend(finish_source(ctx))
        return result
    return parser


PARSERS: dict[str, Parser] = {
    "filter:squid": parse_squid,
    "filter:e2guardian": parse_e2guardian,
    "filter:squidguard": parse_squidguard,
    "filter:fortigate": parse_fortigate,
    "filter:csv": _filter_csv,
    "auth:winlogbeat": parse_winlogbeat,
    "auth:samba": parse_samba_audit,
    "auth:google": parse_google_login,
    "auth:google-json": _google_document,
    "auth:entra": parse_entra_signin,
    "device:snipeit-api": lambda lines, ctx: parse_snipeit_api(lines, ctx, tz=ctx.timezone),
    "device:snipeit-csv": _local_time_csv(parse_snipeit_csv),
    "incident:csv": _local_time_csv(parse_incidents),
}

READING: dict[str, Reading] = {
    "filter:csv": Reading(csv=True),
    "auth:google-json": Reading(whole_file=True),
    "device:snipeit-csv": Reading(csv=True),
    "incident:csv": Reading(csv=True),
}


def reading_of(source: str) -> Reading:
    return READING.get(source, Reading())


def parser_for(source: str) -> Parser:
    """The parser of a `kind:format` pair, or a ValueError listing the supported ones."""
    try:
        return PARSERS[source]
    except KeyError:
        raise ValueError(
            f"unsupported input {source!r}; supported: {', '.join(sorted(PARSERS))}"
        ) from None


def raw_topic(source: str) -> str:
    """Kafka topic of a source's raw records: `filter:squid` -> `raw.filter.squid`."""
    return "raw." + source.replace(":", ".")
