"""Injected, labelled scenarios: the registry and the helpers every scenario uses.

A scenario is a function of the simulation that writes the events showing one breach (as
DESIGN's clause table says it is shown) and labels them in the ground truth. Each one has
its own subject (nobody is the subject of two scenarios) and its own devices and times,
so its events are separable from background traffic and from other scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from producers.simulator import sites
from producers.simulator.behaviour import browse
from producers.simulator.model import Auth, Person, Sim, Web, at

ScenarioFn = Callable[[Sim, int], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    profile: str
    clause_ids: tuple[str, ...]
    fn: ScenarioFn
    needs: str = ""  # a capability of the chosen formats the scenario requires


REGISTRY: dict[str, Scenario] = {}


def scenario(name: str, profile: str, clause_ids: tuple[str, ...], needs: str = ""
             ) -> Callable[[ScenarioFn], ScenarioFn]:
    def register(fn: ScenarioFn) -> ScenarioFn:
        REGISTRY[f"{profile}:{name}"] = Scenario(name, profile, clause_ids, fn, needs)
        return fn
    return register


LUNCH = {"beaudesert-park": 12.8, "twerton-infant": 11.55}


def day_of(sim: Sim, k: int) -> date:
    days = sim.school_days
    return days[k % len(days)]


def lunch(sim: Sim, k: int, offset: float = 0.0) -> float:
    return at(day_of(sim, k), LUNCH[sim.profile] + offset)


def trolley(sim: Sim, k: int) -> tuple[str, str]:
    """A trolley laptop idle at lunch, one per scenario index, and its address then."""
    n = k % 32 + 1
    return f"{sim.prefix.upper()}-TRL-{n:02d}", f"10.11.{1 + n % 12}.{150 + n}"


def hits(sim: Sim, t0: float, ip: str, p: Person, device: str, urls: tuple[str, ...],
         blocked: bool | None = None, step: float = 40.0, method: str = "GET",
         mime: str = "text/html") -> float:
    """One request per URL, `step` seconds apart; blocked None = alternate blocked/allowed."""
    group = "pupils" if p.role == "pupil" else "staff"
    t = t0
    for i, url in enumerate(urls):
        b = (i % 2 == 0) if blocked is None else blocked
        sim.web.append(Web(t, ip, p.username, device, url, method, b, sites.category(url),
                           0 if b else sim.rng.randint(900, 40_000), mime, group))
        t += step + sim.rng.uniform(0, 10)
    return t


def login(sim: Sim, p: Person, t: float, ip: str, device: str, kind: str = "ok",
          reason: str = "", account: str | None = None) -> None:
    sim.auth.append(Auth(t, "onprem", kind, account or p.username, ip, device, "", reason, ""))


def logoff(sim: Sim, p: Person, t: float, ip: str, device: str) -> None:
    sim.auth.append(Auth(t, "onprem", "logoff", p.username, ip, device, "", "", ""))


def pupil_session(sim: Sim, p: Person, k: int, minutes: float = 30.0
                  ) -> tuple[str, str, float, float]:
    """A pupil logged in on a trolley laptop at lunch: (device, ip, start, end)."""
    device, ip = trolley(sim, k)
    t0 = lunch(sim, k, (k % 3) * 0.02)
    t1 = t0 + minutes * 60
    login(sim, p, t0, ip, device)
    logoff(sim, p, t1, ip, device)
    browse(sim, t0 + 30, t0 + 300, ip, p.username, device, sites.EDUCATION, "pupils", 2)
    return device, ip, t0, t1


def incident(sim: Sim, t: float, reporter: Person, category: str, pupils: str,
             description: str, actions: str, cin: str = "") -> None:
    sim.incidents.append({
        "incident_id": f"INC-S{len(sim.incidents) + 1:03d}", "occurred_at": t,
        "reported_at": t + 3600 * 2, "reporter": reporter.person_id, "category": category,
        "pupils": pupils, "description": description, "actions": actions, "status": "open",
        "cin_factor": cin})


def staff_reporter(sim: Sim) -> Person:
    dsl = [s for s in sim.by_role("staff") if s.job == "Designated Safeguarding Lead"]
    return dsl[0]


def run_all(sim: Sim, can: set[str]) -> None:
    """Every scenario of the profile, in registry order; skipped ones are noted."""
    import producers.simulator.scenarios_bps
    import producers.simulator.scenarios_cross
    import producers.simulator.scenarios_tis  # noqa: F401  (they register themselves)

    k = 0
    for key in sorted(REGISTRY):
        sc = REGISTRY[key]
        if sc.profile != sim.profile:
            continue
        if sc.needs and sc.needs not in can:
            sim.notes.append(f"skipped scenario {sc.name} ({', '.join(sc.clause_ids)}): "
                             f"the chosen formats cannot show {sc.needs}")
            continue
        sc.fn(sim, k)
        k += 1
