"""Shared pieces of the fault tests on a real broker: a small simulated school, its
embedded reference run, the CLI, and the alert comparison.

The reference is the embedded runner over the same input (as in test_kafka_detection);
a fault test passes when the sink's alerts equal it: the same ids, and for each the
same final version, evidence, counts and times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeguard.cli import main
from tests.conftest import REPO
from warehouse.queries import alerts_as_records, ingest_accounting
from warehouse.reader import WarehouseReader

# every third squid line of a small school's day: ~5,000 records, ~20 alerts over ~18 rules
SQUID_KEEP_EVERY = 3


@dataclass(frozen=True)
class Case:
    school: str
    first: list[str]  # sign-ins, devices, incidents: sent before the web traffic they explain
    squid: list[str]  # the web traffic, in parts (`--input` specs), oldest first
    records: int  # source records over all inputs
    events: int  # events the embedded run stored (source events and derived daily ones)
    dead: int  # dead letters it stored
    expected: dict[str, tuple[Any, ...]]  # the embedded run's alerts, by id


def env() -> dict[str, str]:
    """A private topic namespace per test, on the shared broker."""
    return {**os.environ, "SAFEGUARD_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}.",
            "PYTHONPATH": str(REPO)}


def cli(*args: str, env: dict[str, str], timeout: float = 180) -> str:
    proc = subprocess.run([sys.executable, "-m", "safeguard.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def ingest(case: Case, specs: list[str], bootstrap: str, env: dict[str, str]) -> None:
    cli("ingest", "--school", case.school, *[a for s in specs for a in ("--input", s)],
        "--broker", bootstrap, "--partitions", "4", env=env)


def comparable(alerts: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """What must not differ between runs: per alert id, the stored final version and its
    evidence (as a set: arrival order differs between partitions), counts and times."""
    return {a["alert_id"]: (a["rule_id"], a["subject"], a["version"], a["event_count"],
                            tuple(sorted(a["evidence_event_ids"])), a["first_seen"],
                            a["last_seen"], a["score"]) for a in alerts}


def stored_alerts(db: Path) -> dict[str, tuple[Any, ...]]:
    return comparable(alerts_as_records(WarehouseReader(db).connect()))


def stored_events(db: Path) -> int:
    manifest = WarehouseReader(db).manifest()
    return int(manifest["rows"].get("events", 0)) if manifest else 0


def records_in(db: Path) -> int:
    acct = ingest_accounting(WarehouseReader(db).connect())
    return int(acct["records_in"].sum()) if not acct.empty else 0


def build_case(tmp_path: Path, parts: int = 2, profile: str = "twerton-infant",
               seed: int = 5) -> Case:
    """Simulate one day of a small school, thin its web traffic, split that into `parts`
    files, and run the embedded pipeline over all of it for the reference."""
    sim = tmp_path / "sim"
    assert main(["simulate", "--profile", profile, "--days", "1", "--seed", str(seed),
                 "--pupils", "30", "--staff", "8", "--out", str(sim)]) == 0
    inputs = (sim / "inputs.txt").read_text().split()
    first = [i for i in inputs if not i.startswith("filter:")]
    (squid_spec,) = [i for i in inputs if i.startswith("filter:squid:")]
    lines = Path(squid_spec.split(":", 2)[2]).read_text().splitlines()[SQUID_KEEP_EVERY - 1::
                                                                        SQUID_KEEP_EVERY]
    size = -(-len(lines) // parts)
    squid = []
    for k in range(parts):
        part = sim / f"squid-part{k}.log"
        part.write_text("".join(f"{line}\n" for line in lines[k * size:(k + 1) * size]))
        squid.append(f"filter:squid:{part}")
    school = str(sim / "school")
    reference = tmp_path / "embedded.duckdb"
    assert main(["ingest", "--school", school,
                 *[a for i in (*first, *squid) for a in ("--input", i)],
                 "--embedded", "--db", str(reference)]) == 0
    expected = stored_alerts(reference)
    assert len(expected) >= 15
    events, dead = stored_rows(reference)
    return Case(school=school, first=first, squid=squid, records=records_in(reference),
                events=events, dead=dead, expected=expected)


def stored_rows(db: Path) -> tuple[int, int]:
    """Events and dead letters in the file itself, each counted once per id (call it
    when no process holds the file); asserts no id is stored twice."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
        dead = con.execute("SELECT count(*), count(DISTINCT dead_letter_id) "
                           "FROM dead_letters").fetchone()
    assert row is not None and dead is not None
    assert row[0] == row[1] and dead[0] == dead[1], (row, dead)
    return int(row[0]), int(dead[0])


def accounting(db: Path) -> tuple[int, int, int]:
    """Records in, events parsed, dead-lettered, over every ingest batch stored."""
    acct = ingest_accounting(WarehouseReader(db).connect())
    if acct.empty:
        return 0, 0, 0
    return (int(acct["records_in"].sum()), int(acct["events_parsed"].sum()),
            int(acct["dead_lettered"].sum()))


def stable_members(bootstrap: str, group: str) -> int:
    """Members of a consumer group once it is Stable (0 while it rebalances)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-admin")
    try:
        info = admin.describe_groups([group]).get(group) or {}
    except KafkaError:  # no coordinator yet: the group does not exist so far
        return 0
    finally:
        admin.close()
    return len(info.get("members", [])) if info.get("group_state") == "Stable" else 0


def differences(got: dict[str, tuple[Any, ...]],
                expected: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    """A readable diff for a failing assertion."""
    return {"missing": sorted(set(expected) - set(got)),
            "unexpected": sorted(set(got) - set(expected)),
            "changed": {k: {"got": got[k], "expected": expected[k]}
                        for k in set(got) & set(expected) if got[k] != expected[k]}}
