"""Writers of the real source formats; each returns the text of one file (sorted records)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from producers.simulator.model import TZ


def host_of(url: str) -> str:
    return url.split("/", 3)[2] if "://" in url else url.split("/", 1)[0]


def dst_ip(host: str) -> str:
    """A stable made-up server address for a host (198.18.0.0/15, the benchmarking range)."""
    h = zlib.crc32(host.encode())
    return f"198.{18 + (h >> 16) % 2}.{(h >> 8) % 256}.{h % 254 + 1}"


def utc_iso_ms(ts: float) -> str:
    ms = round(ts * 1000)
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + \
        f".{ms % 1000:03d}Z"


def local(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), TZ)
