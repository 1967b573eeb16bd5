"""Providers' claims for redeemed amounts, their review by the issuing region, and
settlement batches that pay approved claims (across regions too)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.core import audit
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.insights import rollups
from innocommons.vouchers import ledger
from innocommons.vouchers.models import (
    Account,
    Claim,
    Programme,
    Redemption,
    SettlementBatch,
    Voucher,
)
from innocommons.vouchers.permissions import can_run_programme
from innocommons.vouchers.services.programmes import get_programme


def submit_claim(*, actor: Any, provider_id: int, programme_id: int) -> Claim:
    """The provider claims every redeemed, unclaimed amount on its orders under a programme."""
    if not perms.is_member(actor, provider_id):
        raise PermissionDenied(_("Only members of the provider can claim its redemptions."))
    programme = get_programme(programme_id)
    with transaction.atomic(durable=True):
        claim = Claim.objects.create(
            programme=programme, provider_id=provider_id, amount_fen=1, submitted_by=actor
        )
        # Conditional update: two claims submitted at once cannot take the same redemption.
        taken = Redemption.objects.filter(
            programme=programme,
            provider_id=provider_id,
            claim__isnull=True,
            reversed_at__isnull=True,
        ).update(claim=claim)
        if not taken:
            raise DomainError(_("There are no unclaimed redemptions to claim."), status=409)
        total = Redemption.objects.filter(claim=claim).aggregate(s=Sum("amount_fen"))["s"]
        Claim.objects.filter(pk=claim.pk).update(amount_fen=total)
        claim.amount_fen = int(total)
        audit.record(
            actor=actor,
            action="vouchers.claim.submit",
            target=claim,
            after={"amount_fen": claim.amount_fen, "redemptions": taken},
            region=programme.region,
        )
    return claim


def _get_claim(claim_id: int) -> Claim:
    try:
        return Claim.objects.select_related("programme__region", "provider").get(pk=claim_id)
    except (Claim.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such claim.")) from None


def _move_claim(claim: Claim, frm: str, to: str, **fields: Any) -> None:
    if Claim.objects.filter(pk=claim.pk, status=frm).update(status=to, **fields) != 1:
        raise DomainError(_("The claim has already been decided."), status=409)


def approve_claim(*, actor: Any, claim_id: int) -> Claim:
    """The issuing region accepts the evidence; the amount becomes payable to the provider."""
    claim = _get_claim(claim_id)
    if not can_run_programme(actor, claim.programme):
        raise PermissionDenied(_("Only the issuing region's administrators review claims."))
    with transaction.atomic(durable=True):
        _move_claim(
            claim,
            Claim.Status.SUBMITTED,
            Claim.Status.APPROVED,
            decided_by=actor,
            decided_at=timezone.now(),
        )
        ledger.post(
            kind="approve_claim",
            programme=claim.programme,
            lines=[
                (
                    ledger.programme_account(claim.programme, Account.Kind.REDEEMED),
                    -claim.amount_fen,
                ),
                (ledger.programme_account(claim.programme, Account.Kind.PAYABLE), claim.amount_fen),
            ],
            actor=actor,
            memo=f"claim {claim.pk}",
        )
        audit.record(
            actor=actor,
            action="vouchers.claim.approve",
            target=claim,
            before={"status": "submitted"},
            after={"status": "approved", "amount_fen": claim.amount_fen},
            region=claim.programme.region,
        )
    claim.refresh_from_db()
    return claim


def reject_claim(*, actor: Any, claim_id: int, reason: str) -> Claim:
    """Reject a claim: each redemption is reversed and its amount returns to the voucher
    (or to the budget, if the voucher has ended meanwhile)."""
    claim = _get_claim(claim_id)
    if not can_run_programme(actor, claim.programme):
        raise PermissionDenied(_("Only the issuing region's administrators review claims."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the rejection."), field="reason")
    now = timezone.now()
    with transaction.atomic(durable=True):
        _move_claim(
            claim,
            Claim.Status.SUBMITTED,
            Claim.Status.REJECTED,
            decided_by=actor,
            decided_at=now,
            decision_reason=reason[:2000],
        )
        redeemed = ledger.programme_account(claim.programme, Account.Kind.REDEEMED)
        budget = ledger.programme_account(claim.programme, Account.Kind.BUDGET)
        redemptions = list(
            Redemption.objects.filter(claim=claim, reversed_at__isnull=True).order_by(
                "voucher_id", "pk"
            )
        )
        # Locks in the order a redemption takes them — vouchers, rollup cells, accounts —
        # so a rejection and a redemption of one of its vouchers cannot deadlock.
        vouchers = Voucher.objects.select_for_update().in_bulk(
            sorted({r.voucher_id for r in redemptions})
        )
        reversed_ids = [r.pk for r in redemptions]
        Redemption.objects.filter(pk__in=reversed_ids).update(reversed_at=now)
        rollups.redemptions_changed(reversed_ids)
        for redemption in redemptions:
            voucher = vouchers[redemption.voucher_id]
            amount = redemption.amount_fen
            back_to_voucher = (
                voucher.status
                in (
                    Voucher.Status.ACTIVE,
                    Voucher.Status.EXHAUSTED,
                )
                and voucher.valid_until > now
            )
            if back_to_voucher:
                Voucher.objects.filter(pk=voucher.pk).update(
                    balance_fen=F("balance_fen") + amount, status=Voucher.Status.ACTIVE
                )
                target = Account.objects.get(voucher_id=voucher.pk)
            else:
                target = budget
            ledger.post(
                kind="reverse",
                programme=claim.programme,
                lines=[(redeemed, -amount), (target, amount)],
                actor=actor,
                memo=f"claim {claim.pk} rejected: redemption {redemption.pk}",
            )
        audit.record(
            actor=actor,
            action="vouchers.claim.reject",
            target=claim,
            before={"status": "submitted"},
            after={"status": "rejected", "returned_fen": claim.amount_fen},
            region=claim.programme.region,
            note=reason[:500],
        )
    claim.refresh_from_db()
    return claim


def period_of(programme: Programme, day: date) -> tuple[date, date]:
    """The settlement period (month, quarter or year) containing `day`."""
    if programme.settlement_period == Programme.Period.MONTHLY:
        first_month, months = day.month, 1
    elif programme.settlement_period == Programme.Period.YEARLY:
        first_month, months = 1, 12
    else:
        first_month, months = (day.month - 1) // 3 * 3 + 1, 3
    start = date(day.year, first_month, 1)
    end_month = first_month + months
    next_start = date(day.year + 1, 1, 1) if end_month > 12 else date(day.year, end_month, 1)
    return start, date.fromordinal(next_start.toordinal() - 1)


def create_batch(*, actor: Any, programme_id: int, day: date) -> SettlementBatch:
    """Gather the programme's approved, unbatched claims decided up to the end of the
    settlement period containing `day` into one batch."""
    programme = get_programme(programme_id)
    if not can_run_programme(actor, programme):
        raise PermissionDenied(_("Only the issuing region's administrators settle claims."))
    start, end = period_of(programme, day)
    if start > timezone.localdate():
        raise DomainError(_("This settlement period has not started yet."), field="day")
    try:
        with transaction.atomic(durable=True):
            batch = SettlementBatch.objects.create(
                programme=programme, period_start=start, period_end=end, created_by=actor
            )
            included = Claim.objects.filter(
                programme=programme,
                status=Claim.Status.APPROVED,
                batch__isnull=True,
                decided_at__date__lte=end,
            ).update(batch=batch)
            if not included:
                raise DomainError(_("There are no approved claims to settle."), status=409)
            total = batch.claims.aggregate(s=Sum("amount_fen"))["s"] or 0
            SettlementBatch.objects.filter(pk=batch.pk).update(total_fen=total)
            audit.record(
                actor=actor,
                action="vouchers.batch.create",
                target=batch,
                after={"claims": included, "total_fen": total, "period": f"{start}–{end}"},
                region=programme.region,
            )
    except IntegrityError:
        raise DomainError(
            _("A settlement batch for this period already exists."), field="day", status=409
        ) from None
    batch.refresh_from_db()
    return batch


def pay_batch(
    *,
    actor: Any,
    batch_id: int,
    payment_reference: str,
    on_claim_paid: Callable[[Claim], None] | None = None,
) -> SettlementBatch:
    """Record the batch as paid: every claim moves from payable to paid, one transaction per
    claim. If interrupted, calling it again with the same reference finishes the rest."""
    try:
        batch = SettlementBatch.objects.select_related("programme__region").get(pk=batch_id)
    except (SettlementBatch.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such settlement batch.")) from None
    programme = batch.programme
    if not can_run_programme(actor, programme):
        raise PermissionDenied(_("Only the issuing region's administrators settle claims."))
    reference = (payment_reference or "").strip()[:100]
    if not reference:
        raise DomainError(_("Enter the payment reference."), field="payment_reference")
    if batch.status == SettlementBatch.Status.PAID:
        raise DomainError(_("The batch has already been paid."), status=409)
    if batch.status == SettlementBatch.Status.PAYING and batch.payment_reference != reference:
        raise DomainError(
            _("The batch is being paid under reference %(ref)s.")
            % {"ref": batch.payment_reference},
            field="payment_reference",
            status=409,
        )
    with transaction.atomic(durable=True):
        SettlementBatch.objects.filter(pk=batch.pk).update(
            status=SettlementBatch.Status.PAYING, payment_reference=reference
        )
        audit.record(
            actor=actor,
            action="vouchers.batch.pay_start",
            target=batch,
            after={"payment_reference": reference, "total_fen": batch.total_fen},
            region=programme.region,
        )
    payable = ledger.programme_account(programme, Account.Kind.PAYABLE)
    paid = ledger.programme_account(programme, Account.Kind.PAID)
    for claim in batch.claims.filter(status=Claim.Status.APPROVED).order_by("pk"):
        with transaction.atomic(durable=True):
            _move_claim(claim, Claim.Status.APPROVED, Claim.Status.PAID, paid_at=timezone.now())
            ledger.post(
                kind="pay",
                programme=programme,
                lines=[(payable, -claim.amount_fen), (paid, claim.amount_fen)],
                actor=actor,
                memo=f"batch {batch.pk} claim {claim.pk} ref {reference}",
            )
            audit.record(
                actor=actor,
                action="vouchers.claim.pay",
                target=claim,
                after={"amount_fen": claim.amount_fen, "batch": batch.pk},
                region=programme.region,
            )
        if on_claim_paid is not None:
            on_claim_paid(claim)
    with transaction.atomic(durable=True):
        SettlementBatch.objects.filter(pk=batch.pk).update(
            status=SettlementBatch.Status.PAID, paid_at=timezone.now()
        )
        audit.record(
            actor=actor,
            action="vouchers.batch.paid",
            target=batch,
            after={"payment_reference": reference},
            region=programme.region,
        )
    batch.refresh_from_db()
    return batch
