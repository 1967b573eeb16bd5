"""Web pages: voucher applications. An enterprise member applies and withdraws; regional
administrators work the queue and decide each application after a confirmation step."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innocommons.accounts.permissions import acting_user
from innocommons.core.errors import DomainError
from innocommons.core.money import format_yuan
from innocommons.vouchers import selectors, services
from innocommons.vouchers.forms import ApplicationDecisionForm, ApplyForm, add_domain_error
from innocommons.vouchers.models import Application
from innocommons.vouchers.services.programmes import eligibility_problem
from innocommons.vouchers.views.common import (
    confirm_page,
    eligibility_of,
    paginate,
    queue_filters,
    read,
    staff_or_404,
)


@login_required
def apply(request: HttpRequest, programme_id: int) -> HttpResponseBase:
    user = acting_user(request)
    programme = read(selectors.get_programme, user, programme_id)
    orgs = selectors.organisations_of(user)
    eligible = [o for o in orgs if eligibility_problem(programme, o) is None]
    if not eligible:
        messages.error(
            request,
            next(
                (p for _o, p in eligibility_of([programme], orgs)[programme.pk] if p),
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
@require_POST
def withdraw(request: HttpRequest, application_id: int) -> HttpResponseBase:
    try:
        services.withdraw_application(actor=acting_user(request), application_id=application_id)
        messages.success(request, _("The application is withdrawn."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("vouchers:my_vouchers")


@login_required
def application_queue(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    staff_or_404(user)
    filters = queue_filters(request, user, Application.Status.SUBMITTED)
    page = paginate(
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
    application = read(selectors.get_application, user, application_id)
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
    return confirm_page(
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
