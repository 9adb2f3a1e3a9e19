"""`KIND:FORMAT:PATH` input specifications, as given to `safeguard ingest --input`."""

from __future__ import annotations

from dataclasses import dataclass

from safeguard.errors import ConfigError

KINDS = frozenset({"filter", "auth", "device", "incident"})


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One source: what it is (kind), how it is written (format), where it is (path)."""

    kind: str
    format: str
    path: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown kind {self.kind!r}; expected one of {sorted(KINDS)}",
                              field="--input")
        if not self.format or not self.path:
            raise ConfigError("expected KIND:FORMAT:PATH", field="--input")

    @property
    def source(self) -> str:
        """The `kind:format` pair that names a parser and a raw topic."""
        return f"{self.kind}:{self.format}"

    @classmethod
    def parse(cls, text: str) -> InputSpec:
        parts = text.split(":", 2)
        if len(parts) != 3:
            raise ConfigError(f"expected KIND:FORMAT:PATH, got {text!r}", field="--input")
        return cls(kind=parts[0].strip(), format=parts[1].strip(), path=parts[2])

    def __str__(self) -> str:
        return f"{self.kind}:{self.format}:{self.path}"
