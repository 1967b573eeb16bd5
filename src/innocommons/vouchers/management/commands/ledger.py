"""`innocommons ledger check` and `innocommons ledger export --format beancount`."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from innocommons.vouchers import beancount, ledger


class Command(BaseCommand):
    help = (
        "check: prove every cached balance and programme total against the ledger's postings "
        "(exit 1 with a report on any difference). export: write the ledger for an "
        "independent check (`bean-check FILE`)."
    )

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("check", help="prove cached balances against the postings")
        export = sub.add_parser("export", help="write the ledger in Beancount format")
        export.add_argument("--format", choices=["beancount"], default="beancount")
        export.add_argument("--out", default="-", help="file to write (default: stdout)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "check":
            report = ledger.check()
            for problem in report.problems:
                self.stderr.write(problem)
            summary = (
                f"{report.accounts} accounts, {report.entries} journal entries, "
                f"{report.postings} postings: "
            )
            if not report.ok:
                raise CommandError(summary + f"{len(report.problems)} difference(s)")
            self.stdout.write(summary + "consistent")
            return
        if opts["out"] == "-":
            for line in beancount.lines():
                sys.stdout.write(line + "\n")
            return
        count = beancount.export(opts["out"])
        self.stdout.write(f"wrote {count} journal entries to {opts['out']}")
