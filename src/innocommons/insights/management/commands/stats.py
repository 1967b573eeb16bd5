"""`innocommons stats rebuild` and `innocommons stats check`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from innocommons.insights import rollups


class Command(BaseCommand):
    help = (
        "rebuild: recompute every statistics rollup from the raw records (contracts, voucher "
        "redemptions). check: prove the rollups equal a fresh aggregation of the raw records "
        "(exit 1, listing each difference, otherwise)."
    )

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("rebuild", help="recompute the rollups from the raw records")
        check = sub.add_parser("check", help="compare the rollups with the raw records")
        check.add_argument(
            "--limit", type=int, default=50, help="differences listed per table (default 50)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        quiet = opts["verbosity"] == 0
        if opts["action"] == "rebuild":
            started = time.monotonic()
            total = rollups.counting_contracts().count()
            with tqdm(total=total, unit="contract", desc="rebuild", disable=quiet) as bar:
                report = rollups.rebuild(progress=bar.update)
            self.stdout.write(
                f"{report.contracts:,} contracts in {report.contract_days:,} daily and "
                f"{report.contract_months:,} monthly cells; {report.redemptions:,} redemptions "
                f"in {report.redemption_days:,} daily cells; {time.monotonic() - started:.1f} s"
            )
            return
        started = time.monotonic()
        result = rollups.check(limit=max(1, opts["limit"]))
        for problem in result.problems:
            self.stderr.write(problem)
        counts = ", ".join(f"{n:,} {name} rows" for name, n in result.rows.items())
        if not result.ok:
            raise CommandError(f"{counts}: {result.differences} difference(s)")
        self.stdout.write(f"{counts}: consistent ({time.monotonic() - started:.1f} s)")
