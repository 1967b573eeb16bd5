"""The exported ledger passes an independent accounting check: Beancount's `bean-check`
verifies that every transaction balances and that the closing balance assertions (our
cached balances) equal what it sums from the postings; a tampered file fails."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from innocommons.vouchers import services
from innocommons.vouchers.models import Account, JournalEntry
from tests import factories as f
from tests.vouchers import factories as vf

BEAN_CHECK = Path(sys.executable).with_name("bean-check")

pytestmark = pytest.mark.django_db


def bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BEAN_CHECK), str(path)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def exported(world: Any, tmp_path: Path) -> Path:
    """Every kind of movement, amounts with odd fen, two programmes; then the export."""
    admin = vf.regional_admin("310000")
    prog = vf.programme(admin, budget_fen=1_000_000_01, coverage_bp=3333)
    other = vf.programme(admin, budget_fen=50_000_00)
    services.add_budget(actor=admin, programme_id=prog.pk, amount_fen=12_345_67)
    member = world.enterprise_member
    voucher = vf.voucher(prog, world.enterprise, 123_456_78, admin)
    second = vf.voucher(prog, f.org(region="310104"), 9_999_99, admin)
    vf.voucher(other, world.enterprise, 10_000_00, admin)

    def redeem(fee: int) -> None:
        order = vf.completed_order(world.enterprise, world.provider, fee_fen=fee)
        services.redeem_voucher(actor=member, voucher=voucher.code, order_id=order.pk)

    def claim() -> Any:
        return services.submit_claim(
            actor=world.provider_member, provider_id=world.provider.pk, programme_id=prog.pk
        )

    redeem(10_000_01)
    redeem(3_333_33)
    services.approve_claim(actor=admin, claim_id=claim().pk)
    redeem(777_77)
    services.reject_claim(actor=admin, claim_id=claim().pk, reason="发票不符")
    redeem(55_555_55)
    services.approve_claim(actor=admin, claim_id=claim().pk)
    redeem(1_01)  # stays redeemed, unclaimed
    batch = services.create_batch(actor=admin, programme_id=prog.pk, day=timezone.localdate())
    services.pay_batch(actor=admin, batch_id=batch.pk, payment_reference="BOC-7")
    services.revoke_voucher(actor=admin, voucher_id=second.pk, reason="撤销")
    services.expire_vouchers(now=voucher.valid_until + timezone.timedelta(days=1))

    path = tmp_path / "ledger.beancount"
    out = io.StringIO()
    call_command("ledger", "export", "--format", "beancount", "--out", str(path), stdout=out)
    assert f"wrote {JournalEntry.objects.count()} journal entries" in out.getvalue()
    return path


def test_the_exported_ledger_passes_bean_check(exported: Path) -> None:
    result = bean_check(exported)
    assert result.returncode == 0, result.stdout + result.stderr
    text = exported.read_text()
    kinds = set(JournalEntry.objects.values_list("kind", flat=True))
    assert kinds >= {"fund", "issue", "redeem", "approve_claim", "reverse", "pay", "revoked"}
    assert "expired" in kinds
    assert text.count('ledger-entry: "') == JournalEntry.objects.count()
    assert text.count(" balance ") == Account.objects.count()
    assert re.search(r" -?\d+\.\d\d CNY$", text, re.MULTILINE)


def test_beancount_recomputes_our_balances(exported: Path) -> None:
    """Beyond bean-check's own verdict: Beancount's totals per account equal ours."""
    from beancount import loader
    from beancount.core import realization

    from innocommons.vouchers.beancount import account_name

    entries, errors, _options = loader.load_file(str(exported))
    assert errors == []
    real = realization.realize(entries)
    for account in Account.objects.all():
        node = realization.get(real, account_name(account))
        assert node is not None, account_name(account)
        units = node.balance.get_currency_units("CNY").number
        assert int(units * 100) == account.balance_fen, account.code


def test_stdout_export_is_the_same_file(exported: Path) -> None:
    out = io.StringIO()
    sys_stdout = sys.stdout
    sys.stdout = out  # the command writes the ledger to sys.stdout when --out is "-"
    try:
        call_command("ledger", "export", "--format", "beancount")
    finally:
        sys.stdout = sys_stdout
    assert out.getvalue() == exported.read_text()


def _tamper(path: Path, pattern: str, change: Any) -> Path:
    text = path.read_text()
    match = re.search(pattern, text, re.MULTILINE)
    assert match, pattern
    tampered = path.with_name("tampered.beancount")
    tampered.write_text(text[: match.start(1)] + change(match.group(1)) + text[match.end(1) :])
    return tampered


def _plus(amount: str, fen: int) -> str:
    cents = int(Decimal(amount) * 100) + fen
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def test_a_changed_posting_fails_bean_check(exported: Path) -> None:
    # One amount of one redemption's posting, one fen more: that transaction no longer balances.
    tampered = _tamper(
        exported, r"^  Liabilities:Redeemed:P\d+  (-?\d+\.\d\d) CNY$", lambda a: _plus(a, 1)
    )
    result = bean_check(tampered)
    assert result.returncode != 0
    assert "does not balance" in (result.stdout + result.stderr).lower()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda amount: _plus(amount, 100), id="one-yuan"),
        # The assertions carry "~ 0.00": without it Beancount infers a ±0.01 tolerance
        # and a cached balance one fen off would pass.
        pytest.param(lambda amount: _plus(amount, 1), id="one-fen"),
    ],
)
def test_a_changed_balance_assertion_fails_bean_check(exported: Path, change: Any) -> None:
    # Our cached balance disagreeing with the postings is what the assertions must catch.
    tampered = _tamper(
        exported, r"^\S+ balance Assets:Budget:P\d+  (-?\d+\.\d\d) ~ 0\.00 CNY$", change
    )
    result = bean_check(tampered)
    assert result.returncode != 0, "bean-check accepted a wrong closing balance"
    assert "balance failed" in (result.stdout + result.stderr).lower()
