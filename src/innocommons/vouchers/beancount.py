"""Write the voucher ledger as a Beancount file so an independent tool (`bean-check`) can
verify it: every transaction must balance, and the closing `balance` assertions (our cached
balances) must equal what Beancount sums from the postings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from django.utils import timezone

from innocommons.core.money import fen_to_yuan
from innocommons.vouchers.models import Account, JournalEntry, Posting

CURRENCY = "CNY"
ROOTS = {
    Account.Kind.FUNDING: "Equity:Funding",
    Account.Kind.BUDGET: "Assets:Budget",
    Account.Kind.VOUCHER: "Liabilities:Vouchers",
    Account.Kind.REDEEMED: "Liabilities:Redeemed",
    Account.Kind.PAYABLE: "Liabilities:Payable",
    Account.Kind.PAID: "Expenses:Paid",
}


def account_name(account: Account) -> str:
    """ "Liabilities:Vouchers:P3:V17" — components start with a capital letter, as required."""
    name = f"{ROOTS[Account.Kind(account.kind)]}:P{account.programme_id}"
    if account.voucher_id:
        name += f":V{account.voucher_id}"
    return name


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', "'").replace("\n", " ") + '"'


def lines() -> Iterator[str]:
    accounts = {a.pk: a for a in Account.objects.all()}
    names = {pk: account_name(a) for pk, a in accounts.items()}
    first = JournalEntry.objects.order_by("at").values_list("at", flat=True).first()
    opened = timezone.localtime(first).date() if first else timezone.localdate()
    yield 'option "title" "InnoCommons voucher ledger"'
    yield f'option "operating_currency" "{CURRENCY}"'
    yield ""
    for pk in sorted(names):
        yield f"{opened.isoformat()} open {names[pk]} {CURRENCY}"
    yield ""
    last: date = opened
    postings = Posting.objects.order_by("entry_id", "pk").values_list(
        "entry_id", "account_id", "amount_fen"
    )
    by_entry: dict[int, list[tuple[int, int]]] = {}
    for entry_id, account_id, amount in postings.iterator(chunk_size=5000):
        by_entry.setdefault(entry_id, []).append((account_id, amount))
    for entry in JournalEntry.objects.order_by("pk").iterator(chunk_size=2000):
        day = timezone.localtime(entry.at).date()
        last = max(last, day)
        yield f"{day.isoformat()} * {_quote(entry.kind)} {_quote(entry.memo)}"
        yield f'  ledger-entry: "{entry.pk}"'
        for account_id, amount in by_entry.get(entry.pk, []):
            yield f"  {names[account_id]}  {fen_to_yuan(amount)} {CURRENCY}"
        yield ""
    # Balance assertions apply at the start of their day: the day after the last entry.
    check_day = (last + timedelta(days=1)).isoformat()
    for pk in sorted(names):
        # "~ 0.00": no tolerance, so even a one-fen difference fails bean-check.
        balance = fen_to_yuan(accounts[pk].balance_fen)
        yield f"{check_day} balance {names[pk]}  {balance} ~ 0.00 {CURRENCY}"


def export(path: str) -> int:
    """Write the file; return the number of journal entries written."""
    with open(path, "w", encoding="utf-8") as out:
        for line in lines():
            out.write(line + "\n")
    return JournalEntry.objects.count()
