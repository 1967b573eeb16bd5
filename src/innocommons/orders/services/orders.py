"""Every write about service orders. Each transition is looked up in `workflow.STEPS`:
the wrong side gets PermissionDenied (403), the wrong state a 409, outsiders a 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from innocommons.accounts.models import User
from innocommons.catalog.models import Kind, Resource
from innocommons.core import audit
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.orders import hours, reports
from innocommons.orders.models import Booking, Order, Rating
from innocommons.orders.services import common
from innocommons.orders.workflow import CLIENT, PROVIDER, STEPS

MAX_FEN = 100_000_000_000 * 100  # 1000 亿 yuan: anything above is a typo
MAX_HOURS = Decimal("999999.99")
MAX_REASON = 500

SIDE_NAMES = {CLIENT: gettext_lazy("the client"), PROVIDER: gettext_lazy("the provider")}


def make_ref(order: Order) -> str:
    """ "OR2026-000123": the year of the request and the order's unique id, so two requests
    can never get the same number however many arrive at once."""
    return f"OR{hours.local(order.created_at).year}-{order.pk:06d}"


def request_order(
    *,
    actor: User,
    client_id: int,
    resource_id: int,
    description: str,
    booking_id: int | None = None,
) -> Order:
    """A verified organisation asks a provider for a service, or for the use of an
    instrument (optionally for one of its own bookings of that instrument)."""
    client = common.client_organisation(actor, client_id, field="client")
    description = description.strip()[:5000]
    with transaction.atomic():
        resource = common.check_offered(
            Resource.objects.select_related("owner", "region").filter(pk=resource_id).first(),
            (Kind.SERVICE, Kind.INSTRUMENT),
        )
        common.not_own(resource, client)
        booking = None
        if booking_id is not None:
            booking = _own_booking(booking_id, resource, client.pk)
        if not description and booking is None:
            raise DomainError(_("Please describe what you need."), field="description")
        order = Order(
            ref=f"new-{uuid.uuid4().hex[:16]}",  # replaced by make_ref once the id is known
            client=client,
            provider_id=resource.owner_id,
            resource=resource,
            booking=booking,
            requested_by=actor,
            description=description,
        )
        try:
            with transaction.atomic():
                order.save()
        except IntegrityError:
            raise _booking_taken() from None
        order.ref = make_ref(order)
        order.save(update_fields=["ref"])
        audit.record(
            actor=actor,
            action="order.request",
            target=order,
            region=resource.region,
            after={"status": order.status, "ref": order.ref, "booking": booking_id},
        )
    return order


def _booking_taken() -> DomainError:
    return DomainError(
        _("This booking already belongs to another order."), field="booking", status=409
    )


def _own_booking(booking_id: int, resource: Resource, client_id: int) -> Booking:
    booking = Booking.objects.select_for_update().filter(pk=booking_id).first()
    if booking is None or booking.organisation_id != client_id:
        raise NotFound(_("Booking not found."), field="booking")
    if resource.kind != Kind.INSTRUMENT or booking.resource_id != resource.pk:
        raise DomainError(_("The booking is for another instrument."), field="booking")
    if booking.status not in Booking.ACTIVE:
        raise DomainError(
            _("The booking is %(state)s.") % {"state": booking.get_status_display()},
            field="booking",
            status=409,
        )
    if Order.objects.filter(booking_id=booking.pk).exists():
        raise _booking_taken()
    return booking


def _order_for_update(actor: Any, order_id: int) -> tuple[Order, set[str]]:
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("resource__region", "client", "provider", "booking")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound(_("Order not found."))
    acting = common.sides(actor, client_id=order.client_id, provider_id=order.provider_id)
    if not acting and not common.can_view(
        actor, client_id=order.client_id, provider_id=order.provider_id
    ):
        raise NotFound(_("Order not found."))
    return order, acting


def _transition(
    actor: User,
    order_id: int,
    step_name: str,
    *,
    reason: str = "",
    change: Callable[[Order], dict[str, Any]] | None = None,
) -> Order:
    """Take one step of the workflow: party, state, reason, then `change`, save, audit."""
    step = STEPS[step_name]
    reason = reason.strip()[:MAX_REASON]
    with transaction.atomic():
        order, acting = _order_for_update(actor, order_id)
        sides = acting & step.sides
        if not sides:
            raise PermissionDenied(
                _("Only %(side)s can do this.")
                % {"side": " / ".join(str(SIDE_NAMES[s]) for s in sorted(step.sides))}
            )
        if order.status not in step.sources:
            raise DomainError(
                _("This cannot be done to an order that is %(state)s.")
                % {"state": order.get_status_display()},
                field="status",
                status=409,
            )
        if sides <= step.reason_from and not reason:
            raise DomainError(_("Please give a reason."), field="reason")
        before = {"status": order.status}
        details = change(order) if change else {}
        fields = list(details)
        if step.target is not None:  # a revised quote also restarts "since when"
            order.status = step.target
            order.status_changed_at = timezone.now()
            order.status_reason = reason
            fields += ["status", "status_changed_at", "status_reason"]
        if fields:
            order.save(update_fields=sorted(set(fields)))
        audit.record(
            actor=actor,
            action=f"order.{step_name}",
            target=order,
            region=order.resource.region,
            before=before,
            after={"status": order.status, "by": sorted(sides)} | details,
            note=reason,
        )
    return order


def quote_order(*, actor: User, order_id: int, amount_fen: int) -> Order:
    """The provider states its fee (in fen); it may revise it until the client accepts."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise DomainError(_("Enter the amount in fen as a whole number."), field="amount_fen")
    if not 0 <= amount_fen <= MAX_FEN:
        raise DomainError(_("The amount must be zero or more."), field="amount_fen")

    def change(order: Order) -> dict[str, Any]:
        order.quote_fen = amount_fen
        return {"quote_fen": amount_fen}

    return _transition(actor, order_id, "quote", change=change)


