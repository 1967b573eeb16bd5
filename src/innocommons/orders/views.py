"""Web pages of bookings and orders. Each view parses input, calls one service or selector,
and renders; the htmx calendar gets only the partial it replaces."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from innocommons.accounts import permissions
from innocommons.accounts import selectors as account_selectors
from innocommons.accounts.permissions import acting_user
from innocommons.catalog import selectors as catalog_selectors
from innocommons.catalog.models import Kind, Resource
from innocommons.core.errors import DomainError
from innocommons.orders import hours, ical, selectors, services
from innocommons.orders.forms import (
    STEP_FORMS,
    BlackoutForm,
    BookingForm,
    CalendarForm,
    OrderRequestForm,
    ReasonForm,
)
from innocommons.orders.models import Blackout, CalendarFeed, Order
from innocommons.orders.reports import report_response
from innocommons.orders.workflow import CLIENT, PROVIDER, STEPS, next_sides, next_step

PAGE = 20


def _page(request: HttpRequest, qs: Any, **extra: str) -> dict[str, Any]:
    return {
        "page": Paginator(qs, PAGE).get_page(request.GET.get("page")),
        "extra": urlencode({k: v for k, v in extra.items() if v}),
    }


def _form_errors(form: forms.Form, exc: DomainError) -> None:
    for err in exc.errors():
        form.add_error(err["field"] if err["field"] in form.fields else None, err["message"])


def _resource(request: HttpRequest, resource_id: int, kinds: tuple[str, ...]) -> Resource:
    try:
        resource = catalog_selectors.get_resource(request.user, resource_id)
    except DomainError:
        raise Http404 from None
    if resource.kind not in kinds:
        raise Http404
    return resource


# --- bookings --------------------------------------------------------------------------------


def _when(request: HttpRequest) -> str:
    when = request.GET.get("when", "upcoming")
    return when if when in ("upcoming", "past", "all") else "upcoming"


@login_required
def my_bookings(request: HttpRequest) -> HttpResponse:
    """Bookings made by my organisations, and their calendar feed addresses."""
    user = acting_user(request)
    when = _when(request)
    qs = selectors.bookings_made(user, when=when)
    feeds = [
        (org, CalendarFeed.objects.filter(organisation=org).first())
        for org in account_selectors.user_organisations(user)
    ]
    context = {"when": when, "feeds": feeds, **_page(request, qs, when=when)}
    return render(request, "orders/my_bookings.html", context)


@login_required
def incoming_bookings(request: HttpRequest) -> HttpResponse:
    """Bookings of my organisations' instruments: pending ones to decide, then the rest."""
    user = acting_user(request)
    when = _when(request)
    resource_id = _int(request.GET.get("resource"))
    pending = selectors.bookings_received(
        user, when="upcoming", status="pending", resource_id=resource_id
    )
    qs = selectors.bookings_received(user, when=when, resource_id=resource_id).exclude(
        status="pending"
    )
    context = {
        "when": when,
        "pending": pending[:100],
        "resource_id": resource_id or "",
        **_page(request, qs, when=when, resource=str(resource_id or "")),
    }
    return render(request, "orders/incoming_bookings.html", context)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


BOOKING_ACTIONS = {
    "approve": lambda user, pk, reason: services.approve_booking(actor=user, booking_id=pk),
    "reject": lambda user, pk, reason: services.reject_booking(
        actor=user, booking_id=pk, reason=reason
    ),
    "cancel": lambda user, pk, reason: services.cancel_booking(
        actor=user, booking_id=pk, reason=reason
    ),
}
BOOKING_DONE = {
    "approve": gettext_lazy("Booking confirmed."),
    "reject": gettext_lazy("Booking rejected."),
    "cancel": gettext_lazy("Booking cancelled."),
}


