"""Invented people, devices and networks of the simulated school, and its school folder."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from producers.simulator.model import Device, Person, Sim
from producers.simulator.sites import INVENTED

FIRST = ("Alex", "Sam", "Jo", "Charlie", "Robin", "Max", "Riley", "Jamie", "Kit", "Ash",
         "Rowan", "Sky", "Noor", "Ira", "Tam", "Lou", "Eden", "Remy", "Arlo", "Bea",
         "Cass", "Dara", "Elin", "Fen", "Gale", "Hollis", "Isla", "Jude", "Kai", "Lark",
         "Milo", "Nell", "Orla", "Perry", "Quin", "Rey", "Sol", "Tove", "Uma", "Wynn")
LAST = ("Brook", "Hale", "Marsh", "Thorn", "Vale", "Wren", "Frost", "Lark", "Moss", "Reed",
        "Stone", "Birch", "Finch", "Glen", "Holt", "Pike", "Rook", "Shaw", "Tarn", "Yew",
        "Ashby", "Brackley", "Cotter", "Dunmore", "Elsworth", "Fairley", "Garside", "Hamble",
        "Inchley", "Jessop", "Kemble", "Langtry", "Merrow", "Nettle", "Oakridge", "Penhale",
        "Quarrie", "Redvers", "Sallow", "Tenby")
YEARS = {"beaudesert-park": ("Year 3", "Year 4", "Year 5", "Year 6", "Year 7", "Year 8"),
         "twerton-infant": ("Nursery", "Reception", "Year 1", "Year 2")}
BOARDING_YEARS = {"beaudesert-park": ("Year 6", "Year 7", "Year 8"), "twerton-infant": ()}
JOBS = ("Headteacher", "Designated Safeguarding Lead", "IT manager", "Bursar",
        "Houseparent", "Office manager")
ICT_DESKTOPS = 30
TROLLEY = 32
ROOMS = 12


def _names(sim: Sim, n: int) -> list[tuple[str, str]]:
    pairs = [(f, la) for f in FIRST for la in LAST]
    sim.rng.shuffle(pairs)
    out = pairs[:n]
    k = 0
    while len(out) < n:  # more people than pairs: a middle initial keeps names unique
        f, la = pairs[k % len(pairs)]
        out.append((f"{f} {chr(65 + (k // len(pairs)) % 26)}.", la))
        k += 1
    return out


def build_people(sim: Sim, pupils: int, staff: int, start: date) -> None:
    years = YEARS[sim.profile]
    names = _names(sim, pupils + staff + 6)
    dom = sim.domain
    for i in range(pupils):
        first, last = names[i]
        year = years[i % len(years)]
        boarder = year in BOARDING_YEARS[sim.profile] and sim.rng.random() < 0.3
        user = f"{first[0].lower()}{last.lower()}{i:03d}"
        sim.people.append(Person(f"P{i:04d}", first, last, "pupil", year_group=year,
                                 boarder=boarder, username=user, email=f"{user}@pupils.{dom}",
                                 index=i))
    for j in range(staff):
        first, last = names[pupils + j]
        user = f"{first[0].lower()}.{last.lower()}{j:02d}"
        job = JOBS[j] if j < len(JOBS) else ("Teacher" if j % 3 else "Teaching assistant")
        if job == "Houseparent" and sim.profile != "beaudesert-park":
            job = "Teacher"
        sim.people.append(Person(f"S{j:03d}", first, last, "staff", job=job, username=user,
                                 email=f"{user}@{dom}", index=j))
    for k, role in enumerate(("governor", "governor", "governor", "visitor", "visitor")):
        first, last = names[pupils + staff + k]
        user = f"{role[:3]}.{last.lower()}{k}"
        sim.people.append(Person(f"{role[0].upper()}{k:02d}", first, last, role,
                                 job="Governor" if role == "governor" else "Supply teacher",
                                 username=user, email=f"{user}@{dom}", index=k))
    # a background leaver: a pupil who left just before the period (no activity after)
    sim.by_role("pupil")[-1].leave_date = start - timedelta(days=5)


def build_devices(sim: Sim) -> None:
    up = sim.prefix.upper()
    rng = sim.rng

    def add(tag: str, cat: str, model: str, dev_id: str, owner: str = "", ip: str = "",
            ownership: str = "school") -> None:
        sim.devices.append(Device(tag, f"SN{rng.randrange(10**9):09d}", cat, model, ownership,
                                  dev_id, owner, ip))

    n = 0
    for s in sim.by_role("staff"):
        n += 1
        add(f"{up}-{n:04d}", "laptop", "Synthetic Book 14", f"{up}-LT-{s.index:03d}",
            s.person_id, f"10.30.0.{10 + s.index % 200}")
    for i in range(1, ICT_DESKTOPS + 1):
        n += 1
        add(f"{up}-{n:04d}", "desktop", "Synthetic Tower G5", f"{up}-ICT-{i:02d}",
            ip=f"10.10.0.{10 + i}")
    for i in range(1, TROLLEY + 1):
        n += 1
        add(f"{up}-{n:04d}", "laptop", "Synthetic Book 11 (trolley)", f"{up}-TRL-{i:02d}",
            ip=f"10.11.{1 + i % ROOMS}.{50 + i}")
    for i in range(1, 13):
        n += 1
        add(f"{up}-{n:04d}", "tablet", "Synthetic Pad 10", f"{up}-IPAD-{i:02d}",
            ip=f"10.11.{1 + i % ROOMS}.{120 + i}")
    for i in range(1, 5):
        n += 1
        add(f"{up}-{n:04d}", "camera", "Synthetic Cam 20", f"{up}-CAM-{i:02d}")
    for i in range(1, 3):
        n += 1
        add(f"{up}-{n:04d}", "laptop", "Synthetic Book 14 (loan)", f"{up}-LOAN-{i:02d}")
    if sim.profile == "beaudesert-park":
        for i in range(1, 5):
            n += 1
            add(f"{up}-{n:04d}", "desktop", "Synthetic Tower G5", f"{up}-BH-{i:02d}",
                ip=f"10.20.0.{200 + i}")
    # personal devices registered with IT: boarders' phones/tablets, a few staff laptops
    k = 0
    for p in sim.by_role("pupil"):
        if p.boarder and rng.random() < 0.6:
            k += 1
            dev = f"{p.first.split()[0]}s-iPhone-{p.index:03d}" if k % 3 else \
                f"02:{k % 256:02x}:{p.index % 256:02x}:5e:{rng.randrange(256):02x}:0{k % 10}"
            add(f"PR-{k:04d}", "phone", "Personal phone", dev, p.person_id,
                f"10.20.0.{20 + k % 170}", "personal-registered")
    for s in sim.by_role("staff")[6:9]:
        k += 1
        add(f"PR-{k:04d}", "laptop", "Personal laptop", f"DESKTOP-{s.last.upper()[:5]}{k}",
            s.person_id, f"10.30.0.{150 + k % 90}", "personal-registered")


def personal_device(sim: Sim, p: Person) -> Device | None:
    for d in sim.devices:
        if d.assigned_to == p.person_id and d.ownership == "personal-registered":
            return d
    return None


def laptop_of(sim: Sim, p: Person) -> Device:
    return sim.device(f"{sim.prefix.upper()}-LT-{p.index:03d}")


NETWORKS = (
    ("10.10.0.0/24", "ICT suite", "ict-suite"),
    ("10.11.0.0/16", "Classrooms", "classroom"),
    ("10.20.0.0/24", "Boarding house", "boarding"),
    ("10.30.0.0/24", "Staff room", "staff"),
    ("10.40.0.0/22", "Guest Wi-Fi", "guest"),
    ("203.0.113.20/32", "Guest Wi-Fi (public address)", "guest"),
    ("10.99.0.0/24", "Staff VPN (off site)", "offsite"),
    ("198.51.100.0/24", "Off site (home broadband)", "offsite"),
)


def _csv_line(values: list[str]) -> str:
    out = []
    for v in values:
        out.append(f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in ',"\n') else v)
    return ",".join(out) + "\n"


def write_school_folder(sim: Sim, root: Path, school_yaml: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "school.yaml").write_text(school_yaml, encoding="utf-8")
    rows = ["person_id,display_name,role,year_group,boarder,start_date,leave_date,accounts,"
            "job_title\n"]
    for p in sim.people:
        rows.append(_csv_line([
            p.person_id, p.name, p.role, p.year_group, "true" if p.boarder else "false",
            p.start_date.isoformat() if p.start_date else "",
            p.leave_date.isoformat() if p.leave_date else "", f"{p.username};{p.email}", p.job]))
    (root / "people.csv").write_text("".join(rows), encoding="utf-8")
    rows = ["asset_tag,serial,category,model,ownership,device_id,assigned_to\n"]
    for d in sim.devices:
        rows.append(_csv_line([d.asset_tag, d.serial, d.category, d.model, d.ownership,
                               d.device_id, d.assigned_to]))
    (root / "assets.csv").write_text("".join(rows), encoding="utf-8")
    nets = [n for n in NETWORKS if sim.profile == "beaudesert-park" or n[2] != "boarding"]
    (root / "networks.csv").write_text(
        "cidr,location,kind\n" + "".join(f"{c},{loc},{k}\n" for c, loc, k in nets),
        encoding="utf-8")
    for cat, domains in sorted(INVENTED.items()):
        folder = root / "categories" / cat
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "domains").write_text(
            "# invented or local additions for the simulated school\n"
            + "".join(d + "\n" for d in domains), encoding="utf-8")
    kw = root / "keywords"
    kw.mkdir(exist_ok=True)
    (kw / "bullying.txt").write_text("# school additions\nthey all ignore me at school\n",
                                     encoding="utf-8")
