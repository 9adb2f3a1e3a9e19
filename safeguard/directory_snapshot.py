"""What the directory said when a batch was read, kept for termly figures.

Year groups move up every September and people leave: a governor's figures for last
spring must use last spring's year groups. A snapshot keeps roles, year groups and
dates only — no names or accounts — and its id is a digest of that content, so
recording the same directory twice adds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from safeguard.directory import Directory
from safeguard.events import parse_timestamp


@dataclass(frozen=True, slots=True)
class PersonRow:
    person_id: str
    role: str
    year_group: str | None
    boarder: bool
    start_date: date | None
    leave_date: date | None

    def to_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "role": self.role, "year_group": self.year_group,
                "boarder": self.boarder,
                "start_date": self.start_date.isoformat() if self.start_date else None,
                "leave_date": self.leave_date.isoformat() if self.leave_date else None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PersonRow:
        return cls(person_id=d["person_id"], role=d["role"], year_group=d.get("year_group"),
                   boarder=bool(d.get("boarder")),
                   start_date=date.fromisoformat(d["start_date"]) if d.get("start_date") else None,
                   leave_date=date.fromisoformat(d["leave_date"]) if d.get("leave_date") else None)


@dataclass(frozen=True, slots=True)
class DirectorySnapshot:
    snapshot_id: str
    school_id: str
    taken_at: datetime
    people: tuple[PersonRow, ...]
    assets: int
    networks: int

    def __post_init__(self) -> None:
        if self.taken_at.tzinfo is None:
            raise ValueError("taken_at must be timezone-aware")
        if len({p.person_id for p in self.people}) != len(self.people):
            raise ValueError("a person appears twice in the snapshot")

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot_id": self.snapshot_id, "school_id": self.school_id,
                "taken_at": self.taken_at.isoformat(),
                "people": [p.to_dict() for p in self.people],
                "assets": self.assets, "networks": self.networks}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DirectorySnapshot:
        return cls(snapshot_id=d["snapshot_id"], school_id=d["school_id"],
                   taken_at=parse_timestamp(d["taken_at"]),
                   people=tuple(PersonRow.from_dict(p) for p in d["people"]),
                   assets=int(d["assets"]), networks=int(d["networks"]))


def snapshot_of(directory: Directory, taken_at: datetime) -> DirectorySnapshot:
    """The directory's roles, year groups and dates (no names, no accounts)."""
    people = tuple(sorted(
        (PersonRow(p.person_id, p.role, p.year_group, p.boarder, p.start_date, p.leave_date)
         for p in directory.people), key=lambda r: r.person_id))
    digest = hashlib.blake2b(digest_size=12)
    digest.update(directory.school.id.encode())
    digest.update(orjson.dumps([p.to_dict() for p in people]))
    digest.update(f"{len(directory.assets)}|{len(directory.networks)}".encode())
    return DirectorySnapshot(snapshot_id=digest.hexdigest(), school_id=directory.school.id,
                             taken_at=taken_at, people=people, assets=len(directory.assets),
                             networks=len(directory.networks))
