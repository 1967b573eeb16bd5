"""Delivered report files: checked as every upload is (`core.uploads`), served as downloads."""

from __future__ import annotations

from django.http import FileResponse
from django.utils.translation import gettext as _

from innocommons.core import uploads
from innocommons.orders.models import Order

TYPES = ("pdf", "docx", "xlsx", "png", "jpg", "jpeg", "zip")
FIELD = "report"


def check_report(file: object) -> str:
    """Validate an uploaded report; return a safe file name for storage or raise."""
    return uploads.check_upload(file, allowed=TYPES, field=FIELD, stem="report")


def report_response(order: Order) -> FileResponse:
    """The delivered report as a download, never rendered inline by the browser."""
    return uploads.download(
        order.report,
        (order.report.name or "report").rsplit("/", 1)[-1],
        missing=_("No report has been delivered yet."),
    )
