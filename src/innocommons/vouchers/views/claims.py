"""Web pages: claims. Provider members see unclaimed redemptions per programme and submit
claims; regional administrators work the claim queue and decide each claim after a
confirmation step."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innocommons.accounts.models import Organisation
from innocommons.accounts.permissions import acting_user
from innocommons.core.errors import DomainError
from innocommons.core.money import format_yuan
from innocommons.vouchers import selectors, services
from innocommons.vouchers.forms import ClaimDecisionForm, add_domain_error
from innocommons.vouchers.models import Claim
from innocommons.vouchers.views.common import (
    confirm_page,
    paginate,
    queue_filters,
    read,
    staff_or_404,
    to_int,
)


def _pick(orgs: list[Organisation], wanted: Any) -> Organisation | None:
    wanted_id = to_int(wanted)
    for org in orgs:
        if org.pk == wanted_id:
            return org
    return orgs[0] if orgs else None


@login_required
def provider_claims(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    orgs = selectors.organisations_of(user)
    org = _pick(orgs, request.GET.get("org"))
    context: dict[str, Any] = {"org": org, "orgs": orgs}
    if org is not None:
        claims = paginate(request, selectors.provider_claims(user, org.pk))
        context.update(
            unclaimed=selectors.unclaimed_redemptions(user, org.pk),
            claims=claims,
            progress={c.pk: selectors.claim_progress(c) for c in claims},
            extra=urlencode({"org": org.pk}),
        )
    return render(request, "vouchers/provider_claims.html", context)


@login_required
@require_POST
def claim_submit(request: HttpRequest) -> HttpResponseBase:
    provider_id = to_int(request.POST.get("provider"))
    try:
        claim = services.submit_claim(
            actor=acting_user(request),
            provider_id=provider_id,
            programme_id=to_int(request.POST.get("programme")),
        )
        messages.success(
            request,
            _("Claim of %(amount)s submitted to the issuing region.")
            % {"amount": format_yuan(claim.amount_fen)},
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect(f"{reverse('vouchers:provider_claims')}?{urlencode({'org': provider_id})}")


@login_required
def claim_queue(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    staff_or_404(user)
    filters = queue_filters(request, user, Claim.Status.SUBMITTED)
    qs = selectors.claim_queue(user, status=filters["status"], programme_id=filters["programme_id"])
    page = paginate(request, selectors.with_evidence(qs))
    return render(
        request,
        "vouchers/claim_queue.html",
        {
            **filters,
            "page": page,
            "statuses": Claim.Status.choices,
            "progress": {c.pk: selectors.claim_progress(c) for c in page},
            "can_run": {c.pk: selectors.can_run(user, c.programme) for c in page},
        },
    )


@login_required
def claim_decide(request: HttpRequest, claim_id: int) -> HttpResponseBase:
    user = acting_user(request)
    claim = read(selectors.get_claim, user, claim_id)
    if not selectors.can_read_books(user, claim.programme):
        raise Http404
    form = ClaimDecisionForm(
        request.POST or None, initial={"decision": request.GET.get("decision", "approve")}
    )
    queue = f"{reverse('vouchers:claim_queue')}?{urlencode({'programme': claim.programme_id})}"
    if (
        request.method == "POST"
        and form.is_valid()
        and request.POST.get("confirm") == "1"
        and claim.status == Claim.Status.SUBMITTED
    ):
        try:
            if form.cleaned_data["decision"] == "approve":
                services.approve_claim(actor=user, claim_id=claim.pk)
                messages.success(
                    request,
                    _("Claim approved: %(amount)s payable to %(org)s.")
                    % {"amount": format_yuan(claim.amount_fen), "org": claim.provider.name},
                )
            else:
                services.reject_claim(
                    actor=user, claim_id=claim.pk, reason=form.cleaned_data["reason"]
                )
                messages.success(
                    request,
                    _("Claim rejected; its redemptions were reversed."),
                )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect(queue)
    decision = form["decision"].value() or "approve"
    return confirm_page(
        request,
        form=form,
        title=(
            _("Approve the claim of %(org)s")
            if decision == "approve"
            else _("Reject the claim of %(org)s")
        )
        % {"org": claim.provider.name},
        action=reverse("vouchers:claim_decide", args=[claim.pk]),
        cancel=queue,
        facts=[
            (_("Provider"), claim.provider.name),
            (_("Credit code"), claim.provider.credit_code or "—"),
            (_("Provider region"), claim.provider.region.name),
            (_("Programme"), claim.programme.name),
            (_("Amount claimed"), format_yuan(claim.amount_fen)),
        ],
        confirm_label=_("Approve the claim") if decision == "approve" else _("Reject the claim"),
        danger=decision != "approve",
        extra={
            "claim": claim,
            "progress": selectors.claim_progress(claim),
            "closed": claim.status != Claim.Status.SUBMITTED,
            "can_run": selectors.can_run(user, claim.programme),
        },
    )
