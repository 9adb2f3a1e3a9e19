"""The built-in profiles' clause catalogues: complete, well-formed, quoting the policy faithfully.

Each clause's text must be the policy's own words: after normalising whitespace, case and
punctuation (curly vs straight quotes, dashes, bullets, bold markers) it must appear in the
seed policy text. A clause may trim a passage with an ellipsis ("…"); each fragment must then
appear, in order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from safeguard.policy import (
    REQUIRED_CLAUSES,
    IssueSeverity,
    Profile,
    parse_profile,
    validate_profile,
)

PROFILES_DIR = Path(__file__).parents[1] / "safeguard" / "profiles"
SEEDS_DIR = Path(__file__).parents[2] / "shared" / "seeds"

# profile id -> (clause-id prefix, seed file name)
CATALOGUES = {
    "beaudesert-park": ("bps", "000_c0ad51f2c542a5bb.txt"),
    "twerton-infant": ("tis", "002_3dfb59f09a82c586.txt"),
}

_ELLIPSIS = re.compile(r"\s*(?:\u2026|\.\.\.)\s*")


def _norm(text: str) -> str:
    """Lower-case, punctuation (any kind, curly quotes included) to spaces, whitespace collapsed."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def _load(profile_id: str) -> tuple[Profile, str]:
    path = PROFILES_DIR / f"{profile_id}.yaml"
    text = path.read_text(encoding="utf-8")
    return parse_profile(text, str(path)), text


def _seed(profile: Profile, seed_name: str) -> str:
    candidates = [SEEDS_DIR / seed_name]
    if profile.source:
        candidates.append(SEEDS_DIR.parent / profile.source)
    for path in candidates:
        if path.is_file():
            return _norm(path.read_text(encoding="utf-8"))
    pytest.skip(f"seed policy {seed_name} not available at {SEEDS_DIR}")


@pytest.fixture(params=sorted(CATALOGUES))
def catalogue(request: pytest.FixtureRequest) -> tuple[Profile, str, str]:
    profile, _ = _load(request.param)
    prefix, seed_name = CATALOGUES[request.param]
    return profile, prefix, seed_name


def test_profile_id_matches_file(catalogue: tuple[Profile, str, str]) -> None:
    profile, _, seed_name = catalogue
    assert profile.id in CATALOGUES
    assert profile.name.strip()
    assert profile.description.strip()
    assert profile.source.endswith(seed_name)


def test_no_high_severity_issues(catalogue: tuple[Profile, str, str]) -> None:
    profile, _, _ = catalogue
    high = [i for i in validate_profile(profile) if i.severity is IssueSeverity.HIGH]
    assert high == []
    assert REQUIRED_CLAUSES[profile.id] <= {c.id for c in profile.clauses}


def test_clause_ids_unique_and_prefixed(catalogue: tuple[Profile, str, str]) -> None:
    profile, prefix, _ = catalogue
    ids = [c.id for c in profile.clauses]
    assert len(ids) == len(set(ids))
    bad = [cid for cid in ids if not re.fullmatch(rf"{prefix}\.[a-z0-9][a-z0-9-]*", cid)]
    assert bad == []


def test_not_monitorable_clauses_have_reasons(catalogue: tuple[Profile, str, str]) -> None:
    profile, _, _ = catalogue
    missing = [c.id for c in profile.clauses if not c.monitorable and not (c.reason or "").strip()]
    assert missing == []


def test_both_monitorable_and_not_monitorable_present(catalogue: tuple[Profile, str, str]) -> None:
    profile, _, _ = catalogue
    monitorable = sum(1 for c in profile.clauses if c.monitorable)
    not_monitorable = len(profile.clauses) - monitorable
    assert monitorable > 0
    assert not_monitorable > 0


def test_clause_texts_and_sections_non_empty(catalogue: tuple[Profile, str, str]) -> None:
    profile, _, _ = catalogue
    for c in profile.clauses:
        assert c.text.strip(), c.id
        assert c.section.strip(), c.id


def test_rules_cite_catalogued_clauses(catalogue: tuple[Profile, str, str]) -> None:
    profile, _, _ = catalogue
    ids = {c.id for c in profile.clauses}
    assert profile.rules
    for rule in profile.rules:
        assert set(rule.clause_ids) <= ids


def test_clause_texts_quote_the_seed(catalogue: tuple[Profile, str, str]) -> None:
    profile, _, seed_name = catalogue
    seed = _seed(profile, seed_name)
    misquoted = []
    for c in profile.clauses:
        pos = 0
        for fragment in _ELLIPSIS.split(c.text):
            frag = _norm(fragment)
            if not frag:
                continue
            found = seed.find(frag, pos)
            if found < 0:
                misquoted.append((c.id, fragment))
                break
            pos = found + len(frag)
    assert misquoted == []


def test_sections_are_headings_of_the_seed(catalogue: tuple[Profile, str, str]) -> None:
    profile, _, seed_name = catalogue
    seed = _seed(profile, seed_name)
    unknown = sorted({c.section for c in profile.clauses if _norm(c.section) not in seed})
    assert unknown == []


def test_norm_ignores_quote_and_dash_style() -> None:
    curly = "\u2018friend requests\u2019 \u2013 **Never**"
    assert _norm(curly) == _norm("'friend requests' - Never")
