"""`innocommons report annual --year Y --out FILE.html`: the annual report as one
self-contained HTML file (styles, data and charts inlined), in Chinese or English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from innocommons.insights import report


class Command(BaseCommand):
    help = "Write a report. annual: the annual report of one year as a self-contained HTML file."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="kind", required=True)
        annual = sub.add_parser("annual", help="the annual report of one calendar year")
        annual.add_argument(
            "--year", type=int, default=timezone.localdate().year - 1, help="default: last year"
        )
        annual.add_argument("--out", required=True, help="HTML file to write")
        annual.add_argument(
            "--language", choices=["zh-hans", "en"], default="zh-hans", help="default: zh-hans"
        )
        annual.add_argument(
            "--echarts",
            default="inline",
            help="'inline' (default: the file needs nothing else) or a path or URL to "
            "echarts.min.js to reference instead, e.g. a path relative to the file",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        year = opts["year"]
        if not 1980 <= year <= 2200:
            raise CommandError("--year must be between 1980 and 2200")
        src = "" if opts["echarts"] == "inline" else opts["echarts"]
        with translation.override(opts["language"]):
            html = report.document(year, echarts_src=src)
        out = Path(opts["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
        self.stdout.write(f"wrote the {year} annual report ({opts['language']}) to {out}")
