"""School folder parsing: required columns, extra columns, calendar, lookups, clear errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.school import load_categories, load_profile, load_school
from safeguard.errors import ConfigError
from tests.conftest import PEOPLE_CSV, SCHOOL_YAML


def test_load_school_resolves_accounts_networks_and_devices(make_school: Callable[..., Path]
                                                            ) -> None:
    bundle = load_school(make_school())
    d = bundle.directory
    assert d.school.id == "test-school"
    assert d.person_by_account("PUPIL1").person_id == "P1"  # type: ignore[union-attr]
    assert d.person_by_account("SCHOOL\\staff1").person_id == "S1"  # type: ignore[union-attr]
    assert d.person_by_account("staff1@test.example").person_id == "S1"  # type: ignore[union-attr]
    assert d.person_by_account("nobody") is None
    assert d.network_of("10.10.0.5").kind == "ict-suite"  # type: ignore[union-attr]
    assert d.network_of("10.10.9.5").kind == "classroom"  # type: ignore[union-attr]
    assert d.network_of("192.0.2.1") is None
    assert d.network_of("not-an-ip") is None
    assert d.asset_by_device("lt-0001").assigned_to == "S1"  # type: ignore[union-attr]
    assert bundle.profile.id == "beaudesert-park"


def test_calendar_knows_school_hours_weekends_and_half_term(make_school: Callable[..., Path]
                                                            ) -> None:
    school = load_school(make_school()).directory.school
    tuesday_10am_gmt = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
    assert school.is_school_hours(tuesday_10am_gmt)
    assert not school.is_school_hours(datetime(2026, 11, 17, 17, 0, tzinfo=UTC))
    assert not school.is_school_hours(datetime(2026, 11, 21, 10, 0, tzinfo=UTC))  # Saturday
    half_term = datetime(2026, 10, 27, 10, 0, tzinfo=UTC)
    assert not school.is_term_time(half_term)
    # 07:45 UTC in September is 08:45 BST: school hours in London time
    assert school.is_school_hours(datetime(2026, 9, 8, 7, 45, tzinfo=UTC))
    assert school.term_of(tuesday_10am_gmt) == "Autumn 2026"


def test_missing_column_names_file_and_line(make_school: Callable[..., Path]) -> None:
    bad = PEOPLE_CSV.replace(",accounts,", ",logins,")
    with pytest.raises(ConfigError, match=r"people.csv:1: missing required columns \['accounts'\]"):
        load_school(make_school(**{"people.csv": bad}))


def test_bad_value_names_line_and_field(make_school: Callable[..., Path]) -> None:
    bad = PEOPLE_CSV.replace("P2,Pupil Two,pupil", "P2,Pupil Two,teacher")
    with pytest.raises(ConfigError, match=r"people.csv:3: role: 'teacher' is not one of"):
        load_school(make_school(**{"people.csv": bad}))


def test_school_yaml_errors_name_the_line(make_school: Callable[..., Path]) -> None:
    bad = SCHOOL_YAML.replace('start: "08:30"', 'start: "8.30am"')
    with pytest.raises(ConfigError, match=r"school.yaml:6: school_day.start"):
        load_school(make_school(**{"school.yaml": bad.format(profile="beaudesert-park")}))
    missing = SCHOOL_YAML.replace("timezone: Europe/London\n", "")
    with pytest.raises(ConfigError, match="timezone: required key is missing"):
        load_school(make_school(**{"school.yaml": missing.format(profile="beaudesert-park")}))
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_school(make_school(**{"school.yaml": SCHOOL_YAML.replace(
            "Europe/London", "Mars/Olympus").format(profile="twerton-infant")}))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    with pytest.raises(ConfigError, match=r"school\.yaml: required file is missing"):
        load_school(tmp_path / "s")


def test_unknown_profile_is_a_clear_error(make_school: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError, match="neither built in"):
        load_school(make_school(profile="no-such-profile"))


def test_school_categories_extend_shipped_lists(make_school: Callable[..., Path]) -> None:
    school = make_school(**{"categories__strong_redirector__domains":
                            "# local proxy list\nsneaky-proxy.test\n",
                            "categories__gambling__domains": "casino.test\n"})
    index = load_categories(school)
    assert index.lookup("https://www.sneaky-proxy.test/go") == ("proxy",)
    assert index.lookup("http://casino.test/x.html") == ("gambling",)
    assert index.lookup("proxysite.com:443") == ("proxy",)  # shipped list still there
    assert load_categories(None).lookup("http://casino.test/") == ()


def test_builtin_profiles_load() -> None:
    assert load_profile("twerton-infant").rule("tis-filter-bypass").clause_ids == (
        "tis.filter-bypass",)


def test_keyword_themes_are_found_in_search_terms(make_school: Callable[..., Path]) -> None:
    from producers.school import load_keywords

    school = make_school(**{"keywords__bullying.txt": "# local phrase\nthey took my lunch\n"})
    idx = load_keywords(school)
    assert idx.themes_of("how to hide cuts from parents") == ("self-harm",)
    assert idx.themes_of("They   took my LUNCH again") == ("bullying",)
    assert idx.themes_of("suicide squad cast") == ("suicide",)  # honest: lists over-match
    assert idx.themes_of("pornography laws essay") == ()  # whole words only
    assert idx.themes_of(None) == ()
