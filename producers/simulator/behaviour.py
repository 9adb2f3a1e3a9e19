"""Background behaviour of a school day: lessons, breaks, staff room, boarding evenings.

Everything here stays below any sensible alert threshold: every session is logged in and
out on one device, a rare typo costs one failed login, pupils only browse learning sites,
staff browse work sites with a little leisure, devices come back on time.
"""

from __future__ import annotations

from datetime import date, timedelta

from producers.simulator import sites
from producers.simulator.calendar import trip_day
from producers.simulator.model import Auth, Checkout, Person, Sim, Web, at
from producers.simulator.people import ICT_DESKTOPS, ROOMS, TROLLEY, laptop_of, personal_device

PERIODS = {"beaudesert-park": (8.75, 9.75, 10.95, 11.95, 13.85, 14.85),
           "twerton-infant": (9.1, 10.6, 13.3, 14.3)}
LESSON = 0.75  # hours
NAT = "203.0.113.10"  # the school's public address, as cloud services see it
_SUB = (("/static/app.js", "application/javascript", 30_000),
        ("/static/site.css", "text/css", 12_000),
        ("/images/hero.jpg", "image/jpeg", 80_000), ("/favicon.ico", "image/x-icon", 1_500))


def browse(sim: Sim, t0: float, t1: float, ip: str, user: str, device: str,
           urls: tuple[str, ...], group: str, pages: int, subs: bool = True,
           searches: tuple[str, ...] = ()) -> None:
    """`pages` page views spread over [t0, t1], each with a few sub-requests to its host."""
    rng = sim.rng
    add = sim.web.append
    span = max(t1 - t0, 1.0)
    for _ in range(pages):
        t = t0 + rng.random() * span
        if searches and rng.random() < 0.15:
            url = sites.search_url("google", rng.choice(searches))
        else:
            url = rng.choice(urls)
        cat = sites.category(url)
        add(Web(t, ip, user, device, url, "GET", False, cat, rng.randint(2_000, 60_000),
                "text/html", group))
        if subs:
            base = url.split("/", 3)
            root = f"{base[0]}//{base[2]}"
            for k in range(rng.randint(3, 8)):
                path, mime, size = _SUB[k % 4]
                add(Web(t + 0.05 + k * 0.031, ip, user, device, root + path, "GET", False, cat,
                        size + rng.randint(0, 999), mime, group))


def session(sim: Sim, p: Person, device: str, ip: str, t0: float, t1: float,
            typo: float = 0.02) -> None:
    """A Windows-domain session on one device: (rarely a typo), logon, logoff."""
    if sim.rng.random() < typo:
        sim.auth.append(Auth(t0 - sim.rng.uniform(8, 40), "onprem", "fail", p.username, ip,
                             device, "", "bad-password", ""))
    sim.auth.append(Auth(t0, "onprem", "ok", p.username, ip, device, "", "", ""))
    sim.auth.append(Auth(t1, "onprem", "logoff", p.username, ip, device, "", "", ""))


def cloud(sim: Sim, p: Person, t: float, app: str, device: str, ip: str = NAT) -> None:
    if sim.rng.random() < 0.01:
        sim.auth.append(Auth(t - sim.rng.uniform(10, 30), "cloud", "fail", p.email, ip, device,
                             app, "bad-password", ""))
    sim.auth.append(Auth(t, "cloud", "ok", p.email, ip, device, app, "", ""))


def _classes(sim: Sim) -> list[list[Person]]:
    years: dict[str, list[Person]] = {}
    for p in sim.by_role("pupil"):
        if p.leave_date is None and (sim.profile == "beaudesert-park"
                                     or p.year_group in ("Year 1", "Year 2")):
            years.setdefault(p.year_group, []).append(p)
    out = []
    for year in sorted(years):
        members = years[year]
        n = max(1, round(len(members) / 20))
        out += [members[i::n] for i in range(n)]
    return out


def _teachers(sim: Sim) -> list[Person]:
    return [s for s in sim.by_role("staff") if s.job in ("Teacher", "Teaching assistant")
            and s.leave_date is None]


