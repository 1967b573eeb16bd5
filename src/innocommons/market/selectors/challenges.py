"""Reads of challenges, filtered by what the user may see.

- challenges, their criteria and milestones are public; so is a selected winner (the
  public notice) — its lead and partner organisations and title, not its content;
- proposals are sealed until the deadline: before it only the proposing organisations'
  members see them; after it also the issuer, the panel, auditors and operators;
- a panelist sees the proposals and its own score sheets, never the other panelists';
  the ranking with every sheet is for the issuer and auditors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.core.errors import NotFound, PermissionDenied
from innocommons.core.models import Region
from innocommons.market.models import (
    Challenge,
    ChallengeMilestone,
    Objection,
    Panelist,
    Proposal,
    ScoreSheet,
)
from innocommons.market.services.challenges import (
    RankRow,
    is_conflicted,
    is_issuer,
    panelist_of,
    rank_proposals,
)

PHASES = ("open", "evaluation", "notice", "awarded", "completed", "cancelled")


def challenges(*, phase: str = "", q: str = "") -> QuerySet[Challenge]:
    """Public list, newest first; `phase` narrows to one of PHASES."""
    qs = Challenge.objects.select_related("issuer_org", "region")
    now = timezone.now()
    if phase == "open":
        qs = qs.filter(status=Challenge.Status.OPEN, deadline__gt=now)
    elif phase == "evaluation":
        qs = qs.filter(status=Challenge.Status.OPEN, deadline__lte=now)
    elif phase in PHASES:
        qs = qs.filter(status=phase)
    q = (q or "").strip()[:100]
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(problem__icontains=q))
    return qs.order_by("-created_at", "-id")


def get_challenge(challenge_id: int) -> Challenge:
    challenge = (
        Challenge.objects.select_related("issuer_org", "region", "contract", "selected__lead_org")
        .filter(pk=challenge_id)
        .first()
    )
    if challenge is None:
        raise NotFound(_("No such challenge."))
    return challenge


def sees_all_proposals(user: Any, challenge: Challenge) -> bool:
    """After the deadline: the issuer, the panel, auditors and operators."""
    if challenge.phase == "open":
        return False
    return (
        is_issuer(user, challenge)
        or panelist_of(user, challenge) is not None
        or perms.is_auditor(user)
        or perms.is_operator(user)
    )


def sees_ranking(user: Any, challenge: Challenge) -> bool:
    return challenge.phase != "open" and (is_issuer(user, challenge) or perms.is_auditor(user))


def _own(user: Any) -> Q:
    orgs = list(perms.memberships(user))
    return Q(lead_org_id__in=orgs) | Q(partners__in=orgs)


def visible_proposals(user: Any, challenge: Challenge) -> list[Proposal]:
    qs = (
        Proposal.objects.filter(challenge=challenge)
        .select_related("lead_org__region")
        .prefetch_related("partners__region", "attachments")
    )
    if sees_all_proposals(user, challenge):
        return list(qs.filter(status=Proposal.Status.SUBMITTED).order_by("submitted_at", "id"))
    if not getattr(user, "is_authenticated", False):
        return []
    return list(qs.filter(_own(user)).distinct().order_by("submitted_at", "id"))


def can_view_proposal(user: Any, proposal: Proposal) -> bool:
    if any(perms.is_member(user, org_id) for org_id in proposal.party_ids()):
        return True
    return proposal.status == Proposal.Status.SUBMITTED and sees_all_proposals(
        user, proposal.challenge
    )


def get_proposal(user: Any, proposal_id: int) -> Proposal:
    proposal = (
        Proposal.objects.select_related(
            "challenge__issuer_org", "challenge__region", "lead_org__region"
        )
        .prefetch_related("partners__region", "attachments")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None or not can_view_proposal(user, proposal):
        raise NotFound(_("No such proposal."))
    return proposal


@dataclass
class PanelItem:
    """What a panelist sees of one proposal: the proposal and its own sheet only."""

    proposal: Proposal
    sheet: ScoreSheet | None
    conflicted: bool
    points: dict[int, int]


def panel_items(user: Any, challenge: Challenge) -> list[PanelItem]:
    panelist = panelist_of(user, challenge)
    if panelist is None:
        raise PermissionDenied(_("Only the challenge's panelists see this page."))
    if challenge.phase == "open":
        return []
    proposals = visible_proposals(user, challenge)
    sheets = {
        s.proposal_id: s
        for s in ScoreSheet.objects.filter(panelist=panelist).prefetch_related("scores")
    }
    items = []
    for p in proposals:
        sheet = sheets.get(p.pk)
        points = {s.criterion_id: s.points for s in sheet.scores.all()} if sheet else {}
        items.append(PanelItem(p, sheet, is_conflicted(user, p), points))
    return items


def ranking(user: Any, challenge: Challenge) -> list[RankRow]:
    if not sees_ranking(user, challenge):
        raise PermissionDenied(_("The ranking is for the issuer, after the deadline."))
    return rank_proposals(challenge)


def objections(user: Any, challenge: Challenge) -> list[Objection]:
    """Objections: the issuer and auditors read them all; others their own."""
    qs = Objection.objects.filter(challenge=challenge).select_related("user")
    if is_issuer(user, challenge) or perms.is_auditor(user):
        return list(qs)
    if not getattr(user, "is_authenticated", False):
        return []
    return list(qs.filter(user=user))


def panel(user: Any, challenge: Challenge) -> list[Panelist]:
    """The panel's members: the issuer, auditors and the panel itself see who is on it."""
    if not (
        is_issuer(user, challenge)
        or perms.is_auditor(user)
        or panelist_of(user, challenge) is not None
    ):
        return []
    return list(challenge.panelists.select_related("user"))


