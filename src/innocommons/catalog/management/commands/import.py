"""`innocommons import KIND FILE`: import listings (or registered technology contracts) from
CSV or XLSX with a rejection report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from innocommons.catalog.importer import import_file
from innocommons.catalog.models import Kind

KINDS = {
    "instruments": Kind.INSTRUMENT,
    "services": Kind.SERVICE,
    "achievements": Kind.ACHIEVEMENT,
    "experts": Kind.EXPERT,
}


class Command(BaseCommand):
    help = (
        "Import listings (KIND = instruments | services | achievements | experts) or registered "
        "technology contracts (KIND = contracts) from a CSV "
        "(UTF-8, UTF-8 with BOM, or GB18030) or XLSX file. A file with rejected rows imports "
        "nothing unless --skip-invalid is given."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=sorted([*KINDS, "contracts"]))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid rows and report the rejected ones",
        )
        parser.add_argument(
            "--draft", action="store_true", help="import as drafts instead of publishing"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["file"]
        if opts["kind"] == "contracts":
            self._contracts(path, opts)
            return
        with tqdm(unit="row", desc="validate", disable=opts["verbosity"] == 0) as bar:
            report = import_file(
                KINDS[opts["kind"]],
                path,
                skip_invalid=opts["skip_invalid"],
                publish=not opts["draft"],
                progress=bar.update,
            )
        if report.file_error:
            raise CommandError(f"{path}: rejected: {report.file_error}")
        for r in report.rejected:
            self.stderr.write(f"{path}:{r.line}: {r.reason}")
        if report.rejected and not opts["skip_invalid"]:
            raise CommandError(
                f"{len(report.rejected)} of {report.total_rows} row(s) rejected; nothing was "
                "imported. Fix them, or use --skip-invalid to import the valid rows."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.imported} {opts['kind']}: {report.published} published, "
                f"{report.imported - report.published} draft(s) waiting for their "
                f"organisation's verification; {report.created_organisations} new unverified "
                f"organisation(s); {len(report.rejected)} row(s) rejected."
            )
        )

    def _contracts(self, path: Path, opts: Any) -> None:
        from innocommons.market.importer import import_contracts

        with tqdm(unit="row", desc="validate", disable=opts["verbosity"] == 0) as bar:
            report = import_contracts(
                path, trusted=True, skip_invalid=opts["skip_invalid"], progress=bar.update
            )
        if report.file_error:
            raise CommandError(f"{path}: rejected: {report.file_error}")
        for r in report.rejected:
            self.stderr.write(f"{path}:{r.line}: {r.reason}")
        if report.rejected and not opts["skip_invalid"]:
            raise CommandError(
                f"{len(report.rejected)} of {report.total_rows} row(s) rejected; nothing was "
                "imported. Fix them, or use --skip-invalid to import the valid rows."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.imported} registered contract(s); "
                f"{len(report.rejected)} row(s) rejected."
            )
        )
