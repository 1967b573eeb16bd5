"""Checks on uploaded documents (contract files, challenge attachments, delivered reports):
the extension must be allowed AND the content must start like that kind of file, so a
renamed executable or script is refused; and the size must be within the limit.

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

MAX_BYTES = 20 * 1024 * 1024

ZIP = b"PK\x03\x04"
# extension → (leading bytes, a member every genuine file of that kind holds)
SIGNATURES: dict[str, tuple[tuple[bytes, ...], str | None]] = {
    "pdf": ((b"%PDF-",), None),
    "png": ((b"\x89PNG\r\n\x1a\n",), None),
    "jpg": ((b"\xff\xd8\xff",), None),
    "jpeg": ((b"\xff\xd8\xff",), None),
    "docx": ((ZIP,), "word/"),
    "xlsx": ((ZIP,), "xl/"),
    "zip": ((ZIP, b"PK\x05\x06"), None),  # the second: an empty archive
}


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


def check_upload(file: Any, *, allowed: tuple[str, ...], field: str, stem: str = "document") -> str:
    """Validate an upload by its extension, its first bytes and its size (≤ 20 MiB).
    Returns a safe file name for storage (`stem` when nothing usable is left of its own)."""
    name = str(getattr(file, "name", "") or "")
    ext = extension(name)
    if ext not in allowed or ext not in SIGNATURES:
        shown = ", ".join(e.upper() for e in allowed if e != "jpeg")
        raise DomainError(
            _("Upload one of these file types: %(types)s.") % {"types": shown}, field=field
        )
    size = _size(file)
    if size == 0:
        raise DomainError(_("The file is empty."), field=field)
    if size > MAX_BYTES:
        raise DomainError(
            _("The file is too large (%(mb).1f MiB); the limit is 20 MiB.")
            % {"mb": size / 1024 / 1024},
            field=field,
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
            field=field,
        )
    try:
        safe = get_valid_filename(os.path.splitext(os.path.basename(name))[0])[:60]
    except SuspiciousFileOperation:  # nothing usable left of the name, e.g. "..pdf"
        safe = stem
    return f"{safe}.{ext}"


def download(file: Any, name: str, *, missing: str = "") -> FileResponse:
    """A stored document as a download, never rendered inline by the browser."""
    if not file:
        raise NotFound(missing or _("No file has been uploaded."))
    response = FileResponse(file.open("rb"), as_attachment=True, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
