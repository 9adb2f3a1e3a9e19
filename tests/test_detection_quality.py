"""DESIGN's detection targets on the simulator: every injected breach alerted, precision >= 95%,
every alert citing clauses of its own profile. A school week per run, several seeds (and so
several filter, login and device formats) per profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from producers.school import load_profile
from safeguard.cli import main
from safeguard.evaluation import evaluate
from warehouse.queries import alerts_as_records
from warehouse.reader import WarehouseReader


@pytest.mark.slow
@pytest.mark.parametrize(("profile", "seed"), [
    ("beaudesert-park", 2), ("beaudesert-park", 3), ("twerton-infant", 1),
    ("twerton-infant", 12),
])
def test_every_scenario_alerted_with_high_precision(tmp_path: Path, profile: str,
                                                    seed: int) -> None:
    out = tmp_path / "sim"
    assert main(["simulate", "--profile", profile, "--days", "5", "--seed", str(seed),
                 "--out", str(out)]) == 0
    inputs = (out / "inputs.txt").read_text().split()
    db = out / "w.duckdb"
    assert main(["ingest", "--school", str(out / "school"),
                 *[a for i in inputs for a in ("--input", i)], "--embedded", "--db", str(db)]) == 0
    alerts = alerts_as_records(WarehouseReader(db).connect())
    truth = [json.loads(line) for line in (out / "ground_truth.jsonl").read_text().splitlines()]
    report = evaluate(alerts, truth)
    assert report.missed == []
    assert report.overall.precision is not None and report.overall.precision >= 0.95
    clauses = {c.id for c in load_profile(profile).clauses}
    assert all(a["clause_ids"] and set(a["clause_ids"]) <= clauses for a in alerts)