@login_required
@require_POST
def booking_action(request: HttpRequest, booking_id: int, action: str) -> HttpResponseBase:
    if action not in BOOKING_ACTIONS:
        raise Http404
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        BOOKING_ACTIONS[action](acting_user(request), booking_id, reason)
        messages.success(request, str(BOOKING_DONE[action]))
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from None
        messages.error(request, str(exc.message))
    back = request.POST.get("next", "")
    if back in (reverse("orders:incoming_bookings"), reverse("orders:my_bookings")):
        return redirect(back)
    return redirect("orders:my_bookings")


@vary_on_headers("HX-Request")
def book(request: HttpRequest, resource_id: int) -> HttpResponseBase:
    """An instrument's free slots by week (htmx swaps the calendar) and the booking form."""
    resource = _resource(request, resource_id, (Kind.INSTRUMENT,))
    first = _date(request.GET.get("from")) or hours.today()
    calendar = {
        "resource": resource,
        "days": selectors.free_slots(resource, first, 7),
        "prev": (first - timedelta(days=7)).isoformat(),
        "next": (first + timedelta(days=7)).isoformat(),
        "first": first,
        "show_prev": first > hours.today(),
    }
    htmx: Any = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return render(request, "orders/partials/slots.html", calendar)
    orgs = selectors.booking_organisations(request.user, resource)
    form = None
    if request.user.is_authenticated and orgs:
        initial = {
            "day": request.GET.get("day", ""),
            "start_time": request.GET.get("start", ""),
            "end_time": request.GET.get("end", ""),
        }
        form = BookingForm(request.POST or None, organisations=orgs, initial=initial)
        if request.method == "POST" and form.is_valid():
            start, end = form.span()
            try:
                booking = services.book_instrument(
                    actor=acting_user(request),
                    organisation_id=form.cleaned_data["organisation"],
                    resource_id=resource.pk,
                    start=start,
                    end=end,
                    purpose=form.cleaned_data["purpose"],
                )
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                if booking.status == "pending":
                    messages.success(request, _("Booked; the provider will confirm the booking."))
                else:
                    messages.success(request, _("Booked and confirmed."))
                return redirect("orders:my_bookings")
    elif request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404
    rules = hours.rules_for(resource)
    context = {
        **calendar,
        "form": form,
        "rules": rules,
        "is_provider": permissions.is_member(request.user, resource.owner_id),
    }
    return render(request, "orders/book.html", context)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


@login_required
def calendar_settings(request: HttpRequest, resource_id: int) -> HttpResponseBase:
    """The provider's opening hours, limits and blackout periods of one instrument."""
    resource = _resource(request, resource_id, (Kind.INSTRUMENT,))
    user = acting_user(request)
    if not permissions.is_member(user, resource.owner_id):
        raise Http404
    cal = hours.calendar_for(resource)
    initial = {f: getattr(cal, f) for f in CalendarForm.base_fields}
    initial["weekdays"] = list(cal.weekdays)
    what = request.POST.get("what")
    form = CalendarForm(request.POST if what == "calendar" else None, initial=initial)
    blackout_form = BlackoutForm(request.POST if what == "blackout" else None)
    try:
        if what == "calendar" and form.is_valid():
            data = dict(form.cleaned_data)
            data["weekdays"] = "".join(data["weekdays"])
            services.set_calendar(actor=user, resource_id=resource.pk, **data)
            messages.success(request, _("Calendar saved."))
            return redirect("orders:calendar", resource_id=resource.pk)
        if what == "blackout" and blackout_form.is_valid():
            services.add_blackout(actor=user, resource_id=resource.pk, **blackout_form.cleaned_data)
            messages.success(request, _("Period blocked."))
            return redirect("orders:calendar", resource_id=resource.pk)
        if what == "unblock":
            services.remove_blackout(
                actor=user,
                resource_id=resource.pk,
                blackout_id=_int(request.POST.get("blackout")) or 0,
            )
            messages.success(request, _("Period unblocked."))
            return redirect("orders:calendar", resource_id=resource.pk)
    except DomainError as exc:
        if what == "unblock":
            messages.error(request, str(exc.message))
        else:
            _form_errors(blackout_form if what == "blackout" else form, exc)
    blackouts = Blackout.objects.filter(calendar_id=resource.pk, end__gt=timezone.now())
    context = {
        "resource": resource,
        "form": form,
        "blackout_form": blackout_form,
        "blackouts": blackouts,
        "rules": hours.rules_for(resource),
    }
    return render(request, "orders/calendar_settings.html", context)


