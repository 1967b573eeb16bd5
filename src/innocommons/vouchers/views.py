"""Web pages of the vouchers app, for each role.

- everyone: open programmes and their terms; enterprise members see whether they may apply
  and why not, apply, follow their applications and vouchers, and redeem a voucher on a
  completed order after seeing what it pays and what they pay themselves;
- provider members: unclaimed redemptions per programme, claims and when they are paid;
- regional administrators (auditors and operators read): programmes with budget bars,
  application and claim queues with a confirmation step, settlement batches with an XLSX
  for the finance office, voucher revocation, the ledger.

Views parse, call one service or selector, and render; a service's DomainError becomes a
form error or a message, never a 500. A completed action redirects (POST-redirect-GET); a
POST that still needs its confirmation, or has errors, shows the form again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.accounts.permissions import acting_user
from innocommons.catalog.models import Term
from innocommons.core.errors import DomainError
from innocommons.core.models import Region, RegionGroup
from innocommons.core.money import format_yuan
from innocommons.vouchers import codes, selectors, services
from innocommons.vouchers.exports import batch_export_response
from innocommons.vouchers.forms import (
    ApplicationDecisionForm,
    ApplyForm,
    BatchForm,
    BudgetForm,
    ClaimDecisionForm,
    PayForm,
    ProgrammeForm,
    ProgrammeStatusForm,
    RevokeForm,
    add_domain_error,
)
from innocommons.vouchers.models import Application, Claim, Programme, Voucher
from innocommons.vouchers.permissions import sees_everything
from innocommons.vouchers.services.programmes import eligibility_problem

PER_PAGE = 20


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _read(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a selector; "not found" is a 404 page and "forbidden" a 403 page."""
    try:
        return fn(*args, **kwargs)
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(str(exc.message)) from None
        raise Http404(str(exc.message)) from None


def _page(request: HttpRequest, qs: Any, param: str = "page") -> Page:
    return Paginator(qs, PER_PAGE).get_page(request.GET.get(param))


def _staff_or_404(user: Any) -> None:
    """The back-office pages: regional administrators, auditors and operators."""
    if not (perms.admin_regions(user) or sees_everything(user)):
        raise Http404


def _pick(orgs: list[Organisation], wanted: Any) -> Organisation | None:
    wanted_id = _int(wanted)
    for org in orgs:
        if org.pk == wanted_id:
            return org
    return orgs[0] if orgs else None


