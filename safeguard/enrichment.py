"""Enrichment: who was behind an event, where they were, and whether it was school time.

Pure lookups against the school's `Directory` and the `CategoryIndex`; an event that
cannot be resolved to a person still counts against its account, device or IP.
"""

from __future__ import annotations

from dataclasses import replace

from safeguard.categories import CategoryIndex, normalise_category
from safeguard.directory import Directory
from safeguard.events import Event
from safeguard.keywords import KeywordIndex

SUBJECT_KINDS = ("person", "account", "device", "ip")


def subject_of(event: Event) -> tuple[str, str]:
    """The subject alerts are keyed on: a person if resolved, else account, device or IP."""
    if event.person_id:
        return event.person_id, "person"
    if event.user_name:
        return f"account:{event.user_name.lower()}", "account"
    if event.host_name:
        return f"device:{event.host_name.lower()}", "device"
    if event.source_ip:
        return f"ip:{event.source_ip}", "ip"
    return "unknown", "ip"


class Enricher:
    """Adds person, role, year group, boarder, location and calendar flags to events."""

    def __init__(self, directory: Directory, categories: CategoryIndex,
                 keywords: KeywordIndex | None = None) -> None:
        self.directory = directory
        self.categories = categories
        self.keywords = keywords or KeywordIndex()

    def enrich(self, event: Event) -> Event:
        changes: dict[str, object] = {}
        if event.category == "web":
            cats = {normalise_category(c) for c in event.categories}
            if event.url_original:
                cats.update(self.categories.lookup(event.url_original))
            if cats != set(event.categories):
                changes["categories"] = tuple(sorted(cats))
        if event.search_terms and not event.themes:
            themes = self.keywords.themes_of(event.search_terms)
            if themes:
                changes["themes"] = themes
        if event.user_name and not event.person_id:
            person = self.directory.person_by_account(event.user_name)
            if person is not None:
                changes.update(person_id=person.person_id, person_role=person.role,
                               year_group=person.year_group, boarder=person.boarder)
        if event.source_ip and event.location is None:
            net = self.directory.network_of(event.source_ip)
            if net is not None:
                changes.update(location=net.location, location_kind=net.kind)
        school = self.directory.school
        changes["school_hours"] = school.is_school_hours(event.timestamp)
        changes["term_time"] = school.is_term_time(event.timestamp)
        return replace(event, **changes)  # type: ignore[arg-type]
