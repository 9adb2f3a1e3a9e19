"""The profile, not the code, decides: the same staff browsing is a breach at one school only."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safeguard.cli import main
from tests.conftest import squid_line

TUESDAY_10AM = datetime(2026, 11, 17, 10, tzinfo=UTC).timestamp()  # term time, school hours


def _rules_raised(school: Path, tmp_path: Path, visits: int,
                  capsys: pytest.CaptureFixture[str]) -> set[str]:
    log = tmp_path / f"{school.parent.name}-{visits}.log"
    log.write_text("".join(squid_line(ts=TUESDAY_10AM + 60 * i, user="staff1", ip="10.10.1.50",
                                      url=f"https://www.facebook.com/feed/{i}") + "\n"
                           for i in range(visits)))
    db = tmp_path / f"{school.parent.name}-{visits}.duckdb"
    assert main(["ingest", "--school", str(school), "--input", f"filter:squid:{log}",
                 "--embedded", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["alerts", "--db", str(db), "--json"]) == 0
    return {json.loads(line)["rule_id"] for line in capsys.readouterr().out.splitlines()}


def test_staff_social_networking_in_school_hours(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import write_school

    twerton = write_school(tmp_path / "tis" / "school", "twerton-infant")
    beaudesert = write_school(tmp_path / "bps" / "school", "beaudesert-park")
    assert _rules_raised(twerton, tmp_path, 3, capsys) == {"tis-staff-social-hours"}
    assert _rules_raised(beaudesert, tmp_path, 3, capsys) == set()  # limited personal use
    assert _rules_raised(beaudesert, tmp_path, 45, capsys) == {"bps-staff-personal-use"}


def test_an_edited_threshold_applies_to_the_next_embedded_run(
        tmp_path: Path, make_school: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    school = make_school()
    log = tmp_path / "a.log"
    log.write_text("".join(squid_line(ts=TUESDAY_10AM + 60 * i, user="staff1",
                                      url=f"https://www.facebook.com/{i}") + "\n"
                           for i in range(3)))
    db = tmp_path / "w.duckdb"
    args = ["ingest", "--school", str(school), "--input", f"filter:squid:{log}", "--embedded",
            "--db", str(db)]
    assert main(args) == 0
    assert main(["rules", "set", "bps-staff-personal-use", "threshold=3", "--school",
                 str(school), "--db", str(db), "--by", "IT Manager"]) == 0
    assert main(["rules", "set", "bps-staff-personal-use", "threshold=lots", "--school",
                 str(school), "--db", str(db), "--by", "IT Manager"]) == 2
    assert "whole number" in capsys.readouterr().err
    log.write_text("".join(squid_line(ts=TUESDAY_10AM + 86400 + 60 * i, user="staff1",
                                      url=f"https://www.facebook.com/x{i}") + "\n"
                           for i in range(3)))
    assert main(args) == 0
    capsys.readouterr()
    assert main(["alerts", "--db", str(db), "--json"]) == 0
    rules = [json.loads(line)["rule_id"] for line in capsys.readouterr().out.splitlines()]
    assert rules == ["bps-staff-personal-use"]
    capsys.readouterr()
    assert main(["rules", "list", "--school", str(school), "--db", str(db)]) == 0
    assert "* bps-staff-personal-use" in capsys.readouterr().out
