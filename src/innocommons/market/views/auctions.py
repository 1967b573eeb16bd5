"""Web pages: technology auctions (拍卖会).

- everyone: the sessions, a session's announcement, lots and results, a lot's live page
  (current price, countdown, bid history) that htmx refreshes every 2 seconds from the
  same view (`request.htmx` → the partial);
- members of verified organisations: register to bid, bid with one click on the next
  valid amounts (or any valid amount), offer their achievements as lots, sign the sale
  confirmation when they win, re-offer an unsold or defaulted lot;
- the operator: announce a session, approve or reject lots, record deposits and refunds.

Views parse, call one service or selector, and render; a service's DomainError goes back
on the form field it names, or into a message. Every POST redirects (POST-redirect-GET)
except the htmx bid, which answers with the refreshed live partial.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.accounts.permissions import acting_user
from innocommons.catalog.validation import YuanField
from innocommons.core.errors import DomainError
from innocommons.core.money import format_yuan
from innocommons.market.models import (
    ANNOUNCE_DAYS,
    SIGN_DAYS_DEFAULT,
    SOFT_CLOSE_DEFAULT,
    VIEWING_DAYS,
    AuctionLot,
    AuctionSession,
    ContractField,
)
from innocommons.market.selectors import auctions as selectors
from innocommons.market.services import auctions as services

PER_PAGE = 20
# service field name → form field name
SERVICE_FIELDS = {
    "starting_price_fen": "starting_price",
    "increment_fen": "increment",
    "reserve_fen": "reserve",
    "deposit_fen": "deposit",
    "amount_fen": "amount",
}
LIVE_PHASES = ("upcoming", "live", "ending")


def _is_htmx(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _read(fn: Any, *args: Any) -> Any:
    """Call a selector; "not found" is a 404 page and "forbidden" a 403 page."""
    try:
        return fn(*args)
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(str(exc.message)) from None
        raise Http404(str(exc.message)) from None


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's error on the field it names, or on the form as a whole."""
    for err in exc.errors():
        name = SERVICE_FIELDS.get(err["field"], err["field"])
        form.add_error(name if name in form.fields else None, err["message"])


def _to_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _set_choices(field: forms.Field, choices: list[Any]) -> None:
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def _when_field(label: Any, **kwargs: Any) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, widget=DateTimeInput(), **kwargs)


# --- sessions -----------------------------------------------------------------------------


def auction_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.sessions(), PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    return render(
        request,
        "market/auctions/list.html",
        {
            "page": page,
            "phases": {
                s.pk: selectors.session_phase(s, now, s.open_count)  # type: ignore[attr-defined]
                for s in page
            },
            "is_operator": perms.is_operator(request.user),
            "pending": selectors.pending_lots(request.user).count()
            if perms.is_operator(request.user)
            else 0,
        },
    )


class SessionForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    title_en = forms.CharField(label=gettext_lazy("English title"), max_length=200, required=False)
    announcement = forms.CharField(
        label=gettext_lazy("Announcement"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy(
            "The public notice: the lots' nature, the rules, how to register and lodge the deposit."
        ),
    )
    viewing_place = forms.CharField(label=gettext_lazy("Viewing"), max_length=300, required=False)
    viewing_starts_at = _when_field(gettext_lazy("Viewing from"))
    viewing_ends_at = _when_field(gettext_lazy("Viewing until"))
    starts_at = _when_field(gettext_lazy("Opens at"))
    sign_days = forms.IntegerField(
        label=gettext_lazy("Days the winner has to sign the sale confirmation"),
        min_value=1,
        max_value=90,
        initial=SIGN_DAYS_DEFAULT,
    )


@login_required
def session_new(request: HttpRequest) -> HttpResponseBase:
    """The operator announces a session: at least 7 days ahead, viewing at least 2 days."""
    user = acting_user(request)
    if not perms.is_operator(user):
        raise DjangoPermissionDenied(_("Only the platform operator runs auctions."))
    now = timezone.localtime().replace(second=0, microsecond=0)
    initial = {
        "viewing_starts_at": now + timedelta(days=1),
        "viewing_ends_at": now + timedelta(days=1 + VIEWING_DAYS + 4),
        "starts_at": now + timedelta(days=ANNOUNCE_DAYS + 1),
    }
    form = SessionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            session = services.create_session(
                actor=user, data=services.SessionInput(**form.cleaned_data)
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The auction session is announced."))
            return redirect("market:auction_session", session_id=session.pk)
    return render(
        request,
        "market/auctions/session_form.html",
        {"form": form, "announce_days": ANNOUNCE_DAYS, "viewing_days": VIEWING_DAYS},
    )


def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    user = request.user
    session: AuctionSession = _read(selectors.get_session, session_id)
    lots = selectors.session_lots(user, session)
    now = timezone.now()
    open_count = sum(1 for lot in lots if lot.status == AuctionLot.Status.OPEN)
    sees_all = selectors.sees_everything(user)
    mine = perms.memberships(user)
    my_regs = selectors.registrations_of(user, session)
    registered = {r.organisation_id for r in my_regs}
    over = now >= session.starts_at and not open_count
    can_register = (
        user.is_authenticated and not over and services.staff_problem(user) is None and bool(mine)
    )
    return render(
        request,
        "market/auctions/session.html",
        {
            "session": session,
            "phase": selectors.session_phase(session, now, open_count),
            "lots": lots,
            "phases": {lot.pk: lot.phase(now) for lot in lots},
            "results": selectors.session_results(session),
            "my_registrations": my_regs,
            "unregistered": [
                o
                for o in Organisation.objects.filter(pk__in=list(mine), status="verified")
                if o.pk not in registered
            ]
            if can_register
            else [],
            "can_offer": user.is_authenticated and now < session.starts_at and bool(mine),
            "sees_all": sees_all,
            "is_operator": perms.is_operator(user),
            "registrations": selectors.session_registrations(user, session) if sees_all else [],
            "now": now,
        },
    )


@login_required
def register(request: HttpRequest, session_id: int) -> HttpResponseBase:
    if request.method != "POST":
        return redirect("market:auction_session", session_id=session_id)
    try:
        registration = services.register_bidder(
            actor=acting_user(request),
            session_id=session_id,
            organisation_id=_to_int(request.POST.get("organisation")) or 0,
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _(
                "Registered as %(bidder)s. Lodge the deposit with the operator; you can bid "
                "once it is recorded."
            )
            % {"bidder": services.bidder_label(registration.number)},
        )
    return redirect("market:auction_session", session_id=session_id)


def _back_to_session(request: HttpRequest) -> HttpResponseBase:
    session_id = _to_int(request.POST.get("session"))
    if session_id:
        return redirect("market:auction_session", session_id=session_id)
    return redirect("market:auction_list")


@login_required
def deposit(request: HttpRequest, registration_id: int) -> HttpResponseBase:
    """The operator records a bidder's deposit (yuan) with its payment reference."""
    if request.method != "POST":
        raise Http404
    user = acting_user(request)
    field = YuanField(required=True)
    try:
        amount = field.clean(request.POST.get("amount", ""))
        registration = services.record_deposit(
            actor=user,
            registration_id=registration_id,
            amount_fen=amount or 0,
            reference=str(request.POST.get("reference", ""))[:100],
        )
    except (forms.ValidationError, DomainError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, forms.ValidationError) else exc.message
        messages.error(request, str(text))
        return _back_to_session(request)
    messages.success(
        request,
        _("Deposit of %(amount)s recorded for %(bidder)s.")
        % {
            "amount": format_yuan(registration.deposit_fen),
            "bidder": services.bidder_label(registration.number),
        },
    )
    return redirect("market:auction_session", session_id=registration.session_id)


@login_required
def refund(request: HttpRequest, registration_id: int) -> HttpResponseBase:
    """The operator records that a deposit due for refund was paid back."""
    if request.method != "POST":
        raise Http404
    try:
        registration = services.record_refund(
            actor=acting_user(request),
            registration_id=registration_id,
            reference=str(request.POST.get("reference", ""))[:100],
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return _back_to_session(request)
    messages.success(request, _("Refund recorded."))
    return redirect("market:auction_session", session_id=registration.session_id)


# --- lots ---------------------------------------------------------------------------------


class LotForm(forms.Form):
    resource = forms.TypedChoiceField(label=gettext_lazy("Achievement"), coerce=int)
    starting_price = YuanField(label=gettext_lazy("Starting price (yuan)"), required=True)
    increment = YuanField(
        label=gettext_lazy("Increment (yuan)"),
        required=True,
        help_text=gettext_lazy("Every raise is a whole multiple of it."),
    )
    reserve = YuanField(
        label=gettext_lazy("Reserve price (yuan)"),
        help_text=gettext_lazy(
            "Confidential: only you and the operator see it. Below it the lot is withdrawn "
            "unsold. Empty: no reserve."
        ),
    )
    deposit = YuanField(label=gettext_lazy("Deposit required to bid (yuan)"), initial=0)
    starts_at = _when_field(gettext_lazy("Bidding opens"))
    scheduled_end_at = _when_field(gettext_lazy("Scheduled end"))
    hard_end_at = _when_field(
        gettext_lazy("Hard end"),
        help_text=gettext_lazy("Late bids extend the end, never past this time."),
    )
    soft_close_minutes = forms.IntegerField(
        label=gettext_lazy("Soft close (minutes)"),
        min_value=1,
        max_value=services.MAX_SOFT_CLOSE,
        initial=SOFT_CLOSE_DEFAULT,
        help_text=gettext_lazy("A bid in the last N minutes moves the end to N minutes later."),
    )
    field = forms.ChoiceField(
        label=gettext_lazy("Contract field"),
        required=False,
        help_text=gettext_lazy("Empty: from the achievement's technology field."),
    )
    terms = forms.CharField(
        label=gettext_lazy("Terms of the sale"),
        max_length=3000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, achievements: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(
            self.fields["resource"],
            [(r.pk, f"{r.owner.name} — {r.title_zh}") for r in achievements],
        )
        _set_choices(self.fields["field"], [("", "—"), *ContractField.choices])

    def lot_input(self) -> services.LotInput:
        d = self.cleaned_data
        return services.LotInput(
            resource_id=d["resource"],
            starting_price_fen=d["starting_price"],
            increment_fen=d["increment"],
            reserve_fen=d["reserve"],
            deposit_fen=d["deposit"] or 0,
            starts_at=d["starts_at"],
            scheduled_end_at=d["scheduled_end_at"],
            hard_end_at=d["hard_end_at"],
            soft_close_minutes=d["soft_close_minutes"],
            field=d["field"],
            terms=d["terms"],
        )


@login_required
def lot_new(request: HttpRequest, session_id: int) -> HttpResponseBase:
    """A member offers one of its organisation's achievements before the session opens."""
    user = acting_user(request)
    session: AuctionSession = _read(selectors.get_session, session_id)
    achievements = selectors.offerable_achievements(user)
    if timezone.now() >= session.starts_at:
        messages.error(request, _("Lots are added before the session opens."))
        return redirect("market:auction_session", session_id=session.pk)
    if not achievements:
        messages.error(
            request,
            _("Offer a published achievement of a verified organisation you are a member of."),
        )
        return redirect("market:auction_session", session_id=session.pk)
    opens = timezone.localtime(session.starts_at)
    if opens.second or opens.microsecond:  # the form's fields hold whole minutes
        opens = opens.replace(second=0, microsecond=0) + timedelta(minutes=1)
    initial = {
        "starts_at": opens,
        "scheduled_end_at": opens + timedelta(hours=2),
        "hard_end_at": opens + timedelta(hours=3),
    }
    form = LotForm(request.POST or None, achievements=achievements, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            lot = services.offer_lot(actor=user, session_id=session.pk, data=form.lot_input())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request, _("Lot offered; it is published once the operator approves it.")
            )
            return redirect("market:auction_lot", lot_id=lot.pk)
    return render(request, "market/auctions/lot_form.html", {"form": form, "session": session})


def _live_context(request: HttpRequest, lot: AuctionLot, **extra: Any) -> dict[str, Any]:
    state = selectors.lot_state(request.user, lot)
    return {
        "lot": lot,
        "state": state,
        "polling": state.phase in LIVE_PHASES,
        "sees_all": selectors.sees_everything(request.user),
        **extra,
    }


def lot_detail(request: HttpRequest, lot_id: int) -> HttpResponse:
    """The live lot page; htmx polls it every 2 seconds for the live partial."""
    lot: AuctionLot = _read(selectors.get_lot, request.user, lot_id)
    if _is_htmx(request):
        return render(request, "market/auctions/partials/live.html", _live_context(request, lot))
    user = request.user
    context = _live_context(
        request,
        lot,
        session=lot.session,
        resource=lot.resource,
        is_seller=perms.is_member(user, lot.seller_id),
        is_operator=perms.is_operator(user),
        can_confirmation=selectors.can_see_confirmation(user, lot),
        reoffered=AuctionLot.objects.filter(reoffer_of=lot).first() if lot.is_closed else None,
    )
    return render(request, "market/auctions/lot.html", context)


@login_required
def bid(request: HttpRequest, lot_id: int) -> HttpResponseBase:
    """Place a bid: an exact amount in fen (the quick-bid buttons) or in yuan (the form)."""
    if request.method != "POST":
        return redirect("market:auction_lot", lot_id=lot_id)
    user = acting_user(request)
    amount = _to_int(request.POST.get("amount_fen"))
    notice, error = "", ""
    if amount is None:
        try:
            amount = YuanField(required=True).clean(request.POST.get("amount", ""))
        except forms.ValidationError as exc:
            error = " ".join(exc.messages)
    if not error:
        try:
            placed = services.place_bid(
                actor=user,
                lot_id=lot_id,
                amount_fen=amount or 0,
                organisation_id=_to_int(request.POST.get("organisation")),
            )
        except DomainError as exc:
            error = str(exc.message)
        else:
            notice = _("Your bid of %(amount)s is the highest.") % {
                "amount": format_yuan(placed.amount_fen)
            }
    if _is_htmx(request):
        lot = _read(selectors.get_lot, user, lot_id)
        return render(
            request,
            "market/auctions/partials/live.html",
            _live_context(request, lot, notice=notice, error=error),
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("market:auction_lot", lot_id=lot_id)


@login_required
def lot_decide(request: HttpRequest, lot_id: int) -> HttpResponseBase:
    """The operator approves or rejects a pending lot (with a reason)."""
    if request.method != "POST":
        raise Http404
    user = acting_user(request)
    action = request.POST.get("action")
    reason = str(request.POST.get("reason", ""))
    try:
        if action == "approve":
            lot = services.approve_lot(actor=user, lot_id=lot_id, note=reason)
            messages.success(request, _("Lot approved."))
        else:
            lot = services.reject_lot(actor=user, lot_id=lot_id, reason=reason)
            messages.success(request, _("Lot rejected."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("market:auction_lot", lot_id=lot_id)
    return redirect("market:auction_session", session_id=lot.session_id)


def confirmation(request: HttpRequest, lot_id: int) -> HttpResponse:
    """The sale confirmation (成交确认书): the parties, the operator and auditors."""
    user = request.user
    lot: AuctionLot = _read(selectors.confirmation, user, lot_id)
    assert lot.winner_id is not None
    return render(
        request,
        "market/auctions/confirmation.html",
        {
            "lot": lot,
            "registration": selectors.winner_registration(lot),
            "is_winner": perms.is_member(user, lot.winner_id),
            "is_seller": perms.is_member(user, lot.seller_id),
            "now": timezone.now(),
        },
    )


@login_required
def sign(request: HttpRequest, lot_id: int) -> HttpResponseBase:
    if request.method != "POST":
        return redirect("market:auction_confirmation", lot_id=lot_id)
    try:
        services.sign_confirmation(actor=acting_user(request), lot_id=lot_id)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Signed. The seller completes the contract and registers it."))
    return redirect("market:auction_confirmation", lot_id=lot_id)


class ReofferForm(forms.Form):
    session = forms.TypedChoiceField(label=gettext_lazy("Session"), coerce=int)
    starting_price = YuanField(
        label=gettext_lazy("New starting price (yuan)"),
        help_text=gettext_lazy("Empty: the same as before."),
    )

    def __init__(self, *args: Any, sessions: list[AuctionSession], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(
            self.fields["session"],
            [
                (s.pk, f"{s.display_title} · {timezone.localtime(s.starts_at):%Y-%m-%d %H:%M}")
                for s in sessions
            ],
        )


@login_required
def reoffer(request: HttpRequest, lot_id: int) -> HttpResponseBase:
    """The seller (or the operator) offers an unsold or defaulted lot again."""
    user = acting_user(request)
    lot: AuctionLot = _read(selectors.get_lot, user, lot_id)
    back = reverse("market:auction_lot", args=[lot.pk])
    sessions = list(
        AuctionSession.objects.filter(starts_at__gt=timezone.now()).order_by("starts_at")
    )
    if not sessions:
        messages.error(request, _("No session is open for new lots; ask the operator for one."))
        return redirect(back)
    form = ReofferForm(request.POST or None, sessions=sessions)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.reoffer_lot(
                actor=user,
                lot_id=lot.pk,
                session_id=form.cleaned_data["session"],
                starting_price_fen=form.cleaned_data["starting_price"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Lot re-offered; it awaits the operator's approval."))
            return redirect("market:auction_lot", lot_id=new.pk)
    return render(request, "market/auctions/reoffer.html", {"form": form, "lot": lot, "back": back})


urlpatterns: list[URLPattern] = [
    path("market/auctions/", auction_list, name="auction_list"),
    path("market/auctions/new/", session_new, name="auction_session_new"),
    path("market/auctions/<int:session_id>/", session_detail, name="auction_session"),
    path("market/auctions/<int:session_id>/register/", register, name="auction_register"),
    path("market/auctions/<int:session_id>/lots/new/", lot_new, name="auction_lot_new"),
    path(
        "market/auctions/registrations/<int:registration_id>/deposit/",
        deposit,
        name="auction_deposit",
    ),
    path(
        "market/auctions/registrations/<int:registration_id>/refund/",
        refund,
        name="auction_refund",
    ),
    path("market/auctions/lots/<int:lot_id>/", lot_detail, name="auction_lot"),
    path("market/auctions/lots/<int:lot_id>/bid/", bid, name="auction_bid"),
    path("market/auctions/lots/<int:lot_id>/decide/", lot_decide, name="auction_lot_decide"),
    path(
        "market/auctions/lots/<int:lot_id>/confirmation/",
        confirmation,
        name="auction_confirmation",
    ),
    path("market/auctions/lots/<int:lot_id>/sign/", sign, name="auction_sign"),
    path("market/auctions/lots/<int:lot_id>/reoffer/", reoffer, name="auction_reoffer"),
]
