"""JSON API: vouchers, quoting and redeeming them on an order, revoking them, and the
ledger check."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema, Status
from ninja.params.functions import Header

from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH
from innocommons.core.errors import DomainError, PermissionDenied
from innocommons.vouchers import codes, ledger, selectors, services
from innocommons.vouchers.api.common import PAGE, PAGE_SIZE, VouchersRouter, paginate
from innocommons.vouchers.api.schemas import ReasonIn
from innocommons.vouchers.models import Redemption, Voucher

router = VouchersRouter()


class RedemptionOut(Schema):
    id: int
    voucher: int
    order: int
    order_ref: str
    provider: int
    provider_name: str
    amount_fen: int
    created_at: datetime
    reversed_at: datetime | None
    claim: int | None


class VoucherOut(Schema):
    id: int
    code: str
    code_display: str
    programme: int
    programme_name: str
    organisation: int
    organisation_name: str
    face_value_fen: int
    balance_fen: int
    valid_from: datetime
    valid_until: datetime
    status: str
    status_reason: str


class VoucherDetailOut(VoucherOut):
    redemptions: list[RedemptionOut]


class VoucherPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[VoucherOut]


def _voucher_base(v: Voucher) -> dict[str, Any]:
    return {
        "id": v.pk,
        "code": v.code,
        "code_display": codes.display(v.code),
        "programme": v.programme_id,
        "programme_name": v.programme.name,
        "organisation": v.organisation_id,
        "organisation_name": v.organisation.name,
        "face_value_fen": v.face_value_fen,
        "balance_fen": v.balance_fen,
        "valid_from": v.valid_from,
        "valid_until": v.valid_until,
        "status": v.status,
        "status_reason": v.status_reason,
    }


def _redemption_out(r: Redemption) -> RedemptionOut:
    return RedemptionOut(
        id=r.pk,
        voucher=r.voucher_id,
        order=r.order_id,
        order_ref=r.order.ref,
        provider=r.provider_id,
        provider_name=r.provider.name,
        amount_fen=r.amount_fen,
        created_at=r.created_at,
        reversed_at=r.reversed_at,
        claim=r.claim_id,
    )


def _voucher_detail(v: Voucher) -> VoucherDetailOut:
    return VoucherDetailOut(
        **_voucher_base(v),
        redemptions=[_redemption_out(r) for r in selectors.voucher_redemptions(v)],
    )


def _voucher_page(qs: QuerySet[Voucher], page: int, page_size: int) -> VoucherPage:
    total, rows = paginate(qs, page, page_size)
    return VoucherPage(
        total=total,
        page=page,
        page_size=page_size,
        items=[VoucherOut(**_voucher_base(v)) for v in rows],
    )


@router.get("/vouchers", response=VoucherPage, auth=AUTH, summary="My organisations' vouchers")
def my_vouchers(
    request: HttpRequest,
    organisation: int | None = None,
    status: str = "",
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> VoucherPage:
    qs = selectors.my_vouchers(acting_user(request), organisation_id=organisation)
    if status:
        qs = qs.filter(status=status[:10])
    return _voucher_page(qs, page, page_size)


@router.get(
    "/voucher-programmes/{programme_id}/vouchers",
    response=VoucherPage,
    auth=AUTH,
    summary="Vouchers issued by a programme (its administrators and auditors)",
)
def programme_vouchers(
    request: HttpRequest,
    programme_id: int,
    status: str = "",
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> VoucherPage:
    qs = selectors.programme_vouchers(acting_user(request), programme_id, status=status)
    return _voucher_page(qs, page, page_size)


class CheckOut(Schema):
    ok: bool
    accounts: int
    entries: int
    postings: int
    problems: list[str]


@router.get(
    "/vouchers/ledger/check",
    response=CheckOut,
    auth=AUTH,
    summary="Check every cached balance against the ledger (auditors, operators)",
)
def check_ledger(request: HttpRequest) -> CheckOut:
    if not selectors.can_check_ledger(acting_user(request)):
        raise PermissionDenied(_("Only auditors and operators can run the ledger check."))
    report = ledger.check()
    return CheckOut(
        ok=report.ok,
        accounts=report.accounts,
        entries=report.entries,
        postings=report.postings,
        problems=report.problems,
    )


@router.get(
    "/vouchers/{voucher_id}",
    response=VoucherDetailOut,
    auth=AUTH,
    summary="One voucher with its redemptions",
)
def get_voucher(request: HttpRequest, voucher_id: int) -> VoucherDetailOut:
    return _voucher_detail(selectors.get_voucher(acting_user(request), voucher_id))


class QuoteOut(Schema):
    voucher: int
    order: int
    fee_fen: int
    amount_fen: int = Field(description="What the voucher would pay")
    client_pays_fen: int = Field(description="What the enterprise pays itself")
    balance_fen: int
    coverage_fen: int
    cap_left_fen: int
    limited_by: Literal["balance", "coverage", "cap"]


@router.get(
    "/vouchers/{voucher_id}/quote",
    response=QuoteOut,
    auth=AUTH,
    summary="What the voucher would pay for a completed order (nothing is written)",
)
def quote(request: HttpRequest, voucher_id: int, order: int) -> QuoteOut:
    user = acting_user(request)
    selectors.get_voucher(user, voucher_id)
    q = services.quote_redemption(actor=user, voucher=voucher_id, order_id=order)
    fee = selectors.order_for_redemption(user, order).fee_fen or 0
    return QuoteOut(
        voucher=voucher_id,
        order=order,
        fee_fen=fee,
        amount_fen=q.amount_fen,
        client_pays_fen=fee - q.amount_fen,
        balance_fen=q.balance_fen,
        coverage_fen=q.coverage_fen,
        cap_left_fen=q.cap_left_fen,
        limited_by=q.limited_by,  # type: ignore[arg-type]
    )


class RedeemIn(Schema):
    order: int
    idempotency_key: str = Field(
        "", max_length=64, description="Or the Idempotency-Key header: a retry pays once"
    )


@router.post(
    "/vouchers/{voucher_id}/redeem",
    response={201: RedemptionOut},
    auth=AUTH,
    summary="Apply the voucher to a completed order (idempotent with a key)",
)
def redeem(
    request: HttpRequest,
    voucher_id: int,
    payload: RedeemIn,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=64),
) -> Any:
    user = acting_user(request)
    header_key = (idempotency_key or "").strip()
    body_key = payload.idempotency_key.strip()
    if header_key and body_key and header_key != body_key:
        raise DomainError(
            _("The Idempotency-Key header and the idempotency_key field differ."),
            field="idempotency_key",
        )
    selectors.get_voucher(user, voucher_id)
    redemption = services.redeem_voucher(
        actor=user,
        voucher=voucher_id,
        order_id=payload.order,
        idempotency_key=header_key or body_key,
    )
    redemption = Redemption.objects.select_related("order", "provider").get(pk=redemption.pk)
    return Status(201, _redemption_out(redemption))


@router.post(
    "/vouchers/{voucher_id}/revoke",
    response=VoucherOut,
    auth=AUTH,
    summary="Revoke a voucher; its balance returns to the budget (administrators)",
)
def revoke(request: HttpRequest, voucher_id: int, payload: ReasonIn) -> Any:
    user = acting_user(request)
    selectors.get_voucher(user, voucher_id)
    services.revoke_voucher(actor=user, voucher_id=voucher_id, reason=payload.reason)
    return VoucherOut(**_voucher_base(selectors.get_voucher(user, voucher_id)))
