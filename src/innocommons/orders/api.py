"""API of the orders app (mounted under /api/v1/): bookings, calendars, free slots, orders.

Handlers parse, call one service or selector, and present; the services decide.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from innocommons.accounts.permissions import acting_user
from innocommons.catalog import selectors as catalog_selectors
from innocommons.catalog.models import Resource
from innocommons.core.apiutils import AUTH, current_user
from innocommons.core.errors import NotFound
from innocommons.orders import hours, selectors, services
from innocommons.orders.models import Blackout, Booking, Order
from innocommons.orders.reports import report_response
from innocommons.orders.workflow import next_sides

router = Router(tags=["orders"])


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


def _page(qs: Any, query: PageQuery, convert: Any) -> dict[str, Any]:
    total = qs.count()
    start = (query.page - 1) * query.page_size
    return {
        "total": total,
        "page": query.page,
        "page_size": query.page_size,
        "items": [convert(x) for x in qs[start : start + query.page_size]],
    }


# --- bookings --------------------------------------------------------------------------------


class BookingOut(Schema):
    id: int
    resource: int
    resource_title: str
    organisation: int
    organisation_name: str
    start: datetime
    end: datetime
    status: str
    purpose: str
    status_reason: str
    created_at: datetime
    decided_at: datetime | None
    order: int | None


def booking_out(b: Booking) -> BookingOut:
    order = b.order if hasattr(b, "order") else None  # reverse one-to-one raises when missing
    return BookingOut(
        id=b.pk,
        resource=b.resource_id,
        resource_title=b.resource.title,
        organisation=b.organisation_id,
        organisation_name=b.organisation.name,
        start=b.start,
        end=b.end,
        status=b.status,
        purpose=b.purpose,
        status_reason=b.status_reason,
        created_at=b.created_at,
        decided_at=b.decided_at,
        order=order.pk if order is not None else None,
    )


class BookingPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[BookingOut]


class BookingQuery(PageQuery):
    role: Literal["made", "received"] = "made"
    when: Literal["upcoming", "past", "all"] = "upcoming"
    status: str = Field("", max_length=12)


class BookingIn(Schema):
    organisation: int
    resource: int
    start: datetime = Field(description="ISO 8601; without an offset it is Beijing time")
    end: datetime
    purpose: str = Field("", max_length=500)


class ReasonIn(Schema):
    reason: str = Field("", max_length=500)


@router.get("/bookings", response=BookingPage, auth=AUTH, summary="My organisations' bookings")
def list_bookings(request: HttpRequest, query: Query[BookingQuery]) -> Any:
    user = acting_user(request)
    if query.role == "received":
        qs = selectors.bookings_received(user, when=query.when, status=query.status)
    else:
        qs = selectors.bookings_made(user, when=query.when, status=query.status)
    return _page(qs, query, booking_out)


@router.get("/bookings/{booking_id}", response=BookingOut, auth=AUTH, summary="One booking")
def get_booking(request: HttpRequest, booking_id: int) -> Any:
    return booking_out(selectors.get_booking(acting_user(request), booking_id))


@router.post("/bookings", response={201: BookingOut}, auth=AUTH, summary="Book an instrument")
def create_booking(request: HttpRequest, payload: BookingIn) -> Any:
    booking = services.book_instrument(
        actor=acting_user(request),
        organisation_id=payload.organisation,
        resource_id=payload.resource,
        start=payload.start,
        end=payload.end,
        purpose=payload.purpose,
    )
    return Status(201, booking_out(selectors.get_booking(request.user, booking.pk)))


@router.post("/bookings/{booking_id}/approve", response=BookingOut, auth=AUTH)
def approve_booking(request: HttpRequest, booking_id: int) -> Any:
    """The provider confirms a booking awaiting approval."""
    services.approve_booking(actor=acting_user(request), booking_id=booking_id)
    return booking_out(selectors.get_booking(request.user, booking_id))


@router.post("/bookings/{booking_id}/reject", response=BookingOut, auth=AUTH)
def reject_booking(request: HttpRequest, booking_id: int, payload: ReasonIn) -> Any:
    """The provider refuses a booking awaiting approval (reason required)."""
    services.reject_booking(
        actor=acting_user(request), booking_id=booking_id, reason=payload.reason
    )
    return booking_out(selectors.get_booking(request.user, booking_id))


@router.post("/bookings/{booking_id}/cancel", response=BookingOut, auth=AUTH)
def cancel_booking(request: HttpRequest, booking_id: int, payload: ReasonIn) -> Any:
    """The booker (before the notice period) or the provider (with a reason) cancels."""
    services.cancel_booking(
        actor=acting_user(request), booking_id=booking_id, reason=payload.reason
    )
    return booking_out(selectors.get_booking(request.user, booking_id))


# --- calendars, blackouts, free slots ---------------------------------------------------------


class CalendarOut(Schema):
    resource: int
    weekdays: str
    opens_at: time
    closes_at: time
    horizon_days: int
    max_future_per_org: int
    cancel_notice_hours: int
    min_booking_minutes: int
    max_booking_minutes: int
    lead_time_hours: int
    needs_approval: bool


class CalendarIn(Schema):
    weekdays: str = Field(max_length=20, description='ISO weekdays, e.g. "12345"')
    opens_at: time
    closes_at: time = Field(description="00:00 means midnight at the end of the day")
    horizon_days: int
    max_future_per_org: int
    cancel_notice_hours: int


class BlackoutOut(Schema):
    id: int
    start: datetime
    end: datetime
    reason: str


class BlackoutIn(Schema):
    start: datetime
    end: datetime
    reason: str = Field("", max_length=200)


def _instrument(request: HttpRequest, resource_id: int) -> Resource:
    resource = catalog_selectors.get_resource(current_user(request), resource_id)
    if resource.kind != "instrument":
        raise NotFound(_("Instrument not found."))
    return resource


def calendar_out(resource: Resource) -> CalendarOut:
    rules = hours.rules_for(resource)
    cal = rules.calendar
    return CalendarOut(
        resource=resource.pk,
        weekdays=cal.weekdays,
        opens_at=cal.opens_at,
        closes_at=cal.closes_at,
        horizon_days=cal.horizon_days,
        max_future_per_org=cal.max_future_per_org,
        cancel_notice_hours=cal.cancel_notice_hours,
        min_booking_minutes=rules.min_minutes,
        max_booking_minutes=rules.max_minutes,
        lead_time_hours=int(rules.lead_time.total_seconds() // 3600),
        needs_approval=rules.needs_approval,
    )


@router.get("/resources/{resource_id}/calendar", response=CalendarOut, summary="Booking rules")
def get_calendar(request: HttpRequest, resource_id: int) -> Any:
    return calendar_out(_instrument(request, resource_id))


@router.put(
    "/resources/{resource_id}/calendar",
    response=CalendarOut,
    auth=AUTH,
    summary="Set opening days, hours and booking limits (the instrument's provider)",
)
def set_calendar(request: HttpRequest, resource_id: int, payload: CalendarIn) -> Any:
    services.set_calendar(actor=acting_user(request), resource_id=resource_id, **payload.dict())
    return calendar_out(
        Resource.objects.select_related("instrument", "calendar").get(pk=resource_id)
    )


@router.get(
    "/resources/{resource_id}/blackouts",
    response=list[BlackoutOut],
    summary="Upcoming periods the instrument cannot be booked",
)
def list_blackouts(request: HttpRequest, resource_id: int) -> Any:
    resource = _instrument(request, resource_id)
    return list(Blackout.objects.filter(calendar_id=resource.pk, end__gt=timezone.now()))


@router.post(
    "/resources/{resource_id}/blackouts",
    response={201: BlackoutOut},
    auth=AUTH,
    summary="Block a period (the instrument's provider)",
)
def add_blackout(request: HttpRequest, resource_id: int, payload: BlackoutIn) -> Any:
    blackout = services.add_blackout(
        actor=acting_user(request),
        resource_id=resource_id,
        start=payload.start,
        end=payload.end,
        reason=payload.reason,
    )
    return Status(201, blackout)


@router.delete(
    "/resources/{resource_id}/blackouts/{blackout_id}",
    response={204: None},
    auth=AUTH,
    summary="Lift a blocked period (the instrument's provider)",
)
def remove_blackout(request: HttpRequest, resource_id: int, blackout_id: int) -> Any:
    services.remove_blackout(
        actor=acting_user(request), resource_id=resource_id, blackout_id=blackout_id
    )
    return Status(204, None)


class SlotOut(Schema):
    start: datetime
    end: datetime
    minutes: int


class DayOut(Schema):
    date: date
    open: bool
    opens_at: datetime | None
    closes_at: datetime | None
    slots: list[SlotOut]


class SlotsOut(Schema):
    resource: int
    days: list[DayOut]


class SlotsQuery(Schema):
    date_from: date | None = Field(None, description="Beijing date; default today")
    days: int = Field(7, ge=1, le=31)


@router.get(
    "/resources/{resource_id}/free-slots",
    response=SlotsOut,
    summary="Free time per day (opening hours minus bookings and blackouts)",
)
def free_slots(request: HttpRequest, resource_id: int, query: Query[SlotsQuery]) -> Any:
    resource = _instrument(request, resource_id)
    days = selectors.free_slots(resource, query.date_from or hours.today(), query.days)
    return SlotsOut(
        resource=resource.pk,
        days=[
            DayOut(
                date=d.day,
                open=d.opening is not None,
                opens_at=d.opening[0] if d.opening else None,
                closes_at=d.opening[1] if d.opening else None,
                slots=[SlotOut(start=s.start, end=s.end, minutes=s.minutes) for s in d.slots],
            )
            for d in days
        ],
    )


class UsageOut(Schema):
    service_hours: Decimal
    rating_avg: float | None
    rating_count: int
    next_free_slot: SlotOut | None


@router.get(
    "/resources/{resource_id}/usage",
    response=UsageOut,
    summary="Service hours, rating and next free slot of a listing",
)
def resource_usage(request: HttpRequest, resource_id: int) -> Any:
    resource = catalog_selectors.get_resource(current_user(request), resource_id)
    usage = selectors.usage(resource_id=resource.pk)
    slot = selectors.next_free_slot(resource) if resource.kind == "instrument" else None
    return UsageOut(
        service_hours=usage.service_hours,
        rating_avg=usage.rating_avg,
        rating_count=usage.rating_count,
        next_free_slot=SlotOut(start=slot.start, end=slot.end, minutes=slot.minutes)
        if slot
        else None,
    )


@router.get(
    "/organisations/{org_id}/usage",
    response=UsageOut,
    summary="Service hours and rating over all of a provider's listings",
)
def organisation_usage(request: HttpRequest, org_id: int) -> Any:
    from innocommons.accounts.selectors import get_organisation

    org = get_organisation(current_user(request), org_id)
    usage = selectors.usage(organisation_id=org.pk)
    return UsageOut(
        service_hours=usage.service_hours,
        rating_avg=usage.rating_avg,
        rating_count=usage.rating_count,
        next_free_slot=None,
    )


# --- orders ----------------------------------------------------------------------------------


class RatingOut(Schema):
    score: int
    comment: str


class OrderOut(Schema):
    id: int
    ref: str
    client: int
    client_name: str
    provider: int
    provider_name: str
    resource: int
    resource_title: str
    booking: int | None
    description: str
    status: str
    next: list[str] = Field(description="The side(s) whose move it is: client, provider")
    status_changed_at: datetime
    status_reason: str
    quote_fen: int | None
    fee_fen: int | None
    invoice_no: str | None
    service_hours: Decimal | None
    report_url: str | None
    created_at: datetime
    completed_at: datetime | None
    rating: RatingOut | None


def order_out(o: Order) -> OrderOut:
    rating = o.rating if hasattr(o, "rating") else None
    return OrderOut(
        id=o.pk,
        ref=o.ref,
        client=o.client_id,
        client_name=o.client.name,
        provider=o.provider_id,
        provider_name=o.provider.name,
        resource=o.resource_id,
        resource_title=o.resource.title,
        booking=o.booking_id,
        description=o.description,
        status=o.status,
        next=sorted(next_sides(o.status)),
        status_changed_at=o.status_changed_at,
        status_reason=o.status_reason,
        quote_fen=o.quote_fen,
        fee_fen=o.fee_fen,
        invoice_no=o.invoice_no,
        service_hours=o.service_hours,
        report_url=f"/api/v1/orders/{o.pk}/report" if o.report else None,
        created_at=o.created_at,
        completed_at=o.completed_at,
        rating=RatingOut(score=rating.score, comment=rating.comment) if rating else None,
    )


class OrderPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[OrderOut]


class OrderQuery(PageQuery):
    role: Literal["placed", "received"] = "placed"
    status: str = Field("", max_length=12, description='a status, or "open"')


class OrderIn(Schema):
    client: int
    resource: int
    description: str = Field("", max_length=5000)
    booking: int | None = None


class QuoteIn(Schema):
    amount_fen: int = Field(ge=0, description="The fee in fen (1 yuan = 100 fen)")


class InvoiceIn(Schema):
    invoice_no: str = Field(max_length=40)


class RateIn(Schema):
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)


def _order(request: HttpRequest, order_id: int) -> OrderOut:
    return order_out(selectors.get_order(request.user, order_id))


@router.get("/orders", response=OrderPage, auth=AUTH, summary="Orders placed or received")
def list_orders(request: HttpRequest, query: Query[OrderQuery]) -> Any:
    qs = selectors.orders_for(acting_user(request), query.role, query.status)
    return _page(qs, query, order_out)


@router.get("/orders/{order_id}", response=OrderOut, auth=AUTH, summary="One order")
def get_order(request: HttpRequest, order_id: int) -> Any:
    return order_out(selectors.get_order(acting_user(request), order_id))


@router.post("/orders", response={201: OrderOut}, auth=AUTH, summary="Request a service")
def request_order(request: HttpRequest, payload: OrderIn) -> Any:
    order = services.request_order(
        actor=acting_user(request),
        client_id=payload.client,
        resource_id=payload.resource,
        description=payload.description,
        booking_id=payload.booking,
    )
    return Status(201, _order(request, order.pk))


@router.post("/orders/{order_id}/quote", response=OrderOut, auth=AUTH, summary="Quote (provider)")
def quote_order(request: HttpRequest, order_id: int, payload: QuoteIn) -> Any:
    services.quote_order(
        actor=acting_user(request), order_id=order_id, amount_fen=payload.amount_fen
    )
    return _order(request, order_id)


@router.post("/orders/{order_id}/accept", response=OrderOut, auth=AUTH, summary="Accept (client)")
def accept_quote(request: HttpRequest, order_id: int) -> Any:
    services.accept_quote(actor=acting_user(request), order_id=order_id)
    return _order(request, order_id)


@router.post("/orders/{order_id}/decline", response=OrderOut, auth=AUTH, summary="Decline")
def decline_order(request: HttpRequest, order_id: int, payload: ReasonIn) -> Any:
    """The provider turns down a requested or quoted order (reason required)."""
    services.decline_order(actor=acting_user(request), order_id=order_id, reason=payload.reason)
    return _order(request, order_id)


@router.post("/orders/{order_id}/start", response=OrderOut, auth=AUTH, summary="Start (provider)")
def start_order(request: HttpRequest, order_id: int) -> Any:
    services.start_order(actor=acting_user(request), order_id=order_id)
    return _order(request, order_id)


@router.post("/orders/{order_id}/deliver", response=OrderOut, auth=AUTH, summary="Deliver")
def deliver_order(
    request: HttpRequest,
    order_id: int,
    report: File[UploadedFile],
    service_hours: Form[str] = "",  # type: ignore[assignment]
) -> Any:
    """Multipart upload of the report (pdf, docx, xlsx, zip, png, jpg; at most 20 MiB) with
    the service hours (default: the booked time)."""
    services.deliver_order(
        actor=acting_user(request),
        order_id=order_id,
        report=report,
        service_hours=service_hours or None,
    )
    return _order(request, order_id)


@router.post("/orders/{order_id}/complete", response=OrderOut, auth=AUTH, summary="Confirm")
def complete_order(request: HttpRequest, order_id: int) -> Any:
    """The client confirms the delivery."""
    services.complete_order(actor=acting_user(request), order_id=order_id)
    return _order(request, order_id)


@router.post("/orders/{order_id}/close", response=OrderOut, auth=AUTH, summary="Close")
def close_order(request: HttpRequest, order_id: int) -> Any:
    services.close_order(actor=acting_user(request), order_id=order_id)
    return _order(request, order_id)


@router.post("/orders/{order_id}/cancel", response=OrderOut, auth=AUTH, summary="Cancel")
def cancel_order(request: HttpRequest, order_id: int, payload: ReasonIn) -> Any:
    """Before work starts: the client, or the provider with a reason."""
    services.cancel_order(actor=acting_user(request), order_id=order_id, reason=payload.reason)
    return _order(request, order_id)


@router.post("/orders/{order_id}/invoice", response=OrderOut, auth=AUTH, summary="Invoice no.")
def set_invoice(request: HttpRequest, order_id: int, payload: InvoiceIn) -> Any:
    """The provider records its invoice number (unique per provider; 409 when used)."""
    services.set_invoice_number(
        actor=acting_user(request), order_id=order_id, invoice_no=payload.invoice_no
    )
    return _order(request, order_id)


@router.post("/orders/{order_id}/rate", response=OrderOut, auth=AUTH, summary="Rate (client)")
def rate_order(request: HttpRequest, order_id: int, payload: RateIn) -> Any:
    services.rate_order(
        actor=acting_user(request),
        order_id=order_id,
        score=payload.score,
        comment=payload.comment,
    )
    return _order(request, order_id)


@router.get("/orders/{order_id}/report", auth=AUTH, summary="Download the delivered report")
def order_report(request: HttpRequest, order_id: int) -> HttpResponseBase:
    order = selectors.get_order(acting_user(request), order_id)
    return report_response(order)
