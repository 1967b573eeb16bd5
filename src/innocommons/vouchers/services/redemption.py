"""Applying a voucher to a completed order, and returning unspent balances (expiry,
revocation) to the programme budget.

A redemption is the busiest write that moves money (bench/redeem: ≥ 300 a second on
PostgreSQL), and on our hardware building one ORM query costs more Python time than the
database spends running it. So its path is hand-written SQL: three statements read every
fact the rules need (`_Facts`), and the transaction locks the voucher, reads its state and
the yearly cap used again, and writes the voucher, the redemption, the audit entry, the
rollup cell and the journal entry. The rules themselves stay plain Python, shared by the
quote and the redemption.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.catalog.models import Term
from innocommons.core import audit, sql
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.core.models import RegionGroup
from innocommons.insights import rollups
from innocommons.orders.models import Order
from innocommons.vouchers import codes, ledger
from innocommons.vouchers.models import Account, Programme, Redemption, Voucher
from innocommons.vouchers.permissions import can_run_programme

# Tests switch this off to show that the race it prevents really happens (CONVENTIONS
# habit 8). Never change it anywhere else.
LOCKING = True


def get_voucher(voucher: int | str) -> Voucher:
    """By id, or by the code as a person typed it (check character verified first)."""
    qs = Voucher.objects.select_related("programme__region", "programme__scope_group")
    if isinstance(voucher, int):
        found = qs.filter(pk=voucher).first()
    else:
        found = qs.filter(code=_valid_code(voucher)).first()
    if found is None:
        raise NotFound(_("No such voucher."), field="voucher")
    return found


def _valid_code(typed: str) -> str:
    code = codes.normalise(typed)
    if not codes.is_valid(code):
        raise DomainError(_("This is not a valid voucher code."), field="voucher")
    return code


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


# --- the facts: three statements --------------------------------------------------------

# The voucher, its programme's terms, both ledger accounts a redemption moves, and whether
# the actor is a member of the holder. Validity is compared in the database (%s = now), so
# no timestamps need converting back.
_VOUCHER_SQL = """
SELECT v.id, v.code, v.organisation_id, v.status, v.balance_fen,
       v.valid_from <= %s AND v.valid_until > %s,
       p.id, p.region_id, p.coverage_bp, p.max_per_enterprise_year_fen, p.scope,
       p.scope_group_id,
       EXISTS (SELECT 1 FROM vouchers_programme_eligible_categories e
               WHERE e.programme_id = p.id),
       (SELECT a.id FROM vouchers_account a WHERE a.voucher_id = v.id),
       (SELECT a.id FROM vouchers_account a WHERE a.code = 'P' || p.id || ':redeemed'),
       EXISTS (SELECT 1 FROM accounts_membership m
               WHERE m.user_id = %s AND m.organisation_id = v.organisation_id)
FROM vouchers_voucher v JOIN vouchers_programme p ON p.id = v.programme_id
WHERE v.{column} = %s
"""

# The order, both parties' regions (the provider's with up to three ancestors: the tree is
# country > province > city > district), its service or instrument category, the live
# redemption that may already pay for it, and the organisations related to the client
# (as "id,id,…").
_ORDER_SQL = """
SELECT o.id, o.ref, o.client_id, o.provider_id, o.status, o.fee_fen,
       COALESCE(s.category_id, i.category_id, 0),
       c.region_id, cr.province_id, pv.region_id, pr.province_id,
       pr.in_community OR COALESCE(pp.in_community, FALSE),
       pr.parent_id, pr2.parent_id, pr3.parent_id,
       r.id, r.voucher_id, r.idempotency_key,
       (SELECT {list_ids} FROM accounts_organisation_related x
        WHERE x.from_organisation_id = o.client_id)
FROM orders_order o
JOIN accounts_organisation c ON c.id = o.client_id
JOIN core_region cr ON cr.code = c.region_id
JOIN accounts_organisation pv ON pv.id = o.provider_id
JOIN core_region pr ON pr.code = pv.region_id
LEFT JOIN core_region pp ON pp.code = pr.province_id
LEFT JOIN core_region pr2 ON pr2.code = pr.parent_id
LEFT JOIN core_region pr3 ON pr3.code = pr2.parent_id
LEFT JOIN catalog_service s ON s.resource_id = o.resource_id
LEFT JOIN catalog_instrument i ON i.resource_id = o.resource_id
LEFT JOIN vouchers_redemption r ON r.order_id = o.id AND r.reversed_at IS NULL
WHERE o.id = %s
"""

# The voucher's state, whether the order is paid for already, and what the client's cap
# group has redeemed under the programme this year: re-read under the group's locks.
_STATE_SQL = """
SELECT v.status, v.balance_fen, v.valid_from <= %s AND v.valid_until > %s,
       EXISTS (SELECT 1 FROM vouchers_redemption WHERE order_id = %s AND reversed_at IS NULL),
       (SELECT COALESCE(SUM(amount_fen), 0) FROM vouchers_redemption
        WHERE programme_id = %s AND year = %s AND reversed_at IS NULL
        AND client_id IN ({marks}))
