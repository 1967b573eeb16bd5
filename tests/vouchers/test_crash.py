"""A settlement run killed half-way leaves a consistent ledger and is finished by running
it again: `innocommons vouchers settle` as a real process against the test's file (or
PostgreSQL) database, killed with SIGKILL once it has paid some claims of the batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from innocommons.core.errors import DomainError
from innocommons.core.models import AuditEntry
from innocommons.orders.models import Order
from innocommons.vouchers import ledger, services
from innocommons.vouchers.models import Claim, JournalEntry, SettlementBatch
from tests import factories as f
from tests.vouchers import factories as vf

ROOT = Path(__file__).resolve().parent.parent.parent
CLAIMS = 60  # paying them takes ~100 ms or more: far longer than noticing the first one

pytestmark = pytest.mark.django_db(transaction=True)


def _env(tmp_path: Path) -> dict[str, str]:
    """Environment for a process that uses the database this test uses."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "innocommons.settings"
    data = tmp_path / "data"
    data.mkdir()
    env["INNOCOMMONS_DATA_DIR"] = str(data)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        # The embedded configuration (WAL, IMMEDIATE transactions) opens
        # DATA_DIR/innocommons.sqlite3: point it at the test database. SQLite follows the
        # link, so the WAL and lock files are the test database's own.
        (data / "innocommons.sqlite3").symlink_to(db["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "innocommons.cli", *args],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def _batch_of_many_claims() -> tuple[SettlementBatch, Any]:
    """CLAIMS approved claims of ¥100 each, gathered into this quarter's batch."""
    admin = vf.regional_admin("310000")
    prog = vf.programme(admin)
    client = f.org(region="310117")
    provider = f.org(type="university", region="320100")
    holder, provider_member = vf.member_of(client), vf.member_of(provider)
    voucher = vf.voucher(prog, client, 200_000_00, admin)
    first = vf.completed_order(client, provider, fee_fen=200_00)
    for i in range(CLAIMS):
        order = Order.objects.create(
            ref=f"CRASH{i:05d}",
            client=client,
            provider=provider,
            resource=first.resource,
            status=Order.Status.COMPLETED,
            quote_fen=200_00,
            fee_fen=200_00,
            completed_at=timezone.now(),
        )
        services.redeem_voucher(actor=holder, voucher=voucher.code, order_id=order.pk)
        claim = services.submit_claim(
            actor=provider_member, provider_id=provider.pk, programme_id=prog.pk
        )
        services.approve_claim(actor=admin, claim_id=claim.pk)
    batch = services.create_batch(actor=admin, programme_id=prog.pk, day=timezone.localdate())
    assert batch.claims.count() == CLAIMS
    return batch, admin


def _paid(batch: SettlementBatch) -> int:
    return Claim.objects.filter(batch=batch, status=Claim.Status.PAID).count()


def test_settlement_killed_mid_batch_is_consistent_and_resumes(tmp_path: Path) -> None:
    batch, admin = _batch_of_many_claims()
    env = _env(tmp_path)
    settle = ["vouchers", "settle", "--batch", str(batch.pk), "--reference", "ICBC-0042"]
    settle += ["--as", admin.username]

    log = (tmp_path / "settle.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "innocommons.cli", *settle],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while _paid(batch) == 0:
            assert proc.poll() is None, (tmp_path / "settle.log").read_text()
            assert time.monotonic() < deadline, "no claim was paid within 60 s"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()

    # Killed half-way: some claims paid, the batch still being paid, the books consistent.
    paid = _paid(batch)
    assert 0 < paid < CLAIMS, f"{paid} of {CLAIMS} claims paid when killed"
    batch.refresh_from_db()
    assert batch.status == SettlementBatch.Status.PAYING
    assert batch.payment_reference == "ICBC-0042"
    check = _cli(env, "ledger", "check")
    assert check.returncode == 0, check.stderr
    assert "consistent" in check.stdout
    assert JournalEntry.objects.filter(kind="pay").count() == paid

    # Running the same command again pays the rest, each claim exactly once.
    again = _cli(env, *settle)
    assert again.returncode == 0, again.stderr
    assert f"batch {batch.pk} paid: {CLAIMS} claim(s)" in again.stdout
    batch.refresh_from_db()
    assert batch.status == SettlementBatch.Status.PAID and batch.paid_at is not None
    assert _paid(batch) == CLAIMS
    assert JournalEntry.objects.filter(kind="pay").count() == CLAIMS
    assert AuditEntry.objects.filter(action="vouchers.claim.pay").count() == CLAIMS
    assert AuditEntry.objects.filter(action="vouchers.batch.paid").count() == 1
    report = ledger.check()
    assert report.ok, report.problems

    # Paying a paid batch is refused, and changes nothing.
    with pytest.raises(DomainError) as exc:
        services.pay_batch(actor=admin, batch_id=batch.pk, payment_reference="ICBC-0042")
    assert exc.value.status == 409
