"""Web pages: settlement and the books. Settlement batches of approved claims, recording
their payment, the XLSX for the finance office, and a programme's ledger."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innocommons.accounts.permissions import acting_user
from innocommons.core.errors import DomainError
from innocommons.core.money import format_yuan
from innocommons.vouchers import selectors, services
from innocommons.vouchers.exports import batch_export_response
from innocommons.vouchers.forms import BatchForm, PayForm, add_domain_error
from innocommons.vouchers.models import Claim
from innocommons.vouchers.views.common import confirm_page, paginate, read


@login_required
def batches(request: HttpRequest, programme_id: int) -> HttpResponseBase:
    user = acting_user(request)
    programme = read(selectors.programme_books, user, programme_id)
    periods = selectors.settlement_periods(programme)
    form = BatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        start, _end = periods[0 if form.cleaned_data["period"] == "current" else 1]
        try:
            batch = services.create_batch(actor=user, programme_id=programme.pk, day=start)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Settlement batch of %(total)s created.")
                % {"total": format_yuan(batch.total_fen)},
            )
            return redirect("vouchers:batch", batch_id=batch.pk)
    page = paginate(request, selectors.programme_batches(user, programme.pk))
    return render(
        request,
        "vouchers/batches.html",
        {
            "programme": programme,
            "page": page,
            "form": form,
            "periods": periods,
            "can_run": selectors.can_run(user, programme),
            "approved_unbatched": selectors.claim_queue(
                user, status=Claim.Status.APPROVED, programme_id=programme.pk
            )
            .filter(batch__isnull=True)
            .count(),
        },
    )


@login_required
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = acting_user(request)
    batch = read(selectors.get_batch, user, batch_id)
    claims = selectors.batch_claims(batch)
    return render(
        request,
        "vouchers/batch_detail.html",
        {
            "batch": batch,
            "claims": claims,
            "form": PayForm(initial={"payment_reference": batch.payment_reference}),
            "can_run": selectors.can_run(user, batch.programme),
        },
    )


@login_required
@require_POST
def batch_pay(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    user = acting_user(request)
    batch = read(selectors.get_batch, user, batch_id)
    form = PayForm(request.POST)
    back = reverse("vouchers:batch", args=[batch.pk])
    if form.is_valid() and request.POST.get("confirm") == "1":
        try:
            services.pay_batch(
                actor=user,
                batch_id=batch.pk,
                payment_reference=form.cleaned_data["payment_reference"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The batch is recorded as paid."))
            return redirect(back)
    claims = selectors.batch_claims(batch)
    return confirm_page(
        request,
        form=form,
        title=_("Mark the settlement batch as paid"),
        action=reverse("vouchers:batch_pay", args=[batch.pk]),
        cancel=back,
        facts=[
            (_("Programme"), batch.programme.name),
            (
                _("Period"),
                f"{batch.period_start.isoformat()} – {batch.period_end.isoformat()}",
            ),
            (_("Claims"), len(claims)),
            (_("Providers"), len({c.provider_id for c in claims})),
            (_("Total"), format_yuan(batch.total_fen)),
        ],
        confirm_label=_("Record the payment"),
    )


@login_required
def batch_export(request: HttpRequest, batch_id: int) -> HttpResponse:
    return batch_export_response(read(selectors.get_batch, acting_user(request), batch_id))


@login_required
def ledger(request: HttpRequest, programme_id: int) -> HttpResponse:
    user = acting_user(request)
    programme = read(selectors.programme_books, user, programme_id)
    page = paginate(request, selectors.ledger_entries(user, programme.pk))
    return render(request, "vouchers/ledger.html", {"programme": programme, "page": page})
