"""Import listings from CSV (UTF-8 with/without BOM, or GB18030) or XLSX.

Every row is validated first; rejected rows are reported with their line number and reason.
A file with any rejected row imports nothing unless `skip_invalid` is set. Writes happen in
one transaction, with search outbox rows, so an import is all-or-nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django import forms
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import creditcode
from innocommons.accounts.models import Organisation
from innocommons.catalog.models import Kind, Resource, Status
from innocommons.catalog.search.outbox import enqueue
from innocommons.catalog.services import DETAIL_MODELS, apply_input, clean_input
from innocommons.catalog.validation import INPUT_FORMS
from innocommons.core import audit
from innocommons.core.errors import DomainError
from innocommons.core.models import Region

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_CELL = 10_000
REQUIRED = ("title",)
# CSV column → validation form field (columns not listed map to a field of the same name).
ALIASES = {
    "title": "title_zh",
    "summary": "summary_zh",
    "price": "price_yuan",
    "model": "model_name",
    "title_zh": "title_zh",
    "summary_zh": "summary_zh",
}
KNOWN_EXTRA = {"owner", "owner_name", "owner_type", "maturity", "ref"}
# An owner value shaped like a code (letters and digits only) is read as a credit code.
CODE_LIKE = re.compile(r"^(?=.*\d)[0-9A-Za-z]{15,20}$")
TRUE_WORDS = {"1", "true", "yes", "y", "是", "有", "√", "✓", "✔"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "无", "×", "✗"}


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    kind: str
    total_rows: int = 0
    imported: int = 0
    published: int = 0
    created_organisations: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    file_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.file_error and not self.rejected


class FileRejected(DomainError):
    pass


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise FileRejected(_("The file is neither UTF-8 nor GB18030 text.")) from None


def read_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and (line number, cells) pairs of a CSV or XLSX file; raise FileRejected."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileRejected(_("Cannot read the file: %(e)s") % {"e": exc.strerror}) from None
    if size == 0:
        raise FileRejected(_("The file is empty."))
    if size > MAX_BYTES:
        raise FileRejected(_("The file is larger than 50 MB."))
    raw = path.read_bytes()
    if path.suffix.lower() == ".xlsx" or raw[:2] == b"PK":
        return _read_xlsx(raw)
    text = _decode(raw)
    if "\x00" in text:
        raise FileRejected(_("The file contains NUL bytes; it is not a text CSV file."))
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected(_("The file is empty.")) from None
    except csv.Error as exc:
        raise FileRejected(_("Broken CSV: %(e)s") % {"e": exc}) from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in reader:
                yield reader.line_num, cells
        except csv.Error as exc:
            raise FileRejected(
                _("Broken CSV at line %(n)d: %(e)s") % {"n": reader.line_num, "e": exc}
            ) from None

    return header, rows()


def _read_xlsx(raw: bytes) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises assorted errors on junk archives
        raise FileRejected(
            _("Not a valid XLSX workbook (%(e)s).") % {"e": type(exc).__name__}
        ) from None
    ws = wb.worksheets[0] if wb.worksheets else None
    if ws is None:
        raise FileRejected(_("The workbook has no sheet."))
    it = ws.iter_rows(values_only=True)
    try:
        header = ["" if c is None else str(c) for c in next(it)]
    except StopIteration:
        raise FileRejected(_("The file is empty.")) from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        for n, cells in enumerate(it, start=2):
            yield n, ["" if c is None else str(c) for c in cells]

    return header, rows()


def _columns(kind: str, header: list[str]) -> dict[int, str]:
    form_fields = set(INPUT_FORMS[kind].base_fields)
    mapping: dict[int, str] = {}
    unknown = []
    for i, name in enumerate(header):
        key = name.strip().lower().lstrip("\ufeff")
        if not key:
            continue
        target = ALIASES.get(key, key)
        if target in form_fields or key in KNOWN_EXTRA:
            mapping[i] = target if target in form_fields else key
        else:
            unknown.append(name)
    missing = [c for c in REQUIRED if ALIASES.get(c, c) not in mapping.values()]
    if missing:
        raise FileRejected(
            _("Missing required column(s): %(c)s. Found: %(h)s")
            % {"c": ", ".join(missing), "h": ", ".join(h[:30] for h in header[:30])}
        )
    if unknown:
        raise FileRejected(
            _("Unknown column(s): %(c)s") % {"c": ", ".join(u[:30] for u in unknown[:20])}
        )
    return mapping


@dataclass
class _Row:
    line: int
    data: dict[str, Any]
    cleaned: dict[str, Any]
    owner_key: str
    owner_type: str
    ref: str | None


class OwnerResolver:
    """Find owners by credit code or name; plan unknown ones as unverified organisations."""

    def __init__(self) -> None:
        self.by_code = dict(
            Organisation.objects.exclude(credit_code=None).values_list("credit_code", "id")
        )
        self.by_name: dict[str, int] = {}
        for oid, zh, en in Organisation.objects.values_list("id", "name_zh", "name_en"):
            self.by_name.setdefault(zh, oid)
            if en:
                self.by_name.setdefault(en, oid)
        self.planned: dict[str, dict[str, Any]] = {}

    def key(self, value: str, region: Region | None, org_type: str, name: str = "") -> str:
        value = value.strip()
        if not value:
            raise ValueError(_("owner is required (credit code or organisation name)"))
        code = creditcode.normalise(value)
        check = creditcode.check(code)
        if not check.well_formed and CODE_LIKE.match(value):
            raise ValueError(
                _("owner: %(v)s is not a valid unified social credit code") % {"v": value[:20]}
            )
        if check.well_formed:
            if code in self.by_code:
                return f"id:{self.by_code[code]}"
            if region is None:
                raise ValueError(_("region is required for a new organisation"))
            self.planned.setdefault(
                f"code:{code}",
                {
                    "credit_code": code,
                    "credit_code_flagged": not check.check_ok,
                    "name_zh": name[:200] or code,
                    "region": region,
                    "type": org_type,
                },
            )
            return f"code:{code}"
        if len(value) > 200:
            raise ValueError(_("owner name is longer than 200 characters"))
        if value in self.by_name:
            return f"id:{self.by_name[value]}"
        if region is None:
            raise ValueError(_("region is required for a new organisation"))
        self.planned.setdefault(
            f"name:{value}",
            {
                "credit_code": None,
                "name_zh": value,
                "region": region,
                "type": org_type,
            },
        )
        return f"name:{value}"


def _read_booleans(data: dict[str, Any], names: list[str]) -> str | None:
    """Turn yes/no words (是/否, yes/no, 1/0, ✓/×) into booleans; return a field that is
    neither, or None."""
    for name in names:
        word = str(data.get(name, "")).strip().lower()
        if word in TRUE_WORDS:
            data[name] = True
        elif word in FALSE_WORDS:
            data[name] = False
        elif word:
            return name
    return None


def _maturity(value: str, data: dict[str, Any]) -> None:
    value = value.strip()
    if not value:
        return
    if value.upper().startswith("TRL"):
        value = value[3:].strip()
    if value.isdigit():
        data["trl"] = value
    else:
        data["stage"] = value


def import_file(
    kind: str,
    path: Path,
    *,
    skip_invalid: bool = False,
    actor: Any = None,
    publish: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate and import `path`; return a report (never raises for a bad file)."""
    report = ImportReport(kind=kind)
    if kind not in Kind.values:
        report.file_error = _("Unknown kind %(k)s; choose one of: %(c)s") % {
            "k": kind[:30],
            "c": ", ".join(Kind.values),
        }
        return report
    try:
        header, rows = read_rows(path)
        mapping = _columns(kind, header)
        valid, planned = _validate(kind, rows, mapping, report, progress)
    except FileRejected as exc:
        report.file_error = str(exc.message)
        return report
    if report.rejected and not skip_invalid:
        return report
    if report.total_rows == 0:
        report.file_error = _("The file has a header but no data rows.")
        return report
    _write(kind, valid, planned, report, actor=actor, publish=publish)
    return report


