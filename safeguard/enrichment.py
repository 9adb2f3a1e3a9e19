"""Enrichment: who was behind an event, on which device, where, and whether it was school time.

Pure lookups against the school's `Directory`, the `CategoryIndex` and the keyword lists,
plus identity state kept per network key (see `safeguard.identity`). An event that cannot
be resolved to a person still counts against its account, device or IP.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import replace
from typing import Any

from safeguard.categories import CategoryIndex, normalise_category
from safeguard.directory import Directory, Person
from safeguard.events import Event
from safeguard.identity import observe_session, person_in_session, person_of_device
from safeguard.keywords import KeywordIndex

SUBJECT_KINDS = ("person", "account", "device", "ip")


def short_host(name: str) -> str:
    """`PC-12.school.lan` -> `pc-12`: logs mix FQDNs and short names for one machine;
    IP addresses and MACs are kept whole."""
    name = name.strip().lower()
    if ":" in name or name.replace(".", "").isdigit():
        return name
    return name.split(".", 1)[0]


def subject_of(event: Event) -> tuple[str, str]:
    """The subject alerts are keyed on: a person if resolved, else account, device or IP."""
    if event.person_id:
        return event.person_id, "person"
    if event.user_name:
        return f"account:{event.user_name.lower()}", "account"
    if event.host_name:
        return f"device:{short_host(event.host_name)}", "device"
    if event.source_ip:
        return f"ip:{event.source_ip}", "ip"
    return "unknown", "ip"


class Enricher:
    """Adds person, role, year group, boarder, device, location and calendar facts."""

    def __init__(self, directory: Directory, categories: CategoryIndex,
                 keywords: KeywordIndex | None = None) -> None:
        self.directory = directory
        self.categories = categories
        self.keywords = keywords or KeywordIndex()

    def enrich(self, event: Event, identity: MutableMapping[str, Any] | None = None) -> Event:
        """The event with what the school knows about it; `identity` is the session state
        of the event's network key (a dict, or a Faust table partitioned by that key)."""
        changes: dict[str, Any] = {}
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
        person = self._person(event, identity, changes)
        if identity is not None and event.category in ("authentication", "web"):
            behind = person_in_session(event, identity)
            if behind is not None and (person is None or behind != person.person_id):
                labels = dict(changes.get("labels", event.labels))
                changes["labels"] = {**labels, "session.person": behind}
        if person is not None:
            changes.update(person_id=person.person_id, person_role=person.role,
                           year_group=person.year_group, boarder=person.boarder)
            if person.leave_date is not None:
                local_day = self.directory.school.local(event.timestamp).date()
                changes["after_leave"] = local_day > person.leave_date
        if event.asset_ownership is None and (event.host_name or event.asset_tag):
            asset = (self.directory.asset_by_device(event.host_name) if event.host_name
                     else self.directory.asset_by_tag(event.asset_tag or ""))
            if asset is None:
                changes["asset_ownership"] = "unregistered"
            else:
                changes.update(asset_ownership=asset.ownership, asset_owner=asset.assigned_to,
                               asset_category=asset.category, asset_tag=asset.asset_tag)
        if event.source_ip and event.location is None:
            net = self.directory.network_of(event.source_ip)
            if net is not None:
                changes.update(location=net.location, location_kind=net.kind)
        school = self.directory.school
        changes["school_hours"] = school.is_school_hours(event.timestamp)
        changes["term_time"] = school.is_term_time(event.timestamp)
        return replace(event, **changes)

    def _person(self, event: Event, identity: MutableMapping[str, Any] | None,
                changes: dict[str, Any]) -> Person | None:
        if event.person_id:
            return self.directory.person(event.person_id)
        person = (self.directory.person_by_account(event.user_name)
                  if event.user_name else None)
        if person is None and event.user_name and event.category == "device":
            person = self.directory.person_by_name(event.user_name)
        if person is None and event.category == "incident" and event.labels.get(
                "incident.reporter"):  # an incident naming no pupil is about its reporter
            reporter = event.labels["incident.reporter"]
            person = (self.directory.person(reporter) or self.directory.person_by_account(reporter)
                      or self.directory.person_by_name(reporter))
        if identity is not None:
            if person is not None:
                observe_session(event, person, identity)
            elif event.category == "web":
                pid = person_in_session(event, identity)
                if pid is not None:
                    changes["labels"] = {**event.labels, "identity": "session"}
                    return self.directory.person(pid)
        if person is None and event.category == "web":
            person = person_of_device(event, self.directory)
            if person is not None:
                changes["labels"] = {**event.labels, "identity": "asset-register"}
        return person
