"""Reads of the orders app, filtered by what the user may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions
from innocommons.accounts.models import Organisation
from innocommons.catalog.models import Kind, Resource
from innocommons.core.errors import NotFound
from innocommons.orders import hours, workflow
from innocommons.orders.models import Blackout, Booking, Order, Rating
from innocommons.orders.permissions import can_view, sides

DONE = (Order.Status.COMPLETED, Order.Status.CLOSED)
MAX_DAYS = 31


def _my_orgs(user: Any) -> list[int]:
    return list(permissions.memberships(user))


# --- bookings --------------------------------------------------------------------------------


def _bookings() -> QuerySet[Booking]:
    return Booking.objects.select_related(
        "resource__owner", "resource__instrument", "organisation", "order"
    )


def _when(qs: QuerySet[Booking], when: str) -> QuerySet[Booking]:
    now = timezone.now()
    if when == "upcoming":
        return qs.filter(end__gt=now).order_by("start", "id")
    if when == "past":
        return qs.filter(end__lte=now).order_by("-start", "-id")
    return qs.order_by("-start", "-id")


def bookings_made(user: Any, *, when: str = "upcoming", status: str = "") -> QuerySet[Booking]:
    """Bookings made by the user's organisations."""
    qs = _bookings().filter(organisation_id__in=_my_orgs(user))
    if status in Booking.Status.values:
        qs = qs.filter(status=status)
    return _when(qs, when)


def bookings_received(
    user: Any, *, when: str = "upcoming", status: str = "", resource_id: int | None = None
) -> QuerySet[Booking]:
    """Bookings of instruments owned by the user's organisations (pending ones first when
    asked for with status="pending")."""
    qs = _bookings().filter(resource__owner_id__in=_my_orgs(user))
    if resource_id is not None:
        qs = qs.filter(resource_id=resource_id)
    if status in Booking.Status.values:
        qs = qs.filter(status=status)
    return _when(qs, when)


def get_booking(user: Any, booking_id: int) -> Booking:
    booking = _bookings().filter(pk=booking_id).first()
    if booking is None or not can_view(
        user, client_id=booking.organisation_id, provider_id=booking.resource.owner_id
    ):
        raise NotFound(_("Booking not found."))
    return booking


def booking_sides(user: Any, booking: Booking) -> set[str]:
    return sides(user, client_id=booking.organisation_id, provider_id=booking.resource.owner_id)


def booking_organisations(user: Any, resource: Resource) -> list[Organisation]:
    """The user's verified organisations that may book or order `resource`."""
    ids = [i for i in _my_orgs(user) if i != resource.owner_id]
    return list(
        Organisation.objects.filter(pk__in=ids, status=Organisation.Status.VERIFIED).order_by(
            "name_zh"
        )
    )


def orderable_bookings(user: Any, resource: Resource) -> QuerySet[Booking]:
    """The user's active, not yet ordered bookings of `resource` (for an instrument order)."""
    return (
        _bookings()
        .filter(
            resource_id=resource.pk,
            organisation_id__in=_my_orgs(user),
            status__in=Booking.ACTIVE,
            order__isnull=True,
        )
        .order_by("start")
    )


def feed_bookings(organisation_id: int) -> QuerySet[Booking]:
    """For the iCalendar feed: the organisation's bookings and those of its instruments,
    from 90 days back (cancelled ones too, so calendars remove them); the latest 5,000."""
    since = timezone.now() - timedelta(days=90)
    return (
        Booking.objects.select_related("resource__instrument", "organisation")
        .filter(Q(organisation_id=organisation_id) | Q(resource__owner_id=organisation_id))
        .filter(end__gt=since)
        .order_by("-start", "-id")[:5000]
    )


# --- free slots ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    suggested_end: datetime | None = None  # start + the minimum booking, for the form

    @property
    def minutes(self) -> int:
        return int((self.end - self.start) / timedelta(minutes=1))

    @property
    def label(self) -> str:
        return hours.fmt_range(self.start, self.end)