def _validate(
    kind: str,
    rows: Iterator[tuple[int, list[str]]],
    mapping: dict[int, str],
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> tuple[list[_Row], dict[str, dict[str, Any]]]:
    """Rows that passed, and the new organisations they need."""
    owners = OwnerResolver()
    seen: dict[tuple[str, str], int] = {}
    existing_titles: set[tuple[int, str]] = set()
    refs: dict[str, int] = {}
    boolean_fields = [
        n for n, f in INPUT_FORMS[kind].base_fields.items() if isinstance(f, forms.NullBooleanField)
    ]
    valid: list[_Row] = []
    for line, cells in rows:
        if progress:
            progress(1)
        if not any(c.strip() for c in cells):
            continue
        report.total_rows += 1
        if report.total_rows > MAX_ROWS:
            raise FileRejected(_("More than %(n)d rows; split the file.") % {"n": MAX_ROWS})
        data: dict[str, Any] = {}
        extra: dict[str, str] = {}
        too_long = False
        for i, cell in enumerate(cells):
            if i not in mapping:
                if cell.strip():
                    report.rejected.append(Rejection(line, _("more cells than columns")))
                    too_long = True
                    break
                continue
            if len(cell) > MAX_CELL:
                report.rejected.append(
                    Rejection(
                        line, _("%(c)s: cell longer than 10,000 characters") % {"c": mapping[i]}
                    )
                )
                too_long = True
                break
            target = mapping[i]
            if target in KNOWN_EXTRA:
                extra[target] = cell.strip()
            else:
                data[target] = cell.strip()
        if too_long:
            continue
        if "maturity" in extra:
            _maturity(extra["maturity"], data)
        bad = _read_booleans(data, boolean_fields)
        if bad:
            report.rejected.append(Rejection(line, _("%(c)s: not a yes/no value") % {"c": bad}))
            continue
        try:
            cleaned = clean_input(kind, data)
        except DomainError as exc:
            reason = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors())
            report.rejected.append(Rejection(line, reason))
            continue
        org_type = extra.get("owner_type") or "enterprise"
        if org_type not in Organisation.Type.values:
            report.rejected.append(
                Rejection(
                    line, _("owner_type: unknown organisation type %(t)s") % {"t": org_type[:30]}
                )
            )
            continue
        ref = extra.get("ref") or None
        if ref is not None:
            if len(ref) > 64:
                report.rejected.append(Rejection(line, _("ref: longer than 64 characters")))
                continue
            if ref in refs:
                report.rejected.append(
                    Rejection(line, _("ref: duplicate of line %(n)d") % {"n": refs[ref]})
                )
                continue
            refs[ref] = line
        try:
            owner_key = owners.key(
                extra.get("owner", ""), cleaned.get("region"), org_type, extra.get("owner_name", "")
            )
        except ValueError as exc:
            report.rejected.append(Rejection(line, str(exc)))
            continue
        dedupe = (owner_key, cleaned["title_zh"].lower())
        if dedupe in seen:
            report.rejected.append(
                Rejection(
                    line, _("duplicate of line %(n)d (same owner and title)") % {"n": seen[dedupe]}
                )
            )
            continue
        seen[dedupe] = line
        if owner_key.startswith("id:"):
            existing_titles.add((int(owner_key[3:]), cleaned["title_zh"].lower()))
        valid.append(_Row(line, data, cleaned, owner_key, org_type, ref))
    # Rows that repeat a listing already in the catalog are duplicates too.
    if existing_titles:
        owner_ids = {o for o, _ in existing_titles}
        present = {
            (owner_id, title.lower())
            for owner_id, title in Resource.objects.filter(
                owner_id__in=owner_ids, kind=kind
            ).values_list("owner_id", "title_zh")
        }
        kept = []
        for row in valid:
            if (
                row.owner_key.startswith("id:")
                and (int(row.owner_key[3:]), row.cleaned["title_zh"].lower()) in present
            ):
                report.rejected.append(
                    Rejection(row.line, _("already in the catalog (same owner and title)"))
                )
            else:
                kept.append(row)
        valid = kept
    taken = set(Resource.objects.filter(ref__in=list(refs)).values_list("ref", flat=True))
    if taken:
        for row in valid:
            if row.ref in taken:
                report.rejected.append(Rejection(row.line, _("ref: already in the catalog")))
        valid = [row for row in valid if row.ref not in taken]
    report.rejected.sort(key=lambda r: r.line)
    needed = {r.owner_key for r in valid}
    return valid, {k: v for k, v in owners.planned.items() if k in needed}


