"""Checks on delivered report files: the extension must be allowed AND the content must
start like that kind of file, so a renamed executable or script is refused.

Office documents are ZIP containers; for them the archive's table of contents must also
hold the part that makes it a Word or Excel file.
"""

from __future__ import annotations

import os
import zipfile
from typing import IO, Any

from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from innocommons.core.errors import DomainError, NotFound
from innocommons.orders.models import Order

MAX_BYTES = 20 * 1024 * 1024

ZIP = b"PK\x03\x04"
# extension → (leading bytes, a member every genuine file of that kind holds)
SIGNATURES: dict[str, tuple[tuple[bytes, ...], str | None]] = {
    "pdf": ((b"%PDF-",), None),
    "png": ((b"\x89PNG\r\n\x1a\n",), None),
    "jpg": ((b"\xff\xd8\xff",), None),
    "jpeg": ((b"\xff\xd8\xff",), None),
    "zip": ((ZIP, b"PK\x05\x06"), None),  # the second: an empty archive
    "docx": ((ZIP,), "word/"),
    "xlsx": ((ZIP,), "xl/"),
}
ALLOWED = ", ".join(sorted({e for e in SIGNATURES if e != "jpeg"}))

FIELD = "report"


def extension(name: str) -> str:
    return os.path.splitext(name)[1].lower().lstrip(".")


def _size(file: Any) -> int:
    size = getattr(file, "size", None)
    if size is not None:
        return int(size)
    pos = file.tell()
    file.seek(0, os.SEEK_END)
    end = file.tell()
    file.seek(pos)
    return int(end)


def _has_member(file: IO[bytes], prefix: str) -> bool:
    try:
        with zipfile.ZipFile(file) as archive:
            return any(n.startswith(prefix) for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        file.seek(0)


def check_report(file: Any) -> str:
    """Validate an uploaded report; return a safe file name for storage or raise."""
    name = str(getattr(file, "name", "") or "")
    ext = extension(name)
    if ext not in SIGNATURES:
        raise DomainError(
            _("Reports must be one of these file types: %(types)s.") % {"types": ALLOWED},
            field=FIELD,
        )
    size = _size(file)
    if size == 0:
        raise DomainError(_("The report file is empty."), field=FIELD)
    if size > MAX_BYTES:
        raise DomainError(
            _("The report is too large (%(mb).1f MiB); the limit is 20 MiB.")
            % {"mb": size / 1024 / 1024},
            field=FIELD,
        )
    magics, member = SIGNATURES[ext]
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if not any(head.startswith(m) for m in magics) or (
        member is not None and not _has_member(file, member)
    ):
        raise DomainError(
            _("The file's content is not a .%(ext)s file; upload the real document.")
            % {"ext": ext},
            field=FIELD,
        )
    try:
        stem = get_valid_filename(os.path.splitext(os.path.basename(name))[0])[:60]
    except SuspiciousFileOperation:  # nothing usable left of the name, e.g. "..pdf"
        stem = "report"
    return f"{stem}.{ext}"


def report_response(order: Order) -> FileResponse:
    """The delivered report as a download, never rendered inline by the browser."""
    if not order.report:
        raise NotFound(_("No report has been delivered yet."))
    response = FileResponse(
        order.report.open("rb"),
        as_attachment=True,
        filename=(order.report.name or "report").rsplit("/", 1)[-1],
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
