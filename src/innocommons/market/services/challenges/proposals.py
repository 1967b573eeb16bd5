"""Open challenges: teams' proposals and attachments, panel scores and the ranking."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Membership, Organisation
from innocommons.core import audit
from innocommons.core.errors import DomainError, PermissionDenied
from innocommons.core.uploads import check_upload
from innocommons.market.models import (
    Challenge,
    Criterion,
    Proposal,
    ProposalAttachment,
    Score,
    ScoreSheet,
)
from innocommons.market.services.challenges.common import (
    ATTACHMENT_TYPES,
    MAX_ATTACHMENTS,
    MAX_PARTNERS,
    TWO,
    get_challenge,
    get_proposal,
    is_conflicted,
    panelist_of,
)

# --- proposals ----------------------------------------------------------------------------


def _partners(lead: Organisation, challenge: Challenge, ids: list[int]) -> list[Organisation]:
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_PARTNERS:
        raise DomainError(_("At most 10 partner organisations."), field="partners")
    orgs = list(Organisation.objects.filter(pk__in=ids))
    if len(orgs) != len(ids):
        raise DomainError(_("Unknown partner organisation."), field="partners")
    for org in orgs:
        if org.pk == lead.pk:
            raise DomainError(_("The lead organisation is not its own partner."), field="partners")
        if org.pk == challenge.issuer_org_id:
            raise DomainError(_("The issuer cannot be a partner."), field="partners")
        if org.status in (Organisation.Status.REJECTED, Organisation.Status.SUSPENDED):
            raise DomainError(_("%(org)s cannot take part.") % {"org": org.name}, field="partners")
    return orgs


def _proposal_text(title: str, summary: str, team: str) -> tuple[str, str, str]:
    title, summary, team = title.strip(), summary.strip(), team.strip()
    if not title or len(title) > 200:
        raise DomainError(_("Enter a title (at most 200 characters)."), field="title")
    if not summary or len(summary) > 10_000:
        raise DomainError(_("Describe the approach (at most 10,000 characters)."), field="summary")
    if len(team) > 3000:
        raise DomainError(_("At most 3,000 characters."), field="team")
    return title, summary, team


def _before_deadline(challenge: Challenge) -> None:
    if challenge.status != Challenge.Status.OPEN or timezone.now() >= challenge.deadline:
        raise DomainError(
            _("The deadline for proposals has passed (%(at)s).")
            % {"at": timezone.localtime(challenge.deadline).strftime("%Y-%m-%d %H:%M")},
            status=409,
        )


def submit_proposal(
    *,
    actor: Any,
    challenge_id: int,
    lead_org_id: int,
    title: str,
    summary: str,
    team: str = "",
    partner_ids: list[int] | None = None,
) -> Proposal:
    """A team submits its proposal before the deadline: one per lead organisation."""
    challenge = get_challenge(challenge_id)
    if not perms.is_member(actor, lead_org_id):
        raise PermissionDenied(
            _("Submit for an organisation you are a member of."), field="lead_org"
        )
    lead = Organisation.objects.get(pk=lead_org_id)
    if not lead.is_verified:
        raise PermissionDenied(_("The lead organisation must be verified."), field="lead_org")
    if lead.pk == challenge.issuer_org_id:
        raise DomainError(_("The issuer cannot answer its own challenge."), field="lead_org")
    title, summary, team = _proposal_text(title, summary, team)
    partners = _partners(lead, challenge, partner_ids or [])
    try:
        with transaction.atomic(durable=True):
            challenge = get_challenge(challenge.pk, lock=True)
            _before_deadline(challenge)
            proposal = Proposal.objects.create(
                challenge=challenge,
                lead_org=lead,
                title=title,
                summary=summary,
                team=team,
                submitted_by=actor,
            )
            proposal.partners.set(partners)
            audit.record(
                actor=actor,
                action="market.challenge.proposal.submit",
                target=proposal,
                after={
                    "challenge": challenge.pk,
                    "lead_org": lead.pk,
                    "partners": [o.pk for o in partners],
                },
                region=challenge.region,
            )
    except IntegrityError:
        raise DomainError(
            _("%(org)s has already submitted a proposal; change that one instead.")
            % {"org": lead.name},
            field="lead_org",
            status=409,
        ) from None
    return proposal


def _own_proposal(actor: Any, proposal_id: int) -> Proposal:
    proposal = get_proposal(proposal_id)
    if not perms.is_member(actor, proposal.lead_org_id):
        raise PermissionDenied(_("Only the lead organisation's members can change the proposal."))
    return proposal


def update_proposal(
    *,
    actor: Any,
    proposal_id: int,
    title: str,
    summary: str,
    team: str = "",
    partner_ids: list[int] | None = None,
) -> Proposal:
    """The lead organisation changes its proposal before the deadline."""
    proposal = _own_proposal(actor, proposal_id)
    title, summary, team = _proposal_text(title, summary, team)
    partners = _partners(proposal.lead_org, proposal.challenge, partner_ids or [])
    with transaction.atomic(durable=True):
        challenge = get_challenge(proposal.challenge_id, lock=True)
        _before_deadline(challenge)
        if proposal.status != Proposal.Status.SUBMITTED:
            raise DomainError(_("The proposal was withdrawn."), status=409)
        proposal.title, proposal.summary, proposal.team = title, summary, team
        proposal.save(update_fields=["title", "summary", "team", "updated_at"])
        proposal.partners.set(partners)
        audit.record(
            actor=actor,
            action="market.challenge.proposal.update",
            target=proposal,
            after={"partners": [o.pk for o in partners]},
            region=challenge.region,
        )
    return proposal


def withdraw_proposal(*, actor: Any, proposal_id: int) -> Proposal:
    proposal = _own_proposal(actor, proposal_id)
    with transaction.atomic(durable=True):
        challenge = get_challenge(proposal.challenge_id, lock=True)
        _before_deadline(challenge)
        updated = Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.SUBMITTED).update(
            status=Proposal.Status.WITHDRAWN
        )
        if updated != 1:
            raise DomainError(_("The proposal was already withdrawn."), status=409)
        audit.record(
            actor=actor,
            action="market.challenge.proposal.withdraw",
            target=proposal,
            after={"status": Proposal.Status.WITHDRAWN},
            region=challenge.region,
        )
    proposal.refresh_from_db()
    return proposal


def add_attachment(*, actor: Any, proposal_id: int, file: Any) -> ProposalAttachment:
    """A document for the proposal, before the deadline (PDF, Word, Excel, image, ZIP)."""
    proposal = _own_proposal(actor, proposal_id)
    name = check_upload(file, allowed=ATTACHMENT_TYPES, field="file")
    with transaction.atomic(durable=True):
        challenge = get_challenge(proposal.challenge_id, lock=True)
        _before_deadline(challenge)
        if proposal.status != Proposal.Status.SUBMITTED:
            raise DomainError(_("The proposal was withdrawn."), status=409)
        if proposal.attachments.count() >= MAX_ATTACHMENTS:
            raise DomainError(_("At most 10 attachments per proposal."), field="file", status=409)
        attachment = ProposalAttachment(
            proposal=proposal, name=name, size=file.size, uploaded_by=actor
        )
        attachment.file.save(name, file, save=False)
        attachment.save()
        audit.record(
            actor=actor,
            action="market.challenge.proposal.attach",
            target=proposal,
            after={"file": attachment.file.name, "size": attachment.size},
            region=challenge.region,
        )
    return attachment


# --- scoring and ranking --------------------------------------------------------------------


def weighted_score(points: dict[int, int], criteria: list[Criterion]) -> Decimal:
    """Σ points × weight / 100 over the criteria (weights sum to 100): 0–100."""
    total = sum((Decimal(points[c.pk]) * c.weight for c in criteria), Decimal(0)) / 100
    return total.quantize(TWO, rounding=ROUND_HALF_UP)


def score_proposal(
    *, actor: Any, proposal_id: int, points: dict[Any, int], comment: str = ""
) -> ScoreSheet:
    """A panelist scores a proposal on every published criterion (0–100 each), after the
    deadline and before the selection; scoring again replaces the sheet."""
    proposal = get_proposal(proposal_id)
    challenge = proposal.challenge
    panelist = panelist_of(actor, challenge)
    if panelist is None:
        raise PermissionDenied(_("Only the challenge's panelists score proposals."))
    if is_conflicted(actor, proposal):
        raise PermissionDenied(
            _("You are a member of an organisation of this proposal and may not score it.")
        )
    if proposal.status != Proposal.Status.SUBMITTED:
        raise DomainError(_("The proposal was withdrawn."), status=409)
    if challenge.phase != "evaluation":
        raise DomainError(
            _("Proposals are scored after the deadline and before a winner is selected."),
            status=409,
        )
    criteria = list(challenge.criteria.all())
    try:
        clean = {int(k): v for k, v in points.items()}
    except (TypeError, ValueError):
        raise DomainError(_("Score each criterion by its id."), field="points") from None
    if set(clean) != {c.pk for c in criteria}:
        raise DomainError(_("Score every criterion, and only those."), field="points")
    for value in clean.values():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise DomainError(_("Points are whole numbers from 0 to 100."), field="points")
    comment = (comment or "").strip()
    if len(comment) > 3000:
        raise DomainError(_("At most 3,000 characters."), field="comment")
    total = weighted_score(clean, criteria)
    with transaction.atomic(durable=True):
        locked = get_challenge(challenge.pk, lock=True)
        if locked.phase != "evaluation":
            raise DomainError(_("A winner has already been selected."), status=409)
        sheet, _created = ScoreSheet.objects.update_or_create(
            proposal=proposal, panelist=panelist, defaults={"weighted": total, "comment": comment}
        )
        Score.objects.filter(sheet=sheet).delete()
        Score.objects.bulk_create(
            Score(sheet=sheet, criterion_id=cid, points=value) for cid, value in clean.items()
        )
        audit.record(
            actor=actor,
            action="market.challenge.score",
            target=proposal,
            after={"weighted": str(total), "points": {str(k): v for k, v in clean.items()}},
            region=challenge.region,
        )
    return sheet


@dataclass
class RankRow:
    proposal: Proposal
    average: Decimal | None
    sheets: int
    excluded: int  # sheets set aside: their panelist has a conflict of interest (now)
    rank: int | None = None
    sheet_list: list[ScoreSheet] = field(default_factory=list)


def rank_proposals(challenge: Challenge) -> list[RankRow]:
    """Submitted proposals by their average weighted score over the panel's sheets, best
    first; unscored ones last. Sheets of conflicted panelists never count."""
    proposals = list(
        challenge.proposals.filter(status=Proposal.Status.SUBMITTED)
        .select_related("lead_org__region")
        .prefetch_related("partners")
    )
    sheets = list(
        ScoreSheet.objects.filter(proposal__in=proposals).select_related("panelist__user")
    )
    members: dict[int, set[int]] = {}
    for user_id, org_id in Membership.objects.filter(
        user_id__in={s.panelist.user_id for s in sheets}
    ).values_list("user_id", "organisation_id"):
        members.setdefault(user_id, set()).add(org_id)
    rows = []
    for p in proposals:
        parties = p.party_ids()
        own = [s for s in sheets if s.proposal_id == p.pk]
        counted = [s for s in own if not (members.get(s.panelist.user_id, set()) & parties)]
        average = (
            (sum((s.weighted for s in counted), Decimal(0)) / len(counted)).quantize(
                TWO, rounding=ROUND_HALF_UP
            )
            if counted
            else None
        )
        rows.append(RankRow(p, average, len(counted), len(own) - len(counted), None, counted))
    rows.sort(key=lambda r: (r.average is None, -(r.average or 0), r.proposal.submitted_at))
    for i, row in enumerate(rows, start=1):
        row.rank = i if row.average is not None else None
    return rows