FROM vouchers_voucher v WHERE v.id = %s
"""

_LIST_IDS = {
    "postgresql": "string_agg(x.to_organisation_id::text, ',')",
    "sqlite": "group_concat(x.to_organisation_id)",
}


@dataclass(frozen=True)
class _Facts:
    """Everything the rules need about one (voucher, order) pair, read before the
    transaction. The voucher's state and the cap used are read again under the lock."""

    voucher_id: int
    code: str
    holder_id: int
    status: str
    balance_fen: int
    valid_now: bool
    programme_id: int
    programme_region: str
    coverage_bp: int
    cap_fen: int
    scope: str
    scope_group: str | None
    restricts_categories: bool
    voucher_account: int
    redeemed_account: int
    order_id: int
    order_ref: str
    client_id: int
    provider_id: int
    order_status: str
    fee_fen: int | None
    category: int  # 0: none
    client_region: str
    client_province: str
    provider_region: str
    provider_province: str
    provider_in_community: bool
    provider_ancestry: frozenset[str]  # the provider's region and its ancestors
    live_redemption: tuple[int, int, str] | None  # (id, voucher id, idempotency key)
    group: tuple[int, ...]  # the client and its related organisations: one yearly cap

    @classmethod
    def read(cls, actor: Any, voucher: int | str, order_id: Any, now: datetime) -> _Facts:
        """Read the facts; refuse an actor who is not a member of the voucher's holder."""
        column, key = (
            ("id", voucher) if isinstance(voucher, int) else ("code", _valid_code(voucher))
        )
        at = connection.ops.adapt_datetimefield_value(now)
        user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        with sql.cursor() as cur:
            cur.execute(_VOUCHER_SQL.format(column=column), [at, at, user_id, key])
            v = cur.fetchone()
            if v is None:
                raise NotFound(_("No such voucher."), field="voucher")
            if not v[15]:
                raise PermissionDenied(_("Only the voucher holder can use it."))
            if not isinstance(order_id, int) or isinstance(order_id, bool):
                raise NotFound(_("No such order."), field="order")
            cur.execute(_ORDER_SQL.format(list_ids=_LIST_IDS[connection.vendor]), [order_id])
            o = cur.fetchone()
            if o is None:
                raise NotFound(_("No such order."), field="order")
        related = {int(pk) for pk in (o[18] or "").split(",") if pk}
        return cls(
            voucher_id=v[0],
            code=v[1],
            holder_id=v[2],
            status=v[3],
            balance_fen=v[4],
            valid_now=bool(v[5]),
            programme_id=v[6],
            programme_region=v[7],
            coverage_bp=v[8],
            cap_fen=v[9],
            scope=v[10],
            scope_group=v[11],
            restricts_categories=bool(v[12]),
            voucher_account=v[13],
            redeemed_account=v[14],
            order_id=o[0],
            order_ref=o[1],
            client_id=o[2],
            provider_id=o[3],
            order_status=o[4],
            fee_fen=o[5],
            category=o[6],
            client_region=o[7],
            client_province=o[8],
            provider_region=o[9],
            provider_province=o[10],
            provider_in_community=bool(o[11]),
            provider_ancestry=frozenset(c for c in (o[9], *o[12:15]) if c),
            live_redemption=None if o[15] is None else (o[15], o[16], o[17]),
            group=tuple(sorted({o[2], *related})),
        )

    def static_problem(self) -> str | None:
        """Rules about the order, the parties and the programme."""
        if self.client_id != self.holder_id:
            return _("The voucher belongs to another organisation than the order's client.")
        if self.order_status not in (Order.Status.COMPLETED, Order.Status.CLOSED):
            return _("A voucher can only be applied to a completed order.")
        if not self.fee_fen:
            return _("The order has no agreed fee.")
        if self.provider_id in self.group:
            return _("Vouchers cannot pay for services between related organisations.")
        if not self._provider_in_scope():
            return _("The provider is outside the regions where this voucher is accepted.")
        if self.restricts_categories and not self._category_eligible():
            return _("This kind of service is not eligible under the programme.")
        return None

    def _provider_in_scope(self) -> bool:
        if self.scope == Programme.Scope.OWN_REGION:
            return self.programme_region in self.provider_ancestry
        if self.scope == Programme.Scope.GROUP:
            members = RegionGroup.regions.through.objects.filter(
                regiongroup_id=self.scope_group, region_id__in=self.provider_ancestry
            )
            return members.exists()
        return self.provider_in_community

    def _category_eligible(self) -> bool:
        """The order's category or one of its ancestors is among the eligible ones."""
        eligible = set(
            Programme.eligible_categories.through.objects.filter(
                programme_id=self.programme_id
            ).values_list("term_id", flat=True)
        )
        category: int | None = self.category or None
        while category is not None:
            if category in eligible:
                return True
            category = Term.objects.filter(pk=category).values_list("parent_id", flat=True)[0]
        return False

    @staticmethod
    def voucher_problem(status: str, valid_now: bool) -> str | None:
        """Rules about the voucher's current state: checked again under the lock."""
        if status != Voucher.Status.ACTIVE:
            return _("The voucher is %(status)s.") % {"status": Voucher.Status(status).label}
        if not valid_now:
            return _("The voucher is not valid at this time.")
        return None

    def quote(self, balance_fen: int, cap_used_fen: int) -> RedemptionQuote:
        coverage = (self.fee_fen or 0) * self.coverage_bp // 10000
        cap_left = max(0, self.cap_fen - cap_used_fen)
        return RedemptionQuote(
            amount_fen=min(balance_fen, coverage, cap_left),
            balance_fen=balance_fen,
            coverage_fen=coverage,
            cap_left_fen=cap_left,
        )

    def current(self, cur: Any, at: Any, year: int) -> tuple[str, int, bool, bool, int]:
        """(status, balance, valid now?, order paid for already?, cap used this year), read
        now."""
        marks = ", ".join(["%s"] * len(self.group))
        cur.execute(
            _STATE_SQL.format(marks=marks),
            [at, at, self.order_id, self.programme_id, year, *self.group, self.voucher_id],
        )
        status, balance, valid_now, paid, used = cur.fetchone()
        return status, int(balance), bool(valid_now), bool(paid), int(used)


