"""A synthetic school: reference data, a week of realistic traffic, and labelled breaches.

Everyone here is invented. Background traffic follows the school day (lessons, breaks,
boarding-house evenings, quiet weekends); injected scenarios are written to
`ground_truth.jsonl` so detection can be scored. Same seed, same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

FIRST = ("Alex", "Sam", "Jo", "Charlie", "Robin", "Max", "Riley", "Jamie", "Kit", "Ash",
         "Rowan", "Sky", "Noor", "Ira", "Tam", "Lou", "Eden", "Remy", "Arlo", "Bea")
LAST = ("Brook", "Hale", "Marsh", "Thorn", "Vale", "Wren", "Frost", "Lark", "Moss", "Reed",
        "Stone", "Birch", "Finch", "Glen", "Holt", "Pike", "Rook", "Shaw", "Tarn", "Yew")
SCHOOL_SITES = ("www.bbc.co.uk/bitesize", "en.wikipedia.org/wiki/Photosynthesis",
                "www.oxfordowl.co.uk/reading", "www.mathsisfun.com/fractions.html",
                "scratch.mit.edu/projects", "www.nationalgeographic.com/animals",
                "www.timestables.co.uk/", "classroom.google.com/u/0/h",
                "www.purplemash.com/", "www.britannica.com/science")
LEISURE_SITES = ("www.youtube.com/watch", "www.minecraft.net/en-us", "www.roblox.com/games",
                 "www.nasa.gov/kids", "www.lego.com/en-gb/kids", "news.sky.com/uk")
STAFF_SITES = ("www.gov.uk/government/organisations/department-for-education",
               "www.tes.com/teaching-resources", "outlook.office.com/mail",
               "www.bbc.co.uk/news", "www.theguardian.com/education")
PROXY_SITES = ("proxysite.com", "www.croxyproxy.com", "hidemyass.com", "www.kproxy.com")
VPN_SITES = ("nordvpn.com", "www.protonvpn.com", "windscribe.com", "psiphon.ca")

PROFILES = {
    "beaudesert-park": {"years": ("Year 3", "Year 4", "Year 5", "Year 6", "Year 7", "Year 8"),
                        "boarding_years": ("Year 6", "Year 7", "Year 8"),
                        "day": ("08:30", "16:30"), "name": "Demo Prep School (synthetic)"},
    "twerton-infant": {"years": ("Nursery", "Reception", "Year 1", "Year 2"),
                       "boarding_years": (), "day": ("08:45", "15:15"),
                       "name": "Demo Infant School (synthetic)"},
}


@dataclass
class Sim:
    profile: str
    days: int
    seed: int
    start: date
    pupils: int
    staff: int
    rng: random.Random = field(init=False)
    lines: list[tuple[float, str]] = field(default_factory=list)
    truth: list[dict[str, object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 - simulation, not security
        self.tz = ZoneInfo("Europe/London")


def _people(sim: Sim) -> list[dict[str, str]]:
    cfg = PROFILES[sim.profile]
    rows = []
    prefix = "bps" if sim.profile == "beaudesert-park" else "tis"
    for i in range(sim.pupils):
        first, last = sim.rng.choice(FIRST), sim.rng.choice(LAST)
        year = cfg["years"][i % len(cfg["years"])]
        boarder = year in cfg["boarding_years"] and sim.rng.random() < 0.3
        user = f"{first[0].lower()}{last.lower()}{i:03d}"
        rows.append({"person_id": f"P{i:04d}", "display_name": f"{first} {last}", "role": "pupil",
                     "year_group": year, "boarder": str(boarder).lower(), "start_date": "",
                     "leave_date": "", "accounts": f"{user};{user}@pupils.{prefix}.example"})
    for j in range(sim.staff):
        first, last = sim.rng.choice(FIRST), sim.rng.choice(LAST)
        user = f"{first.lower()}.{last.lower()}{j:02d}"
        rows.append({"person_id": f"S{j:03d}", "display_name": f"{first} {last}", "role": "staff",
                     "year_group": "", "boarder": "false", "start_date": "", "leave_date": "",
                     "accounts": f"{user};{user}@{prefix}.example"})
    return rows


def _csv(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _squid_line(sim: Sim, ts: datetime, ip: str, user: str, url: str, blocked: bool) -> None:
    https = sim.rng.random() < 0.7
    host = url.split("/", 1)[0]
    method, logged = ("CONNECT", f"{host}:443") if https else ("GET", f"http://{url}")
    code = "TCP_DENIED/403" if blocked else ("TCP_TUNNEL/200" if https else "TCP_MISS/200")
    size = sim.rng.randint(300, 90_000)
    hier = "HIER_NONE/-" if blocked else f"HIER_DIRECT/198.51.100.{sim.rng.randint(1, 254)}"
    mime = "text/html" if not https else "-"
    epoch = ts.timestamp()
    sim.lines.append((epoch, f"{epoch:.3f} {sim.rng.randint(1, 900):6d} {ip} {code} {size} "
                             f"{method} {logged} {user} {hier} {mime}"))


def _at(sim: Sim, day: date, hh: float) -> datetime:
    local = datetime.combine(day, time(0), tzinfo=sim.tz) + timedelta(hours=hh)
    return local.astimezone(UTC)


def _background(sim: Sim, people: list[dict[str, str]]) -> None:
    for d in range(sim.days):
        day = sim.start + timedelta(days=d)
        weekend = day.weekday() >= 5
        for idx, p in enumerate(people):
            user = p["accounts"].split(";")[0]
            pupil = p["role"] == "pupil"
            if pupil and weekend and p["boarder"] != "true":
                continue
            if pupil:
                ip = (f"10.20.0.{idx % 250 + 2}" if weekend else f"10.10.{idx % 4}.{idx % 250 + 2}")
                sessions = [(sim.rng.uniform(9, 15.5), 6)] if not weekend else []
                if p["boarder"] == "true":
                    sessions.append((sim.rng.uniform(18.5, 20.5), 4))
                    ip_eve = f"10.20.0.{idx % 250 + 2}"
                sites: tuple[str, ...] = SCHOOL_SITES if not weekend else LEISURE_SITES
            else:
                if weekend:
                    continue
                ip = f"10.30.0.{idx % 250 + 2}"
                sessions = [(sim.rng.uniform(8, 16), 10)]
                sites = STAFF_SITES
            for hour, n in sessions:
                where = ip_eve if (pupil and hour > 17) else ip
                for _ in range(sim.rng.randint(n // 2, n)):
                    ts = _at(sim, day, hour + sim.rng.uniform(0, 0.75))
                    _squid_line(sim, ts, where, user, sim.rng.choice(sites), blocked=False)


def _inject_circumvention(sim: Sim, people: list[dict[str, str]]) -> None:
    """Proxy/VPN use: bps.proxy (pupils) at Beaudesert, tis.filter-bypass (staff) at Twerton."""
    bps = sim.profile == "beaudesert-park"
    role = "pupil" if bps else "staff"
    clause = "bps.proxy" if bps else "tis.filter-bypass"
    candidates = [p for p in people if p["role"] == role]
    school_days = [sim.start + timedelta(days=d) for d in range(sim.days)
                   if (sim.start + timedelta(days=d)).weekday() < 5]
    for p in sim.rng.sample(candidates, k=min(len(candidates), max(2, len(candidates) // 25))):
        idx = people.index(p)
        day = sim.rng.choice(school_days)
        hour = sim.rng.uniform(10, 14.5)
        user = p["accounts"].split(";")[0]
        ip = f"10.10.{idx % 4}.{idx % 250 + 2}" if bps else f"10.30.0.{idx % 250 + 2}"
        hits = [(hour + k * 0.02, sim.rng.choice(PROXY_SITES + VPN_SITES))
                for k in range(sim.rng.randint(1, 4))]
        for h, site in hits:
            _squid_line(sim, _at(sim, day, h), ip, user, site, blocked=sim.rng.random() < 0.6)
        sim.truth.append({"scenario": "proxy-circumvention", "clause_ids": [clause],
                          "subject": p["person_id"],
                          "start": _at(sim, day, hour).isoformat(),
                          "end": _at(sim, day, hits[-1][0]).isoformat()})


def _school_yaml(sim: Sim, school_id: str) -> str:
    cfg = PROFILES[sim.profile]
    y = sim.start.year if sim.start.month >= 9 else sim.start.year - 1
    return (f"id: {school_id}\nname: \"{cfg['name']}\"\nprofile: {sim.profile}\n"
            f"timezone: Europe/London\nschool_day:\n  start: \"{cfg['day'][0]}\"\n"
            f"  end: \"{cfg['day'][1]}\"\nterms:\n"
            f"  - name: Autumn {y}\n    start: {y}-09-03\n    end: {y}-12-16\n"
            f"    half_term: [{y}-10-26, {y}-10-30]\n"
            f"  - name: Spring {y + 1}\n    start: {y + 1}-01-06\n    end: {y + 1}-03-27\n"
            f"    half_term: [{y + 1}-02-15, {y + 1}-02-19]\n"
            f"  - name: Summer {y + 1}\n    start: {y + 1}-04-14\n    end: {y + 1}-07-10\n"
            f"    half_term: [{y + 1}-05-25, {y + 1}-05-29]\n")


def simulate(out_dir: Path, *, profile: str, days: int, seed: int,
             start: date = date(2026, 11, 16), pupils: int = 120,
             staff: int = 20) -> dict[str, int]:
    """Write `out_dir/school/`, `out_dir/logs/`, `inputs.txt` and `ground_truth.jsonl`."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    if days < 1 or pupils < 1 or staff < 1:
        raise ValueError("days, pupils and staff must be at least 1")
    sim = Sim(profile=profile, days=days, seed=seed, start=start, pupils=pupils, staff=staff)
    school_id = f"demo-{'bps' if profile == 'beaudesert-park' else 'tis'}"
    people = _people(sim)
    school = out_dir / "school"
    school.mkdir(parents=True, exist_ok=True)
    (school / "school.yaml").write_text(_school_yaml(sim, school_id), encoding="utf-8")
    (school / "people.csv").write_text(_csv(people, (
        "person_id", "display_name", "role", "year_group", "boarder", "start_date",
        "leave_date", "accounts")), encoding="utf-8")
    assets = [{"asset_tag": f"A{j:04d}", "serial": f"SN{sim.rng.randrange(10**8):08d}",
               "category": "laptop", "model": "Synthetic Book 14", "ownership": "school",
               "device_id": f"LT-{j:04d}", "assigned_to": f"S{j:03d}"} for j in range(staff)]
    (school / "assets.csv").write_text(_csv(assets, (
        "asset_tag", "serial", "category", "model", "ownership", "device_id", "assigned_to")),
        encoding="utf-8")
    (school / "networks.csv").write_text(
        "cidr,location,kind\n10.10.0.0/24,ICT suite,ict-suite\n10.10.0.0/16,Classrooms,classroom\n"
        "10.20.0.0/24,Boarding house,boarding\n10.30.0.0/24,Staff room,staff\n"
        "10.40.0.0/24,Guest Wi-Fi,guest\n", encoding="utf-8")
    _background(sim, people)
    _inject_circumvention(sim, people)
    sim.lines.sort()
    logs = out_dir / "logs" / "squid"
    logs.mkdir(parents=True, exist_ok=True)
    access = logs / "access.log"
    access.write_text("".join(line + "\n" for _, line in sim.lines), encoding="utf-8")
    (out_dir / "inputs.txt").write_text(f"filter:squid:{access}\n", encoding="utf-8")
    sim.truth.sort(key=lambda t: (str(t["start"]), str(t["subject"])))
    (out_dir / "ground_truth.jsonl").write_text(
        "".join(json.dumps(t, sort_keys=True) + "\n" for t in sim.truth), encoding="utf-8")
    return {"lines": len(sim.lines), "people": len(people), "scenarios": len(sim.truth)}
