"""The root exception of the warehouse package."""

from __future__ import annotations


class WarehouseError(Exception):
    """A warehouse operation failed; `path` names the file concerned."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)
