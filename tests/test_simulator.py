"""The school simulator: deterministic, covers every monitorable clause, parses cleanly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.files import read_lines
from producers.formats import PARSERS, reading_of
from producers.parsing import ParseContext
from producers.school import load_school
from producers.simulator import FILTERS, choose_formats, simulate

# DESIGN.md "Policy as code": the clause table, per profile
BPS_CLAUSES = {
    "bps.password-sharing", "bps.unauthorised-access", "bps.proxy", "bps.software-download",
    "bps.copyright", "bps.inappropriate-content", "bps.chat", "bps.pupil-social-networking",
    "bps.monitored-language", "bps.cyberbullying", "bps.boarding-devices",
    "bps.staff-laptop-return", "bps.mis-offsite", "bps.computer-room-supervision",
    "bps.staff-pupil-contact", "bps.staff-personal-use",
}
TIS_CLAUSES = {
    "tis.one-account", "tis.report-breach", "tis.new-technology", "tis.illegal-content",
    "tis.filter-bypass", "tis.offsite-devices", "tis.software-install", "tis.staff-social-hours",
    "tis.personal-device-network", "tis.email-personal-device", "tis.private-email",
    "tis.school-cameras", "tis.filter-gaps",
}
CROSS = {"x-at-risk-pupil", "x-compromised-account", "x-shared-password", "x-leaver",
         "x-persistent-circumvention"}
NOW = datetime(2027, 1, 1, tzinfo=UTC)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _inputs(out: Path) -> list[tuple[str, Path]]:
    specs = []
    for line in (out / "inputs.txt").read_text().splitlines():
        kind, fmt, path = line.split(":", 2)
        specs.append((f"{kind}:{fmt}", Path(path)))
    return specs


def _truth(out: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (out / "ground_truth.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("profile", ["beaudesert-park", "twerton-infant"])
def test_same_seed_gives_identical_bytes(tmp_path: Path, profile: str) -> None:
    for name in ("a", "b"):
        simulate(tmp_path / name, profile=profile, days=3, seed=11, pupils=60)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys()
    # inputs.txt names the out dir; everything else must match byte for byte
    for rel in a:
        if rel != "inputs.txt":
            assert a[rel] == b[rel], rel
    simulate(tmp_path / "c", profile=profile, days=3, seed=12, pupils=60)
    assert _files(tmp_path / "c")["ground_truth.jsonl"] != a["ground_truth.jsonl"]


@pytest.mark.parametrize(("profile", "clauses", "seeds"), [
    ("beaudesert-park", BPS_CLAUSES, range(0, 20, 3)),
    ("twerton-infant", TIS_CLAUSES, range(1, 20, 3)),
])
def test_every_monitorable_clause_has_a_scenario(tmp_path: Path, profile: str,
                                                 clauses: set[str], seeds: range) -> None:
    for seed in seeds:
        out = tmp_path / str(seed)
        info = simulate(out, profile=profile, days=2, seed=seed)
        truth = _truth(out)
        assert info["scenarios"] == len(truth)
        covered = {c for t in truth for c in t["clause_ids"]}
        assert covered == clauses, (seed, clauses - covered, covered - clauses)
        names = {t["scenario"] for t in truth}
        expected = CROSS if profile == "beaudesert-park" else CROSS - {"x-at-risk-pupil"}
        assert expected <= names
        subjects = [t["subject"] for t in truth]
        assert len(set(subjects)) == len(subjects), "every scenario has its own subject"
        assert all(t["start"] <= t["end"] for t in truth)
        assert truth == sorted(truth, key=lambda t: (t["start"], t["scenario"], t["subject"]))


def test_formats_vary_with_the_seed_and_can_be_forced() -> None:
    assert {choose_formats("beaudesert-park", s)["filter"] for s in range(5)} == set(FILTERS)
    assert len({tuple(sorted(choose_formats("beaudesert-park", s).items()))
                for s in range(40)}) == 40
    forced = choose_formats("twerton-infant", 3, {"filter": "fortigate", "auth": "google"})
    assert (forced["filter"], forced["cloud"]) == ("fortigate", "google")
    with pytest.raises(ValueError, match="unknown format"):
        choose_formats("twerton-infant", 3, {"filter": "bluecoat"})


def _parse_all(out: Path) -> dict[str, int]:
    bundle = load_school(out / "school")
    parsed: dict[str, int] = {}
    for source, path in _inputs(out):
        assert path.exists(), path
        parser = PARSERS.get(source)
        if parser is None:
            continue  # not registered yet
        csv_reading = reading_of(source).csv
        header = path.open(encoding="utf-8").readline() if csv_reading else None
        ctx = ParseContext(bundle.school_id, source, now=NOW, header=header)
        events = dead = 0
        for chunk, undecodable in read_lines(path, school_id=bundle.school_id, dataset=source,
                                             source=source, csv=csv_reading):
            result = parser(chunk, ctx)
            assert not undecodable
            assert not result.dead_letters, (source, result.dead_letters[:3])
            events += len(result.events)
            dead += len(result.dead_letters)
        parsed[source] = events
    return parsed


def _bps(f: str, a: str, c: str, d: str) -> dict[str, str]:
    return {"filter": f, "auth": a, "cloud": c, "device": d}


FORCED = [
    ("beaudesert-park", _bps("squid", "winlogbeat", "google", "snipeit-api")),
    ("beaudesert-park", _bps("e2guardian", "samba", "entra", "snipeit-csv")),
    ("beaudesert-park", _bps("squidguard", "winlogbeat", "entra", "snipeit-api")),
    ("beaudesert-park", _bps("fortigate", "samba", "google", "snipeit-csv")),
    ("beaudesert-park", _bps("csv", "winlogbeat", "entra", "snipeit-csv")),
    ("twerton-infant", {"filter": "squidguard", "auth": "samba", "device": "snipeit-csv"}),
    ("twerton-infant", {"filter": "csv", "auth": "winlogbeat", "device": "snipeit-api"}),
]


@pytest.mark.parametrize(("profile", "formats"), FORCED)
def test_school_loads_and_every_registered_input_parses_without_dead_letters(
        tmp_path: Path, profile: str, formats: dict[str, str]) -> None:
    out = tmp_path / "sim"
    simulate(out, profile=profile, days=2, seed=3, formats=formats)
    bundle = load_school(out / "school")
    assert bundle.profile.id == profile
    people = {p.person_id for p in bundle.directory.people}
    assert {t["subject"] for t in _truth(out)} <= people
    parsed = _parse_all(out)
    for source, n in parsed.items():
        if not source.startswith("incident"):
            assert n > 0, source
    if formats["filter"] == "squidguard":
        assert {s for s, _ in _inputs(out)} >= {"filter:squidguard", "filter:squid"}


def test_background_stays_below_thresholds(tmp_path: Path) -> None:
    """No account has more than 2 failed logins in any 10 minutes outside the scenarios."""
    out = tmp_path / "sim"
    simulate(out, profile="beaudesert-park", days=5, seed=4, pupils=200,
             formats={"auth": "winlogbeat"})
    subjects = {t["subject"] for t in _truth(out)}
    bundle = load_school(out / "school")
    accounts_of = {p.person_id: {a.lower() for a in p.accounts} for p in bundle.directory.people}
    scenario_accounts = {a for s in subjects for a in accounts_of.get(s, set())}
    fails: dict[str, list[float]] = {}
    path = next(p for s, p in _inputs(out) if s == "auth:winlogbeat")
    for line in path.read_text().splitlines():
        doc = json.loads(line)
        if doc["event"]["code"] == "4625":
            user = doc["winlog"]["event_data"]["TargetUserName"].lower()
            ts = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00")).timestamp()
            fails.setdefault(user, []).append(ts)
    spray_victims = 10  # the password-spray scenario tries 8 real accounts once each
    noisy = [u for u, ts in fails.items() if u not in scenario_accounts
             and any(sum(1 for x in ts if t <= x < t + 600) > 2 for t in ts)]
    assert not noisy
    assert sum(len(v) for u, v in fails.items() if u not in scenario_accounts) > spray_victims
