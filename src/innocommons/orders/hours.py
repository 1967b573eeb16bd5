"""Opening hours in Beijing time: the one place that turns a calendar into time windows.

Both the booking service (is this request inside the opening hours?) and the free-slot
selector (which gaps are left?) use these helpers, so the rule lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from innocommons.catalog.models import Instrument, Resource
from innocommons.orders.models import Calendar

# The community works in Beijing time whatever the server's or the user's zone; China has
# no daylight saving time, so a day's window is always opens_at..closes_at.
TZ = ZoneInfo("Asia/Shanghai")

# A booking lies inside one day's opening window, so it is never longer than a day. The
# overlap query uses this to bound its index range scan on (resource, start).
MAX_SPAN = timedelta(days=1)


@dataclass(frozen=True)
class Rules:
    """Everything that decides whether a time range can be booked on one instrument."""

    calendar: Calendar
    min_minutes: int
    max_minutes: int
    lead_time: timedelta
    needs_approval: bool

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.calendar.horizon_days)


def calendar_for(resource: Resource) -> Calendar:
    """The instrument's calendar, or the defaults (unsaved) while the provider has none."""
    try:
        return resource.calendar
    except Calendar.DoesNotExist:
        return Calendar(resource=resource)


def rules_for(resource: Resource, calendar: Calendar | None = None) -> Rules:
    instrument: Instrument | None = getattr(resource, "instrument", None)
    return rules_from(calendar or calendar_for(resource), instrument)


def rules_from(cal: Calendar, instrument: Instrument | None) -> Rules:
    """The rules of a calendar and its instrument's booking settings (the model defaults
    while the instrument has none)."""
    if instrument is None:
        instrument = Instrument()
    return Rules(
        calendar=cal,
        min_minutes=max(1, instrument.min_booking_minutes),
        max_minutes=max(1, instrument.max_booking_minutes),
        lead_time=timedelta(hours=instrument.lead_time_hours),
        needs_approval=bool(instrument.needs_approval),  # SQLite's raw rows hold 0/1
    )


def local(moment: datetime) -> datetime:
    return timezone.localtime(moment, TZ)


def aware(moment: datetime) -> datetime:
    """Naive input is read as Beijing time (what the forms and most API users mean)."""
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=TZ)
    return moment


def today() -> date:
    return local(timezone.now()).date()


def window(calendar: Calendar, day: date) -> tuple[datetime, datetime] | None:
    """The opening window of `day` as aware datetimes, or None when closed that day."""
    if str(day.isoweekday()) not in calendar.weekdays:
        return None
    opens = datetime.combine(day, calendar.opens_at, TZ)
    if calendar.closes_at == time(0):
        closes = datetime.combine(day + timedelta(days=1), time(0), TZ)
    else:
        closes = datetime.combine(day, calendar.closes_at, TZ)
    if closes <= opens:
        return None
    return opens, closes


def inside_opening_hours(calendar: Calendar, start: datetime, end: datetime) -> bool:
    win = window(calendar, local(start).date())
    return win is not None and win[0] <= start and end <= win[1]


def subtract(
    span: tuple[datetime, datetime], taken: Iterable[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of `span` not covered by any of the `taken` ranges (half-open)."""
    free = [span]
    for t_start, t_end in sorted(taken):
        rest: list[tuple[datetime, datetime]] = []
        for f_start, f_end in free:
            if t_end <= f_start or t_start >= f_end:
                rest.append((f_start, f_end))
                continue
            if f_start < t_start:
                rest.append((f_start, t_start))
            if t_end < f_end:
                rest.append((t_end, f_end))
        free = rest
    return free


def fmt_range(start: datetime, end: datetime) -> str:
    """ "2026-05-04 10:00–12:00" in Beijing time (the date once when on the same day)."""
    s, e = local(start), local(end)
    if s.date() == e.date() or (e.time() == time(0) and e.date() == s.date() + timedelta(1)):
        return f"{s:%Y-%m-%d %H:%M}–{'24:00' if e.time() == time(0) else f'{e:%H:%M}'}"
    return f"{s:%Y-%m-%d %H:%M}–{e:%Y-%m-%d %H:%M}"
