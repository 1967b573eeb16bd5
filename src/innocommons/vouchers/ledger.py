"""The double-entry ledger of voucher money: accounts, balanced journal entries, checks.

Every movement is one `JournalEntry` whose postings sum to zero. Account balances are
cached on `Account.balance_fen` and moved with conditional `UPDATE … SET balance = balance
+ :amount WHERE balance >= :needed` so that no account but a programme's funding source can
go below zero, even when requests race (CONVENTIONS habit 3). `check()` proves every cache
against the postings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.core import sql
from innocommons.core.errors import DomainError
from innocommons.vouchers.models import (
    Account,
    Claim,
    JournalEntry,
    Posting,
    Programme,
    Redemption,
    Voucher,
)

# Accounts that may be negative: the funding source is credited when a budget is funded.
MAY_GO_NEGATIVE = {Account.Kind.FUNDING}


class InsufficientFunds(DomainError):
    def __init__(self, account: Account):
        super().__init__(
            _("Not enough money left in %(account)s.") % {"account": describe(account)},
            status=409,
        )
        self.account = account


def describe(account: Account) -> str:
    return f"{Account.Kind(account.kind).label} ({account.code})"


def programme_account(programme: Programme | int, kind: str) -> Account:
    pid = programme if isinstance(programme, int) else programme.pk
    return Account.objects.get(code=f"P{pid}:{kind}")


def accounts_by_kind(
    programme_id: int, *, voucher_id: int | None = None, kinds: Sequence[str] = ()
) -> dict[str, Account]:
    """The programme's accounts of `kinds` (and the voucher's own account) in one query."""
    q = Q(code__in=[f"P{programme_id}:{kind}" for kind in kinds])
    if voucher_id is not None:
        q |= Q(voucher_id=voucher_id)
    return {a.kind: a for a in Account.objects.filter(q)}


def open_programme_accounts(programme: Programme) -> None:
    """Create the programme-wide accounts (all but the per-voucher ones)."""
    Account.objects.bulk_create(
        [
            Account(code=f"P{programme.pk}:{kind}", kind=kind, programme=programme)
            for kind in Account.Kind.values
            if kind != Account.Kind.VOUCHER
        ]
    )


def open_voucher_account(voucher: Voucher) -> Account:
    return Account.objects.create(
        code=f"P{voucher.programme_id}:V{voucher.pk}",
        kind=Account.Kind.VOUCHER,
        programme_id=voucher.programme_id,
        voucher=voucher,
    )


_ENTRY_SQL = (
    "INSERT INTO vouchers_journalentry (at, kind, programme_id, memo, actor_id) "
    "VALUES (%s, %s, %s, %s, %s) RETURNING id"
)
_POSTINGS_SQL = "INSERT INTO vouchers_posting (entry_id, account_id, amount_fen) VALUES {rows}"
# PostgreSQL writes the entry and its postings in one statement.
_ENTRY_WITH_POSTINGS_SQL = (
    f"WITH e AS ({_ENTRY_SQL}) INSERT INTO vouchers_posting (entry_id, account_id, amount_fen) "  # noqa: S608 - constants only
    "SELECT e.id, l.account_id, l.amount FROM e, (VALUES {rows}) AS l (account_id, amount) "
    "RETURNING entry_id"
)
_CREDIT_SQL = "UPDATE vouchers_account SET balance_fen = balance_fen + %s WHERE id = %s"
_DEBIT_SQL = _CREDIT_SQL + " AND balance_fen >= %s"


def post(
    *,
    kind: str,
    programme: Programme | int,
    lines: Sequence[tuple[Account, int]],
    actor: Any = None,
    memo: str = "",
) -> int:
    """Append one balanced entry and move the cached balances; return the entry's id. Call
    inside a transaction.

    Raises InsufficientFunds (the caller's transaction must roll back) when an account
    other than a funding source would go below zero. Every money movement passes here, so
    it is hand-written SQL: the entry and its postings (one statement on PostgreSQL, two on
    SQLite), then one statement per account.
    """
    lines = [(account, amount) for account, amount in lines if amount]
    if len(lines) < 2 or sum(amount for _a, amount in lines) != 0:
        raise ValueError(f"unbalanced journal entry {kind}: {lines!r}")
    entry = [
        connection.ops.adapt_datetimefield_value(timezone.now()),
        kind,
        programme if isinstance(programme, int) else programme.pk,
        memo[:300],
        actor.pk if getattr(actor, "is_authenticated", False) else None,
    ]
    with sql.cursor() as cur:
        if connection.vendor == "postgresql":
            rows = ", ".join(["(%s, %s)"] * len(lines))
            cur.execute(
                _ENTRY_WITH_POSTINGS_SQL.format(rows=rows),
                [*entry, *[value for account, amount in lines for value in (account.pk, amount)]],
            )
            entry_id = int(cur.fetchone()[0])
        else:
            cur.execute(_ENTRY_SQL, entry)
            entry_id = int(cur.fetchone()[0])
            rows = ", ".join(["(%s, %s, %s)"] * len(lines))
            cur.execute(
                _POSTINGS_SQL.format(rows=rows),
                [value for account, amount in lines for value in (entry_id, account.pk, amount)],
            )
        # A fixed order (newest account first: vouchers before the programme-wide accounts,
        # which every redemption touches) so concurrent entries cannot deadlock, and the
        # busiest rows are locked last, for the shortest time before the commit.
        for account, amount in sorted(lines, key=lambda line: -line[0].pk):
            if amount < 0 and account.kind not in MAY_GO_NEGATIVE:
                cur.execute(_DEBIT_SQL, [amount, account.pk, -amount])
            else:
                cur.execute(_CREDIT_SQL, [amount, account.pk])
            if cur.rowcount != 1:
                raise InsufficientFunds(account)
    return entry_id


@dataclass
class CheckReport:
    """What `check()` found: an empty `problems` list means the ledger is consistent."""

    accounts: int = 0
    entries: int = 0
    postings: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check() -> CheckReport:
    """Prove cached balances and domain totals against the postings."""
    report = CheckReport(
        accounts=Account.objects.count(),
        entries=JournalEntry.objects.count(),
        postings=Posting.objects.count(),
    )
    problems = report.problems

    sums = dict(
        Posting.objects.values("account_id")
        .annotate(total=Sum("amount_fen"))
        .values_list("account_id", "total")
    )
    by_programme: dict[tuple[int, str], int] = {}
    for account in Account.objects.all().iterator():
        posted = sums.get(account.pk) or 0
        if posted != account.balance_fen:
            problems.append(
                f"account {account.code}: cached balance {account.balance_fen} "
                f"!= sum of postings {posted}"
            )
        if posted < 0 and account.kind not in MAY_GO_NEGATIVE:
            problems.append(f"account {account.code}: negative balance {posted}")
        key = (account.programme_id, account.kind)
        by_programme[key] = by_programme.get(key, 0) + posted

    unbalanced = (
        Posting.objects.values("entry_id").annotate(total=Sum("amount_fen")).exclude(total=0)
    )
    for row in unbalanced[:100]:
        problems.append(f"journal entry {row['entry_id']}: postings sum to {row['total']}")
    empty = JournalEntry.objects.filter(postings__isnull=True).values_list("pk", flat=True)
    for entry_id in empty[:100]:
        problems.append(f"journal entry {entry_id}: has no postings")

    voucher_accounts = dict(
        Account.objects.filter(voucher__isnull=False).values_list("voucher_id", "pk")
    )
    for voucher_id, cached in Voucher.objects.values_list("pk", "balance_fen").iterator():
        account_id = voucher_accounts.get(voucher_id)
        if account_id is None:
            problems.append(f"voucher {voucher_id}: has no ledger account")
        elif (sums.get(account_id) or 0) != cached:
            problems.append(
                f"voucher {voucher_id}: balance {cached} != ledger {sums.get(account_id) or 0}"
            )

    def total(qs: Any) -> dict[int, int]:
        return dict(
            qs.values("programme_id").annotate(t=Sum("amount_fen")).values_list("programme_id", "t")
        )

    live = Redemption.objects.filter(reversed_at__isnull=True)
    expected = {
        Account.Kind.REDEEMED: total(
            live.filter(claim__isnull=True) | live.filter(claim__status=Claim.Status.SUBMITTED)
        ),
        Account.Kind.PAYABLE: total(Claim.objects.filter(status=Claim.Status.APPROVED)),
        Account.Kind.PAID: total(Claim.objects.filter(status=Claim.Status.PAID)),
    }
    for programme_id in Programme.objects.values_list("pk", flat=True):
        for kind, totals in expected.items():
            want = totals.get(programme_id, 0)
            have = by_programme.get((programme_id, kind), 0)
            if want != have:
                problems.append(
                    f"programme {programme_id}: {kind} account holds {have}, "
                    f"its records add up to {want}"
                )
    return report