def _already_paid() -> DomainError:
    return DomainError(_("The order has already been paid for with a voucher."), status=409)


def _refuse_if_invalid(facts: _Facts) -> None:
    problem = facts.static_problem() or facts.voucher_problem(facts.status, facts.valid_now)
    if problem:
        raise DomainError(problem, field="order", status=409)


def quote_redemption(*, actor: Any, voucher: int | str, order_id: int) -> RedemptionQuote:
    """What applying the voucher to the order would pay now (nothing is written)."""
    now = timezone.now()
    facts = _Facts.read(actor, voucher, order_id, now)
    if facts.live_redemption is not None:
        raise _already_paid()
    _refuse_if_invalid(facts)
    with sql.cursor() as cur:
        at = connection.ops.adapt_datetimefield_value(now)
        _s, balance, _v, _p, used = facts.current(cur, at, timezone.localdate(now).year)
    return facts.quote(balance, used)


def redeem_voucher(
    *, actor: Any, voucher: int | str, order_id: int, idempotency_key: str = ""
) -> Redemption:
    """The client applies its voucher to a completed order.

    amount = min(balance, coverage × fee, what is left of the yearly cap of the client and
    its related organisations). Repeating the same request (same order and voucher, same
    idempotency key) returns the first redemption instead of paying twice.
    """
    now = timezone.now()
    facts = _Facts.read(actor, voucher, order_id, now)
    key = (idempotency_key or "")[:64]
    if facts.live_redemption is not None:
        return _repeated(facts, key)
    _refuse_if_invalid(facts)
    try:
        return _redeem(actor, facts, key, now)
    except IntegrityError:
        # Two requests for the same order raced past the checks: the unique constraint
        # (one live redemption per order) stopped the second one.
        existing = Redemption.objects.filter(order_id=facts.order_id, reversed_at__isnull=True)
        if not existing.exists():
            raise  # another constraint: a bug, not a user's mistake
        return _repeated(facts, key)


def _repeated(facts: _Facts, key: str) -> Redemption:
    """The order is paid for already: the same request again gets the first redemption."""
    existing = Redemption.objects.filter(order_id=facts.order_id, reversed_at__isnull=True).first()
    if (
        existing is None
        or existing.voucher_id != facts.voucher_id
        or existing.idempotency_key != key
    ):
        raise _already_paid()
    return existing