def accept_quote(*, actor: User, order_id: int) -> Order:
    """The client accepts the quote, which fixes the fee."""

    def change(order: Order) -> dict[str, Any]:
        order.fee_fen = order.quote_fen
        return {"fee_fen": order.fee_fen}

    return _transition(actor, order_id, "accept", change=change)


def decline_order(*, actor: User, order_id: int, reason: str) -> Order:
    """The provider turns the request down, saying why."""
    return _transition(actor, order_id, "decline", reason=reason)


def start_order(*, actor: User, order_id: int) -> Order:
    """The provider starts the work on an accepted order."""
    return _transition(actor, order_id, "start")


def _hours(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(
            _("Enter the service hours as a number."), field="service_hours"
        ) from None
    if not amount.is_finite() or not 0 <= amount <= MAX_HOURS:
        raise DomainError(
            _("The service hours must be between 0 and 999999.99."), field="service_hours"
        )
    return amount.quantize(Decimal("0.01"))


def deliver_order(
    *,
    actor: User,
    order_id: int,
    report: UploadedFile | Any,
    service_hours: Decimal | str | float | None = None,
) -> Order:
    """The provider delivers its report (checked by type, content and size) and records the
    service hours (by default, the booked time of the order's booking)."""
    if report is None:
        raise DomainError(_("Attach the report."), field="report")
    name = reports.check_report(report)
    given = None if service_hours in (None, "") else _hours(service_hours)

    saved: list[str] = []

    def change(order: Order) -> dict[str, Any]:
        hours_used = given
        if hours_used is None:
            if order.booking is None:
                raise DomainError(_("Enter the service hours."), field="service_hours")
            hours_used = (Decimal(order.booking.minutes) / 60).quantize(Decimal("0.01"))
        order.service_hours = hours_used
        report.seek(0)
        order.report.save(f"{order.ref}-{name}", report, save=False)
        saved.append(str(order.report.name))
        return {"service_hours": str(hours_used), "report": order.report.name}

    try:
        return _transition(actor, order_id, "deliver", change=change)
    except BaseException:
        # The transaction rolled back: do not keep a stored file that nothing points to.
        for stored in saved:
            default_storage.delete(stored)
        raise


def complete_order(*, actor: User, order_id: int) -> Order:
    """The client confirms the delivery: the order is completed (vouchers can now apply)."""

    def change(order: Order) -> dict[str, Any]:
        order.completed_at = timezone.now()
        return {"completed_at": order.completed_at.isoformat()}

    return _transition(actor, order_id, "complete", change=change)


def close_order(*, actor: User, order_id: int) -> Order:
    """Either party closes a completed order."""
    return _transition(actor, order_id, "close")


def cancel_order(*, actor: User, order_id: int, reason: str = "") -> Order:
    """The client (any reason) or the provider (with a reason) cancels before work starts."""
    return _transition(actor, order_id, "cancel", reason=reason)


def set_invoice_number(*, actor: User, order_id: int, invoice_no: str) -> Order:
    """The provider records its invoice number; numbers are unique per provider."""
    number = invoice_no.strip()
    if not number:
        raise DomainError(_("Enter the invoice number."), field="invoice_no")
    if len(number) > 40:
        raise DomainError(
            _("The invoice number is too long (at most 40 characters)."), field="invoice_no"
        )

    def change(order: Order) -> dict[str, Any]:
        taken = (
            Order.objects.filter(provider_id=order.provider_id, invoice_no=number)
            .exclude(pk=order.pk)
            .exists()
        )
        if taken:
            raise _invoice_taken(number)
        order.invoice_no = number
        return {"invoice_no": number}

    try:
        with transaction.atomic():
            return _transition(actor, order_id, "invoice", change=change)
    except IntegrityError:  # a simultaneous request recorded the same number
        raise _invoice_taken(number) from None


def _invoice_taken(number: str) -> DomainError:
    return DomainError(
        _("Invoice number %(no)s is already used on another of your orders.") % {"no": number},
        field="invoice_no",
        status=409,
    )


def rate_order(*, actor: User, order_id: int, score: int, comment: str = "") -> Rating:
    """The client rates a completed order once, 1 to 5 stars."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise DomainError(_("The score must be a whole number from 1 to 5."), field="score")
    comment = comment.strip()[:2000]
    created: list[Rating] = []

    def change(order: Order) -> dict[str, Any]:
        if Rating.objects.filter(order=order).exists():
            raise _rated()
        created.append(Rating.objects.create(order=order, score=score, comment=comment))
        return {}

    try:
        with transaction.atomic():
            _transition(actor, order_id, "rate", change=change)
    except IntegrityError:
        raise _rated() from None
    return created[0]


def _rated() -> DomainError:
    return DomainError(_("This order has already been rated."), field="score", status=409)