@dataclass
class Day:
    day: date
    opening: tuple[datetime, datetime] | None
    slots: list[Slot] = field(default_factory=list)


def _round_up(moment: datetime, minutes: int = 15) -> datetime:
    step = timedelta(minutes=minutes)
    local = hours.local(moment)
    floor = local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)
    return floor if floor == local else floor + step


def free_slots(resource: Resource, date_from: date, days: int = 7) -> list[Day]:
    """Free time per day (Beijing dates) from `date_from`: opening hours minus blackouts and
    active bookings, from the lead time on, up to the horizon; gaps shorter than the
    minimum booking are left out. Two queries whatever the range."""
    rules = hours.rules_for(resource)
    cal = rules.calendar
    days = max(1, min(days, MAX_DAYS))
    lo = datetime.combine(date_from, time(0), hours.TZ)
    hi = datetime.combine(date_from + timedelta(days=days), time(0), hours.TZ)
    taken: list[tuple[datetime, datetime]] = list(
        Booking.objects.filter(
            resource_id=resource.pk,
            status__in=Booking.ACTIVE,
            start__lt=hi,
            start__gt=lo - hours.MAX_SPAN,
            end__gt=lo,
        ).values_list("start", "end")
    )
    if cal.pk is not None:
        taken += list(
            Blackout.objects.filter(calendar_id=cal.pk, start__lt=hi, end__gt=lo).values_list(
                "start", "end"
            )
        )
    earliest = _round_up(timezone.now() + rules.lead_time)
    last_day = hours.today() + rules.horizon
    out = []
    for n in range(days):
        day = date_from + timedelta(days=n)
        win = hours.window(cal, day) if day <= last_day else None
        entry = Day(day=day, opening=win)
        if win is not None and max(win[0], earliest) < win[1]:
            gaps = hours.subtract((max(win[0], earliest), win[1]), taken)
            shortest = timedelta(minutes=rules.min_minutes)
            entry.slots = [Slot(s, e, min(e, s + shortest)) for s, e in gaps if e - s >= shortest]
        out.append(entry)
    return out


def next_free_slot(resource: Resource) -> Slot | None:
    """The first bookable gap within the horizon, looking a fortnight at a time."""
    rules = hours.rules_for(resource)
    start = hours.local(timezone.now() + rules.lead_time).date()
    last = hours.today() + rules.horizon
    while start <= last:
        for day in free_slots(resource, start, 14):
            if day.slots:
                return day.slots[0]
        start += timedelta(days=14)
    return None


# --- orders ----------------------------------------------------------------------------------


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("client", "provider", "resource", "booking", "rating")


def orders_for(user: Any, role: str = "placed", status: str = "") -> QuerySet[Order]:
    """Orders placed by the user's organisations (role "placed") or received by them."""
    orgs = _my_orgs(user)
    qs = (
        _orders().filter(provider_id__in=orgs)
        if role == "received"
        else (_orders().filter(client_id__in=orgs))
    )
    if status == "open":
        qs = qs.exclude(status__in=workflow.FINAL)
    elif status in Order.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-status_changed_at", "-id")


def get_order(user: Any, order_id: int) -> Order:
    order = _orders().select_related("resource__region", "requested_by").filter(pk=order_id).first()
    if order is None or not can_view(
        user, client_id=order.client_id, provider_id=order.provider_id
    ):
        raise NotFound(_("Order not found."))
    return order


def order_sides(user: Any, order: Order) -> set[str]:
    return sides(user, client_id=order.client_id, provider_id=order.provider_id)


@dataclass(frozen=True)
class Progress:
    """Where an order stands: its stage on the main path, who acts next, since when, and
    what the viewer may do now."""

    path: list[tuple[str, str, str]]  # (status, label, "done" | "current" | "todo")
    next_sides: frozenset[str]
    since: datetime
    steps: list[workflow.Step]
    final: bool


