"""JSON API: unclaimed redemptions, providers' claims, the claim queue and the decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Schema, Status

from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH
from innocommons.vouchers import selectors, services
from innocommons.vouchers.api.common import PAGE, PAGE_SIZE, VouchersRouter, paginate
from innocommons.vouchers.api.schemas import ProgressOut, ReasonIn, progress_out
from innocommons.vouchers.models import Claim

router = VouchersRouter()


class UnclaimedOut(Schema):
    programme: int
    programme_name: str
    count: int
    total_fen: int
    first_at: datetime | None


@router.get(
    "/voucher-redemptions/unclaimed",
    response=list[UnclaimedOut],
    auth=AUTH,
    summary="Redeemed amounts on my organisation's orders not yet claimed, per programme",
)
def unclaimed(request: HttpRequest, provider: int) -> list[UnclaimedOut]:
    rows = selectors.unclaimed_redemptions(acting_user(request), provider)
    return [
        UnclaimedOut(
            programme=u.programme.pk,
            programme_name=u.programme.name,
            count=u.count,
            total_fen=u.total_fen,
            first_at=u.first_at,
        )
        for u in rows
    ]


class EvidenceOut(Schema):
    redemption: int
    order: int
    order_ref: str
    resource: str
    client_name: str
    invoice_no: str | None
    has_report: bool
    amount_fen: int
    reversed_at: datetime | None


class ClaimOut(Schema):
    id: int
    programme: int
    programme_name: str
    provider: int
    provider_name: str
    amount_fen: int
    status: str
    redemption_count: int
    decision_reason: str
    created_at: datetime
    decided_at: datetime | None
    paid_at: datetime | None
    batch: int | None
    progress: ProgressOut


class ClaimDetailOut(ClaimOut):
    evidence: list[EvidenceOut]


class ClaimPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[ClaimOut]


def claim_base(c: Claim) -> dict[str, Any]:
    return {
        "id": c.pk,
        "programme": c.programme_id,
        "programme_name": c.programme.name,
        "provider": c.provider_id,
        "provider_name": c.provider.name,
        "amount_fen": c.amount_fen,
        "status": c.status,
        "redemption_count": getattr(c, "redemption_count", 0),
        "decision_reason": c.decision_reason,
        "created_at": c.created_at,
        "decided_at": c.decided_at,
        "paid_at": c.paid_at,
        "batch": c.batch_id,
        "progress": progress_out(selectors.claim_progress(c)),
    }


def _claim_detail(c: Claim) -> ClaimDetailOut:
    return ClaimDetailOut(
        **claim_base(c),
        evidence=[
            EvidenceOut(
                redemption=r.pk,
                order=r.order_id,
                order_ref=r.order.ref,
                resource=r.order.resource.title,
                client_name=r.client.name,
                invoice_no=r.order.invoice_no,
                has_report=bool(r.order.report),
                amount_fen=r.amount_fen,
                reversed_at=r.reversed_at,
            )
            for r in c.redemptions.all()
        ],
    )


def _claim_page(qs: QuerySet[Claim], page: int, page_size: int) -> ClaimPage:
    total, rows = paginate(qs, page, page_size)
    return ClaimPage(
        total=total,
        page=page,
        page_size=page_size,
        items=[ClaimOut(**claim_base(c)) for c in rows],
    )


@router.get(
    "/voucher-claims",
    response=ClaimPage,
    auth=AUTH,
    summary="A provider's claims (its members)",
)
def provider_claims(
    request: HttpRequest,
    provider: int,
    status: str = "",
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> ClaimPage:
    qs = selectors.provider_claims(acting_user(request), provider, status=status)
    return _claim_page(qs, page, page_size)


@router.get(
    "/voucher-claims/queue",
    response=ClaimPage,
    auth=AUTH,
    summary="Claims to review (administrators; all programmes for auditors)",
)
def claim_queue(
    request: HttpRequest,
    status: str = "submitted",
    programme: int | None = None,
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> ClaimPage:
    user = acting_user(request)
    if programme is not None:
        selectors.programme_books(user, programme)
    qs = selectors.claim_queue(user, status=status, programme_id=programme)
    return _claim_page(qs, page, page_size)


@router.get(
    "/voucher-claims/{claim_id}",
    response=ClaimDetailOut,
    auth=AUTH,
    summary="One claim with its evidence",
)
def get_claim(request: HttpRequest, claim_id: int) -> ClaimDetailOut:
    return _claim_detail(selectors.get_claim(acting_user(request), claim_id))


class ClaimIn(Schema):
    provider: int
    programme: int


@router.post(
    "/voucher-claims",
    response={201: ClaimDetailOut},
    auth=AUTH,
    summary="Claim every unclaimed redemption of a programme on my organisation's orders",
)
def submit_claim(request: HttpRequest, payload: ClaimIn) -> Any:
    user = acting_user(request)
    claim = services.submit_claim(
        actor=user, provider_id=payload.provider, programme_id=payload.programme
    )
    return Status(201, _claim_detail(selectors.get_claim(user, claim.pk)))


@router.post(
    "/voucher-claims/{claim_id}/approve",
    response=ClaimDetailOut,
    auth=AUTH,
    summary="Approve a claim: the amount becomes payable (administrators)",
)
def approve_claim(request: HttpRequest, claim_id: int) -> Any:
    user = acting_user(request)
    services.approve_claim(actor=user, claim_id=claim_id)
    return _claim_detail(selectors.get_claim(user, claim_id))


@router.post(
    "/voucher-claims/{claim_id}/reject",
    response=ClaimDetailOut,
    auth=AUTH,
    summary="Reject a claim with a reason: its redemptions are reversed (administrators)",
)
def reject_claim(request: HttpRequest, claim_id: int, payload: ReasonIn) -> Any:
    user = acting_user(request)
    services.reject_claim(actor=user, claim_id=claim_id, reason=payload.reason)
    return _claim_detail(selectors.get_claim(user, claim_id))
