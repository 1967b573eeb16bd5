"""JSON API: settlement batches, their payment and XLSX export, and a programme's ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Schema, Status

from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH
from innocommons.vouchers import selectors, services
from innocommons.vouchers.api.claims import ClaimOut, claim_base
from innocommons.vouchers.api.common import PAGE, PAGE_SIZE, VouchersRouter, paginate
from innocommons.vouchers.exports import batch_export_response
from innocommons.vouchers.models import JournalEntry, SettlementBatch

router = VouchersRouter()


class BatchOut(Schema):
    id: int
    programme: int
    programme_name: str
    period_start: date
    period_end: date
    status: str
    total_fen: int
    payment_reference: str
    created_at: datetime
    paid_at: datetime | None
    export_url: str


class BatchDetailOut(BatchOut):
    claims: list[ClaimOut]


class BatchPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[BatchOut]


def _batch_base(b: SettlementBatch) -> dict[str, Any]:
    return {
        "id": b.pk,
        "programme": b.programme_id,
        "programme_name": b.programme.name,
        "period_start": b.period_start,
        "period_end": b.period_end,
        "status": b.status,
        "total_fen": b.total_fen,
        "payment_reference": b.payment_reference,
        "created_at": b.created_at,
        "paid_at": b.paid_at,
        "export_url": f"/api/v1/settlement-batches/{b.pk}/export.xlsx",
    }


def _batch_detail(b: SettlementBatch) -> BatchDetailOut:
    return BatchDetailOut(
        **_batch_base(b),
        claims=[ClaimOut(**claim_base(c)) for c in selectors.batch_claims(b)],
    )


@router.get(
    "/voucher-programmes/{programme_id}/batches",
    response=BatchPage,
    auth=AUTH,
    summary="A programme's settlement batches",
)
def list_batches(
    request: HttpRequest, programme_id: int, page: int = PAGE, page_size: int = PAGE_SIZE
) -> BatchPage:
    total, rows = paginate(
        selectors.programme_batches(acting_user(request), programme_id), page, page_size
    )
    return BatchPage(
        total=total,
        page=page,
        page_size=page_size,
        items=[BatchOut(**_batch_base(b)) for b in rows],
    )


class BatchIn(Schema):
    day: date | None = Field(
        None, description="Any day of the settlement period to settle; default today"
    )


@router.post(
    "/voucher-programmes/{programme_id}/batches",
    response={201: BatchDetailOut},
    auth=AUTH,
    summary="Gather approved claims into the settlement batch of a period",
)
def create_batch(request: HttpRequest, programme_id: int, payload: BatchIn) -> Any:
    user = acting_user(request)
    batch = services.create_batch(
        actor=user, programme_id=programme_id, day=payload.day or timezone.localdate()
    )
    return Status(201, _batch_detail(selectors.get_batch(user, batch.pk)))


@router.get(
    "/settlement-batches/{batch_id}",
    response=BatchDetailOut,
    auth=AUTH,
    summary="One settlement batch with its claims",
)
def get_batch(request: HttpRequest, batch_id: int) -> BatchDetailOut:
    return _batch_detail(selectors.get_batch(acting_user(request), batch_id))


class PayIn(Schema):
    payment_reference: str = Field(max_length=100)


@router.post(
    "/settlement-batches/{batch_id}/pay",
    response=BatchDetailOut,
    auth=AUTH,
    summary="Record the batch as paid with the bank's payment reference",
)
def pay_batch(request: HttpRequest, batch_id: int, payload: PayIn) -> Any:
    user = acting_user(request)
    selectors.get_batch(user, batch_id)
    services.pay_batch(actor=user, batch_id=batch_id, payment_reference=payload.payment_reference)
    return _batch_detail(selectors.get_batch(user, batch_id))


@router.get(
    "/settlement-batches/{batch_id}/export.xlsx",
    auth=AUTH,
    summary="The batch as an XLSX workbook for the finance office",
)
def export_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    return batch_export_response(selectors.get_batch(acting_user(request), batch_id))


class PostingOut(Schema):
    account: str
    kind: str
    amount_fen: int = Field(description="Debit positive, credit negative")


class EntryOut(Schema):
    id: int
    at: datetime
    kind: str
    memo: str
    actor: str | None
    postings: list[PostingOut]


class EntryPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[EntryOut]


def _entry_out(e: JournalEntry) -> EntryOut:
    return EntryOut(
        id=e.pk,
        at=e.at,
        kind=e.kind,
        memo=e.memo,
        actor=e.actor.get_username() if e.actor else None,
        postings=[
            PostingOut(account=p.account.code, kind=p.account.kind, amount_fen=p.amount_fen)
            for p in e.postings.all()
        ],
    )


@router.get(
    "/voucher-programmes/{programme_id}/ledger",
    response=EntryPage,
    auth=AUTH,
    summary="A programme's journal entries with their postings (administrators, auditors)",
)
def programme_ledger(
    request: HttpRequest, programme_id: int, page: int = PAGE, page_size: int = PAGE_SIZE
) -> EntryPage:
    total, rows = paginate(
        selectors.ledger_entries(acting_user(request), programme_id), page, page_size
    )
    return EntryPage(
        total=total, page=page, page_size=page_size, items=[_entry_out(e) for e in rows]
    )
