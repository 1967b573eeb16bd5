"""Web pages: programmes. Open programmes and their terms for everyone; for regional
administrators (auditors and operators read) the programme list with budget bars, creating
a programme, its dashboard, adding budget and moving its status."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innocommons.accounts import permissions as perms
from innocommons.accounts.permissions import acting_user
from innocommons.catalog.models import Term
from innocommons.core.errors import DomainError
from innocommons.core.models import Region, RegionGroup
from innocommons.core.money import format_yuan
from innocommons.vouchers import selectors, services
from innocommons.vouchers.forms import (
    BudgetForm,
    ProgrammeForm,
    ProgrammeStatusForm,
    add_domain_error,
)
from innocommons.vouchers.models import Application, Programme, Voucher
from innocommons.vouchers.permissions import sees_everything
from innocommons.vouchers.views.common import (
    confirm_page,
    eligibility_of,
    paginate,
    read,
    staff_or_404,
)


def programmes(request: HttpRequest) -> HttpResponse:
    """Open programmes; a signed-in member sees for each organisation whether it may apply."""
    page = paginate(request, selectors.open_programmes())
    orgs = selectors.organisations_of(request.user)
    return render(
        request,
        "vouchers/programmes.html",
        {
            "page": page,
            "eligibility": eligibility_of(list(page.object_list), orgs),
            "orgs": orgs,
            "is_staff": bool(perms.admin_regions(request.user) or sees_everything(request.user)),
        },
    )


def programme_detail(request: HttpRequest, programme_id: int) -> HttpResponse:
    programme = read(selectors.get_programme, request.user, programme_id)
    orgs = selectors.organisations_of(request.user)
    eligibility = eligibility_of([programme], orgs)[programme.pk]
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


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    staff_or_404(user)
    page = paginate(request, selectors.managed_programmes(user))
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
    programme, figures = read(selectors.programme_summary, user, programme_id)
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


@login_required
@require_POST
def add_budget(request: HttpRequest, programme_id: int) -> HttpResponseBase:
    user = acting_user(request)
    programme, figures = read(selectors.programme_summary, user, programme_id)
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
    return confirm_page(
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
