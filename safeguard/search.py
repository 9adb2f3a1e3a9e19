"""Search terms from search-engine URLs, where the filter log kept the query string."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

# host suffix -> (path prefix, query parameter)
_ENGINES: tuple[tuple[str, str, str], ...] = (
    ("google.", "/search", "q"),
    ("bing.com", "/search", "q"),
    ("duckduckgo.com", "/", "q"),
    ("youtube.com", "/results", "search_query"),
    ("search.yahoo.com", "/search", "p"),
    ("ecosia.org", "/search", "q"),
)


def extract_search_terms(url: str) -> str | None:
    """The decoded search query of a Google, Bing, DuckDuckGo or YouTube URL, else None."""
    if "?" not in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    for suffix, path, param in _ENGINES:
        at_host = host.startswith(suffix) or f".{suffix}" in f".{host}"
        if at_host and parts.path.startswith(path):
            values = parse_qs(parts.query).get(param)
            if values and values[0].strip():
                return " ".join(values[0].split()).lower()
    return None