def school_day(sim: Sim, day: date, class_cursor: int) -> int:
    rng = sim.rng
    classes = _classes(sim)
    trip = trip_day(sim.days)
    trip_year = "Year 4" if sim.profile == "beaudesert-park" else "Year 2"
    periods = PERIODS[sim.profile]
    teachers = _teachers(sim)
    up = sim.prefix.upper()
    staff_busy: dict[str, list[tuple[float, float, str, str]]] = {}
    for k, start_h in enumerate(periods):
        free_teachers = list(teachers)
        rng.shuffle(free_teachers)
        for where in ("ict", "trolley"):
            if not classes or not free_teachers:
                break
            group = classes[class_cursor % len(classes)]
            class_cursor += 1
            if trip == day and group[0].year_group == trip_year:
                continue
            t0, t1 = at(day, start_h), at(day, start_h + LESSON)
            teacher = free_teachers.pop()
            room = 1 + (k * 2 + (where == "trolley")) % ROOMS
            tip = f"10.10.0.{150 + teacher.index % 100}" if where == "ict" else \
                f"10.11.{room}.{5 + teacher.index % 40}"
            staff_busy.setdefault(teacher.person_id, []).append((t0 - 180, t1 + 300, tip, where))
            n_dev = ICT_DESKTOPS if where == "ict" else TROLLEY
            for i, pupil in enumerate(group[:n_dev]):
                dev = f"{up}-ICT-{i + 1:02d}" if where == "ict" else f"{up}-TRL-{i + 1:02d}"
                ip = f"10.10.0.{11 + i}" if where == "ict" else f"10.11.{room}.{51 + i}"
                a = t0 + rng.uniform(60, 300)
                b = t1 - rng.uniform(30, 200)
                session(sim, pupil, dev, ip, a, b)
                if sim.profile == "beaudesert-park" and rng.random() < 0.5:
                    cloud(sim, pupil, a + rng.uniform(20, 90), "portal", dev)
                urls = sites.EDUCATION if sim.prefix == "bps" else sites.INFANT
                browse(sim, a + 30, b - 30, ip, pupil.username, dev, urls, "pupils",
                       rng.randint(15, 35), searches=sites.EDUCATION_SEARCHES)
    _staff_day(sim, day, staff_busy)
    return class_cursor


def _staff_day(sim: Sim, day: date, busy: dict[str, list[tuple[float, float, str, str]]]) -> None:
    rng = sim.rng
    for s in sim.by_role("staff"):
        if s.leave_date is not None and s.leave_date < day:
            continue
        lt = laptop_of(sim, s)
        slots = list(busy.get(s.person_id, []))
        arrive = at(day, rng.uniform(7.7, 8.4))
        slots.append((arrive, arrive + rng.uniform(900, 1500), lt.ip, "staffroom"))
        lunch = at(day, rng.uniform(12.4, 12.9))
        slots.append((lunch, lunch + rng.uniform(1200, 2400), lt.ip, "staffroom"))
        slots.sort()
        last_end = 0.0
        for t0, t1, ip, where in slots:
            if t0 < last_end + 60:
                continue
            session(sim, s, lt.device_id, ip, t0, t1, typo=0.03)
            last_end = t1
            browse(sim, t0 + 20, t1 - 20, ip, s.username, lt.device_id, sites.STAFF, "staff",
                   rng.randint(2, 6))
            if where != "staffroom" and rng.random() < 0.5:
                browse(sim, t0 + 10, t0 + 200, ip, s.username, lt.device_id, sites.MIS_URLS,
                       "staff", 2, subs=False)
            if where == "staffroom" and t0 > lunch - 1 and sim.rng.random() < 0.6:
                browse(sim, t0 + 60, t1 - 60, ip, s.username, lt.device_id, sites.LEISURE,
                       "staff", rng.randint(1, 3), subs=False)
        cloud(sim, s, arrive + rng.uniform(30, 120), "mail", lt.device_id)
        if s.job not in ("Bursar",) and slots:
            cloud(sim, s, at(day, rng.uniform(8.7, 9.0)), "sims", lt.device_id)
        if sim.formats.get("cloud") == "entra":
            browse(sim, arrive + 60, arrive + 600, lt.ip, s.username, lt.device_id,
                   sites.SCHOOL_MAIL, "staff", 2, subs=False)


def boarding(sim: Sim, day: date) -> None:
    """Boarders in the evening (and through the weekend) on the boarding-house network."""
    rng = sim.rng
    weekend = day.weekday() >= 5
    bh_slots = [(f"BPS-BH-{i:02d}", f"10.20.0.{200 + i}", 18.5 + 0.5 * k)
                for i in range(1, 5) for k in range(4)]
    rng.shuffle(bh_slots)
    windows = [(18.4, 20.6)] + ([(10.0, 12.0), (14.0, 17.0)] if weekend else [])
    for p in sim.by_role("pupil"):
        if not p.boarder or p.leave_date is not None:
            continue
        dev = personal_device(sim, p)
        for w0, w1 in windows:
            if dev is not None:
                a = at(day, rng.uniform(w0, w0 + 0.4))
                b = at(day, rng.uniform(w1 - 0.5, w1))
                device, ip = dev.device_id, dev.ip
            elif bh_slots and w0 > 18:
                device, ip, h = bh_slots.pop()
                a, b = at(day, h + 0.02), at(day, h + 0.45)
            else:
                continue
            session(sim, p, device, ip, a, b)
            browse(sim, a + 30, b - 30, ip, p.username, device, sites.EVENING, "boarders",
                   rng.randint(10, 25), searches=sites.EDUCATION_SEARCHES)


