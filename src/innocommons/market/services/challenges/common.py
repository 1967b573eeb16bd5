"""Open challenges: the inputs, limits, lookups and roles the other modules share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.core.errors import NotFound, PermissionDenied
from innocommons.market.models import (
    NOTICE_DAYS_DEFAULT,
    Challenge,
    Panelist,
    Proposal,
)

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


def require_issuer(actor: Any, challenge: Challenge) -> None:
    if not is_issuer(actor, challenge):
        raise PermissionDenied(_("Only the challenge's issuer can do this."))


def panelist_of(user: Any, challenge: Challenge) -> Panelist | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Panelist.objects.filter(challenge=challenge, user=user).first()


def is_conflicted(user: Any, proposal: Proposal) -> bool:
    """A panelist who is a member of the lead or a partner organisation may not score it."""
    return any(perms.is_member(user, org_id) for org_id in proposal.party_ids())