def progress(user: Any, order: Order) -> Progress:
    status = order.status
    index = workflow.PATH.index(Order.Status(status)) if status in workflow.PATH else -1
    labels = dict(Order.Status.choices)
    path = []
    for i, s in enumerate(workflow.PATH):
        state = "done" if i < index else "current" if i == index else "todo"
        path.append((str(s), str(labels[s]), state))
    mine = order_sides(user, order)
    steps = workflow.available(status, mine)
    rated = hasattr(order, "rating")  # the reverse one-to-one raises when missing
    steps = [s for s in steps if not (s.name == "rate" and rated)]
    return Progress(
        path=path,
        next_sides=workflow.next_sides(status),
        since=order.status_changed_at,
        steps=steps,
        final=status in workflow.FINAL,
    )


def suggested_quote_fen(order: Order) -> int | None:
    """A starting point for the provider's quote: the listed price, or for a booked
    instrument the hourly fee times the booked hours."""
    resource = order.resource
    if resource.kind == Kind.INSTRUMENT and order.booking is not None:
        fee = getattr(getattr(resource, "instrument", None), "fee_per_hour_fen", None)
        if fee is not None:
            return int(fee * order.booking.minutes // 60)
    return resource.price_fen


# --- usage statistics (DESIGN §6: providers are rewarded by sharing hours and satisfaction) --


@dataclass(frozen=True)
class Usage:
    service_hours: Decimal
    rating_avg: float | None
    rating_count: int


def usage(*, resource_id: int | None = None, organisation_id: int | None = None) -> Usage:
    """Service hours and ratings of one resource or of all of a provider's resources.

    Hours = minutes of confirmed bookings that have ended, plus the service hours recorded
    on completed orders; a booking whose completed order recorded hours counts once, as
    the order's hours.
    """
    if resource_id is not None:
        bookings = Booking.objects.filter(resource_id=resource_id)
        orders = Order.objects.filter(resource_id=resource_id)
    else:
        bookings = Booking.objects.filter(resource__owner_id=organisation_id)
        orders = Order.objects.filter(provider_id=organisation_id)
    counted_by_order = Q(order__status__in=DONE, order__service_hours__isnull=False)
    used = (
        bookings.filter(status=Booking.Status.CONFIRMED, end__lte=timezone.now())
        .exclude(counted_by_order)
        .aggregate(t=Sum(ExpressionWrapper(F("end") - F("start"), output_field=DurationField())))[
            "t"
        ]
    )
    booked = Decimal(int((used or timedelta()) / timedelta(minutes=1))) / 60
    done = orders.filter(status__in=DONE)
    ordered = done.aggregate(h=Sum("service_hours"))["h"] or Decimal(0)
    ratings = Rating.objects.filter(order__in=orders).aggregate(a=Avg("score"), n=Count("pk"))
    return Usage(
        service_hours=(booked + ordered).quantize(Decimal("0.1")),
        rating_avg=round(float(ratings["a"]), 1) if ratings["a"] is not None else None,
        rating_count=int(ratings["n"]),
    )


def resource_usage(user: Any, resource: Resource) -> dict[str, Any]:
    """Context for `orders/partials/resource_usage.html` on a resource's page."""
    bookable = resource.kind == Kind.INSTRUMENT
    orderable = resource.kind in (Kind.SERVICE, Kind.INSTRUMENT)
    is_provider = permissions.is_member(user, resource.owner_id)
    return {
        "resource": resource,
        "usage": usage(resource_id=resource.pk) if orderable else None,
        "next_slot": next_free_slot(resource) if bookable else None,
        "bookable": bookable,
        "orderable": orderable,
        "is_provider": is_provider,
        "book_url": reverse("orders:book", args=[resource.pk]) if bookable else "",
        "order_url": reverse("orders:order_new", args=[resource.pk]) if orderable else "",
        "calendar_url": reverse("orders:calendar", args=[resource.pk])
        if bookable and is_provider
        else "",
    }
