"""Open challenges (揭榜挂帅): every write, one function per use case.

Who acts (checked here, not in the views):
- the issuer: for an enterprise's challenge its members; for a region's challenge the
  administrators of that region. A region's challenge names a government organisation of
  the region as `issuer_org` (chosen by the administrator, or the one nearest the region);
  it is the buyer of the award's contract, so the region's absorption statistics count
  the reward. A region with no government organisation on the platform must register its
  agency first — the challenge is refused at creation rather than failing at the award.
- teams: members of a verified lead organisation, with partner organisations from any
  region; one proposal per lead organisation, changed or withdrawn until the deadline;
- panelists: users the issuer invites; after the deadline each scores the proposals on the
  published criteria (0–100 per criterion, weighted by the criteria's weights), except the
  proposals of organisations they are members of (conflict of interest);
- anyone signed in may object while a selection stands in public notice.

The award (after the notice) creates the development contract through
`services.contracts.create_draft` and opens the milestones; the issuer's acceptance of a
milestone releases its amount exactly once (conditional update + a CHECK constraint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Membership, Organisation, User
from innocommons.core import audit, notify
from innocommons.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from innocommons.core.models import Region
from innocommons.core.uploads import check_upload
from innocommons.market.models import (
    MAX_REGION_REWARD_FEN,
    NOTICE_DAYS_DEFAULT,
    Challenge,
    ChallengeMilestone,
    ContractField,
    ContractType,
    Criterion,
    Objection,
    Panelist,
    Proposal,
    ProposalAttachment,
    Score,
    ScoreSheet,
    TechContract,
)
from innocommons.market.services.contracts import MAX_FEN, create_draft

MAX_MILESTONES = 20
MAX_CRITERIA = 10
MAX_PARTNERS = 10
MAX_ATTACHMENTS = 10
ATTACHMENT_TYPES = ("pdf", "docx", "xlsx", "png", "jpg", "jpeg", "zip")
TWO = Decimal("0.01")


@dataclass(frozen=True)
class MilestoneInput:
    title: str
    amount_fen: int
    due_on: date | None = None


@dataclass(frozen=True)
class CriterionInput:
    name: str
    weight: int


@dataclass(frozen=True)
class ChallengeInput:
    """A new challenge. An enterprise's: `issuer_org_id`. A region's: `region` (a region
    the acting administrator administers) and optionally `issuer_org_id` (a government
    organisation of that region)."""

    title: str
    problem: str
    expected_results: str
    field: str
    reward_fen: int
    deadline: datetime
    milestones: list[MilestoneInput]
    criteria: list[CriterionInput]
    eligibility: str = ""
    notice_days: int = NOTICE_DAYS_DEFAULT
    issuer_org_id: int | None = None
    region: str = ""


# --- lookups and roles ------------------------------------------------------------------


def get_challenge(challenge_id: int, *, lock: bool = False) -> Challenge:
    qs = Challenge.objects.select_related("issuer_org", "region")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=challenge_id)
    except (Challenge.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such challenge.")) from None


def get_proposal(proposal_id: int) -> Proposal:
    try:
        return Proposal.objects.select_related(
            "challenge__issuer_org", "challenge__region", "lead_org__region"
        ).get(pk=proposal_id)
    except (Proposal.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such proposal.")) from None


def is_issuer(user: Any, challenge: Challenge) -> bool:
    if challenge.issued_by_region:
        return perms.administers_region(user, challenge.region)
    return perms.is_member(user, challenge.issuer_org_id)


def _issuer(actor: Any, challenge: Challenge) -> None:
    if not is_issuer(actor, challenge):
        raise PermissionDenied(_("Only the challenge's issuer can do this."))


def panelist_of(user: Any, challenge: Challenge) -> Panelist | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Panelist.objects.filter(challenge=challenge, user=user).first()


def is_conflicted(user: Any, proposal: Proposal) -> bool:
    """A panelist who is a member of the lead or a partner organisation may not score it."""
    return any(perms.is_member(user, org_id) for org_id in proposal.party_ids())


# --- issuing ------------------------------------------------------------------------------


def government_org_for(region: Region) -> Organisation | None:
    """The government organisation nearest to `region`: in the region itself, else the
    closest one below it (a city's agency for a province is not chosen over the province's
    own), verified ones first."""
    from innocommons.market.selectors.contracts import regions_below

    candidates = list(
        Organisation.objects.filter(
            type=Organisation.Type.GOVERNMENT, region_id__in=regions_below([region])
        ).select_related("region")
    )
    depth = {"country": 0, "province": 1, "city": 2, "district": 3}
    candidates.sort(
        key=lambda o: (
            o.region_id != region.code,
            not o.is_verified,
            depth.get(o.region.level, 9),
            o.pk,
        )
    )
    return candidates[0] if candidates else None


def _validate_challenge(data: ChallengeInput, *, by_region: bool) -> None:
    errors: list[dict[str, str]] = []

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    if not data.title.strip() or len(data.title) > 200:
        bad("title", _("Enter a title (at most 200 characters)."))
    if not data.problem.strip() or len(data.problem) > 10_000:
        bad("problem", _("Describe the problem (at most 10,000 characters)."))
    if not data.expected_results.strip() or len(data.expected_results) > 10_000:
        bad("expected_results", _("Describe the expected results (at most 10,000 characters)."))
    if len(data.eligibility) > 3000:
        bad("eligibility", _("At most 3,000 characters."))
    if data.field not in ContractField.values:
        bad("field", _("Choose the technology field."))
    reward_ok = (
        isinstance(data.reward_fen, int)
        and not isinstance(data.reward_fen, bool)
        and 0 < data.reward_fen <= MAX_FEN
    )
    if not reward_ok:
        bad("reward_fen", _("Enter the reward: more than zero."))
    elif by_region and data.reward_fen > MAX_REGION_REWARD_FEN:
        bad(
            "reward_fen",
            _("A region's challenge funds at most ¥%(cap)s.")
            % {"cap": f"{MAX_REGION_REWARD_FEN // 100:,}"},
        )
    if not isinstance(data.deadline, datetime) or timezone.is_naive(data.deadline):
        bad("deadline", _("Enter the deadline as a date and time."))
    elif data.deadline <= timezone.now():
        bad("deadline", _("The deadline must be in the future."))
    if not isinstance(data.notice_days, int) or not 1 <= data.notice_days <= 30:
        bad("notice_days", _("The public notice lasts 1 to 30 days."))

    if not 1 <= len(data.milestones) <= MAX_MILESTONES:
        bad("milestones", _("Plan 1 to 20 milestones."))
    else:
        total = 0
        for i, m in enumerate(data.milestones, start=1):
            if not m.title.strip() or len(m.title) > 200:
                bad("milestones", _("Milestone %(n)d: enter a title.") % {"n": i})
            if not isinstance(m.amount_fen, int) or m.amount_fen <= 0:
                bad("milestones", _("Milestone %(n)d: enter an amount above zero.") % {"n": i})
            else:
                total += m.amount_fen
            if (
                m.due_on is not None
                and isinstance(data.deadline, datetime)
                and m.due_on < timezone.localdate(data.deadline)
            ):
                bad("milestones", _("Milestone %(n)d: due before the deadline.") % {"n": i})
        if reward_ok and total != data.reward_fen:
            bad(
                "milestones",
                _("The milestones add up to ¥%(sum)s; they must add up to the reward, ¥%(reward)s.")
                % {"sum": f"{total / 100:,.2f}", "reward": f"{data.reward_fen / 100:,.2f}"},
            )

    if not 1 <= len(data.criteria) <= MAX_CRITERIA:
        bad("criteria", _("Publish 1 to 10 evaluation criteria."))
    else:
        names = [c.name.strip() for c in data.criteria]
        if any(not n or len(n) > 200 for n in names) or len(set(names)) != len(names):
            bad("criteria", _("Give each criterion a distinct name."))
        weights = [c.weight for c in data.criteria]
        if any(not isinstance(w, int) or not 1 <= w <= 100 for w in weights):
            bad("criteria", _("Each weight is a whole percentage from 1 to 100."))
        elif sum(weights) != 100:
            bad(
                "criteria",
                _("The weights add up to %(sum)d%%; they must add up to 100%%.")
                % {"sum": sum(weights)},
            )
    if errors:
        raise ValidationFailed(errors)


def _resolve_issuer(actor: Any, data: ChallengeInput) -> tuple[Organisation, Region, bool]:
    if data.region:
        region = Region.objects.filter(code=data.region).first()
        if region is None:
            raise DomainError(_("Unknown region code."), field="region")
        if not perms.administers_region(actor, region):
            raise PermissionDenied(
                _("Only the region's administrators issue challenges for it."), field="region"
            )
        if data.issuer_org_id is not None:
            org = (
                Organisation.objects.select_related("region").filter(pk=data.issuer_org_id).first()
            )
            if (
                org is None
                or org.type != Organisation.Type.GOVERNMENT
                or not org.region.is_within(region)
            ):
                raise DomainError(
                    _("Choose a government organisation of %(region)s.") % {"region": region.name},
                    field="issuer_org",
                )
        else:
            org = government_org_for(region)
            if org is None:
                raise DomainError(
                    _(
                        "%(region)s has no government organisation on the platform to fund the "
                        "award; register the issuing agency as an organisation first."
                    )
                    % {"region": region.name},
                    field="issuer_org",
                    status=409,
                )
        return org, region, True
    if data.issuer_org_id is None or not perms.is_member(actor, data.issuer_org_id):
        raise PermissionDenied(
            _("Issue a challenge for an enterprise you are a member of."), field="issuer_org"
        )
    org = Organisation.objects.select_related("region").get(pk=data.issuer_org_id)
    if org.type != Organisation.Type.ENTERPRISE:
        raise PermissionDenied(
            _("Challenges are issued by enterprises (or by a regional administration)."),
            field="issuer_org",
        )
    if not org.is_verified:
        raise PermissionDenied(
            _("The organisation must be verified before it can issue challenges."),
            field="issuer_org",
        )
    return org, org.region, False


def create_challenge(*, actor: Any, data: ChallengeInput) -> Challenge:
    """Publish a challenge with its milestones and criteria (published with it)."""
    org, region, by_region = _resolve_issuer(actor, data)
    _validate_challenge(data, by_region=by_region)
    with transaction.atomic(durable=True):
        challenge = Challenge.objects.create(
            title=data.title.strip(),
            problem=data.problem.strip(),
            expected_results=data.expected_results.strip(),
            eligibility=data.eligibility.strip(),
            field=data.field,
            issuer_org=org,
            issued_by_region=by_region,
            region=region,
            reward_fen=data.reward_fen,
            deadline=data.deadline,
            notice_days=data.notice_days,
            created_by=actor,
        )
        ChallengeMilestone.objects.bulk_create(
            ChallengeMilestone(
                challenge=challenge,
                seq=i,
                title=m.title.strip(),
                amount_fen=m.amount_fen,
                due_on=m.due_on,
            )
            for i, m in enumerate(data.milestones, start=1)
        )
        Criterion.objects.bulk_create(
            Criterion(challenge=challenge, seq=i, name=c.name.strip(), weight=c.weight)
            for i, c in enumerate(data.criteria, start=1)
        )
        audit.record(
            actor=actor,
            action="market.challenge.create",
            target=challenge,
            after={
                "reward_fen": data.reward_fen,
                "issuer_org": org.pk,
                "by_region": by_region,
                "deadline": data.deadline.isoformat(),
                "milestones": [m.amount_fen for m in data.milestones],
                "criteria": {c.name: c.weight for c in data.criteria},
            },
            region=region,
        )
    return challenge


def cancel_challenge(*, actor: Any, challenge_id: int, reason: str) -> Challenge:
    """The issuer withdraws a challenge before the award (reason required, published)."""
    challenge = get_challenge(challenge_id)
    _issuer(actor, challenge)
    reason = (reason or "").strip()
    if not reason or len(reason) > 3000:
        raise DomainError(_("Give the reason (at most 3,000 characters)."), field="reason")
    with transaction.atomic(durable=True):
        updated = Challenge.objects.filter(
            pk=challenge.pk, status__in=[Challenge.Status.OPEN, Challenge.Status.NOTICE]
        ).update(status=Challenge.Status.CANCELLED, cancel_reason=reason)
        if updated != 1:
            raise DomainError(_("An awarded challenge cannot be cancelled."), status=409)
        audit.record(
            actor=actor,
            action="market.challenge.cancel",
            target=challenge,
            before={"status": challenge.status},
            after={"status": Challenge.Status.CANCELLED},
            region=challenge.region,
            note=reason[:500],
        )
    challenge.refresh_from_db()
    return challenge


# --- the panel ----------------------------------------------------------------------------


def invite_panelist(*, actor: Any, challenge_id: int, username: str) -> Panelist:
    """The issuer invites an expert (a user of the platform) to the evaluation panel."""
    challenge = get_challenge(challenge_id)
    _issuer(actor, challenge)
    if challenge.status != Challenge.Status.OPEN:
        raise DomainError(_("The panel is fixed once a winner is selected."), status=409)
    user = User.objects.filter(username=(username or "").strip()[:150], is_active=True).first()
    if user is None:
        raise DomainError(_("No active user with that user name."), field="username")
    try:
        with transaction.atomic(durable=True):
            panelist = Panelist.objects.create(challenge=challenge, user=user, invited_by=actor)
            audit.record(
                actor=actor,
                action="market.challenge.panel.invite",
                target=challenge,
                after={"panelist": user.pk},
                region=challenge.region,
            )
            notify.notify(
                [user],
                kind="market.challenge.panel",
                title=_("You are invited to evaluate “%(title)s”") % {"title": challenge.title},
                body=_("Proposals can be scored after the deadline."),
                link=reverse("market:challenge_review", args=[challenge.pk]),
            )
    except IntegrityError:
        raise DomainError(
            _("This user is already on the panel."), field="username", status=409
        ) from None
    return panelist


def remove_panelist(*, actor: Any, challenge_id: int, panelist_id: int) -> None:
    """The issuer removes a panelist who has not scored anything yet."""
    challenge = get_challenge(challenge_id)
    _issuer(actor, challenge)
    panelist = Panelist.objects.filter(pk=panelist_id, challenge=challenge).first()
    if panelist is None:
        raise NotFound(_("No such panelist."))
    if challenge.status != Challenge.Status.OPEN or panelist.sheets.exists():
        raise DomainError(_("A panelist who has scored stays on the panel."), status=409)
    with transaction.atomic(durable=True):
        audit.record(
            actor=actor,
            action="market.challenge.panel.remove",
            target=challenge,
            before={"panelist": panelist.user_id},
            region=challenge.region,
        )
        panelist.delete()


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


# --- selection, notice, award -------------------------------------------------------------


def select_winner(
    *, actor: Any, challenge_id: int, proposal_id: int, reason: str = ""
) -> Challenge:
    """The issuer selects the winner after the evaluation; the selection is published for
    `notice_days` days, during which anyone may object. Choosing other than the
    best-scored proposal needs a reason, which is published."""
    challenge = get_challenge(challenge_id)
    _issuer(actor, challenge)
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
    _issuer(actor, challenge)
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
    _issuer(actor, challenge)
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
    _issuer(actor, challenge)
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
