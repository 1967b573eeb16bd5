"""Reads of technology contracts, filtered by what the user may see.

- the parties' members see their contracts, drafts included;
- the registrars (administrators of the seller's region) see the contracts of their
  region once submitted; operators and auditors see every submitted contract;
- the contract file is for the parties and the registrar only.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.creditcode import normalise
from innocommons.accounts.models import Organisation
from innocommons.core.errors import NotFound
from innocommons.core.models import AuditEntry, Region
from innocommons.market.models import TechContract
from innocommons.market.services.contracts import can_register


def regions_below(regions: list[Region]) -> set[str]:
    """Codes of the given regions and everything under them."""
    codes = {r.code for r in regions}
    frontier = set(codes)
    while frontier:
        children = set(Region.objects.filter(parent_id__in=frontier).values_list("code", flat=True))
        frontier = children - codes
        codes |= children
    return codes


def _base() -> QuerySet[TechContract]:
    return TechContract.objects.select_related("seller", "buyer", "seller_region", "buyer_region")


# Drafts (and void drafts) are the parties' own business until submitted.
UNSUBMITTED = (TechContract.Status.DRAFT, TechContract.Status.VOID)


def parties_filter(user: Any) -> Q:
    orgs = list(perms.memberships(user))
    return Q(seller_id__in=orgs) | Q(buyer_id__in=orgs)


def visible_contracts(user: Any) -> QuerySet[TechContract]:
    if not getattr(user, "is_authenticated", False):
        return TechContract.objects.none()
    cond = parties_filter(user)
    submitted = ~Q(status__in=UNSUBMITTED)
    if perms.is_operator(user) or perms.is_auditor(user):
        cond |= submitted
    else:
        regions = perms.admin_regions(user)
        if regions:
            cond |= Q(seller_region_id__in=regions_below(regions)) & submitted
    return _base().filter(cond)


def get_contract(user: Any, contract_id: int) -> TechContract:
    contract = visible_contracts(user).filter(pk=contract_id).first()
    if contract is None:
        raise NotFound(_("No such contract."))
    return contract


def is_party(user: Any, contract: TechContract) -> bool:
    return any(
        org_id is not None and perms.is_member(user, org_id)
        for org_id in (contract.seller_id, contract.buyer_id)
    )


def is_seller(user: Any, contract: TechContract) -> bool:
    return contract.seller_id is not None and perms.is_member(user, contract.seller_id)


def can_download(user: Any, contract: TechContract) -> bool:
    """The written contract: the parties and the registrar only."""
    return is_party(user, contract) or can_register(user, contract)


def my_contracts(user: Any, *, status: str = "") -> QuerySet[TechContract]:
    """Contracts where the user's organisations are seller or buyer, drafts first."""
    if not getattr(user, "is_authenticated", False):
        return TechContract.objects.none()
    qs = _base().filter(parties_filter(user))
    if status in TechContract.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def registrar_queue(
    user: Any, *, status: str = TechContract.Status.SUBMITTED, overdue: bool = False
) -> QuerySet[TechContract]:
    """The contracts of the regions the user registers for; waiting ones by due date."""
    regions = perms.admin_regions(user)
    if not regions:
        return TechContract.objects.none()
    qs = _base().filter(seller_region_id__in=regions_below(regions))
    if status in TechContract.Status.values and status not in UNSUBMITTED:
        qs = qs.filter(status=status)
    else:
        qs = qs.exclude(status__in=UNSUBMITTED)
    if overdue:
        qs = qs.filter(status=TechContract.Status.SUBMITTED, due_on__lt=timezone.localdate())
    return qs.order_by("due_on", "submitted_at", "id")


def queue_counts(user: Any) -> dict[str, int]:
    waiting = registrar_queue(user)
    return {
        "waiting": waiting.count(),
        "overdue": waiting.filter(due_on__lt=timezone.localdate()).count(),
    }


def history(contract: TechContract) -> list[AuditEntry]:
    """The contract's audit trail, oldest first (who submitted, decided, appealed)."""
    return list(
        AuditEntry.objects.filter(
            target_type=TechContract._meta.label_lower, target_id=str(contract.pk)
        )
        .select_related("actor")
        .order_by("at", "id")
    )


def seller_organisations(user: Any) -> list[Organisation]:
    """The verified organisations the user may register contracts for."""
    return list(
        Organisation.objects.filter(
            pk__in=list(perms.memberships(user)), status=Organisation.Status.VERIFIED
        )
        .select_related("region")
        .order_by("name_zh", "pk")
    )


def find_organisation(text: str) -> Organisation | None:
    """An organisation on the platform by credit code or exact name (Chinese or English)."""
    text = (text or "").strip()
    if not text or len(text) > 200:
        return None
    code = normalise(text)
    return (
        Organisation.objects.filter(credit_code=code).first()
        or Organisation.objects.filter(name_zh=text).order_by("pk").first()
        or Organisation.objects.filter(name_en=text).order_by("pk").first()
    )