# NO KEY UPDATE: redemptions of the group queue on it, while rows that merely refer to the
# organisations (orders, bookings, other redemptions' foreign keys) are not held up.
_LOCK_GROUP_SQL = (
    "SELECT id FROM accounts_organisation WHERE id IN ({}) ORDER BY id FOR NO KEY UPDATE"
)
_SPEND_SQL = (
    "UPDATE vouchers_voucher SET balance_fen = balance_fen - %s, status = CASE WHEN "
    "balance_fen = %s THEN 'exhausted' ELSE status END WHERE id = %s"
)
# Guards the spend against a change since the state was read (a revocation, an expiry).
_SPEND_IF = " AND balance_fen >= %s AND status = 'active' AND valid_until > %s"
_INSERT_SQL = (
    "INSERT INTO vouchers_redemption (voucher_id, order_id, programme_id, client_id, "
    "provider_id, amount_fen, year, idempotency_key, created_by_id, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)


def _redeem(actor: Any, facts: _Facts, key: str, now: datetime) -> Redemption:
    year = timezone.localdate(now).year
    at = connection.ops.adapt_datetimefield_value(now)
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic(durable=True), sql.cursor() as cur:
        if LOCKING and connection.vendor == "postgresql":
            # Lock the client's cap group (the client and its related organisations, in id
            # order): every redemption of the group's vouchers queues here, so the state
            # read next cannot change but for a revocation or expiry, which the spend's
            # condition catches (CONVENTIONS habit 3). SQLite's write transaction holds
            # every other writer off by itself.
            marks = ", ".join(["%s"] * len(facts.group))
            cur.execute(_LOCK_GROUP_SQL.format(marks), facts.group)
        status, balance, valid_now, paid, used = facts.current(cur, at, year)
        if not LOCKING:
            status, balance, valid_now = facts.status, facts.balance_fen, facts.valid_now
        if paid:
            raise _already_paid()
        problem = facts.voucher_problem(status, valid_now)
        if problem:
            raise DomainError(problem, field="order", status=409)
        quote = facts.quote(balance, used)
        amount = quote.amount_fen
        if amount <= 0:
            raise DomainError(
                _("Nothing is left to pay: the voucher or the yearly cap is used up."), status=409
            )
        if LOCKING:
            cur.execute(_SPEND_SQL + _SPEND_IF, [amount, amount, facts.voucher_id, amount, at])
        else:
            cur.execute(_SPEND_SQL, [amount, amount, facts.voucher_id])
        if cur.rowcount != 1:
            raise DomainError(_("The voucher's balance changed; please try again."), status=409)
        redemption = Redemption(
            voucher_id=facts.voucher_id,
            order_id=facts.order_id,
            programme_id=facts.programme_id,
            client_id=facts.client_id,
            provider_id=facts.provider_id,
            amount_fen=amount,
            year=year,
            idempotency_key=key,
            created_by_id=actor_id,
            created_at=now,
        )
        cur.execute(
            _INSERT_SQL,
            [
                facts.voucher_id,
                facts.order_id,
                facts.programme_id,
                facts.client_id,
                facts.provider_id,
                amount,
                year,
                key,
                actor_id,
                at,
            ],
        )
        redemption.pk = cur.fetchone()[0]
        redemption._state.adding = False
        audit.record(
            actor=actor,
            action="vouchers.redeem",
            target=redemption,
            after={
                "amount_fen": amount,
                "voucher": facts.code,
                "order": facts.order_ref,
                "limited_by": quote.limited_by,
            },
            region=facts.programme_region,
        )
        rollups.redemption_added(
            rollups.NewRedemption(
                redemption_id=redemption.pk,
                created_at=now,
                programme_id=facts.programme_id,
                client_region=facts.client_region,
                provider_region=facts.provider_region,
                client_province=facts.client_province,
                provider_province=facts.provider_province,
                category=facts.category,
                amount_fen=amount,
            )
        )
        # Last, so the programme-wide account row stays locked as briefly as possible.
        ledger.post(
            kind="redeem",
            programme=facts.programme_id,
            lines=[
                (_account(facts.voucher_account, Account.Kind.VOUCHER, facts), -amount),
                (_account(facts.redeemed_account, Account.Kind.REDEEMED, facts), amount),
            ],
            actor=actor,
            memo=f"voucher {facts.voucher_id} → order {facts.order_ref}",
        )
    return redemption


def _account(pk: int, kind: str, facts: _Facts) -> Account:
    """The ledger account as `ledger.post` needs it (id and kind), without reading it."""
    code = f"P{facts.programme_id}:" + (
        f"V{facts.voucher_id}" if kind == Account.Kind.VOUCHER else kind
    )
    return Account(pk=pk, kind=kind, code=code, programme_id=facts.programme_id)


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