def guests(sim: Sim, day: date) -> None:
    rng = sim.rng
    for k in range(rng.randint(1, 4)):
        t0 = at(day, rng.uniform(9, 15))
        browse(sim, t0, t0 + 900, f"10.40.0.{20 + k}", "-", "", sites.STAFF, "guests",
               rng.randint(2, 5))
    gov = sim.by_role("governor")[day.toordinal() % 3]
    cloud(sim, gov, at(day, rng.uniform(19, 21)), "mail", "", f"198.51.100.{40 + gov.index}")


def devices(sim: Sim, day: date) -> None:
    """iPads out to a teacher for the morning, a camera for a day: all back on time."""
    rng = sim.rng
    up = sim.prefix.upper()
    teachers = _teachers(sim)
    for i in range(rng.randint(1, 3)):
        t = rng.choice(teachers)
        tag = sim.device(f"{up}-IPAD-{(day.toordinal() + i) % 12 + 1:02d}").asset_tag
        out = at(day, rng.uniform(8.6, 10))
        sim.checkouts.append(Checkout(out, "checkout", tag, t.person_id, day, "class set"))
        sim.checkouts.append(Checkout(at(day, rng.uniform(14, 15.5)), "checkin", tag,
                                      t.person_id, None, ""))
    if day.toordinal() % 2 == 0:
        t = rng.choice(teachers)
        tag = sim.device(f"{up}-CAM-0{day.toordinal() % 2 + 3}").asset_tag
        back = day + timedelta(days=1)
        sim.checkouts.append(Checkout(at(day, 8.9), "checkout", tag, t.person_id, back,
                                      "sports day photos"))
        sim.checkouts.append(Checkout(at(day, rng.uniform(15.2, 16.2)), "checkin", tag,
                                      t.person_id, None, ""))


OTHER_INCIDENTS = (
    "Pupil reported a pop-up advert on a homework site; site checked, no further action.",
    "Parent asked for advice on screen time at home; leaflet sent.",
    "Pupil upset after a falling-out at break; resolved by form tutor.",
    "Lost PE kit reported; found in the changing room.",
)


def incidents(sim: Sim, day: date) -> None:
    if day.weekday() >= 5 or sim.rng.random() < 0.5:
        return
    pupil = sim.rng.choice(sim.by_role("pupil"))
    reporter = sim.rng.choice(_teachers(sim))
    t = at(day, sim.rng.uniform(10, 15))
    n = len(sim.incidents) + 1
    sim.incidents.append({
        "incident_id": f"INC-{day.isoformat()}-{n:03d}", "occurred_at": t,
        "reported_at": t + 1800, "reporter": reporter.person_id, "category": "other",
        "pupils": f"{pupil.person_id}:subject",
        "description": sim.rng.choice(OTHER_INCIDENTS), "actions": "Logged by class teacher",
        "status": "closed", "cin_factor": ""})


def laptops_issued(sim: Sim) -> None:
    """Every member of staff got a laptop at the start of the academic year (history rows)."""
    first = sim.days[0]
    year = first.year if first.month >= 9 else first.year - 1
    issued = date(year, 9, 1)
    for s in sim.by_role("staff"):
        lt = laptop_of(sim, s)
        sim.checkouts.append(Checkout(at(issued, 9 + s.index * 0.05), "checkout", lt.asset_tag,
                                      s.person_id, None, "staff laptop issued"))


def background_leaver(sim: Sim) -> None:
    """A member of staff leaves during the period and hands the laptop back that day."""
    staff = [s for s in _teachers(sim) if s.person_id not in sim.used_subjects]
    s = staff[-1]
    sim.used_subjects.add(s.person_id)
    day = sim.school_days[len(sim.school_days) // 2]
    s.leave_date = day
    laptop = laptop_of(sim, s)
    sim.checkouts.append(Checkout(at(day, 15.5), "checkin", laptop.asset_tag,
                                  s.person_id, None, "leaver: laptop returned"))
    laptop.assigned_to = ""  # the register exported after the period shows it returned


def background(sim: Sim) -> None:
    laptops_issued(sim)
    background_leaver(sim)
    cursor = 0
    for day in sim.days:
        if day.weekday() < 5:
            cursor = school_day(sim, day, cursor)
            devices(sim, day)
            guests(sim, day)
        if sim.profile == "beaudesert-park":
            boarding(sim, day)
        incidents(sim, day)
