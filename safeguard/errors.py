"""The root exception of the core, carrying the context a person needs to fix the input."""

from __future__ import annotations


class SafeguardError(Exception):
    """Base of every error the core raises on purpose.

    `source` names the file or record at fault, `line` its line (1-based) and
    `field` the key, so a message can say exactly where to look.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.source:
            where = self.source
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class ConfigError(SafeguardError):
    """A school folder, profile or setting is missing or malformed."""


class EventError(SafeguardError):
    """A record cannot become a valid normalised event."""
