"""A synthetic school: reference data, days of realistic traffic in real log formats, and
labelled breaches (`ground_truth.jsonl`) for scoring detection.

Everyone here is invented. Background traffic follows the school day (lessons, breaks, staff
room, boarding-house evenings, quiet weekends) and stays below every sensible threshold;
injected scenarios (`scenarios*.py`) show each monitorable clause of the profile and the
five cross-source patterns. Same seed, same bytes: one `random.Random(seed)` drives
everything, there is no wall clock, and every file is sorted before it is written once.

Formats: one per source, chosen from the seed or forced with `formats=`. Sources are
`filter` (squid | e2guardian | squidguard | fortigate | csv), `auth` (the Windows domain:
winlogbeat | samba), `cloud` (google | entra), `device` (snipeit-api | snipeit-csv) and
`incident` (csv). The seed picks by mixed radix: filter = FILTERS[seed % 5], auth =
AUTH[seed // 5 % 2], cloud = CLOUD[seed // 10 % 2], device = DEVICE[seed // 20 % 2], so 40
consecutive seeds cover every combination. Twerton always gets Entra unless forced, since
only Entra's sign-in log shows the mobile device of a mail client (tis.email-personal-device).
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

from producers.simulator import behaviour, scenarios
from producers.simulator.calendar import school_yaml
from producers.simulator.model import Sim
from producers.simulator.people import build_devices, build_people, write_school_folder
from producers.simulator.writers import auth as auth_w
from producers.simulator.writers import devices as dev_w
from producers.simulator.writers import filters as filter_w
from producers.simulator.writers.incidents import incidents_csv

PROFILES = {"beaudesert-park": "bps", "twerton-infant": "tis"}
FILTERS = ("squid", "e2guardian", "squidguard", "fortigate", "csv")
AUTH = ("winlogbeat", "samba")
CLOUD = ("google", "entra")
DEVICE = ("snipeit-api", "snipeit-csv")
MIN_PUPILS, MIN_STAFF = 40, 32

__all__ = ["FILTERS", "PROFILES", "choose_formats", "simulate"]


def choose_formats(profile: str, seed: int, forced: dict[str, str] | None = None
                   ) -> dict[str, str]:
    """Source -> format for this run (see the module docstring)."""
    chosen = {"filter": FILTERS[seed % 5], "auth": AUTH[seed // 5 % 2],
              "cloud": CLOUD[seed // 10 % 2], "device": DEVICE[seed // 20 % 2],
              "incident": "csv"}
    if profile == "twerton-infant":
        chosen["cloud"] = "entra"
    for key, value in (forced or {}).items():
        if key == "auth" and value in CLOUD:
            key = "cloud"
        allowed = {"filter": FILTERS, "auth": AUTH, "cloud": CLOUD, "device": DEVICE,
                   "incident": ("csv",)}.get(key)
        if allowed is None or value not in allowed:
            raise ValueError(f"unknown format {key}={value!r}; choose from filter {FILTERS}, "
                             f"auth {AUTH}, cloud {CLOUD}, device {DEVICE}, incident ('csv',)")
        chosen[key] = value
    return chosen


def _capabilities(formats: dict[str, str]) -> set[str]:
    can = {"mobile device"} if formats["cloud"] == "entra" else set()
    if formats["auth"] == "winlogbeat":
        can.add("logoff events")
    return can


def _write(out_dir: Path, rel: str, text: str) -> Path:
    path = out_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _write_logs(sim: Sim, out_dir: Path) -> tuple[list[str], int]:
    f = sim.formats
    inputs: list[str] = []
    lines = 0
    web = sorted(sim.web)
    if f["filter"] == "squidguard":  # squidGuard logs only blocks: allowed traffic is squid's
        p = _write(out_dir, "logs/squidguard/block.log", filter_w.squidguard(web))
        inputs.append(f"filter:squidguard:{p}")
        allowed = [w for w in web if not w.blocked]
        p = _write(out_dir, "logs/squid/access.log", filter_w.squid(allowed))
        inputs.append(f"filter:squid:{p}")
        lines += len(web)
    else:
        rel, fn = {"squid": ("logs/squid/access.log", filter_w.squid),
                   "e2guardian": ("logs/e2guardian/access.log", filter_w.e2guardian),
                   "fortigate": ("logs/fortigate/webfilter.log", filter_w.fortigate),
                   "csv": ("logs/filter/export.csv", filter_w.filter_csv)}[f["filter"]]
        p = _write(out_dir, rel, fn(web))
        inputs.append(f"filter:{f['filter']}:{p}")
        lines += len(web)
    onprem = sorted(a for a in sim.auth if a.realm == "onprem")
    cloud = sorted(a for a in sim.auth if a.realm == "cloud")
    if f["auth"] == "winlogbeat":
        p = _write(out_dir, "logs/winlogbeat/security.ndjson",
                   auth_w.winlogbeat(onprem, sim.domain))
    else:
        p = _write(out_dir, "logs/samba/log.samba", auth_w.samba(onprem, sim.domain))
    inputs.append(f"auth:{f['auth']}:{p}")
    if f["cloud"] == "google":
        p = _write(out_dir, "logs/google/login-activities.ndjson", auth_w.google(cloud))
    else:
        p = _write(out_dir, "logs/entra/PT1H.json", auth_w.entra(cloud))
    inputs.append(f"auth:{f['cloud']}:{p}")
    lines += len(onprem) + len(cloud)
    checkouts = sorted(sim.checkouts)
    devices = {d.asset_tag: d for d in sim.devices}
    people = {p.person_id: p for p in sim.people}
    if f["device"] == "snipeit-api":
        p = _write(out_dir, "logs/snipeit/activity.ndjson",
                   dev_w.snipeit_api(checkouts, devices, people))
    else:
        p = _write(out_dir, "logs/snipeit/activity-report.csv",
                   dev_w.snipeit_csv(checkouts, devices, people))
    inputs.append(f"device:{f['device']}:{p}")
    p = _write(out_dir, "logs/incidents/incidents.csv", incidents_csv(sim.incidents))
    inputs.append(f"incident:csv:{p}")
    lines += len(checkouts) + len(sim.incidents)
    return inputs, lines


def simulate(out_dir: Path, *, profile: str, days: int, seed: int,
             start: date = date(2026, 11, 16), pupils: int = 120, staff: int = 20,
             formats: dict[str, str] | None = None) -> dict[str, int]:
    """Write `out_dir/school/`, `out_dir/logs/`, `inputs.txt`, `ground_truth.jsonl` and
    `README.txt`; return counts (people, lines, scenarios). At least 40 pupils and 32 staff
    are simulated, so every scenario has a subject of its own."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    if days < 1 or pupils < 1 or staff < 1:
        raise ValueError("days, pupils and staff must be at least 1")
    out_dir = Path(out_dir)
    sim = Sim(profile=profile, prefix=PROFILES[profile],
              days=[start + timedelta(days=d) for d in range(days)], seed=seed,
              rng=random.Random(seed))  # noqa: S311 - simulation, not security
    sim.formats = choose_formats(profile, seed, formats)
    build_people(sim, max(pupils, MIN_PUPILS), max(staff, MIN_STAFF), start)
    build_devices(sim)
    scenarios.run_all(sim, _capabilities(sim.formats))
    behaviour.background(sim)
    school_id = f"demo-{sim.prefix}"
    trip_year = "Year 4" if sim.prefix == "bps" else "Year 2"
    write_school_folder(sim, out_dir / "school", school_yaml(profile, school_id, sim.days,
                                                            trip_year))
    inputs, lines = _write_logs(sim, out_dir)
    _write(out_dir, "inputs.txt", "".join(i + "\n" for i in inputs))
    truth = sorted(sim.truth, key=lambda t: (t["start"], t["scenario"], t["subject"]))
    _write(out_dir, "ground_truth.jsonl",
           "".join(json.dumps(t, sort_keys=True) + "\n" for t in truth))
    readme = [f"Synthetic school {school_id} ({profile}), {days} days from {start}, seed {seed}.",
              "Formats: " + ", ".join(f"{k}={v}" for k, v in sorted(sim.formats.items())),
              f"{len(truth)} labelled scenarios in ground_truth.jsonl; inputs in inputs.txt.",
              *sim.notes]
    if not sim.notes:
        readme.append("No clause skipped: every monitorable clause has a scenario.")
    _write(out_dir, "README.txt", "\n".join(readme) + "\n")
    return {"people": len(sim.people), "lines": lines, "scenarios": len(truth)}