# --- calendar feed ---------------------------------------------------------------------------


def _ical(organisation_id: int, name: str) -> HttpResponse:
    text = ical.feed(
        selectors.feed_bookings(organisation_id), organisation_id=organisation_id, name=name
    )
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="bookings-{organisation_id}.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
def ical_member(request: HttpRequest, org_id: int) -> HttpResponse:
    if not permissions.is_member(request.user, org_id):
        raise Http404
    org = account_selectors.get_organisation(request.user, org_id)
    return _ical(org.pk, org.name)


def ical_token(request: HttpRequest, token: str) -> HttpResponse:
    """For calendar programs, which cannot sign in: the secret address is the credential."""
    feed = CalendarFeed.objects.select_related("organisation").filter(token=token[:64]).first()
    if feed is None:
        raise Http404
    return _ical(feed.organisation_id, feed.organisation.name)


@login_required
@require_POST
def feed_address(request: HttpRequest) -> HttpResponseBase:
    """Create (or, with reset=1, replace) an organisation's secret feed address."""
    org_id = _int(request.POST.get("org")) or 0
    user = acting_user(request)
    try:
        if request.POST.get("reset"):
            services.reset_calendar_feed(actor=user, organisation_id=org_id)
            messages.success(request, _("New feed address created; the old one no longer works."))
        else:
            services.calendar_feed(actor=user, organisation_id=org_id)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect(reverse("orders:my_bookings") + "#feeds")


# --- orders ----------------------------------------------------------------------------------


def _order_list(request: HttpRequest, role: str) -> HttpResponse:
    user = acting_user(request)
    status = request.GET.get("status", "open")
    qs = selectors.orders_for(user, role, status if status != "all" else "")
    side, other = (PROVIDER, CLIENT) if role == "received" else (CLIENT, PROVIDER)
    context = {
        "role": role,
        "status": status,
        "statuses": Order.Status.choices,
        **_page(request, qs, status=status),
    }
    context["rows"] = [_row(o, side, other) for o in context["page"].object_list]
    return render(request, "orders/order_list.html", context)


def _row(order: Order, side: str, other: str) -> dict[str, Any]:
    """An order in a list with the viewer's next move, or whose move it is."""
    step = next_step(order.status, side)
    return {
        "order": order,
        "step": step,
        "needs_form": step is not None and step.name in STEP_FORMS,
        "waiting": step is None and other in next_sides(order.status),
    }


@login_required
def my_orders(request: HttpRequest) -> HttpResponse:
    """Orders my organisations placed."""
    return _order_list(request, "placed")


@login_required
def incoming_orders(request: HttpRequest) -> HttpResponse:
    """Orders my organisations received, with the next step at hand."""
    return _order_list(request, "received")


