"""Web pages: open challenges (揭榜挂帅).

- everyone: the list and each challenge with its criteria, milestones and, during the
  public notice, the selected team (signed-in users may object);
- issuers (an enterprise's members, or a region's administrators): issue a challenge,
  invite the panel, read the ranking after the deadline, select the winner (confirmation
  step), withdraw the selection, award after the notice, accept milestones;
- teams: submit, change or withdraw a proposal and its attachments before the deadline;
- panelists: the proposals to score and their own sheets (never the others').

Views parse, call one service or selector, and render; every POST redirects or re-renders
its form with the service's error on the field it names.
"""

from __future__ import annotations

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
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innocommons.accounts import permissions as perms
from innocommons.accounts.permissions import acting_user
from innocommons.core.errors import DomainError
from innocommons.core.money import format_yuan
from innocommons.core.uploads import download
from innocommons.market.models import (
    MAX_REGION_REWARD_FEN,
    NOTICE_DAYS_DEFAULT,
    ChallengeMilestone,
)
from innocommons.market.selectors import challenges as selectors
from innocommons.market.services import challenges as services
from innocommons.market.views.challenge_forms import (
    ChallengeForm,
    FileForm,
    ObjectionForm,
    ProposalForm,
    ReasonForm,
    agency_choices,
    issuer_choices,
)

PER_PAGE = 20
SERVICE_FIELDS = {
    "reward_fen": "reward",
    "issuer_org": "issuer",
    "region": "issuer",
    "lead_org": "lead_org",
    "partners": "partners",
}


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    for err in exc.errors():
        name = SERVICE_FIELDS.get(err["field"], err["field"])
        form.add_error(name if name in form.fields else None, err["message"])


