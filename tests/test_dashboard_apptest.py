"""The dashboard pages render the warehouse snapshot (Streamlit AppTest, real DuckDB files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from safeguard.cli import main

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--no-serve"]) == 0
    return out / "warehouse.duckdb"


def _app(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SAFEGUARD_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_alert_queue_lists_the_demo_alerts(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(demo_db, monkeypatch)
    assert at.title[0].value == "Alerts"
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Alerts"]) >= 1
    table = at.dataframe[0].value
    assert all(len(c) > 0 for c in table["clause_ids"])
    assert table["severity"].iloc[0] == 5  # the at-risk pupil leads the queue
    assert list(table["severity"]) == sorted(table["severity"], reverse=True)
    cited = {c for cs in table["clause_ids"] for c in cs}
    assert {"bps.proxy", "bps.cyberbullying", "bps.monitored-language"} <= cited


def test_pipeline_page_shows_accounting(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(demo_db, monkeypatch)
    at.switch_page("pages/pipeline.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Pipeline health"
    acct = at.dataframe[0].value
    row = acct.iloc[0]
    assert row["records_in"] == row["events_parsed"] + row["dead_lettered"]
    quality = at.dataframe[2].value  # every source's suite ran on the demo's batches
    assert set(acct["source"]) <= set(quality["source"])
    assert (quality["rows_checked"] > 0).all()


def test_empty_warehouse_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(tmp_path / "empty.duckdb", monkeypatch)
    assert any("No alerts yet" in i.value for i in at.info)