@login_required
def order_new(request: HttpRequest, resource_id: int) -> HttpResponseBase:
    resource = _resource(request, resource_id, (Kind.SERVICE, Kind.INSTRUMENT))
    user = acting_user(request)
    orgs = selectors.booking_organisations(user, resource)
    bookings = list(selectors.orderable_bookings(user, resource))
    initial = {"booking": _int(request.GET.get("booking"))}
    form = OrderRequestForm(
        request.POST or None, organisations=orgs, bookings=bookings, initial=initial
    )
    if request.method == "POST" and orgs and form.is_valid():
        try:
            order = services.request_order(
                actor=user,
                client_id=form.cleaned_data["client"],
                resource_id=resource.pk,
                description=form.cleaned_data["description"],
                booking_id=form.cleaned_data.get("booking"),
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Order %(ref)s sent to the provider.") % {"ref": order.ref})
            return redirect("orders:order", order_id=order.pk)
    return render(
        request, "orders/order_request.html", {"resource": resource, "form": form, "orgs": orgs}
    )


@login_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = selectors.get_order(request.user, order_id)
    except DomainError:
        raise Http404 from None
    progress = selectors.progress(request.user, order)
    suggested = selectors.suggested_quote_fen(order)
    step_forms = {}
    for step in progress.steps:
        form_class = STEP_FORMS.get(step.name)
        if form_class is None:
            continue
        initial: dict[str, Any] = {}
        if step.name == "quote" and suggested is not None:
            initial["amount_yuan"] = f"{suggested / 100:.2f}"
        step_forms[step.name] = form_class(initial=initial, prefix=step.name)
    parties = {
        CLIENT: (_("Client"), order.client),
        PROVIDER: (_("Provider"), order.provider),
    }
    context = {
        "order": order,
        "progress": progress,
        "steps": [(step, step_forms.get(step.name)) for step in progress.steps],
        "next_parties": [parties[s] for s in sorted(progress.next_sides)],
        "sides": selectors.order_sides(request.user, order),
    }
    return render(request, "orders/order_detail.html", context)


def _run_step(user: Any, order_id: int, name: str, data: dict[str, Any]) -> None:
    """Map a submitted step form onto its service."""
    if name == "quote":
        services.quote_order(actor=user, order_id=order_id, amount_fen=data["amount_yuan"])
    elif name == "accept":
        services.accept_quote(actor=user, order_id=order_id)
    elif name == "decline":
        services.decline_order(actor=user, order_id=order_id, reason=data["reason"])
    elif name == "start":
        services.start_order(actor=user, order_id=order_id)
    elif name == "deliver":
        services.deliver_order(
            actor=user,
            order_id=order_id,
            report=data["report"],
            service_hours=data.get("service_hours"),
        )
    elif name == "complete":
        services.complete_order(actor=user, order_id=order_id)
    elif name == "close":
        services.close_order(actor=user, order_id=order_id)
    elif name == "cancel":
        services.cancel_order(actor=user, order_id=order_id, reason=data["reason"])
    elif name == "invoice":
        services.set_invoice_number(actor=user, order_id=order_id, invoice_no=data["invoice_no"])
    elif name == "rate":
        services.rate_order(
            actor=user, order_id=order_id, score=data["score"], comment=data["comment"]
        )


@login_required
@require_POST
def order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponseBase:
    if action not in STEPS:
        raise Http404
    form_class = STEP_FORMS.get(action)
    data: dict[str, Any] = {}
    if form_class is not None:
        form = form_class(request.POST, request.FILES, prefix=action)
        if not form.is_valid():
            for field, errors in form.errors.items():
                label = form.fields[field].label if field in form.fields else ""
                text = " ".join(str(e) for e in errors)
                messages.error(request, f"{label}: {text}" if label else text)
            return redirect("orders:order", order_id=order_id)
        data = form.cleaned_data
    try:
        _run_step(acting_user(request), order_id, action, data)
        messages.success(request, _("Done: %(step)s.") % {"step": STEPS[action].label})
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from None
        messages.error(request, str(exc.message))
    back = request.POST.get("next", "")
    if back in (reverse("orders:incoming_orders"), reverse("orders:my_orders")):
        return redirect(back)
    return redirect("orders:order", order_id=order_id)


@login_required
def order_report(request: HttpRequest, order_id: int) -> HttpResponseBase:
    try:
        order = selectors.get_order(request.user, order_id)
        return report_response(order)
    except DomainError:
        raise Http404 from None
