"""Records that could not become events, kept with the reason so nothing is lost silently."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

STAGES = frozenset({"parse", "validate", "enrich", "detect", "sink"})


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One rejected record: where it came from, at which stage, and why."""

    school_id: str
    dataset: str
    stage: str
    reason: str
    raw: str
    source: str = ""
    line_no: int | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"unknown dead-letter stage {self.stage!r}")
        if not self.reason:
            raise ValueError("a dead letter needs a reason")

    @property
    def dead_letter_id(self) -> str:
        """Stable id, so a re-delivered batch does not duplicate its dead letters."""
        digest = hashlib.blake2b(digest_size=16)
        for part in (self.school_id, self.dataset, self.stage, self.source,
                     str(self.line_no), self.raw, self.reason):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x1f")
        return digest.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["dead_letter_id"] = self.dead_letter_id
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeadLetter:
        keys = ("school_id", "dataset", "stage", "reason", "raw", "source", "line_no")
        return cls(**{k: data[k] for k in keys if k in data})
