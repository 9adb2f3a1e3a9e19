"""Terms, half terms, school-day hours and trips of the simulated school (`school.yaml`)."""

from __future__ import annotations

from datetime import date, timedelta

HOURS = {"beaudesert-park": ("08:30", "16:30"), "twerton-infant": ("08:45", "15:15")}
NAMES = {"beaudesert-park": "Beaudesert Park (synthetic demo school)",
         "twerton-infant": "Twerton Infant School & Nursery (synthetic demo school)"}


def _terms(year: int) -> list[tuple[str, date, date, tuple[date, date]]]:
    """An English academic year starting in September `year` (dates in the usual places)."""
    y1 = year + 1
    return [
        (f"Autumn {year}", date(year, 9, 3), date(year, 12, 18),
         (date(year, 10, 26), date(year, 10, 30))),
        (f"Spring {y1}", date(y1, 1, 5), date(y1, 3, 26), (date(y1, 2, 15), date(y1, 2, 19))),
        (f"Summer {y1}", date(y1, 4, 13), date(y1, 7, 16), (date(y1, 5, 24), date(y1, 5, 28))),
    ]


def school_yaml(profile: str, school_id: str, days: list[date], trip_year: str) -> str:
    """Terms of every academic year the days touch; a term or half term that would leave a
    simulated day out of term is stretched or dropped, so the days are all term time."""
    first, last = days[0], days[-1]
    years = sorted({(d.year if d.month >= 8 else d.year - 1) for d in (first, last)})
    lines = [f"id: {school_id}", f'name: "{NAMES[profile]}"', f"profile: {profile}",
             "timezone: Europe/London", "school_day:", f'  start: "{HOURS[profile][0]}"',
             f'  end: "{HOURS[profile][1]}"', "terms:"]
    terms = [t for y in range(years[0], years[-1] + 1) for t in _terms(y)]
    out: list[tuple[str, date, tuple[date, date] | None, date]] = []
    for i, (name, start, end, half_term) in enumerate(terms):
        half: tuple[date, date] | None = half_term
        touched = [d for d in days if start - timedelta(days=30) <= d <= end + timedelta(days=30)]
        if touched:
            start, end = min(start, touched[0]), max(end, touched[-1])
            if i + 1 < len(terms) and end >= terms[i + 1][1]:
                end = terms[i + 1][1] - timedelta(days=1)
        in_half = [d for d in days if half_term[0] <= d <= half_term[1]]
        out.append((name, start, None if in_half else half, end))
    for name, start, half, end in out:
        lines += [f"  - name: {name}", f"    start: {start.isoformat()}",
                  f"    end: {end.isoformat()}"]
        if half:
            lines.append(f"    half_term: [{half[0].isoformat()}, {half[1].isoformat()}]")
    weekdays = [d for d in days if d.weekday() < 5]
    if len(weekdays) >= 3:
        trip = weekdays[2]
        lines += ["trips:", f"  - name: {trip_year} museum visit", f"    date: {trip.isoformat()}",
                  f"    year_groups: [{trip_year}]"]
    return "\n".join(lines) + "\n"


def trip_day(days: list[date]) -> date | None:
    weekdays = [d for d in days if d.weekday() < 5]
    return weekdays[2] if len(weekdays) >= 3 else None
