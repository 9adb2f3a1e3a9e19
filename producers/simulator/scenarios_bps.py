"""Beaudesert Park scenarios: one or more per monitorable clause of DESIGN's table."""

from __future__ import annotations

from datetime import timedelta

from producers.simulator import sites
from producers.simulator.behaviour import browse
from producers.simulator.model import Auth, Device, Person, Sim, at
from producers.simulator.people import laptop_of, personal_device
from producers.simulator.scenarios import (
    day_of,
    hits,
    incident,
    login,
    logoff,
    lunch,
    pupil_session,
    scenario,
    staff_reporter,
    trolley,
)

BPS = "beaudesert-park"


def _pupil(sim: Sim) -> Person:
    return sim.pick([p for p in sim.by_role("pupil") if p.leave_date is None])


def _staff(sim: Sim) -> Person:
    return sim.pick([s for s in sim.by_role("staff") if s.job in ("Teacher", "Teaching assistant")
                     and s.leave_date is None])


@scenario("password-sharing-concurrent", BPS, ("bps.password-sharing",))
def password_concurrent(sim: Sim, k: int) -> None:
    p = _pupil(sim)
    _, _, t0, t1 = pupil_session(sim, p, k, 35)
    d2, ip2 = trolley(sim, k + 16)
    login(sim, p, t0 + 95, ip2, d2)
    browse(sim, t0 + 120, t0 + 600, ip2, p.username, d2, sites.EDUCATION, "pupils", 2)
    logoff(sim, p, t1 - 60, ip2, d2)
    sim.label("password-sharing-concurrent", ["bps.password-sharing"], p.person_id, t0 + 95,
              t1 - 60)


@scenario("failed-login-burst", BPS, ("bps.unauthorised-access",))
def failed_burst(sim: Sim, k: int) -> None:
    p = _pupil(sim)
    device, ip = trolley(sim, k)
    t0 = lunch(sim, k)
    for i in range(12):
        login(sim, p, t0 + i * 20 + sim.rng.uniform(0, 5), ip, device, "fail", "bad-password")
    sim.label("failed-login-burst", ["bps.unauthorised-access"], p.person_id, t0, t0 + 225)


@scenario("password-spray", BPS, ("bps.unauthorised-access",))
def password_spray(sim: Sim, k: int) -> None:
    p = _pupil(sim)
    device, ip, t0, _ = pupil_session(sim, p, k, 25)
    others = [o for o in sim.by_role("pupil") if o.person_id != p.person_id][:8]
    t = t0 + 400
    for o in others:
        login(sim, o, t, ip, device, "fail", "bad-password")
        t += sim.rng.uniform(10, 20)
    for ghost in ("admin", "ictadmin"):
        login(sim, p, t, ip, device, "fail", "no-such-user", account=ghost)
        t += 12
    sim.label("password-spray", ["bps.unauthorised-access"], p.person_id, t0 + 400, t)


def _web_scenario(sim: Sim, k: int, name: str, clause: str, urls: tuple[str, ...],
                  blocked: bool | None, mime: str = "text/html") -> None:
    p = _pupil(sim)
    device, ip, t0, _ = pupil_session(sim, p, k)
    end = hits(sim, t0 + 420, ip, p, device, urls, blocked, mime=mime)
    sim.label(name, [clause], p.person_id, t0 + 420, end)


@scenario("proxy-sites", BPS, ("bps.proxy",))
def proxy(sim: Sim, k: int) -> None:
    _web_scenario(sim, k, "proxy-sites", "bps.proxy", sites.PROXY[:3] + sites.VPN[:1], None)


@scenario("software-download", BPS, ("bps.software-download",))
def download(sim: Sim, k: int) -> None:
    _web_scenario(sim, k, "software-download", "bps.software-download", sites.DOWNLOAD[:2],
                  None, mime="application/x-msdownload")


@scenario("torrent-piracy", BPS, ("bps.copyright",))
def piracy(sim: Sim, k: int) -> None:
    _web_scenario(sim, k, "torrent-piracy", "bps.copyright", sites.WAREZ, True)


@scenario("inappropriate-content", BPS, ("bps.inappropriate-content",))
def inappropriate(sim: Sim, k: int) -> None:
    _web_scenario(sim, k, "inappropriate-content", "bps.inappropriate-content",
                  sites.ADULT + sites.HATE, True)


@scenario("chat-rooms", BPS, ("bps.chat",))
def chat(sim: Sim, k: int) -> None:
    _web_scenario(sim, k, "chat-rooms", "bps.chat", sites.CHAT, True)


@scenario("pupil-social-networking", BPS, ("bps.pupil-social-networking",))
def social(sim: Sim, k: int) -> None:
    _web_scenario(sim, k, "pupil-social-networking", "bps.pupil-social-networking",
                  sites.SOCIAL[:3], None)


def _searches(sim: Sim, k: int, name: str, engine: str, phrases: tuple[str, ...]) -> None:
    p = _pupil(sim)
    device, ip, t0, _ = pupil_session(sim, p, k)
    urls = tuple(sites.search_url(engine, ph) for ph in phrases)
    end = hits(sim, t0 + 500, ip, p, device, urls, False, step=90)
    sim.label(name, ["bps.monitored-language"], p.person_id, t0 + 500, end)


@scenario("concerning-search-extremism", BPS, ("bps.monitored-language",))
def search_extremism(sim: Sim, k: int) -> None:
    _searches(sim, k, "concerning-search-extremism", "bing",
              ("how to make a bomb", "join isis online"))


