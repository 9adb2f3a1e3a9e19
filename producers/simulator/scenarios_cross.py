"""The five cross-source patterns of DESIGN (several sources, one subject)."""

from __future__ import annotations

from datetime import timedelta

from producers.simulator import sites
from producers.simulator.behaviour import browse
from producers.simulator.model import Auth, Person, Sim, at
from producers.simulator.people import laptop_of
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
)

BPS, TIS = "beaudesert-park", "twerton-infant"
CLAUSES = {
    # the blocked browsing includes a proxy site: a breach of the proxy clause as well
    "compromised": {BPS: ["bps.unauthorised-access", "bps.proxy"],
                    TIS: ["tis.personal-device-network", "tis.report-breach",
                          "tis.filter-bypass"]},
    "shared": {BPS: ["bps.password-sharing"], TIS: ["tis.one-account"]},
    "leaver": {BPS: ["bps.staff-laptop-return", "bps.unauthorised-access"],
               TIS: ["tis.offsite-devices", "tis.one-account"]},
    # some proxy hits are allowed by the filter: at Twerton those are filter gaps too
    "circumvention": {BPS: ["bps.proxy"],
                      TIS: ["tis.filter-bypass", "tis.personal-device-network",
                            "tis.filter-gaps"]},
}


def _staff(sim: Sim) -> Person:
    return sim.pick([s for s in sim.by_role("staff") if s.job in ("Teacher", "Teaching assistant")
                     and s.leave_date is None])


@scenario("x-at-risk-pupil", BPS, ("bps.cyberbullying", "bps.monitored-language"))
def at_risk(sim: Sim, k: int) -> None:
    p = sim.pick([q for q in sim.by_role("pupil") if q.leave_date is None])
    device, ip, t0, _ = pupil_session(sim, p, k, 40)
    phrases = ("how to self harm without anyone knowing", "i want to die", "painless death")
    urls = tuple(sites.search_url("google", ph) for ph in phrases)
    end = hits(sim, t0 + 400, ip, p, device, urls, False, step=240)
    days = sim.school_days
    later = days[min(len(days) - 1, (k % len(days)) + 2)]
    t_inc = at(later, 15.2) if later > day_of(sim, k) else end + 3 * 3600
    bully = sim.pick([q for q in sim.by_role("pupil") if q.year_group == p.year_group
                      and q.leave_date is None] or sim.by_role("pupil"))
    incident(sim, t_inc, staff_reporter(sim), "bullying",
             f"{p.person_id}:victim;{bully.person_id}:perpetrator",
             "Pupil excluded from games and called names over several weeks; disclosed to tutor.",
             "DSL informed; parents contacted; pastoral support plan.")
    sim.label("x-at-risk-pupil", ["bps.cyberbullying", "bps.monitored-language"], p.person_id,
              t0 + 400, t_inc)


def _compromised(sim: Sim, k: int) -> None:
    s = _staff(sim)
    t0 = at(day_of(sim, k), 16.9)
    dev, ip = "DESKTOP-K7Q2M9X", f"10.11.9.{220 + k % 30}"
    t = t0
    for _ in range(6):
        login(sim, s, t, ip, dev, "fail", "bad-password")
        t += sim.rng.uniform(25, 45)
    login(sim, s, t, ip, dev)
    end = hits(sim, t + 120, ip, s, dev, sites.HACKING + sites.PROXY[3:], True)
    logoff(sim, s, end + 300, ip, dev)
    sim.label("x-compromised-account", CLAUSES["compromised"][sim.profile], s.person_id, t0, end)


def _shared(sim: Sim, k: int) -> None:
    owner, user = _staff(sim), _staff(sim)
    lt = laptop_of(sim, owner)
    t0 = lunch(sim, k, 1.4)
    ip = f"10.11.4.{60 + k % 40}"
    login(sim, user, t0, ip, lt.device_id)
    browse(sim, t0 + 30, t0 + 900, ip, user.username, lt.device_id, sites.STAFF, "staff", 3)
    logoff(sim, user, t0 + 1200, ip, lt.device_id)
    sim.label("x-shared-password", CLAUSES["shared"][sim.profile], user.person_id, t0, t0 + 1200)


def _leaver(sim: Sim, k: int) -> None:
    s = _staff(sim)
    s.leave_date = sim.days[0] - timedelta(days=3)
    lt = laptop_of(sim, s)
    day = day_of(sim, k)
    t0 = at(day, 19.1)
    ip = f"10.99.0.{30 + k % 50}"
    login(sim, s, t0, ip, lt.device_id)
    browse(sim, t0 + 30, t0 + 900, ip, s.username, lt.device_id, sites.STAFF, "staff", 3)
    logoff(sim, s, t0 + 1500, ip, lt.device_id)
    sim.auth.append(Auth(t0 + 1700, "cloud", "ok", s.email, f"198.51.100.{120 + k % 50}",
                         lt.device_id, "mail", "", ""))
    sim.label("x-leaver", CLAUSES["leaver"][sim.profile], s.person_id, at(sim.days[0], 0),
              at(sim.days[-1], 23.99))


def _circumvention(sim: Sim, k: int) -> None:
    p: Person
    if sim.profile == BPS:
        p = sim.pick([q for q in sim.by_role("pupil") if q.leave_date is None])
    else:
        p = _staff(sim)
    days = sim.school_days
    first, second = days[k % len(days)], days[min(k % len(days) + 1, len(days) - 1)]
    dev, ip = f"Galaxy-A54-{p.index}", f"10.11.8.{200 + k % 50}"
    t0 = at(first, 12.95)
    login(sim, p, t0, ip, dev)
    t = hits(sim, t0 + 60, ip, p, dev, sites.PROXY + sites.VPN, None, step=90)
    logoff(sim, p, t + 300, ip, dev)
    t2 = at(second, 13.05) if second != first else t + 3600
    login(sim, p, t2, ip, dev)
    end = hits(sim, t2 + 60, ip, p, dev, sites.PROXY[1:3] + sites.VPN[2:], True, step=90)
    logoff(sim, p, end + 300, ip, dev)
    sim.label("x-persistent-circumvention", CLAUSES["circumvention"][sim.profile], p.person_id,
              t0, end)


for _profile in (BPS, TIS):
    scenario("x-compromised-account", _profile, tuple(CLAUSES["compromised"][_profile]))(
        _compromised)
    scenario("x-shared-password", _profile, tuple(CLAUSES["shared"][_profile]))(_shared)
    scenario("x-leaver", _profile, tuple(CLAUSES["leaver"][_profile]))(_leaver)
    scenario("x-persistent-circumvention", _profile,
             tuple(CLAUSES["circumvention"][_profile]))(_circumvention)
