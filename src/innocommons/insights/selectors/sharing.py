"""Catalog growth and shared use: listings over time, bookings and service hours per
instrument and provider, ratings, and the utilisation of the most-used instruments.

These read the catalog and order tables directly, bounded by indexed date columns
(`published_at`, booking `start`, order `completed_at`); only published listings of
visible owners and completed work count, so nothing private is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Sum
from django.db.models.functions import TruncMonth

from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Kind, Resource, Status, Term
from innocommons.insights import regions
from innocommons.insights.periods import TZ, Period
from innocommons.orders.models import Booking, Calendar, Order, Rating

DONE = (Order.Status.COMPLETED, Order.Status.CLOSED)
_DURATION = ExpressionWrapper(F("end") - F("start"), output_field=DurationField())


def _hours(value: timedelta | None) -> Decimal:
    if not value:
        return Decimal(0)
    return (Decimal(int(value.total_seconds())) / 3600).quantize(Decimal("0.1"))


def _published(period: Period, region: str = "") -> Any:
    start, end = period.bounds()
    qs = Resource.objects.filter(
        status=Status.PUBLISHED, published_at__gte=start, published_at__lt=end
    ).exclude(owner__status__in=HIDDEN_OWNER_STATUSES)
    if region:
        qs = qs.filter(region_id__in=regions.index().descendants(region))
    return qs


@dataclass
class Listings:
    """New published listings per month and kind, and per kind, field and province."""

    months: list[date]
    by_month: dict[date, dict[str, int]]  # month → kind → new listings
    by_kind: dict[str, int]
    by_field: list[tuple[str, str, str, int]]  # (code, name_zh, name_en, n)
    by_region: list[tuple[str, dict[str, int]]]  # (province, kind → n)
    total: int


def listings(period: Period, region: str = "") -> Listings:
    idx = regions.index()
    qs = _published(period, region)
    by_month: dict[date, dict[str, int]] = {m: {} for m in period.months()}
    for row in (
        qs.annotate(m=TruncMonth("published_at", tzinfo=TZ))
        .values("m", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        month = row["m"].date() if hasattr(row["m"], "date") else row["m"]
        by_month.setdefault(month, {})[row["kind"]] = row["n"]
    by_kind = {k: 0 for k in Kind.values}
    for kinds in by_month.values():
        for k, n in kinds.items():
            by_kind[k] = by_kind.get(k, 0) + n
    fields = {t.pk: t for t in Term.objects.filter(scheme=Term.Scheme.TECH_FIELD)}

    def top(term_id: int | None) -> Term | None:
        term = fields.get(term_id) if term_id else None
        while term is not None and term.parent_id in fields:
            term = fields[term.parent_id]
        return term

    field_counts: dict[str, list[Any]] = {}
    for row in qs.values("field_id").annotate(n=Count("pk")).order_by():
        term = top(row["field_id"])
        key = term.code if term else ""
        entry = field_counts.setdefault(
            key,
            [
                key,
                term.name_zh if term else "未标注",
                (term.name_en or term.name_zh) if term else "Not given",
                0,
            ],
        )
        entry[3] += row["n"]
    region_counts: dict[str, dict[str, int]] = {}
    for row in qs.values("region_id", "kind").annotate(n=Count("pk")).order_by():
        prov = idx.province(row["region_id"])
        kinds = region_counts.setdefault(prov, {})
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + row["n"]
    return Listings(
        months=sorted(by_month),
        by_month=by_month,
        by_kind=by_kind,
        by_field=sorted(
            (tuple(v) for v in field_counts.values()),  # type: ignore[misc]
            key=lambda v: (-v[3], v[0]),
        ),
        by_region=sorted(region_counts.items(), key=lambda kv: idx.sort_key(kv[0])),
        total=sum(by_kind.values()),
    )


# --- instruments ---------------------------------------------------------------------------------


@dataclass
class InstrumentUse:
    resource_id: int
    title_zh: str
    title_en: str
    owner: str
    region: str
    bookings: int
    hours: Decimal
    open_hours: Decimal
    rating: float | None
    ratings: int

    @property
    def utilisation(self) -> Decimal | None:
        """Booked share of the opening hours in the period, percent."""
        if not self.open_hours:
            return None
        return (self.hours * 100 / self.open_hours).quantize(Decimal("0.1"))


def _open_hours(calendar: Calendar, period: Period) -> Decimal:
    """Opening hours of a calendar over the period (blackouts not deducted)."""
    opens = calendar.opens_at.hour * 60 + calendar.opens_at.minute
    closes = calendar.closes_at.hour * 60 + calendar.closes_at.minute or 24 * 60
    per_day = max(0, closes - opens)
    weekdays = {int(d) for d in calendar.weekdays if d.isdigit()}
    days = sum(
        1 for i in range(period.days) if (period.start + timedelta(days=i)).isoweekday() in weekdays
    )
    return (Decimal(per_day * days) / 60).quantize(Decimal("0.1"))


def instruments(period: Period, region: str = "", limit: int = 10) -> list[InstrumentUse]:
    """The most-booked instruments: confirmed bookings starting in the period, their hours,
    the share of the opening hours they filled, and the ratings of their orders."""
    start, end = period.bounds()
    qs = Booking.objects.filter(
        status=Booking.Status.CONFIRMED,
        start__gte=start,
        start__lt=end,
        resource__status=Status.PUBLISHED,
    ).exclude(resource__owner__status__in=HIDDEN_OWNER_STATUSES)
    if region:
        qs = qs.filter(resource__region_id__in=regions.index().descendants(region))
    rows = list(
        qs.values("resource_id")
        .annotate(n=Count("pk"), d=Sum(_DURATION))
        .order_by("-d", "resource_id")[:limit]
    )
    ids = [r["resource_id"] for r in rows]
    resources = {
        r.pk: r for r in Resource.objects.filter(pk__in=ids).select_related("owner", "calendar")
    }
    ratings = {
        r["order__resource_id"]: (r["a"], r["n"])
        for r in Rating.objects.filter(order__resource_id__in=ids)
        .values("order__resource_id")
        .annotate(a=Avg("score"), n=Count("pk"))
        .order_by()
    }
    out = []
    for row in rows:
        res = resources[row["resource_id"]]
        try:
            calendar = res.calendar
        except Calendar.DoesNotExist:
            calendar = Calendar(resource=res)
        avg, n = ratings.get(res.pk, (None, 0))
        out.append(
            InstrumentUse(
                resource_id=res.pk,
                title_zh=res.title_zh,
                title_en=res.title_en or res.title_zh,
                owner=res.owner.name,
                region=res.region_id,
                bookings=row["n"],
                hours=_hours(row["d"]),
                open_hours=_open_hours(calendar, period),
                rating=round(float(avg), 1) if avg is not None else None,
                ratings=n,
            )
        )
    return out


# --- providers ----------------------------------------------------------------------------------


@dataclass
class ProviderUse:
    organisation_id: int
    name_zh: str
    name_en: str
    region: str
    orders: int
    service_hours: Decimal
    booked_hours: Decimal
    rating: float | None
    ratings: int


def providers(period: Period, region: str = "", limit: int = 10) -> list[ProviderUse]:
    """Providers by orders completed in the period, with service hours (recorded on the
    orders, plus confirmed bookings that started in the period) and their ratings."""
    start, end = period.bounds()
    orders = Order.objects.filter(
        status__in=DONE, completed_at__gte=start, completed_at__lt=end
    ).exclude(provider__status__in=HIDDEN_OWNER_STATUSES)
    if region:
        orders = orders.filter(provider__region_id__in=regions.index().descendants(region))
    rows = list(
        orders.values(
            "provider_id", "provider__name_zh", "provider__name_en", "provider__region_id"
        )
        .annotate(n=Count("pk"), h=Sum("service_hours"))
        .order_by("-n", "provider_id")[:limit]
    )
    ids = [r["provider_id"] for r in rows]
    booked = {
        r["resource__owner_id"]: r["d"]
        for r in Booking.objects.filter(
            status=Booking.Status.CONFIRMED,
            start__gte=start,
            start__lt=end,
            resource__owner_id__in=ids,
        )
        .values("resource__owner_id")
        .annotate(d=Sum(_DURATION))
        .order_by()
    }
    ratings = {
        r["order__provider_id"]: (r["a"], r["n"])
        for r in Rating.objects.filter(order__provider_id__in=ids, order__in=orders)
        .values("order__provider_id")
        .annotate(a=Avg("score"), n=Count("pk"))
        .order_by()
    }
    out = []
    for r in rows:
        avg, n = ratings.get(r["provider_id"], (None, 0))
        out.append(
            ProviderUse(
                organisation_id=r["provider_id"],
                name_zh=r["provider__name_zh"],
                name_en=r["provider__name_en"] or r["provider__name_zh"],
                region=r["provider__region_id"],
                orders=r["n"],
                service_hours=Decimal(r["h"] or 0).quantize(Decimal("0.1")),
                booked_hours=_hours(booked.get(r["provider_id"])),
                rating=round(float(avg), 1) if avg is not None else None,
                ratings=n,
            )
        )
    return out


def booking_totals(period: Period, region: str = "") -> tuple[int, Decimal]:
    """Confirmed bookings that start in the period, and their hours."""
    start, end = period.bounds()
    qs = Booking.objects.filter(status=Booking.Status.CONFIRMED, start__gte=start, start__lt=end)
    if region:
        qs = qs.filter(resource__region_id__in=regions.index().descendants(region))
    agg = qs.aggregate(n=Count("pk"), d=Sum(_DURATION))
    return int(agg["n"] or 0), _hours(agg["d"])
