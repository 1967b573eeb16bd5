"""Open challenges: selection, public notice and objections, the award and its milestones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts.models import User
from innocommons.core import audit, notify
from innocommons.core.errors import DomainError, NotFound
from innocommons.market.models import (
    Challenge,
    ChallengeMilestone,
    ContractType,
    Objection,
    TechContract,
)
from innocommons.market.services.challenges.common import (
    get_challenge,
    get_proposal,
    require_issuer,
)
from innocommons.market.services.challenges.proposals import (
    rank_proposals,
)
from innocommons.market.services.contracts import create_draft

# --- selection, notice, award -------------------------------------------------------------


def select_winner(
    *, actor: Any, challenge_id: int, proposal_id: int, reason: str = ""
) -> Challenge:
    """The issuer selects the winner after the evaluation; the selection is published for
    `notice_days` days, during which anyone may object. Choosing other than the
    best-scored proposal needs a reason, which is published."""
    challenge = get_challenge(challenge_id)
    require_issuer(actor, challenge)
    if challenge.phase != "evaluation":
        raise DomainError(
            _("A winner is selected after the deadline, once, while under evaluation."),
            status=409,
        )
    ranking = rank_proposals(challenge)
    row = next((r for r in ranking if r.proposal.pk == proposal_id), None)
    if row is None:
        raise DomainError(_("Choose one of the submitted proposals."), field="proposal")
    if row.average is None:
        raise DomainError(
            _("The panel has not scored this proposal; the experts' evaluation comes first."),
            field="proposal",
            status=409,
        )
    reason = (reason or "").strip()
    if len(reason) > 3000:
        raise DomainError(_("At most 3,000 characters."), field="reason")
    if row.rank != 1 and not reason:
        raise DomainError(
            _("This is not the best-scored proposal: give the reason for choosing it."),
            field="reason",
        )
    now = timezone.now()
    until = now + timedelta(days=challenge.notice_days)
    with transaction.atomic(durable=True):
        updated = Challenge.objects.filter(
            pk=challenge.pk, status=Challenge.Status.OPEN, selected__isnull=True
        ).update(
            status=Challenge.Status.NOTICE,
            selected=row.proposal,
            selection_reason=reason,
            selected_at=now,
            notice_until=until,
        )
        if updated != 1:
            raise DomainError(_("A winner has already been selected."), status=409)
        audit.record(
            actor=actor,
            action="market.challenge.select",
            target=challenge,
            before={"status": Challenge.Status.OPEN},
            after={
                "status": Challenge.Status.NOTICE,
                "proposal": row.proposal.pk,
                "lead_org": row.proposal.lead_org_id,
                "average": str(row.average),
                "rank": row.rank,
                "notice_until": until.isoformat(),
            },
            region=challenge.region,
            note=reason[:500],
        )
        notify.notify(
            User.objects.filter(memberships__organisation_id=row.proposal.lead_org_id).distinct(),
            kind="market.challenge.selected",
            title=_("Your proposal was selected for “%(title)s”") % {"title": challenge.title},
            body=_("Public notice until %(until)s.")
            % {"until": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")},
            link=reverse("market:challenge_detail", args=[challenge.pk]),
        )
    challenge.refresh_from_db()
    return challenge


def withdraw_selection(*, actor: Any, challenge_id: int, reason: str) -> Challenge:
    """During the notice the issuer may withdraw the selection (e.g. an objection holds):
    the challenge returns to evaluation."""
    challenge = get_challenge(challenge_id)
    require_issuer(actor, challenge)
    reason = (reason or "").strip()
    if not reason or len(reason) > 3000:
        raise DomainError(_("Give the reason (at most 3,000 characters)."), field="reason")
    with transaction.atomic(durable=True):
        updated = Challenge.objects.filter(pk=challenge.pk, status=Challenge.Status.NOTICE).update(
            status=Challenge.Status.OPEN,
            selected=None,
            selection_reason="",
            selected_at=None,
            notice_until=None,
        )
        if updated != 1:
            raise DomainError(_("No selection is in public notice."), status=409)
        audit.record(
            actor=actor,
            action="market.challenge.unselect",
            target=challenge,
            before={"status": Challenge.Status.NOTICE, "proposal": challenge.selected_id},
            after={"status": Challenge.Status.OPEN},
            region=challenge.region,
            note=reason[:500],
        )
    challenge.refresh_from_db()
    return challenge


def object_to_selection(*, actor: Any, challenge_id: int, text: str) -> Objection:
    """Anyone signed in may object while the selection is in public notice."""
    if not getattr(actor, "is_authenticated", False):
        raise DomainError(_("Sign-in required."), status=401)
    challenge = get_challenge(challenge_id)
    text = (text or "").strip()
    if not text or len(text) > 5000:
        raise DomainError(_("Write the objection (at most 5,000 characters)."), field="text")
    if not challenge.notice_running:
        raise DomainError(_("Objections are possible only during the public notice."), status=409)
    if Objection.objects.filter(challenge=challenge, user=actor).count() >= 5:
        raise DomainError(_("You have already raised five objections."), status=409)
    with transaction.atomic(durable=True):
        objection = Objection.objects.create(
            challenge=challenge, proposal_id=challenge.selected_id, user=actor, text=text
        )
        audit.record(
            actor=actor,
            action="market.challenge.object",
            target=challenge,
            after={"objection": objection.pk, "proposal": challenge.selected_id},
            region=challenge.region,
        )
    return objection


def award_challenge(*, actor: Any, challenge_id: int) -> TechContract:
    """After the notice the issuer awards the challenge: a draft development contract
    (seller = the winning lead organisation, buyer = the issuer organisation) and the
    milestone plan, which now awaits acceptance stage by stage."""
    challenge = get_challenge(challenge_id)
    require_issuer(actor, challenge)
    if challenge.status != Challenge.Status.NOTICE:
        raise DomainError(_("Only a selection in public notice can be awarded."), status=409)
    if challenge.notice_running:
        raise DomainError(
            _("The public notice runs until %(until)s.")
            % {"until": timezone.localtime(challenge.notice_until).strftime("%Y-%m-%d %H:%M")},
            status=409,
        )
    proposal = get_proposal(challenge.selected_id or 0)
    now = timezone.now()
    with transaction.atomic(durable=True):
        locked = get_challenge(challenge.pk, lock=True)
        if locked.status != Challenge.Status.NOTICE:
            raise DomainError(_("Only a selection in public notice can be awarded."), status=409)
        contract = create_draft(
            seller=proposal.lead_org,
            buyer=challenge.issuer_org,
            title=challenge.title,
            amount_fen=challenge.reward_fen,
            type=ContractType.DEVELOPMENT,
            subtype="commissioned",
            field=challenge.field,
            source=TechContract.Source.CHALLENGE,
            source_ref=f"challenge:{challenge.pk}",
            actor=actor,
        )
        Challenge.objects.filter(pk=challenge.pk, status=Challenge.Status.NOTICE).update(
            status=Challenge.Status.AWARDED, awarded_at=now, contract=contract
        )
        ChallengeMilestone.objects.filter(
            challenge=challenge, status=ChallengeMilestone.Status.PLANNED
        ).update(status=ChallengeMilestone.Status.PENDING)
        audit.record(
            actor=actor,
            action="market.challenge.award",
            target=challenge,
            before={"status": Challenge.Status.NOTICE},
            after={
                "status": Challenge.Status.AWARDED,
                "proposal": proposal.pk,
                "contract": contract.pk,
                "reward_fen": challenge.reward_fen,
            },
            region=challenge.region,
        )
        notify.notify(
            User.objects.filter(memberships__organisation_id=proposal.lead_org_id).distinct(),
            kind="market.challenge.awarded",
            title=_("“%(title)s” is awarded to you") % {"title": challenge.title},
            body=_("Complete the draft contract %(ref)s and submit it for registration.")
            % {"ref": contract.ref},
            link=reverse("market:contract_detail", args=[contract.pk]),
        )
    return contract


def accept_milestone(*, actor: Any, milestone_id: int, note: str = "") -> ChallengeMilestone:
    """The issuer accepts a milestone's results, releasing its amount — once. Milestones
    are accepted in order."""
    milestone = (
        ChallengeMilestone.objects.select_related("challenge__region", "challenge__issuer_org")
        .filter(pk=milestone_id)
        .first()
    )
    if milestone is None:
        raise NotFound(_("No such milestone."))
    challenge = milestone.challenge
    require_issuer(actor, challenge)
    note = (note or "").strip()
    if len(note) > 3000:
        raise DomainError(_("At most 3,000 characters."), field="note")
    if challenge.status not in (Challenge.Status.AWARDED, Challenge.Status.COMPLETED):
        raise DomainError(_("Milestones are accepted after the award."), status=409)
    if (
        ChallengeMilestone.objects.filter(challenge=challenge, seq__lt=milestone.seq)
        .exclude(status=ChallengeMilestone.Status.ACCEPTED)
        .exists()
    ):
        raise DomainError(_("Accept the earlier milestones first."), status=409)
    now = timezone.now()
    with transaction.atomic(durable=True):
        released = ChallengeMilestone.objects.filter(
            pk=milestone.pk, status=ChallengeMilestone.Status.PENDING
        ).update(
            status=ChallengeMilestone.Status.ACCEPTED,
            released_fen=milestone.amount_fen,
            accepted_at=now,
            accepted_by=actor,
            acceptance_note=note,
        )
        if released != 1:
            raise DomainError(_("This milestone was already accepted."), status=409)
        audit.record(
            actor=actor,
            action="market.challenge.milestone.accept",
            target=milestone,
            before={"status": ChallengeMilestone.Status.PENDING},
            after={
                "status": ChallengeMilestone.Status.ACCEPTED,
                "released_fen": milestone.amount_fen,
                "challenge": challenge.pk,
                "contract": challenge.contract_id,
            },
            region=challenge.region,
            note=note[:500],
        )
        if (
            not ChallengeMilestone.objects.filter(challenge=challenge)
            .filter(~Q(status=ChallengeMilestone.Status.ACCEPTED))
            .exists()
        ):
            Challenge.objects.filter(pk=challenge.pk, status=Challenge.Status.AWARDED).update(
                status=Challenge.Status.COMPLETED
            )
    milestone.refresh_from_db()
    return milestone
