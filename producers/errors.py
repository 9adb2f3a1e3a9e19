"""The root exception of the producers package."""

from __future__ import annotations


class ProducerError(Exception):
    """An input cannot be read or sent; carries the input it concerns."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)