def milestones(challenge: Challenge) -> tuple[list[ChallengeMilestone], int]:
    """The milestone plan and the amount released so far (fen)."""
    rows = list(challenge.milestones.order_by("seq"))
    released = sum(m.released_fen for m in rows)
    return rows, released


def released_total(challenge: Challenge) -> int:
    return int(challenge.milestones.aggregate(s=Sum("released_fen"))["s"] or 0)


@dataclass
class Mine:
    issued: list[Challenge]
    proposals: list[Proposal]
    panels: list[Challenge]


def mine(user: Any) -> Mine:
    """The user's challenges: issued (its enterprises, or its regions), its organisations'
    proposals, and the panels it sits on."""
    if not getattr(user, "is_authenticated", False):
        return Mine([], [], [])
    orgs = list(perms.memberships(user))
    cond = Q(issued_by_region=False, issuer_org_id__in=orgs)
    regions = perms.admin_regions(user)
    if regions:
        from innocommons.market.selectors.contracts import regions_below

        cond |= Q(issued_by_region=True, region_id__in=regions_below(regions))
    issued = list(
        Challenge.objects.filter(cond).select_related("issuer_org", "region").order_by("-id")[:200]
    )
    proposals = list(
        Proposal.objects.filter(Q(lead_org_id__in=orgs) | Q(partners__in=orgs))
        .select_related("challenge", "lead_org")
        .distinct()
        .order_by("-id")[:200]
    )
    panels = list(
        Challenge.objects.filter(panelists__user=user)
        .select_related("issuer_org", "region")
        .order_by("-id")[:200]
    )
    return Mine(issued, proposals, panels)


def issuer_enterprises(user: Any) -> list[Organisation]:
    """Verified enterprises the user may issue challenges for."""
    return list(
        Organisation.objects.filter(
            pk__in=list(perms.memberships(user)),
            type=Organisation.Type.ENTERPRISE,
            status=Organisation.Status.VERIFIED,
        ).order_by("name_zh", "pk")
    )


def issuer_regions(user: Any) -> list[Region]:
    return perms.admin_regions(user)


def team_organisations(user: Any) -> list[Organisation]:
    """Verified organisations the user may lead a proposal for."""
    return list(
        Organisation.objects.filter(
            pk__in=list(perms.memberships(user)), status=Organisation.Status.VERIFIED
        ).order_by("name_zh", "pk")
    )