def _is_htmx(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


# --- everyone: programmes ---------------------------------------------------------------


def _eligibility(
    programmes: list[Programme], orgs: list[Organisation]
) -> dict[int, list[tuple[Organisation, str | None]]]:
    return {p.pk: [(o, eligibility_problem(p, o)) for o in orgs] for p in programmes}


def programmes(request: HttpRequest) -> HttpResponse:
    """Open programmes; a signed-in member sees for each organisation whether it may apply."""
    page = _page(request, selectors.open_programmes())
    orgs = selectors.organisations_of(request.user)
    return render(
        request,
        "vouchers/programmes.html",
        {
            "page": page,
            "eligibility": _eligibility(list(page.object_list), orgs),
            "orgs": orgs,
            "is_staff": bool(perms.admin_regions(request.user) or sees_everything(request.user)),
        },
    )


def programme_detail(request: HttpRequest, programme_id: int) -> HttpResponse:
    programme = _read(selectors.get_programme, request.user, programme_id)
    orgs = selectors.organisations_of(request.user)
    eligibility = _eligibility([programme], orgs)[programme.pk]
    return render(
        request,
        "vouchers/programme_detail.html",
        {
            "programme": programme,
            "eligibility": eligibility,
            "can_apply": any(problem is None for _org, problem in eligibility),
            "can_read_books": selectors.can_read_books(request.user, programme),
            "is_open": programme.status == Programme.Status.OPEN
            and programme.opens_on <= timezone.localdate() <= programme.closes_on,
        },
    )


# --- enterprises: apply, my vouchers, redeem --------------------------------------------


@login_required
def apply(request: HttpRequest, programme_id: int) -> HttpResponseBase:
    user = acting_user(request)
    programme = _read(selectors.get_programme, user, programme_id)
    orgs = selectors.organisations_of(user)
    eligible = [o for o in orgs if eligibility_problem(programme, o) is None]
    if not eligible:
        messages.error(
            request,
            next(
                (p for _o, p in _eligibility([programme], orgs)[programme.pk] if p),
                _("You are not a member of an enterprise that may apply."),
            ),
        )
        return redirect("vouchers:programme", programme_id=programme.pk)
    form = ApplyForm(
        request.POST or None,
        organisation_choices=[(o.pk, o.name) for o in eligible],
        initial={"organisation": eligible[0].pk},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.apply_for_voucher(
                actor=user,
                programme_id=programme.pk,
                organisation_id=form.cleaned_data["organisation"],
                amount_fen=form.cleaned_data["amount"],
                purpose=form.cleaned_data["purpose"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Application submitted. The administrators of %(region)s will decide on it.")
                % {"region": programme.region.name},
            )
            return redirect("vouchers:my_vouchers")
    return render(request, "vouchers/apply.html", {"programme": programme, "form": form})


@login_required
def my_vouchers(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    vouchers = _page(request, selectors.my_vouchers(user))
    applications = _page(request, selectors.my_applications(user), "apage")
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


@login_required
@require_POST
def withdraw(request: HttpRequest, application_id: int) -> HttpResponseBase:
    try:
        services.withdraw_application(actor=acting_user(request), application_id=application_id)
        messages.success(request, _("The application is withdrawn."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("vouchers:my_vouchers")


def voucher_detail(request: HttpRequest, voucher_id: int) -> HttpResponse:
    voucher = _read(selectors.get_voucher, request.user, voucher_id)
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
    order = _read(selectors.order_for_redemption, user, order_id)
    back = reverse("vouchers:redeem", args=[order.pk])
    if request.method == "POST":
        voucher_id = _int(request.POST.get("voucher"))
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
    chosen = next((v for v in vouchers if v.pk == _int(request.GET.get("voucher"))), None)
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


# --- providers: claims ------------------------------------------------------------------


@login_required
def provider_claims(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    orgs = selectors.organisations_of(user)
    org = _pick(orgs, request.GET.get("org"))
    context: dict[str, Any] = {"org": org, "orgs": orgs}
    if org is not None:
        claims = _page(request, selectors.provider_claims(user, org.pk))
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
    provider_id = _int(request.POST.get("provider"))
    try:
        claim = services.submit_claim(
            actor=acting_user(request),
            provider_id=provider_id,
            programme_id=_int(request.POST.get("programme")),
        )
        messages.success(
            request,
            _("Claim of %(amount)s submitted to the issuing region.")
            % {"amount": format_yuan(claim.amount_fen)},
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect(f"{reverse('vouchers:provider_claims')}?{urlencode({'org': provider_id})}")


# --- administrators: programmes ---------------------------------------------------------


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    _staff_or_404(user)
    page = _page(request, selectors.managed_programmes(user))
    rows = list(page.object_list)
    figures = selectors.programme_figures(rows)
    return render(
        request,
        "vouchers/manage.html",
        {
            "page": page,
            "rows": [(p, figures[p.pk], selectors.can_run(user, p)) for p in rows],
            "can_create": bool(perms.admin_regions(user)),
            "waiting_applications": selectors.application_queue(user).count(),
            "waiting_claims": selectors.claim_queue(user).count(),
        },
    )


def _region_choices(user: Any) -> list[tuple[str, str]]:
    region_codes = [r.code for r in perms.admin_regions(user)]
    regions = Region.objects.filter(
        Q(code__in=region_codes) | Q(parent__in=region_codes) | Q(parent__parent__in=region_codes)
    ).order_by("code")
    return [(r.code, ("— " if r.code not in region_codes else "") + r.name) for r in regions]


def _category_choices() -> list[tuple[str, str]]:
    terms = Term.objects.filter(scheme=Term.Scheme.SERVICE_CATEGORY).order_by("sort", "code")
    return [(t.code, ("\u3000" if t.parent_id else "") + t.name) for t in terms]


@login_required
def programme_create(request: HttpRequest) -> HttpResponseBase:
    user = acting_user(request)
    region_choices = _region_choices(user)
    if not region_choices:
        raise Http404
    today = timezone.localdate()
    form = ProgrammeForm(
        request.POST or None,
        region_choices=region_choices,
        group_choices=[(g.code, g.name) for g in RegionGroup.objects.order_by("code")],
        category_choices=_category_choices(),
        initial={"opens_on": today, "closes_on": today.replace(month=12, day=31)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            programme = services.create_programme(actor=user, data=form.to_input())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Programme created."))
            return redirect("vouchers:dashboard", programme_id=programme.pk)
    return render(request, "vouchers/programme_form.html", {"form": form})


@login_required
def dashboard(request: HttpRequest, programme_id: int) -> HttpResponse:
    user = acting_user(request)
    programme, figures = _read(selectors.programme_summary, user, programme_id)
    return render(
        request,
        "vouchers/dashboard.html",
        {
            "programme": programme,
            "figures": figures,
            "can_run": selectors.can_run(user, programme),
            "budget_form": BudgetForm(),
            "status_form": ProgrammeStatusForm(initial={"status": programme.status}),
            "application_counts": [
                (value, label, figures.applications.get(value, 0))
                for value, label in Application.Status.choices
            ],
            "voucher_counts": [
                (value, label, figures.vouchers.get(value, 0))
                for value, label in Voucher.Status.choices
            ],
        },
    )


def _confirm(
    request: HttpRequest,
    *,
    form: Any,
    title: str,
    action: str,
    cancel: str,
    facts: list[tuple[str, Any]],
    confirm_label: str,
    danger: bool = False,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The confirmation step before a decision about money: what will happen, the form
    (editable, with any errors), and one button that does it."""
    return render(
        request,
        "vouchers/confirm.html",
        {
            "form": form,
            "title": title,
            "action": action,
            "cancel": cancel,
            "facts": facts,
            "confirm_label": confirm_label,
            "danger": danger,
            **(extra or {}),
        },
    )


@login_required
@require_POST
def add_budget(request: HttpRequest, programme_id: int) -> HttpResponseBase:
    user = acting_user(request)
    programme, figures = _read(selectors.programme_summary, user, programme_id)
    form = BudgetForm(request.POST)
    back = reverse("vouchers:dashboard", args=[programme.pk])
    if form.is_valid() and request.POST.get("confirm") == "1":
        try:
            services.add_budget(
                actor=user, programme_id=programme.pk, amount_fen=form.cleaned_data["amount"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("%(amount)s added to the budget.")
                % {"amount": format_yuan(form.cleaned_data["amount"])},
            )
            return redirect(back)
    return _confirm(
        request,
        form=form,
        title=_("Add to the budget of %(name)s") % {"name": programme.name},
        action=reverse("vouchers:add_budget", args=[programme.pk]),
        cancel=back,
        facts=[
            (_("Funded so far"), format_yuan(figures.funded_fen)),
            (_("Available for new vouchers"), format_yuan(figures.available_fen)),
        ],
        confirm_label=_("Add to the budget"),
    )


@login_required
@require_POST
def set_status(request: HttpRequest, programme_id: int) -> HttpResponseBase:
    form = ProgrammeStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
    else:
        try:
            programme = services.set_programme_status(
                actor=acting_user(request),
                programme_id=programme_id,
                status=form.cleaned_data["status"],
            )
            messages.success(
                request,
                _("The programme is now “%(status)s”.")
                % {"status": programme.get_status_display()},
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
    return redirect("vouchers:dashboard", programme_id=programme_id)


@login_required
def programme_vouchers(request: HttpRequest, programme_id: int) -> HttpResponse:
    user = acting_user(request)
    programme = _read(selectors.programme_books, user, programme_id)
    status = request.GET.get("status", "")
    page = _page(request, selectors.programme_vouchers(user, programme.pk, status=status))
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
    voucher = _read(selectors.get_voucher, user, voucher_id)
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
    return _confirm(
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


# --- administrators: applications -------------------------------------------------------


def _queue_filters(request: HttpRequest, user: Any, default_status: str) -> dict[str, Any]:
    status = request.GET.get("status", default_status)
    programme_id = _int(request.GET.get("programme")) or None
    programme = None
    if programme_id is not None:
        programme = _read(selectors.programme_books, user, programme_id)
    query = {"status": status}
    if programme_id:
        query["programme"] = str(programme_id)
    return {
        "status": status,
        "programme": programme,
        "programme_id": programme_id,
        "extra": urlencode(query),
    }


@login_required
def application_queue(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    _staff_or_404(user)
    filters = _queue_filters(request, user, Application.Status.SUBMITTED)
    page = _page(
        request,
        selectors.application_queue(
            user, status=filters["status"], programme_id=filters["programme_id"]
        ),
    )
    return render(
        request,
        "vouchers/application_queue.html",
        {
            **filters,
            "page": page,
            "statuses": Application.Status.choices,
            "progress": {a.pk: selectors.application_progress(a) for a in page},
            "can_run": {a.pk: selectors.can_run(user, a.programme) for a in page},
        },
    )


@login_required
def application_decide(request: HttpRequest, application_id: int) -> HttpResponseBase:
    """GET: the application and the decision form. POST: the confirmation step, then
    (with confirm=1) the decision itself."""
    user = acting_user(request)
    application = _read(selectors.get_application, user, application_id)
    programme = application.programme
    if not selectors.can_read_books(user, programme):
        raise Http404
    figures = selectors.programme_figures([programme])[programme.pk]
    form = ApplicationDecisionForm(
        request.POST or None, initial={"decision": request.GET.get("decision", "approve")}
    )
    queue = f"{reverse('vouchers:application_queue')}?{urlencode({'programme': programme.pk})}"
    if (
        request.method == "POST"
        and form.is_valid()
        and request.POST.get("confirm") == "1"
        and application.status == Application.Status.SUBMITTED
    ):
        data = form.cleaned_data
        try:
            if data["decision"] == "approve":
                voucher = services.approve_application(
                    actor=user,
                    application_id=application.pk,
                    amount_fen=data["amount"],
                    note=data["reason"],
                )
                messages.success(
                    request,
                    _("Approved: voucher of %(amount)s issued to %(org)s.")
                    % {
                        "amount": format_yuan(voucher.face_value_fen),
                        "org": application.organisation.name,
                    },
                )
            else:
                services.reject_application(
                    actor=user, application_id=application.pk, reason=data["reason"]
                )
                messages.success(
                    request,
                    _("The application of %(org)s is rejected.")
                    % {"org": application.organisation.name},
                )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect(queue)
    decision = form["decision"].value() or "approve"
    amount = getattr(form, "cleaned_data", {}).get("amount")
    approve_fen = amount or application.amount_fen
    facts = [
        (_("Enterprise"), application.organisation.name),
        (_("Credit code"), application.organisation.credit_code or "—"),
        (_("Region"), application.organisation.region.name),
        (_("Programme"), programme.name),
        (_("Amount applied for"), format_yuan(application.amount_fen)),
        (_("Purpose"), application.purpose),
        (_("Available budget"), format_yuan(figures.available_fen)),
    ]
    if decision == "approve":
        facts.append(
            (_("Available after approving"), format_yuan(figures.available_fen - approve_fen))
        )
    progress = selectors.application_progress(application)
    return _confirm(
        request,
        form=form,
        title=(
            _("Approve the application of %(org)s")
            if decision == "approve"
            else _("Reject the application of %(org)s")
        )
        % {"org": application.organisation.name},
        action=reverse("vouchers:application_decide", args=[application.pk]),
        cancel=queue,
        facts=facts,
        confirm_label=_("Approve and issue the voucher")
        if decision == "approve"
        else _("Reject the application"),
        danger=decision != "approve",
        extra={
            "progress": progress,
            "closed": application.status != Application.Status.SUBMITTED,
            "can_run": selectors.can_run(user, programme),
        },
    )


# --- administrators: claims -------------------------------------------------------------


@login_required
def claim_queue(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    _staff_or_404(user)
    filters = _queue_filters(request, user, Claim.Status.SUBMITTED)
    qs = selectors.claim_queue(user, status=filters["status"], programme_id=filters["programme_id"])
    page = _page(request, selectors.with_evidence(qs))
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
    claim = _read(selectors.get_claim, user, claim_id)
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
    return _confirm(
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


# --- administrators: settlement ---------------------------------------------------------


@login_required
def batches(request: HttpRequest, programme_id: int) -> HttpResponseBase:
    user = acting_user(request)
    programme = _read(selectors.programme_books, user, programme_id)
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
    page = _page(request, selectors.programme_batches(user, programme.pk))
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
    batch = _read(selectors.get_batch, user, batch_id)
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
    batch = _read(selectors.get_batch, user, batch_id)
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
    return _confirm(
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
    return batch_export_response(_read(selectors.get_batch, acting_user(request), batch_id))


# --- auditors and administrators: the ledger --------------------------------------------


@login_required
def ledger(request: HttpRequest, programme_id: int) -> HttpResponse:
    user = acting_user(request)
    programme = _read(selectors.programme_books, user, programme_id)
    page = _page(request, selectors.ledger_entries(user, programme.pk))
    return render(request, "vouchers/ledger.html", {"programme": programme, "page": page})
