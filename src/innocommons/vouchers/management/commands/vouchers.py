"""`innocommons vouchers expire` (run by the worker daily) and `innocommons vouchers settle`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from innocommons.accounts.models import User
from innocommons.core.errors import DomainError
from innocommons.vouchers import services
from innocommons.vouchers.models import Claim, SettlementBatch


class Command(BaseCommand):
    help = (
        "expire: end every voucher past its validity and return unspent balances to the "
        "budgets. settle: record a settlement batch as paid (resumable if interrupted)."
    )

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("expire", help="expire vouchers past their validity")
        settle = sub.add_parser("settle", help="pay a settlement batch")
        settle.add_argument("--batch", type=int, required=True, help="settlement batch id")
        settle.add_argument("--reference", required=True, help="bank payment reference")
        settle.add_argument(
            "--as",
            dest="username",
            required=True,
            help="the regional administrator recording the payment (for permission and audit)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        quiet = opts["verbosity"] == 0
        if opts["action"] == "expire":
            with tqdm(unit="voucher", desc="expire", disable=quiet) as bar:
                count, returned = services.expire_vouchers(progress=bar)
            self.stdout.write(f"expired {count} voucher(s), returned ¥{returned / 100:,.2f}")
            return
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user {opts['username']!r}")
        batch = SettlementBatch.objects.filter(pk=opts["batch"]).first()
        if batch is None:
            raise CommandError(f"no settlement batch {opts['batch']}")
        todo = batch.claims.filter(status=Claim.Status.APPROVED).count()
        with tqdm(total=todo, unit="claim", desc=f"batch {batch.pk}", disable=quiet) as bar:
            try:
                batch = services.pay_batch(
                    actor=user,
                    batch_id=batch.pk,
                    payment_reference=opts["reference"],
                    on_claim_paid=lambda _claim: bar.update(1),
                )
            except DomainError as exc:
                raise CommandError(str(exc.message)) from None
        self.stdout.write(
            f"batch {batch.pk} paid: {batch.claims.count()} claim(s), "
            f"¥{batch.total_fen / 100:,.2f}, reference {batch.payment_reference}"
        )