def _read(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(str(exc.message)) from None
        raise Http404(str(exc.message)) from None


def _detail(challenge_id: int) -> HttpResponseBase:
    return redirect("market:challenge_detail", challenge_id=challenge_id)


# --- everyone -----------------------------------------------------------------------------


def challenge_list(request: HttpRequest) -> HttpResponse:
    phase = request.GET.get("phase", "")
    q = request.GET.get("q", "")[:100]
    page = Paginator(selectors.challenges(phase=phase, q=q), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "market/challenges/list.html",
        {
            "page": page,
            "phase": phase,
            "q": q,
            "phases": [
                ("open", _("Open for proposals")),
                ("evaluation", _("Under evaluation")),
                ("notice", _("Winner in public notice")),
                ("awarded", _("Awarded")),
                ("completed", _("Completed")),
            ],
            "extra": urlencode({k: v for k, v in (("phase", phase), ("q", q)) if v}),
            "can_issue": bool(issuer_choices(request.user)),
        },
    )


def detail(request: HttpRequest, challenge_id: int) -> HttpResponse:
    user = request.user
    challenge = _read(selectors.get_challenge, challenge_id)
    milestones, released = selectors.milestones(challenge)
    issuer = services.is_issuer(user, challenge)
    panelist = services.panelist_of(user, challenge)
    return render(
        request,
        "market/challenges/detail.html",
        {
            "c": challenge,
            "criteria": list(challenge.criteria.all()),
            "milestones": milestones,
            "released": released,
            "is_issuer": issuer,
            "is_panelist": panelist is not None,
            "proposals": selectors.visible_proposals(user, challenge),
            "proposal_count": challenge.proposals.filter(status="submitted").count(),
            "panel": selectors.panel(user, challenge),
            "objections": selectors.objections(user, challenge),
            "sees_ranking": selectors.sees_ranking(user, challenge),
            "can_propose": challenge.accepts_proposals
            and bool(selectors.team_organisations(user))
            and not issuer,
            "winner_partners": list(challenge.selected.partners.all())
            if challenge.selected
            else [],
            "reason_form": ReasonForm(),
            "objection_form": ObjectionForm(),
            "now": timezone.now(),
        },
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "market/challenges/mine.html",
        {
            "mine": selectors.mine(acting_user(request)),
            "can_issue": bool(issuer_choices(request.user)),
        },
    )


# --- issuers ------------------------------------------------------------------------------


@login_required
def new(request: HttpRequest) -> HttpResponseBase:
    user = acting_user(request)
    issuers = issuer_choices(user)
    if not issuers:
        messages.error(
            request,
            _(
                "Challenges are issued by members of verified enterprises and by regional "
                "administrators."
            ),
        )
        return redirect("market:challenge_list")
    form = ChallengeForm(
        request.POST or None,
        issuers=issuers,
        agencies=agency_choices(user),
        initial={"notice_days": NOTICE_DAYS_DEFAULT},
    )
    if request.method == "POST" and form.is_valid():
        try:
            challenge = services.create_challenge(actor=user, data=form.to_input())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The challenge is published."))
            return _detail(challenge.pk)
    return render(
        request,
        "market/challenges/form.html",
        {"form": form, "region_cap": format_yuan(MAX_REGION_REWARD_FEN)},
    )


@login_required
@require_POST
def cancel(request: HttpRequest, challenge_id: int) -> HttpResponseBase:
    try:
        services.cancel_challenge(
            actor=acting_user(request),
            challenge_id=challenge_id,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("The challenge is cancelled."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return _detail(challenge_id)


@login_required
@require_POST
def panel(request: HttpRequest, challenge_id: int) -> HttpResponseBase:
    """Invite a panelist by user name, or remove one (`remove` = panelist id)."""
    user = acting_user(request)
    try:
        if request.POST.get("remove"):
            services.remove_panelist(
                actor=user,
                challenge_id=challenge_id,
                panelist_id=int(request.POST["remove"]),
            )
            messages.success(request, _("Removed from the panel."))
        else:
            p = services.invite_panelist(
                actor=user, challenge_id=challenge_id, username=request.POST.get("username", "")
            )
            messages.success(request, _("%(user)s is on the panel.") % {"user": p.user})
    except (DomainError, ValueError) as exc:
        messages.error(request, str(getattr(exc, "message", exc)))
    return _detail(challenge_id)


@login_required
def ranking(request: HttpRequest, challenge_id: int) -> HttpResponse:
    user = acting_user(request)
    challenge = _read(selectors.get_challenge, challenge_id)
    rows = _read(selectors.ranking, user, challenge)
    return render(
        request,
        "market/challenges/ranking.html",
        {
            "c": challenge,
            "rows": rows,
            "criteria": list(challenge.criteria.all()),
            "can_select": services.is_issuer(user, challenge) and challenge.phase == "evaluation",
        },
    )


def _confirm(request: HttpRequest, **context: Any) -> HttpResponse:
    """The confirmation step of an award decision: what will happen, and one button."""
    return render(request, "market/challenges/confirm.html", context)


@login_required
@require_POST
def select(request: HttpRequest, challenge_id: int) -> HttpResponseBase:
    user = acting_user(request)
    challenge = _read(selectors.get_challenge, challenge_id)
    proposal_id = int(request.POST.get("proposal") or 0)
    reason = request.POST.get("reason", "")
    if request.POST.get("confirm") != "1":
        rows = _read(selectors.ranking, user, challenge)
        row = next((r for r in rows if r.proposal.pk == proposal_id), None)
        if row is None:
            messages.error(request, _("Choose one of the submitted proposals."))
            return redirect("market:challenge_ranking", challenge_id=challenge.pk)
        return _confirm(
            request,
            c=challenge,
            title=_("Select the winner"),
            action=reverse("market:challenge_select", args=[challenge.pk]),
            facts=[
                (_("Proposal"), row.proposal.title),
                (_("Lead organisation"), row.proposal.lead_org.name),
                (_("Average weighted score"), row.average if row.average is not None else "—"),
                (_("Rank"), row.rank or "—"),
                (_("Public notice"), _("%(n)d days") % {"n": challenge.notice_days}),
            ],
            hidden={"proposal": proposal_id},
            reason=reason,
            ask_reason=row.rank != 1,
            confirm_label=_("Select and publish"),
        )
    try:
        services.select_winner(
            actor=user, challenge_id=challenge.pk, proposal_id=proposal_id, reason=reason
        )
        messages.success(request, _("The winner is selected and in public notice."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("market:challenge_ranking", challenge_id=challenge.pk)
    return _detail(challenge.pk)


@login_required
@require_POST
def unselect(request: HttpRequest, challenge_id: int) -> HttpResponseBase:
    try:
        services.withdraw_selection(
            actor=acting_user(request),
            challenge_id=challenge_id,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("The selection is withdrawn; the evaluation continues."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return _detail(challenge_id)


@login_required
@require_POST
def object_(request: HttpRequest, challenge_id: int) -> HttpResponseBase:
    try:
        services.object_to_selection(
            actor=acting_user(request), challenge_id=challenge_id, text=request.POST.get("text", "")
        )
        messages.success(request, _("Your objection is recorded; the issuer reads it."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return _detail(challenge_id)


@login_required
@require_POST
def award(request: HttpRequest, challenge_id: int) -> HttpResponseBase:
    user = acting_user(request)
    challenge = _read(selectors.get_challenge, challenge_id)
    if request.POST.get("confirm") != "1":
        winner = challenge.selected
        return _confirm(
            request,
            c=challenge,
            title=_("Award the challenge"),
            action=reverse("market:challenge_award", args=[challenge.pk]),
            facts=[
                (_("Winner"), winner.lead_org.name if winner else "—"),
                (_("Reward"), format_yuan(challenge.reward_fen)),
                (
                    _("Contract"),
                    _("A draft technology development contract for the winner to complete"),
                ),
                (_("Milestones"), challenge.milestones.count()),
            ],
            hidden={},
            confirm_label=_("Award"),
        )
    try:
        contract = services.award_challenge(actor=user, challenge_id=challenge.pk)
        messages.success(
            request,
            _("Awarded. Draft contract %(ref)s is with the winner.") % {"ref": contract.ref},
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return _detail(challenge.pk)


@login_required
@require_POST
def accept_milestone(request: HttpRequest, milestone_id: int) -> HttpResponseBase:
    user = acting_user(request)
    milestone = (
        ChallengeMilestone.objects.select_related("challenge").filter(pk=milestone_id).first()
    )
    if milestone is None:
        raise Http404
    if request.POST.get("confirm") != "1":
        return _confirm(
            request,
            c=milestone.challenge,
            title=_("Accept milestone %(n)d") % {"n": milestone.seq},
            action=reverse("market:challenge_milestone_accept", args=[milestone.pk]),
            facts=[
                (_("Milestone"), milestone.title),
                (_("Amount released"), format_yuan(milestone.amount_fen)),
            ],
            hidden={},
            note=True,
            confirm_label=_("Accept and release"),
        )
    try:
        services.accept_milestone(
            actor=user, milestone_id=milestone.pk, note=request.POST.get("note", "")
        )
        messages.success(
            request,
            _("Milestone accepted; %(amount)s released.")
            % {"amount": format_yuan(milestone.amount_fen)},
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return _detail(milestone.challenge_id)


# --- teams --------------------------------------------------------------------------------


@login_required
def propose(request: HttpRequest, challenge_id: int) -> HttpResponseBase:
    user = acting_user(request)
    challenge = _read(selectors.get_challenge, challenge_id)
    leads = [o for o in selectors.team_organisations(user) if o.pk != challenge.issuer_org_id]
    if not leads:
        messages.error(request, _("Propose for a verified organisation you are a member of."))
        return _detail(challenge.pk)
    form = ProposalForm(request.POST or None, leads=leads)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            proposal = services.submit_proposal(
                actor=user,
                challenge_id=challenge.pk,
                lead_org_id=d["lead_org"],
                title=d["title"],
                summary=d["summary"],
                team=d["team"],
                partner_ids=d["partners"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Proposal submitted. Add attachments before the deadline."))
            return redirect("market:challenge_proposal", proposal_id=proposal.pk)
    return render(
        request, "market/challenges/proposal_form.html", {"c": challenge, "form": form, "p": None}
    )


@login_required
def proposal_edit(request: HttpRequest, proposal_id: int) -> HttpResponseBase:
    user = acting_user(request)
    proposal = _read(selectors.get_proposal, user, proposal_id)
    if not perms.is_member(user, proposal.lead_org_id):
        raise DjangoPermissionDenied
    form = ProposalForm(
        request.POST or None,
        leads=[proposal.lead_org],
        initial={
            "lead_org": proposal.lead_org_id,
            "title": proposal.title,
            "summary": proposal.summary,
            "team": proposal.team,
            "partners": "\n".join(o.credit_code or o.name_zh for o in proposal.partners.all()),
        },
    )
    form.fields["lead_org"].disabled = True
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.update_proposal(
                actor=user,
                proposal_id=proposal.pk,
                title=d["title"],
                summary=d["summary"],
                team=d["team"],
                partner_ids=d["partners"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Proposal updated."))
            return redirect("market:challenge_proposal", proposal_id=proposal.pk)
    return render(
        request,
        "market/challenges/proposal_form.html",
        {"c": proposal.challenge, "form": form, "p": proposal},
    )


@login_required
@require_POST
def proposal_withdraw(request: HttpRequest, proposal_id: int) -> HttpResponseBase:
    try:
        services.withdraw_proposal(actor=acting_user(request), proposal_id=proposal_id)
        messages.success(request, _("The proposal is withdrawn."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("market:challenge_proposal", proposal_id=proposal_id)


@login_required
def proposal(request: HttpRequest, proposal_id: int) -> HttpResponse:
    user = acting_user(request)
    p = _read(selectors.get_proposal, user, proposal_id)
    challenge = p.challenge
    panelist = services.panelist_of(user, challenge)
    sheet = None
    points: dict[int, int] = {}
    if panelist is not None:
        sheet = p.sheets.filter(panelist=panelist).prefetch_related("scores").first()
        if sheet:
            points = {s.criterion_id: s.points for s in sheet.scores.all()}
    criteria = list(challenge.criteria.all())
    return render(
        request,
        "market/challenges/proposal.html",
        {
            "p": p,
            "c": challenge,
            "is_lead": perms.is_member(user, p.lead_org_id),
            "file_form": FileForm(),
            "can_score": panelist is not None
            and challenge.phase == "evaluation"
            and p.status == "submitted"
            and not services.is_conflicted(user, p),
            "conflicted": panelist is not None and services.is_conflicted(user, p),
            "criteria": [(k, points.get(k.pk)) for k in criteria],
            "sheet": sheet,
        },
    )


@login_required
@require_POST
def attach(request: HttpRequest, proposal_id: int) -> HttpResponseBase:
    form = FileForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to upload."))
    else:
        try:
            services.add_attachment(
                actor=acting_user(request), proposal_id=proposal_id, file=form.cleaned_data["file"]
            )
            messages.success(request, _("Attachment added."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
    return redirect("market:challenge_proposal", proposal_id=proposal_id)


@login_required
def attachment(request: HttpRequest, proposal_id: int, attachment_id: int) -> HttpResponseBase:
    p = _read(selectors.get_proposal, acting_user(request), proposal_id)
    item = next((a for a in p.attachments.all() if a.pk == attachment_id), None)
    if item is None:
        raise Http404
    return download(item.file, item.name)


# --- panelists ----------------------------------------------------------------------------


@login_required
def review(request: HttpRequest, challenge_id: int) -> HttpResponse:
    """A panelist's page: the proposals and its own sheets; never the others' scores."""
    user = acting_user(request)
    challenge = _read(selectors.get_challenge, challenge_id)
    items = _read(selectors.panel_items, user, challenge)
    return render(
        request,
        "market/challenges/review.html",
        {"c": challenge, "items": items, "criteria": list(challenge.criteria.all())},
    )


@login_required
@require_POST
def score(request: HttpRequest, proposal_id: int) -> HttpResponseBase:
    user = acting_user(request)
    p = _read(selectors.get_proposal, user, proposal_id)
    points: dict[int, int] = {}
    try:
        for criterion in p.challenge.criteria.all():
            points[criterion.pk] = int(request.POST.get(f"c{criterion.pk}", ""))
    except ValueError:
        messages.error(request, _("Give every criterion a whole number from 0 to 100."))
        return redirect("market:challenge_proposal", proposal_id=p.pk)
    try:
        sheet = services.score_proposal(
            actor=user, proposal_id=p.pk, points=points, comment=request.POST.get("comment", "")
        )
        messages.success(
            request, _("Scored: %(total)s of 100 (weighted).") % {"total": sheet.weighted}
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("market:challenge_proposal", proposal_id=p.pk)
    return redirect("market:challenge_review", challenge_id=p.challenge_id)


urlpatterns: list[URLPattern] = [
    path("market/challenges/", challenge_list, name="challenge_list"),
    path("market/challenges/new/", new, name="challenge_new"),
    path("market/challenges/mine/", mine, name="challenge_mine"),
    path("market/challenges/<int:challenge_id>/", detail, name="challenge_detail"),
    path("market/challenges/<int:challenge_id>/cancel/", cancel, name="challenge_cancel"),
    path("market/challenges/<int:challenge_id>/panel/", panel, name="challenge_panel"),
    path("market/challenges/<int:challenge_id>/review/", review, name="challenge_review"),
    path("market/challenges/<int:challenge_id>/ranking/", ranking, name="challenge_ranking"),
    path("market/challenges/<int:challenge_id>/select/", select, name="challenge_select"),
    path("market/challenges/<int:challenge_id>/unselect/", unselect, name="challenge_unselect"),
    path("market/challenges/<int:challenge_id>/object/", object_, name="challenge_object"),
    path("market/challenges/<int:challenge_id>/award/", award, name="challenge_award"),
    path("market/challenges/<int:challenge_id>/propose/", propose, name="challenge_propose"),
    path(
        "market/challenges/milestones/<int:milestone_id>/accept/",
        accept_milestone,
        name="challenge_milestone_accept",
    ),
    path("market/challenges/proposals/<int:proposal_id>/", proposal, name="challenge_proposal"),
    path(
        "market/challenges/proposals/<int:proposal_id>/edit/",
        proposal_edit,
        name="challenge_proposal_edit",
    ),
    path(
        "market/challenges/proposals/<int:proposal_id>/withdraw/",
        proposal_withdraw,
        name="challenge_proposal_withdraw",
    ),
    path(
        "market/challenges/proposals/<int:proposal_id>/attach/",
        attach,
        name="challenge_attach",
    ),
    path(
        "market/challenges/proposals/<int:proposal_id>/attachments/<int:attachment_id>/",
        attachment,
        name="challenge_attachment",
    ),
    path("market/challenges/proposals/<int:proposal_id>/score/", score, name="challenge_score"),
]
