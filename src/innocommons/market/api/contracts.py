"""JSON API: technology contracts and their registration (mounted under /api/v1/).

Amounts are integer fen. Sellers create, complete and submit contracts and appeal refusals;
the registrar (an administrator of the seller's region) lists its queue and registers or
refuses. Reads go through `selectors.contracts` (another region's contracts are 404); the
contract file is for the parties and the registrar only. Lists: `page`, `page_size` ≤ 100.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from innocommons.accounts.permissions import acting_user
from innocommons.core import uploads
from innocommons.core.apiutils import AUTH
from innocommons.core.errors import DomainError, NotFound
from innocommons.market.importer import import_contracts
from innocommons.market.models import PaymentMethod, TechContract
from innocommons.market.selectors import contracts as selectors
from innocommons.market.services import contracts as services

router = Router(tags=["contracts"])

PAGE = Query(1, ge=1, le=10_000)
PAGE_SIZE = Query(20, ge=1, le=100)


class ContractOut(Schema):
    id: int
    ref: str
    title: str
    type: str
    type_label: str
    subtype: str
    subtype_label: str
    status: str
    status_label: str
    source: str
    source_ref: str
    seller: int | None
    seller_name: str
    seller_region: str
    seller_region_name: str
    buyer: int | None
    buyer_name: str
    buyer_region: str
    buyer_region_name: str
    amount_fen: int
    tech_amount_fen: int = Field(description="Technology-transaction amount claimed")
    registered_tech_amount_fen: int | None = Field(
        description="Technology-transaction amount confirmed by the registrar"
    )
    payment_method: str
    field: str
    signed_on: date
    submitted_at: datetime | None
    due_on: date | None = Field(description="The registrar decides by this date")
    overdue: bool
    registration_no: str | None
    registered_on: date | None
    decision_reason: str
    appeal_statement: str
    appeals: int
    has_file: bool
    file_url: str | None
    actions: list[str] = Field(description="What the requesting user may do now")
    url: str


class ContractPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[ContractOut]


def _actions(user: Any, c: TechContract) -> list[str]:
    out = []
    if selectors.is_seller(user, c):
        if c.status == TechContract.Status.DRAFT:
            out += ["update", "upload", "submit"]
        if c.status == TechContract.Status.REFUSED:
            out.append("appeal")
    if c.status == TechContract.Status.SUBMITTED and services.can_register(user, c):
        out += ["register", "refuse"]
    return out


def contract_out(user: Any, c: TechContract) -> dict[str, Any]:
    downloadable = bool(c.file) and selectors.can_download(user, c)
    return {
        "id": c.pk,
        "ref": c.ref,
        "title": c.title,
        "type": c.type,
        "type_label": str(c.get_type_display()),
        "subtype": c.subtype,
        "subtype_label": c.subtype_label,
        "status": c.status,
        "status_label": str(c.get_status_display()),
        "source": c.source,
        "source_ref": c.source_ref,
        "seller": c.seller_id,
        "seller_name": c.seller_name,
        "seller_region": c.seller_region_id,
        "seller_region_name": c.seller_region.name,
        "buyer": c.buyer_id,
        "buyer_name": c.buyer_name,
        "buyer_region": c.buyer_region_id,
        "buyer_region_name": c.buyer_region.name,
        "amount_fen": c.amount_fen,
        "tech_amount_fen": c.tech_amount_fen,
        "registered_tech_amount_fen": c.registered_tech_amount_fen,
        "payment_method": c.payment_method,
        "field": c.field,
        "signed_on": c.signed_on,
        "submitted_at": c.submitted_at,
        "due_on": c.due_on,
        "overdue": c.is_overdue,
        "registration_no": c.registration_no,
        "registered_on": c.registered_on,
        "decision_reason": c.decision_reason,
        "appeal_statement": c.appeal_statement,
        "appeals": c.appeals,
        "has_file": bool(c.file),
        "file_url": f"/api/v1/contracts/{c.pk}/file" if downloadable else None,
        "actions": _actions(user, c),
        "url": f"/market/contracts/{c.pk}/",
    }


def _page(user: Any, qs: QuerySet[TechContract], page: int, page_size: int) -> dict[str, Any]:
    total = qs.count()
    rows = qs[(page - 1) * page_size : page * page_size]
    return {
        "total": total,
        "page": page,
        "page_size": page_size,
        "items": [contract_out(user, c) for c in rows],
    }


def _get(request: HttpRequest, contract_id: int) -> dict[str, Any]:
    user = acting_user(request)
    return contract_out(user, selectors.get_contract(user, contract_id))


class ContractIn(Schema):
    seller: int = Field(description="The seller organisation (yours)")
    title: str = Field(max_length=300)
    type: str = Field(description="development | transfer | licence | consulting | service")
    subtype: str = Field("", description="A sub-type of the type; empty = the first")
    buyer: int | None = Field(None, description="The buyer, if on the platform")
    buyer_name: str = Field("", max_length=200, description="Otherwise the buyer's name")
    buyer_region: str = Field("", max_length=40, description="… and region code (or ISO country)")
    amount_fen: int
    tech_amount_fen: int | None = Field(None, description="Default: the contract amount")
    payment_method: str = PaymentMethod.LUMP_SUM
    field: str
    signed_on: date
    submit: bool = Field(False, description="Submit for registration at once (needs the file)")


class ContractPatch(Schema):
    title: str | None = Field(None, max_length=300)
    type: str | None = None
    subtype: str | None = None
    buyer: int | None = None
    buyer_name: str | None = Field(None, max_length=200)
    buyer_region: str | None = Field(None, max_length=40)
    amount_fen: int | None = None
    tech_amount_fen: int | None = None
    payment_method: str | None = None
    field: str | None = None
    signed_on: date | None = None


class RegisterIn(Schema):
    type: str | None = Field(None, description="Confirmed type (default: as submitted)")
    subtype: str | None = None
    tech_amount_fen: int | None = Field(None, description="Confirmed technology amount")
    note: str = Field("", max_length=3000)


class RefuseIn(Schema):
    reason: str = Field(max_length=3000)


class AppealIn(Schema):
    statement: str = Field(max_length=3000)


class ImportRejection(Schema):
    line: int
    reason: str


class ImportOut(Schema):
    total_rows: int
    imported: int
    rejected: list[ImportRejection]
    file_error: str


class _ImportRejected(DomainError):
    def __init__(self, body: dict[str, Any]):
        errors = [{"field": f"line {r['line']}", "message": r["reason"]} for r in body["rejected"]]
        message = body["file_error"] or _("%(n)d row(s) rejected; nothing was imported.") % {
            "n": len(body["rejected"])
        }
        super().__init__(message, field="file")
        self._errors = errors or [{"field": "file", "message": str(message)}]

    def errors(self) -> list[dict[str, str]]:
        return self._errors


@router.get("/contracts/mine", response=ContractPage, auth=AUTH, summary="My contracts")
def my_contracts(
    request: HttpRequest, status: str = "", page: int = PAGE, page_size: int = PAGE_SIZE
) -> Any:
    """Contracts where your organisations are the seller or the buyer, drafts included."""
    user = acting_user(request)
    return _page(user, selectors.my_contracts(user, status=status), page, page_size)


@router.get("/contracts/queue", response=ContractPage, auth=AUTH, summary="Registrar queue")
def queue(
    request: HttpRequest,
    status: str = TechContract.Status.SUBMITTED,
    overdue: bool = False,
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> Any:
    """Contracts of the regions you register for, by due date (`status=` any other status
    to browse decided ones; `overdue=true` for those past their due date)."""
    user = acting_user(request)
    qs = selectors.registrar_queue(user, status=status, overdue=overdue)
    return _page(user, qs, page, page_size)


@router.post("/contracts", response={201: ContractOut}, auth=AUTH, summary="Register a contract")
def create_contract(request: HttpRequest, payload: ContractIn) -> Any:
    """A draft (or, with `submit`, a submission; the file must be uploaded first, so
    submission normally follows `POST /contracts/{id}/file`)."""
    user = acting_user(request)
    data = services.ContractInput(
        seller_id=payload.seller,
        title=payload.title,
        type=payload.type,
        subtype=payload.subtype,
        buyer_id=payload.buyer,
        buyer_name=payload.buyer_name,
        buyer_region=payload.buyer_region,
        amount_fen=payload.amount_fen,
        tech_amount_fen=payload.amount_fen
        if payload.tech_amount_fen is None
        else payload.tech_amount_fen,
        payment_method=payload.payment_method,
        field=payload.field,
        signed_on=payload.signed_on,
    )
    contract = services.create_contract(actor=user, data=data, submit=payload.submit)
    return Status(201, _get(request, contract.pk))


@router.post(
    "/contracts/import", response=ImportOut, auth=AUTH, summary="Import registered contracts"
)
def import_file(
    request: HttpRequest,
    file: File[UploadedFile],
    skip_invalid: Form[bool] = False,  # type: ignore[assignment]
) -> Any:
    """CSV (UTF-8, BOM, GB18030) or XLSX of registered contracts (regional administrators
    for their region, operators). Rejected rows come back with their line numbers; nothing
    is imported while any row is rejected unless `skip_invalid`."""
    user = acting_user(request)
    suffix = ".xlsx" if (file.name or "").lower().endswith(".xlsx") else ".csv"
    if (file.size or 0) > 50 * 1024 * 1024:
        raise DomainError(_("The file is larger than 50 MB."), field="file")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with path.open("wb") as out:
            for chunk in file.chunks():
                out.write(chunk)
        report = import_contracts(path, actor=user, skip_invalid=skip_invalid)
    status = 200 if report.ok or (skip_invalid and not report.file_error) else 400
    body = {
        "total_rows": report.total_rows,
        "imported": report.imported,
        "rejected": [{"line": r.line, "reason": r.reason} for r in report.rejected],
        "file_error": report.file_error,
    }
    if status == 400:
        raise _ImportRejected(body)
    return body


@router.get("/contracts/{contract_id}", response=ContractOut, auth=AUTH, summary="A contract")
def get_contract(request: HttpRequest, contract_id: int) -> Any:
    return _get(request, contract_id)


@router.patch("/contracts/{contract_id}", response=ContractOut, auth=AUTH, summary="Update draft")
def update_contract(request: HttpRequest, contract_id: int, payload: ContractPatch) -> Any:
    """Change fields of a draft (not the parties or amount of an auction/challenge draft)."""
    changes = payload.dict(exclude_unset=True)
    if "buyer" in changes:
        changes["buyer_id"] = changes.pop("buyer")
    for key in ("buyer_name", "buyer_region", "title", "subtype"):
        if key in changes and changes[key] is None:
            changes[key] = ""
    services.update_contract(actor=acting_user(request), contract_id=contract_id, changes=changes)
    return _get(request, contract_id)


@router.post("/contracts/{contract_id}/file", response=ContractOut, auth=AUTH, summary="Upload")
def upload_file(request: HttpRequest, contract_id: int, file: File[UploadedFile]) -> Any:
    """The written contract (PDF, DOCX, PNG or JPEG by content; at most 20 MiB)."""
    services.attach_file(actor=acting_user(request), contract_id=contract_id, file=file)
    return _get(request, contract_id)


@router.get("/contracts/{contract_id}/file", auth=AUTH, summary="Download the contract file")
def download_file(request: HttpRequest, contract_id: int) -> HttpResponseBase:
    user = acting_user(request)
    contract = selectors.get_contract(user, contract_id)
    if not selectors.can_download(user, contract):
        raise NotFound(_("No such contract."))
    return uploads.download(contract.file, contract.file_name or f"{contract.ref}.pdf")


@router.post("/contracts/{contract_id}/submit", response=ContractOut, auth=AUTH, summary="Submit")
def submit(request: HttpRequest, contract_id: int) -> Any:
    """Submit a complete draft; the registrar decides within 30 days (`due_on`)."""
    services.submit_contract(actor=acting_user(request), contract_id=contract_id)
    return _get(request, contract_id)


@router.post(
    "/contracts/{contract_id}/register", response=ContractOut, auth=AUTH, summary="Register"
)
def register(request: HttpRequest, contract_id: int, payload: RegisterIn) -> Any:
    """The registrar registers, confirming type, sub-type and technology amount; the
    registration number is issued."""
    services.register_contract(
        actor=acting_user(request),
        contract_id=contract_id,
        type=payload.type,
        subtype=payload.subtype,
        tech_amount_fen=payload.tech_amount_fen,
        note=payload.note,
    )
    return _get(request, contract_id)


@router.post("/contracts/{contract_id}/refuse", response=ContractOut, auth=AUTH, summary="Refuse")
def refuse(request: HttpRequest, contract_id: int, payload: RefuseIn) -> Any:
    services.refuse_contract(
        actor=acting_user(request), contract_id=contract_id, reason=payload.reason
    )
    return _get(request, contract_id)


@router.post("/contracts/{contract_id}/appeal", response=ContractOut, auth=AUTH, summary="Appeal")
def appeal(request: HttpRequest, contract_id: int, payload: AppealIn) -> Any:
    """The seller appeals a refusal with a statement; back to the registrar, new due date.
    (A corrected file can be sent with the appeal on the web page.)"""
    services.appeal_contract(
        actor=acting_user(request), contract_id=contract_id, statement=payload.statement
    )
    return _get(request, contract_id)
