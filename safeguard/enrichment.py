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
from safeguard.identity import (
    observe,
    person_in_session,
    person_of_device,
    routing_keys,
    short_host,
)
from safeguard.keywords import KeywordIndex


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

    def routing_keys(self, event: Event) -> list[str]:
        """The network keys the event goes to on the `events` topic, primary first."""
        return routing_keys(event, self.directory)

    def observe(self, event: Event, key: str, identity: MutableMapping[str, Any]) -> None:
        """Record the sessions the event opens or closes on `key` (a non-primary copy)."""
        observe(event, self.resolve_person(event), key, identity)

    def enrich(self, event: Event, identity: MutableMapping[str, Any] | None = None,
               key: str | None = None) -> Event:
        """The event with what the school knows about it. `identity` is the session state
        (a dict, or a Faust table partitioned by network key); with `key` the event is
        the copy routed to that key (a worker), else it observes all its keys (embedded)."""
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
        keys = self.routing_keys(event)
        primary = key or keys[0]
        person = self.resolve_person(event)
        if identity is not None:
            for k in [key] if key else keys:
                observe(event, person, k, identity)
            if person is None and event.category == "web":
                pid = person_in_session(event, primary, identity)
                if pid is not None:
                    changes["labels"] = {**event.labels, "identity": "session"}
                    person = self.directory.person(pid)
        if person is None and event.category == "web":
            person = person_of_device(event, self.directory)
            if person is not None:
                changes["labels"] = {**event.labels, "identity": "asset-register"}
        if identity is not None and event.category in ("authentication", "web"):
            behind = person_in_session(event, primary, identity)
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

    def resolve_person(self, event: Event) -> Person | None:
        """The person an event names: by account, by display name (asset systems), or an
        incident's reporter when it names no pupil."""
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
        return person
