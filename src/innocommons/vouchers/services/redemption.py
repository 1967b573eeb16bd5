"""Applying a voucher to a completed order, and returning unspent balances (expiry,
revocation) to the programme budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.core import audit
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.insights import rollups
from innocommons.orders.models import Order
from innocommons.vouchers import codes, ledger
from innocommons.vouchers.models import Account, Programme, Redemption, Voucher
from innocommons.vouchers.permissions import can_run_programme

# Tests switch this off to show that the race it prevents really happens (CONVENTIONS
# habit 8). Never change it anywhere else.
LOCKING = True

SPENDABLE = (Voucher.Status.ACTIVE,)


def get_voucher(voucher: int | str) -> Voucher:
    """By id, or by the code as a person typed it (check character verified first)."""
    qs = Voucher.objects.select_related("programme__region", "programme__scope_group")
    if isinstance(voucher, int):
        found = qs.filter(pk=voucher).first()
    else:
        code = codes.normalise(voucher)
        if not codes.is_valid(code):
            raise DomainError(_("This is not a valid voucher code."), field="voucher")
        found = qs.filter(code=code).first()
    if found is None:
        raise NotFound(_("No such voucher."), field="voucher")
    return found


def provider_in_scope(programme: Programme, provider: Organisation) -> bool:
    region = provider.region
    if programme.scope == Programme.Scope.OWN_REGION:
        return region.is_within(programme.region)
    if programme.scope == Programme.Scope.GROUP:
        assert programme.scope_group is not None
        return any(region.is_within(r) for r in programme.scope_group.regions.all())
    province = region.province or region
    return bool(region.in_community or province.in_community)


def _category_ok(eligible: set[int], order: Order) -> bool:
    if not eligible:
        return True
    category = order.category
    while category is not None:
        if category.pk in eligible:
            return True
        category = category.parent
    return False


@dataclass(frozen=True)
class RedemptionQuote:
    """What a redemption would pay and which limit decided it."""

    amount_fen: int
    balance_fen: int
    coverage_fen: int
    cap_left_fen: int

    @property
    def limited_by(self) -> str:
        if self.amount_fen == self.balance_fen:
            return "balance"
        if self.amount_fen == self.coverage_fen:
            return "coverage"
        return "cap"


@dataclass(frozen=True)
class _Case:
    """The facts about one (voucher, order) pair that do not change under our feet: read
    once, outside the transaction. The voucher's balance and state, the cap used and the
    order's live redemption are re-read under the lock."""

    order: Order
    group: list[int]  # the client and its related organisations: one yearly cap

    @classmethod
    def read(cls, voucher: Voucher, order: Order) -> _Case:
        group = sorted({order.client_id, *order.client.related.values_list("pk", flat=True)})
        return cls(order=order, group=group)

    def static_problem(self, voucher: Voucher) -> str | None:
        """Rules about the order, the parties and the programme."""
        order, programme = self.order, voucher.programme
        if order.client_id != voucher.organisation_id:
            return _("The voucher belongs to another organisation than the order's client.")
        if order.status not in (Order.Status.COMPLETED, Order.Status.CLOSED):
            return _("A voucher can only be applied to a completed order.")
        if not order.fee_fen:
            return _("The order has no agreed fee.")
        if order.provider_id in self.group:
            return _("Vouchers cannot pay for services between related organisations.")
        if not provider_in_scope(programme, order.provider):
            return _("The provider is outside the regions where this voucher is accepted.")
        eligible = {t.pk for t in programme.eligible_categories.all()}
        if not _category_ok(eligible, order):
            return _("This kind of service is not eligible under the programme.")
        return None

    @staticmethod
    def voucher_problem(voucher: Voucher, now: datetime) -> str | None:
        """Rules about the voucher's current state: checked again under the lock."""
        if voucher.status != Voucher.Status.ACTIVE:
            return _("The voucher is %(status)s.") % {"status": voucher.get_status_display()}
        if voucher.valid_until <= now or voucher.valid_from > now:
            return _("The voucher is not valid at this time.")
        return None

    def quote(self, voucher: Voucher, year: int) -> RedemptionQuote:
        programme = voucher.programme
        coverage = (self.order.fee_fen or 0) * programme.coverage_bp // 10000
        used = Redemption.objects.filter(
            programme_id=programme.pk, client_id__in=self.group, year=year, reversed_at__isnull=True
        ).aggregate(s=Sum("amount_fen"))["s"]
        cap_left = max(0, programme.max_per_enterprise_year_fen - int(used or 0))
        return RedemptionQuote(
            amount_fen=min(voucher.balance_fen, coverage, cap_left),
            balance_fen=voucher.balance_fen,
            coverage_fen=coverage,
            cap_left_fen=cap_left,
        )