def _write(
    kind: str,
    rows: list[_Row],
    planned: dict[str, dict[str, Any]],
    report: ImportReport,
    *,
    actor: Any,
    publish: bool,
) -> None:
    now = timezone.now()
    with transaction.atomic():
        owner_ids: dict[str, int] = {}
        for key, spec in planned.items():
            org = Organisation.objects.create(**spec)
            owner_ids[key] = org.pk
            report.created_organisations += 1
        resources = []
        verified = set(
            Organisation.objects.filter(
                pk__in={int(r.owner_key[3:]) for r in rows if r.owner_key.startswith("id:")},
                status=Organisation.Status.VERIFIED,
            ).values_list("id", flat=True)
        )
        for row in rows:
            owner_id = (
                int(row.owner_key[3:])
                if row.owner_key.startswith("id:")
                else owner_ids[row.owner_key]
            )
            resource = Resource(
                kind=kind,
                owner_id=owner_id,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            detail = DETAIL_MODELS[kind]()
            apply_input(resource, detail, kind, row.cleaned)
            if resource.region_id is None:
                resource.region_id = Organisation.objects.values_list("region_id", flat=True).get(
                    pk=owner_id
                )
            resource.ref = row.ref
            # Only verified organisations' listings go live; the rest wait as drafts.
            if publish and owner_id in verified:
                resource.status = Status.PUBLISHED
                resource.published_at = now
                report.published += 1
            resource.save()
            detail.resource = resource
            detail.save()
            resources.append(resource)
        enqueue([r.pk for r in resources])
        report.imported = len(resources)
        if resources:
            audit.record(
                actor=actor,
                action="catalog.import",
                target=resources[0],
                after={
                    "kind": kind,
                    "imported": len(resources),
                    "organisations_created": report.created_organisations,
                },
            )
