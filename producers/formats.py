"""The registry of source formats: `kind:format` -> parser. Add a format by adding a line."""

from __future__ import annotations

from producers.parsing import Parser
from producers.squid import parse_squid

PARSERS: dict[str, Parser] = {
    "filter:squid": parse_squid,
}


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