@scenario("concerning-search-bullying", BPS, ("bps.monitored-language",))
def search_bullying(sim: Sim, k: int) -> None:
    _searches(sim, k, "concerning-search-bullying", "google",
              ("everyone hates me", "being bullied what do i do", "how to stop bullies"))


@scenario("cyberbullying-incident", BPS, ("bps.cyberbullying",))
def cyberbullying(sim: Sim, k: int) -> None:
    victim, bully = _pupil(sim), _pupil(sim)
    t = lunch(sim, k, 1.5)
    incident(sim, t, staff_reporter(sim), "cyberbullying",
             f"{victim.person_id}:victim;{bully.person_id}:perpetrator",
             "Unkind messages and an edited photo shared in a class group chat.",
             "Parents of both pupils contacted; anti-bullying plan started.")
    sim.label("cyberbullying-incident", ["bps.cyberbullying"], victim.person_id, t, t)


@scenario("boarder-device-in-classroom", BPS, ("bps.boarding-devices",))
def boarder_device(sim: Sim, k: int) -> None:
    boarders = [p for p in sim.by_role("pupil") if p.boarder and p.leave_date is None
                and personal_device(sim, p)]
    if not boarders:  # give one boarder a registered phone so the scenario can happen
        b = next(p for p in sim.by_role("pupil") if p.boarder and p.leave_date is None)
        sim.devices.append(Device("PR-9001", "SN000009001", "phone", "Personal phone",
                                  "personal-registered", f"{b.first}s-iPhone-{b.index:03d}",
                                  b.person_id, "10.20.0.199"))
        boarders = [b]
    p = sim.pick(boarders)
    dev = personal_device(sim, p)
    if dev is None:
        raise RuntimeError(f"boarder {p.person_id} has no registered device")
    t0 = at(day_of(sim, k), 10.2)
    ip = f"10.11.5.{200 + k % 40}"
    login(sim, p, t0, ip, dev.device_id)
    end = hits(sim, t0 + 60, ip, p, dev.device_id, sites.EVENING[:3], False)
    logoff(sim, p, end + 600, ip, dev.device_id)
    sim.label("boarder-device-in-classroom", ["bps.boarding-devices"], p.person_id, t0, end)


@scenario("leaver-laptop-not-returned", BPS, ("bps.staff-laptop-return",))
def leaver_laptop(sim: Sim, k: int) -> None:
    s = _staff(sim)
    s.leave_date = sim.days[0] - timedelta(days=1)
    sim.label("leaver-laptop-not-returned", ["bps.staff-laptop-return"], s.person_id,
              at(sim.days[0], 0), at(sim.days[-1], 23.99))


@scenario("mis-offsite", BPS, ("bps.mis-offsite",))
def mis_offsite(sim: Sim, k: int) -> None:
    s = _staff(sim)
    day = day_of(sim, k)
    t0 = at(day, 12.9)
    ip = f"10.40.0.{100 + k}"
    hits(sim, t0 + 30, ip, s, "", sites.MIS_URLS, False, step=60)
    sim.auth.append(Auth(t0, "cloud", "ok", s.email, "203.0.113.20", "", "sims", "", ""))
    home = at(day, 20.4)
    sim.auth.append(Auth(home, "cloud", "ok", s.email, f"198.51.100.{60 + k}", "", "sims", "",
                         ""))
    sim.label("mis-offsite", ["bps.mis-offsite"], s.person_id, t0, home)


@scenario("ict-suite-unsupervised", BPS, ("bps.computer-room-supervision",))
def ict_unsupervised(sim: Sim, k: int) -> None:
    t0 = lunch(sim, k, 0.15)
    for i in range(2):
        p = _pupil(sim)
        dev, ip = f"BPS-ICT-{21 + i:02d}", f"10.10.0.{32 + i}"
        login(sim, p, t0 + i * 40, ip, dev)
        browse(sim, t0 + 100, t0 + 900, ip, p.username, dev, sites.EDUCATION, "pupils", 3)
        logoff(sim, p, t0 + 1800, ip, dev)
        sim.label("ict-suite-unsupervised", ["bps.computer-room-supervision"], p.person_id,
                  t0 + i * 40, t0 + 1800)


@scenario("staff-pupil-contact", BPS, ("bps.staff-pupil-contact",))
def staff_contact(sim: Sim, k: int) -> None:
    p = _pupil(sim)
    s = _staff(sim)
    t = lunch(sim, k, 2.0)
    incident(sim, t, staff_reporter(sim), "online-contact", f"{p.person_id}:victim",
             f"Pupil showed a friend request and private messages from a member of staff "
             f"({s.person_id}) on a social media app.", "Referred to the DSL and Headmaster.")
    sim.label("staff-pupil-contact", ["bps.staff-pupil-contact"], p.person_id, t, t)


@scenario("staff-excessive-leisure", BPS, ("bps.staff-personal-use",))
def staff_leisure(sim: Sim, k: int) -> None:
    s = _staff(sim)
    lt = laptop_of(sim, s)
    day = day_of(sim, k)
    t0 = at(day, 9.1)
    urls = tuple(sim.rng.choice(sites.LEISURE) + f"?p={i}" for i in range(70))
    end = hits(sim, t0, lt.ip, s, lt.device_id, urls, False, step=340)
    sim.label("staff-excessive-leisure", ["bps.staff-personal-use"], s.person_id, t0, end)
