"""Twerton Infant scenarios (staff code of conduct): one or more per monitorable clause."""

from __future__ import annotations

from datetime import timedelta

from producers.simulator import sites
from producers.simulator.behaviour import browse
from producers.simulator.model import Auth, Checkout, Person, Sim, at
from producers.simulator.people import laptop_of
from producers.simulator.scenarios import (
    day_of,
    hits,
    incident,
    login,
    logoff,
    lunch,
    scenario,
    trolley,
)

TIS = "twerton-infant"


def staff(sim: Sim) -> Person:
    return sim.pick([s for s in sim.by_role("staff") if s.job in ("Teacher", "Teaching assistant")
                     and s.leave_date is None])


@scenario("concurrent-sessions", TIS, ("tis.one-account",))
def concurrent(sim: Sim, k: int) -> None:
    s = staff(sim)
    lt = laptop_of(sim, s)
    t0 = lunch(sim, k)
    login(sim, s, t0, lt.ip, lt.device_id)
    dev, ip = "TIS-ICT-12", "10.10.0.23"
    login(sim, s, t0 + 420, ip, dev)
    browse(sim, t0 + 480, t0 + 1200, ip, s.username, dev, sites.STAFF, "staff", 3)
    logoff(sim, s, t0 + 1500, ip, dev)
    logoff(sim, s, t0 + 2400, lt.ip, lt.device_id)
    sim.label("concurrent-sessions", ["tis.one-account"], s.person_id, t0 + 420, t0 + 1500)


@scenario("session-never-closed", TIS, ("tis.one-account",), needs="logoff events")
def never_closed(sim: Sim, k: int) -> None:
    s = staff(sim)
    t0 = at(day_of(sim, k), 15.6)
    login(sim, s, t0, "10.10.0.30", "TIS-ICT-19")
    browse(sim, t0 + 30, t0 + 600, "10.10.0.30", s.username, "TIS-ICT-19", sites.STAFF, "staff",
           3)
    sim.label("session-never-closed", ["tis.one-account"], s.person_id, t0,
              at(sim.days[-1], 23.99))


@scenario("lockout", TIS, ("tis.report-breach",))
def lockout(sim: Sim, k: int) -> None:
    s = staff(sim)
    dev, ip = trolley(sim, k)
    t0 = lunch(sim, k)
    t = t0
    for _ in range(10):
        login(sim, s, t, ip, dev, "fail", "bad-password")
        t += sim.rng.uniform(12, 22)
    sim.auth.append(Auth(t + 1, "onprem", "lockout", s.username, ip, dev, "", "", ""))
    sim.label("lockout", ["tis.report-breach"], s.person_id, t0, t + 1)


def _web(sim: Sim, k: int, name: str, clause: str, urls: tuple[str, ...], blocked: bool | None,
         hour: float | None = None, method: str = "GET", mime: str = "text/html",
         also: tuple[str, ...] = ()) -> None:
    s = staff(sim)
    lt = laptop_of(sim, s)
    t0 = at(day_of(sim, k), hour) if hour else lunch(sim, k, 0.1)
    end = hits(sim, t0, lt.ip, s, lt.device_id, urls, blocked, method=method, mime=mime)
    sim.label(name, [clause, *also], s.person_id, t0, end)


@scenario("new-cloud-service", TIS, ("tis.new-technology",))
def new_cloud(sim: Sim, k: int) -> None:
    _web(sim, k, "new-cloud-service", "tis.new-technology", sites.FILEHOSTING[:2], False,
         method="POST")


@scenario("illegal-content", TIS, ("tis.illegal-content",))
def illegal(sim: Sim, k: int) -> None:
    _web(sim, k, "illegal-content", "tis.illegal-content", sites.ADULT + sites.HATE, True)


@scenario("filter-bypass", TIS, ("tis.filter-bypass", "tis.filter-gaps"))
def bypass(sim: Sim, k: int) -> None:
    # blocked and allowed alternate: the allowed proxy hits are filter gaps as well
    _web(sim, k, "filter-bypass", "tis.filter-bypass", sites.PROXY[:2] + sites.VPN[:2], None,
         also=("tis.filter-gaps",))