def _get_order(order_id: int) -> Order:
    try:
        return Order.objects.select_related("client", "provider__region__province", "resource").get(
            pk=order_id
        )
    except (Order.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such order."), field="order") from None


def _already_paid() -> DomainError:
    return DomainError(_("The order has already been paid for with a voucher."), status=409)


def _checked(voucher: Voucher, order: Order, now: datetime) -> _Case:
    case = _Case.read(voucher, order)
    problem = case.static_problem(voucher) or case.voucher_problem(voucher, now)
    if problem:
        raise DomainError(problem, field="order", status=409)
    return case


def quote_redemption(*, actor: Any, voucher: int | str, order_id: int) -> RedemptionQuote:
    """What applying the voucher to the order would pay now (nothing is written)."""
    found = get_voucher(voucher)
    if not perms.is_member(actor, found.organisation_id):
        raise PermissionDenied(_("Only the voucher holder can use it."))
    order = _get_order(order_id)
    if Redemption.objects.filter(order=order, reversed_at__isnull=True).exists():
        raise _already_paid()
    now = timezone.now()
    return _checked(found, order, now).quote(found, timezone.localdate(now).year)


def redeem_voucher(
    *, actor: Any, voucher: int | str, order_id: int, idempotency_key: str = ""
) -> Redemption:
    """The client applies its voucher to a completed order.

    amount = min(balance, coverage × fee, what is left of the yearly cap of the client and
    its related organisations). Repeating the same request (same order and voucher, same
    idempotency key) returns the first redemption instead of paying twice.
    """
    found = get_voucher(voucher)
    if not perms.is_member(actor, found.organisation_id):
        raise PermissionDenied(_("Only the voucher holder can use it."))
    order = _get_order(order_id)
    key = (idempotency_key or "")[:64]
    now = timezone.now()

    existing = Redemption.objects.filter(order=order, reversed_at__isnull=True).first()
    if existing is not None:
        if existing.voucher_id == found.pk and existing.idempotency_key == key:
            return existing
        raise _already_paid()
    case = _checked(found, order, now)
    try:
        return _redeem(actor, found, case, key, now)
    except IntegrityError:
        # Two requests for the same order raced past the checks: the unique constraint
        # (one live redemption per order) stopped the second one.
        existing = Redemption.objects.filter(order=order, reversed_at__isnull=True).first()
        if existing is None:
            raise  # another constraint: a bug, not a user's mistake
        if existing.voucher_id == found.pk and existing.idempotency_key == key:
            return existing
        raise _already_paid() from None


def _redeem(actor: Any, found: Voucher, case: _Case, key: str, now: datetime) -> Redemption:
    programme, order = found.programme, case.order
    stale = Voucher.objects.get(pk=found.pk) if not LOCKING else None
    with transaction.atomic(durable=True):
        if LOCKING:
            # Lock the cap group's organisations, then the voucher, in this fixed order;
            # then re-read everything the amount depends on (CONVENTIONS habit 3).
            list(
                Organisation.objects.select_for_update()
                .filter(pk__in=case.group)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            current = Voucher.objects.select_for_update().get(pk=found.pk)
        else:
            current = stale  # type: ignore[assignment]
        current.programme = programme
        if Redemption.objects.filter(order=order, reversed_at__isnull=True).exists():
            raise _already_paid()
        problem = case.voucher_problem(current, now)
        if problem:
            raise DomainError(problem, field="order", status=409)
        quote = case.quote(current, timezone.localdate(now).year)
        amount = quote.amount_fen
        if amount <= 0:
            raise DomainError(
                _("Nothing is left to pay: the voucher or the yearly cap is used up."), status=409
            )
        rows = Voucher.objects.filter(pk=found.pk)
        if LOCKING:
            rows = rows.filter(balance_fen__gte=amount)
        exhausted = Case(
            When(balance_fen=amount, then=Value(Voucher.Status.EXHAUSTED)), default=F("status")
        )
        if rows.update(balance_fen=F("balance_fen") - amount, status=exhausted) != 1:
            raise DomainError(_("The voucher's balance changed; please try again."), status=409)
        redemption = Redemption.objects.create(
            voucher=current,
            order=order,
            programme=programme,
            client_id=order.client_id,
            provider_id=order.provider_id,
            amount_fen=amount,
            year=timezone.localdate(now).year,
            idempotency_key=key,
            created_by=actor,
        )
        rollups.redemption_changed(redemption)
        audit.record(
            actor=actor,
            action="vouchers.redeem",
            target=redemption,
            after={
                "amount_fen": amount,
                "voucher": current.code,
                "order": order.ref,
                "limited_by": quote.limited_by,
            },
            region=programme.region,
        )
        # Last, so the programme-wide account row stays locked as briefly as possible.
        accounts = ledger.accounts_by_kind(
            programme.pk, voucher_id=found.pk, kinds=[Account.Kind.REDEEMED]
        )
        ledger.post(
            kind="redeem",
            programme=programme,
            lines=[
                (accounts[Account.Kind.VOUCHER], -amount),
                (accounts[Account.Kind.REDEEMED], amount),
            ],
            actor=actor,
            memo=f"voucher {found.pk} → order {order.ref}",
        )
    return redemption


def _release(voucher: Voucher, *, status: str, actor: Any, reason: str, action: str) -> int:
    """Return the unspent balance to the budget and end the voucher. Inside a transaction."""
    current = Voucher.objects.select_for_update().get(pk=voucher.pk)
    if current.status not in (Voucher.Status.ACTIVE, Voucher.Status.EXHAUSTED):
        raise DomainError(_("The voucher has already ended."), status=409)
    balance = current.balance_fen
    Voucher.objects.filter(pk=voucher.pk).update(
        status=status, balance_fen=0, status_reason=reason[:500]
    )
    if balance:
        ledger.post(
            kind=status,
            programme=current.programme_id,
            lines=[
                (Account.objects.get(voucher_id=voucher.pk), -balance),
                (ledger.programme_account(current.programme_id, Account.Kind.BUDGET), balance),
            ],
            actor=actor,
            memo=f"voucher {voucher.pk} {status}",
        )
    audit.record(
        actor=actor,
        action=action,
        target=current,
        before={"status": current.status, "balance_fen": balance},
        after={"status": status, "returned_fen": balance},
        region=voucher.programme.region,
        note=reason[:500],
    )
    return balance


def revoke_voucher(*, actor: Any, voucher_id: int, reason: str) -> Voucher:
    """The issuing region revokes a voucher at once; its balance returns to the budget."""
    voucher = get_voucher(voucher_id)
    if not can_run_programme(actor, voucher.programme):
        raise PermissionDenied(_("Only the issuing region's administrators can revoke vouchers."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the revocation."), field="reason")
    with transaction.atomic(durable=True):
        _release(
            voucher,
            status=Voucher.Status.REVOKED,
            actor=actor,
            reason=reason,
            action="vouchers.voucher.revoke",
        )
    voucher.refresh_from_db()
    return voucher


def expire_vouchers(*, now: datetime | None = None, progress: Any = None) -> tuple[int, int]:
    """Expire every voucher past its validity; return (vouchers expired, fen returned).

    Each voucher in its own transaction, so an interrupted run leaves nothing half-done
    and the next run picks up the rest.
    """
    now = now or timezone.now()
    due = list(
        Voucher.objects.filter(
            valid_until__lte=now, status__in=[Voucher.Status.ACTIVE, Voucher.Status.EXHAUSTED]
        )
        .select_related("programme__region")
        .order_by("pk")
    )
    count = returned = 0
    for voucher in due:
        try:
            with transaction.atomic(durable=True):
                returned += _release(
                    voucher,
                    status=Voucher.Status.EXPIRED,
                    actor=None,
                    reason="validity ended",
                    action="vouchers.voucher.expire",
                )
            count += 1
        except DomainError:
            pass  # ended meanwhile by a revocation: nothing to do
        if progress is not None:
            progress.update(1)
    return count, returned
