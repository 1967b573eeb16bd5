"""Web pages: vouchers. An enterprise's vouchers and applications, one voucher with its
redemptions, redeeming a voucher on a completed order; a programme's vouchers and revoking
one (regional administrators)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.permissions import acting_user
from innocommons.core.errors import DomainError
from innocommons.core.money import format_yuan
from innocommons.vouchers import codes, selectors, services
from innocommons.vouchers.forms import RevokeForm, add_domain_error
from innocommons.vouchers.models import Voucher
from innocommons.vouchers.views.common import confirm_page, paginate, read, to_int


def _is_htmx(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


@login_required
def my_vouchers(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    vouchers = paginate(request, selectors.my_vouchers(user))
    applications = paginate(request, selectors.my_applications(user), "apage")
    return render(
        request,
        "vouchers/my_vouchers.html",
        {
            "vouchers": vouchers,
            "codes": {v.pk: codes.display(v.code) for v in vouchers},
            "applications": applications,
            "progress": {a.pk: selectors.application_progress(a) for a in applications},
            "orders": list(selectors.redeemable_orders(user)[:20]),
            "has_orgs": bool(perms.memberships(user)),
            "now": timezone.now(),
        },
    )


def voucher_detail(request: HttpRequest, voucher_id: int) -> HttpResponse:
    voucher = read(selectors.get_voucher, request.user, voucher_id)
    return render(
        request,
        "vouchers/voucher_detail.html",
        {
            "voucher": voucher,
            "code": codes.display(voucher.code),
            "redemptions": selectors.voucher_redemptions(voucher)[:200],
            "is_holder": perms.is_member(request.user, voucher.organisation_id),
            "can_run": selectors.can_run(request.user, voucher.programme),
        },
    )


@login_required
def redeem(request: HttpRequest, order_id: int) -> HttpResponseBase:
    """Pick a voucher, see what it pays and what the firm pays itself, then confirm.

    The confirmation carries an idempotency key made when the quote was shown, so a double
    click or a resubmitted form pays once (the service returns the first redemption).
    """
    user = acting_user(request)
    order = read(selectors.order_for_redemption, user, order_id)
    back = reverse("vouchers:redeem", args=[order.pk])
    if request.method == "POST":
        voucher_id = to_int(request.POST.get("voucher"))
        if not voucher_id:
            messages.error(request, _("Choose one of your active vouchers."))
            return redirect(back)
        try:
            redemption = services.redeem_voucher(
                actor=user,
                voucher=voucher_id,
                order_id=order.pk,
                idempotency_key=str(request.POST.get("key", ""))[:64],
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect(f"{back}?{urlencode({'voucher': voucher_id})}")
        messages.success(
            request,
            _("The voucher pays %(amount)s of order %(ref)s; the provider claims it.")
            % {"amount": format_yuan(redemption.amount_fen), "ref": order.ref},
        )
        return redirect("vouchers:voucher", voucher_id=redemption.voucher_id)

    existing = selectors.live_redemption(order)
    vouchers = selectors.spendable_vouchers(user, order.client_id)
    chosen = next((v for v in vouchers if v.pk == to_int(request.GET.get("voucher"))), None)
    if chosen is None and len(vouchers) == 1:
        chosen = vouchers[0]
    quote = problem = None
    if chosen is not None and existing is None:
        try:
            quote = services.quote_redemption(actor=user, voucher=chosen.pk, order_id=order.pk)
        except DomainError as exc:
            problem = str(exc.message)
    context = {
        "order": order,
        "existing": existing,
        "vouchers": vouchers,
        "codes": {v.pk: codes.display(v.code) for v in vouchers},
        "chosen": chosen,
        "quote": quote,
        "problem": problem,
        "client_pays": (order.fee_fen or 0) - quote.amount_fen if quote else None,
        "key": uuid.uuid4().hex,
    }
    if _is_htmx(request):
        return render(request, "vouchers/partials/quote.html", context)
    return render(request, "vouchers/redeem.html", context)


@login_required
def programme_vouchers(request: HttpRequest, programme_id: int) -> HttpResponse:
    user = acting_user(request)
    programme = read(selectors.programme_books, user, programme_id)
    status = request.GET.get("status", "")
    page = paginate(request, selectors.programme_vouchers(user, programme.pk, status=status))
    return render(
        request,
        "vouchers/programme_vouchers.html",
        {
            "programme": programme,
            "page": page,
            "codes": {v.pk: codes.display(v.code) for v in page},
            "status": status,
            "statuses": Voucher.Status.choices,
            "extra": urlencode({"status": status}) if status else "",
            "can_run": selectors.can_run(user, programme),
        },
    )


@login_required
def voucher_revoke(request: HttpRequest, voucher_id: int) -> HttpResponseBase:
    user = acting_user(request)
    voucher = read(selectors.get_voucher, user, voucher_id)
    if not selectors.can_run(user, voucher.programme):
        raise DjangoPermissionDenied
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and request.POST.get("confirm") == "1":
        try:
            services.revoke_voucher(
                actor=user, voucher_id=voucher.pk, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Voucher revoked; %(amount)s returned to the budget.")
                % {"amount": format_yuan(voucher.balance_fen)},
            )
            return redirect("vouchers:programme_vouchers", programme_id=voucher.programme_id)
    return confirm_page(
        request,
        form=form,
        title=_("Revoke voucher %(code)s") % {"code": codes.display(voucher.code)},
        action=reverse("vouchers:revoke", args=[voucher.pk]),
        cancel=reverse("vouchers:programme_vouchers", args=[voucher.programme_id]),
        facts=[
            (_("Holder"), voucher.organisation.name),
            (_("Programme"), voucher.programme.name),
            (_("Status"), voucher.get_status_display()),
            (_("Balance returned to the budget"), format_yuan(voucher.balance_fen)),
        ],
        confirm_label=_("Revoke the voucher"),
        danger=True,
    )
