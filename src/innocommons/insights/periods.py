"""Statistical periods: a year, a quarter, a month or a custom range of days.

Written as `2025`, `2025-Q2` (or `2025Q2`), `2025-03`, or `2025-01-15..2025-06-30`; all
dates are calendar days in Beijing time, both ends included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.core.errors import DomainError

TZ = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 366 * 10 + 1
FIRST_YEAR = 1980

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/|~)\s*(\d{4}-\d{2}-\d{2})$")


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def month_end(day: date) -> date:
    return next_month(day) - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """Days `start` … `end` (both included). `kind` is year, quarter, month or range."""

    start: date
    end: date
    kind: str

    @property
    def code(self) -> str:
        """The canonical spelling, as accepted by `parse`."""
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"

    @property
    def label(self) -> str:
        if self.kind == "year":
            return _("%(year)s") % {"year": self.start.year}
        if self.kind == "quarter":
            return _("Q%(quarter)s %(year)s") % {
                "quarter": (self.start.month - 1) // 3 + 1,
                "year": self.start.year,
            }
        if self.kind == "month":
            return _("%(year)s-%(month)02d") % {"year": self.start.year, "month": self.start.month}
        return _("%(start)s to %(end)s") % {"start": self.start, "end": self.end}

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, day after end 00:00) in Beijing time, for datetime columns."""
        return (
            datetime.combine(self.start, time(), TZ),
            datetime.combine(self.end + timedelta(days=1), time(), TZ),
        )

    def split(self) -> tuple[list[date], list[tuple[date, date]]]:
        """Whole months inside the period (their first days) and the day ranges left over
        at its edges — what the monthly and the daily rollups each have to answer."""
        months: list[date] = []
        edges: list[tuple[date, date]] = []
        cursor = self.start
        while cursor <= self.end:
            first, last = month_start(cursor), month_end(cursor)
            if cursor == first and last <= self.end:
                months.append(first)
            else:
                edges.append((cursor, min(last, self.end)))
            cursor = last + timedelta(days=1)
        return months, edges

    def split_years(self) -> tuple[list[int], list[date], list[tuple[date, date]]]:
        """Whole calendar years inside the period, the whole months left, and the day
        ranges left at its edges — what the yearly, monthly and daily rollups answer."""
        whole = [
            y
            for y in range(self.start.year, self.end.year + 1)
            if self.start <= date(y, 1, 1) and date(y, 12, 31) <= self.end
        ]
        months, edges = self.split()
        return whole, [m for m in months if m.year not in whole], edges

    def months(self) -> list[date]:
        """First days of every month the period touches."""
        out, cursor = [], month_start(self.start)
        while cursor <= self.end:
            out.append(cursor)
            cursor = next_month(cursor)
        return out

    def shifted_years(self, years: int) -> Period:
        """The same days `years` earlier (-) or later (+); 29 February becomes the 28th."""

        def shift(day: date) -> date:
            try:
                return day.replace(year=day.year + years)
            except ValueError:
                return day.replace(year=day.year + years, day=28)

        end = shift(self.end)
        if self.kind in ("year", "quarter", "month"):
            end = month_end(end)
        return Period(shift(self.start), end, self.kind)


def year(y: int) -> Period:
    return Period(date(y, 1, 1), date(y, 12, 31), "year")


def current_year() -> Period:
    return year(timezone.localdate().year)


def _check_year(y: int) -> int:
    if not FIRST_YEAR <= y <= 2200:
        raise DomainError(_("The year is out of range."), field="period")
    return y


def parse(text: str | None, default: Period | None = None) -> Period:
    """Parse a period; an empty value is `default` (this year if not given).

    Raises DomainError(field="period") for anything else.
    """
    text = (text or "").strip()
    if not text:
        return default or current_year()
    if m := _YEAR.match(text):
        return year(_check_year(int(m[1])))
    if m := _QUARTER.match(text):
        y, q = _check_year(int(m[1])), int(m[2])
        first = date(y, 3 * q - 2, 1)
        return Period(first, month_end(date(y, 3 * q, 1)), "quarter")
    if m := _MONTH.match(text):
        y, mo = _check_year(int(m[1])), int(m[2])
        if not 1 <= mo <= 12:
            raise DomainError(_("The month is out of range."), field="period")
        return Period(date(y, mo, 1), month_end(date(y, mo, 1)), "month")
    if m := _RANGE.match(text):
        try:
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError:
            raise DomainError(_("Not a valid date."), field="period") from None
        _check_year(start.year)
        _check_year(end.year)
        if end < start:
            raise DomainError(_("The period ends before it starts."), field="period")
        if (end - start).days + 1 > MAX_DAYS:
            raise DomainError(_("A period can span at most ten years."), field="period")
        return Period(start, end, "range")
    raise DomainError(
        _("Write the period as 2025, 2025-Q2, 2025-03 or 2025-01-01..2025-06-30."),
        field="period",
    )