@scenario("software-install", TIS, ("tis.software-install",))
def software(sim: Sim, k: int) -> None:
    _web(sim, k, "software-install", "tis.software-install", sites.DOWNLOAD, None,
         mime="application/x-msdownload")


@scenario("staff-social-in-hours", TIS, ("tis.staff-social-hours",))
def social_hours(sim: Sim, k: int) -> None:
    _web(sim, k, "staff-social-in-hours", "tis.staff-social-hours", sites.SOCIAL, False,
         hour=10.3)


@scenario("private-webmail", TIS, ("tis.private-email",))
def webmail(sim: Sim, k: int) -> None:
    _web(sim, k, "private-webmail", "tis.private-email", sites.PERSONAL_WEBMAIL[:2], False,
         hour=10.9)


@scenario("filter-gap-gambling", TIS, ("tis.filter-gaps",))
def filter_gap(sim: Sim, k: int) -> None:
    _web(sim, k, "filter-gap-gambling", "tis.filter-gaps", sites.GAMBLING, False, hour=14.0)


@scenario("personal-device-login", TIS, ("tis.personal-device-network",))
def personal_device(sim: Sim, k: int) -> None:
    s = staff(sim)
    t0 = at(day_of(sim, k), 9.4)
    dev, ip = f"Galaxy-S23-{s.last}", f"10.11.6.{210 + k % 40}"
    login(sim, s, t0, ip, dev)
    end = hits(sim, t0 + 60, ip, s, dev, sites.STAFF[:3], False)
    logoff(sim, s, end + 300, ip, dev)
    sim.label("personal-device-login", ["tis.personal-device-network"], s.person_id, t0, end)


@scenario("mail-on-personal-phone", TIS, ("tis.email-personal-device",), needs="mobile device")
def mail_phone(sim: Sim, k: int) -> None:
    s = staff(sim)
    t0 = at(day_of(sim, k), 8.2)
    sim.auth.append(Auth(t0, "cloud", "ok", s.email, "203.0.113.10", "", "mail", "", "ios"))
    t1 = at(day_of(sim, k), 19.5)
    sim.auth.append(Auth(t1, "cloud", "ok", s.email, f"198.51.100.{90 + k}", "", "mail", "",
                         "ios"))
    sim.label("mail-on-personal-phone", ["tis.email-personal-device"], s.person_id, t0, t1)


def _overdue(sim: Sim, name: str, clause: str, device_id: str, note: str) -> None:
    s = staff(sim)
    tag = sim.device(device_id).asset_tag
    out_day = sim.days[0] - timedelta(days=5)
    due = sim.days[0] - timedelta(days=2)
    t = at(out_day, 15.0)
    sim.checkouts.append(Checkout(t, "checkout", tag, s.person_id, due, note))
    sim.label(name, [clause], s.person_id, at(due, 23.99), at(sim.days[-1], 23.99))


@scenario("offsite-laptop-overdue", TIS, ("tis.offsite-devices",))
def laptop_overdue(sim: Sim, k: int) -> None:
    _overdue(sim, "offsite-laptop-overdue", "tis.offsite-devices", "TIS-LOAN-01",
             "loan laptop for report writing at home")


@scenario("camera-overdue", TIS, ("tis.school-cameras",))
def camera_overdue(sim: Sim, k: int) -> None:
    _overdue(sim, "camera-overdue", "tis.school-cameras", "TIS-CAM-01", "class trip photos")


@scenario("device-lost-report", TIS, ("tis.offsite-devices",))
def device_lost(sim: Sim, k: int) -> None:
    s = staff(sim)
    t = at(day_of(sim, k), 8.6)
    incident(sim, t, s, "device-lost", "",
             f"School iPad TIS-IPAD-07 taken home by {s.person_id} for marking was left on a bus.",
             "Device locked and wiped remotely; reported to the Online Safety Leader.")
    sim.label("device-lost-report", ["tis.offsite-devices"], s.person_id, t, t)
