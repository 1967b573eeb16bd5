"""Technology contracts: drafts (also from auctions and challenges), submission for
registration (认定登记), the registrar's decision, appeals, and the contract file.

Rules (DESIGN §6):
- the seller's side applies, in its own region, with the written contract;
- the registrar is a regional administrator of the seller's region; it decides within
  `REVIEW_DAYS` of the submission: registers (confirming type, sub-type and the
  technology-transaction amount, with a registration number unique per province and year)
  or refuses with reasons; the seller may appeal a refusal with a statement, which puts
  the contract back in the queue with a new due date;
- drafts made by an auction's hammer or a challenge's award keep their parties and amount:
  the seller completes the rest and submits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation, StaffRole, User
from innocommons.core import audit, notify
from innocommons.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from innocommons.core.models import Region
from innocommons.core.uploads import check_upload
from innocommons.insights import rollups
from innocommons.market.models import (
    REVIEW_DAYS,
    SUBTYPES,
    ContractField,
    ContractType,
    PaymentMethod,
    RegistrationSequence,
    TechContract,
)

MAX_FEN = 10**13  # 1000 亿 yuan: anything above is a typo, far below BIGINT
EARLIEST_SIGNING = date(1980, 1, 1)
MAX_TEXT = 3000

CONTRACT_TYPES = ("pdf", "docx", "png", "jpg", "jpeg")


# --- numbers ----------------------------------------------------------------------------


def new_ref(prefix: str = "TC") -> str:
    """A contract number unique without coordination: prefix, date, random part."""
    return f"{prefix}{timezone.localdate():%Y%m%d}-{secrets.token_hex(4).upper()}"


def format_registration_no(province: str, year: int, seq: int) -> str:
    """ "3200002025000042": province-level region code, year, sequence in that year."""
    return f"{province}{year}{seq:06d}"


def _advance(province: str, year: int, n: int) -> int:
    """Move the (province, year) sequence on by n and return its new last value. The
    UPDATE locks the row until the caller's transaction ends, so concurrent callers queue."""
    seq = RegistrationSequence.objects.filter(province=province, year=year)
    if not seq.update(last=F("last") + n):
        try:
            with transaction.atomic():
                RegistrationSequence.objects.create(province=province, year=year, last=n)
                return n
        except IntegrityError:  # another transaction created it first
            seq.update(last=F("last") + n)
    return int(seq.values_list("last", flat=True).get())


def reserve_registration_numbers(province: str, year: int, n: int = 1) -> list[str]:
    """n fresh registration numbers for (province, year); call inside a transaction.
    Numbers already taken (e.g. imported with the historical number) are skipped."""
    numbers: list[str] = []
    while len(numbers) < n:
        need = n - len(numbers)
        last = _advance(province, year, need)
        batch = [
            format_registration_no(province, year, s) for s in range(last - need + 1, last + 1)
        ]
        taken = set(
            TechContract.objects.filter(registration_no__in=batch).values_list(
                "registration_no", flat=True
            )
        )
        numbers += [b for b in batch if b not in taken]
    return numbers


# --- input and validation ---------------------------------------------------------------


@dataclass(frozen=True)
class ContractInput:
    """What the seller enters. Amounts in fen; `buyer_id` for an organisation on the
    platform, otherwise `buyer_name` + `buyer_region` (a region code, also ISO countries)."""

    seller_id: int
    title: str
    type: str
    amount_fen: int
    tech_amount_fen: int
    field: str
    signed_on: date
    subtype: str = ""
    buyer_id: int | None = None
    buyer_name: str = ""
    buyer_region: str = ""
    payment_method: str = PaymentMethod.LUMP_SUM


EDITABLE = {f.name for f in fields(ContractInput)}
# Parties and amount come from the hammer or the award; the seller cannot change them.
LOCKED_FOR_GENERATED = {"seller_id", "buyer_id", "buyer_name", "buyer_region", "amount_fen"}


def subtype_choices(contract_type: str) -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in SUBTYPES.get(contract_type, [])]


def _is_amount(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _region(code: str) -> Region | None:
    code = (code or "").strip()
    if not code or len(code) > 40:
        return None
    return Region.objects.filter(code=code).first() or Region.objects.filter(name_zh=code).first()


@dataclass
class _Checked:
    seller: Organisation
    buyer: Organisation | None
    buyer_name: str
    buyer_region: Region
    subtype: str


def validate_contract(data: ContractInput) -> _Checked:
    """Every rule on the contract's content; all problems at once (ValidationFailed)."""
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    title = data.title.strip()
    if not title or len(title) > 300:
        bad("title", _("Enter the contract title (at most 300 characters)."))
    subtype = data.subtype.strip()
    if data.type not in ContractType.values:
        bad("type", _("Choose a contract type."))
    else:
        codes = [c for c, _label in SUBTYPES[data.type]]
        subtype = subtype or codes[0]
        if subtype not in codes:
            bad(
                "subtype",
                _("“%(sub)s” is not a sub-type of %(type)s; choose one of: %(codes)s.")
                % {
                    "sub": subtype[:30],
                    "type": ContractType(data.type).label,
                    "codes": ", ".join(codes),
                },
            )
    amount_ok = _is_amount(data.amount_fen) and 0 < data.amount_fen <= MAX_FEN
    if not amount_ok:
        bad("amount_fen", _("Enter the contract amount: more than zero, at most 1000 亿 yuan."))
    if not _is_amount(data.tech_amount_fen) or data.tech_amount_fen < 0:
        bad("tech_amount_fen", _("Enter the technology-transaction amount (zero or more)."))
    elif amount_ok and data.tech_amount_fen > data.amount_fen:
        bad(
            "tech_amount_fen",
            _("The technology-transaction amount cannot exceed the contract amount."),
        )
    if data.payment_method not in PaymentMethod.values:
        bad("payment_method", _("Choose a payment method."))
    if data.field not in ContractField.values:
        bad("field", _("Choose the contract's technology field."))
    if not isinstance(data.signed_on, date):
        bad("signed_on", _("Enter the signing date."))
    elif data.signed_on > timezone.localdate() or data.signed_on < EARLIEST_SIGNING:
        bad("signed_on", _("The signing date cannot be in the future (or before 1980)."))

    seller = Organisation.objects.select_related("region").filter(pk=data.seller_id).first()
    if seller is None:
        bad("seller", _("Unknown seller organisation."))
    elif seller.region.level == Region.Level.COUNTRY:
        bad(
            "seller",
            _("Contracts are registered in the seller's region in China; this seller is abroad."),
        )
    buyer = None
    buyer_name = data.buyer_name.strip()
    buyer_region = None
    if data.buyer_id is not None:
        buyer = Organisation.objects.select_related("region").filter(pk=data.buyer_id).first()
        if buyer is None:
            bad("buyer", _("Unknown buyer organisation."))
        elif seller is not None and buyer.pk == seller.pk:
            bad("buyer", _("The buyer must be another organisation than the seller."))
        else:
            buyer_name, buyer_region = buyer.name_zh, buyer.region
    else:
        if not buyer_name or len(buyer_name) > 200:
            bad(
                "buyer_name",
                _("Name the buyer (at most 200 characters), or choose an organisation."),
            )
        buyer_region = _region(data.buyer_region)
        if buyer_region is None:
            bad("buyer_region", _("Give the buyer's region code (e.g. 320500, or DE abroad)."))
    if errors:
        raise ValidationFailed(errors)
    assert seller is not None and buyer_region is not None
    return _Checked(seller, buyer, buyer_name, buyer_region, subtype)


def _input_of(contract: TechContract) -> ContractInput:
    return ContractInput(
        seller_id=contract.seller_id or 0,
        title=contract.title,
        type=contract.type,
        subtype=contract.subtype,
        amount_fen=contract.amount_fen,
        tech_amount_fen=contract.tech_amount_fen,
        field=contract.field,
        signed_on=contract.signed_on,
        buyer_id=contract.buyer_id,
        buyer_name="" if contract.buyer_id else contract.buyer_name,
        buyer_region="" if contract.buyer_id else contract.buyer_region_id,
        payment_method=contract.payment_method,
    )


def _apply(contract: TechContract, data: ContractInput, checked: _Checked) -> None:
    contract.title = data.title.strip()
    contract.type = data.type
    contract.subtype = checked.subtype
    contract.seller = checked.seller
    contract.seller_name = checked.seller.name_zh
    contract.seller_region = checked.seller.region
    contract.buyer = checked.buyer
    contract.buyer_name = checked.buyer_name
    contract.buyer_region = checked.buyer_region
    contract.amount_fen = data.amount_fen
    contract.tech_amount_fen = data.tech_amount_fen
    contract.payment_method = data.payment_method
    contract.field = data.field
    contract.signed_on = data.signed_on


def _seller_member(actor: Any, seller_id: int | None) -> None:
    if seller_id is None or not perms.is_member(actor, seller_id):
        raise PermissionDenied(_("Only the seller's members can do this."), field="seller")


def _snapshot(contract: TechContract) -> dict[str, Any]:
    return {
        "status": contract.status,
        "type": contract.type,
        "subtype": contract.subtype,
        "amount_fen": contract.amount_fen,
        "tech_amount_fen": contract.tech_amount_fen,
        "seller_region": contract.seller_region_id,
        "buyer_region": contract.buyer_region_id,
    }


def get_contract(contract_id: int, *, lock: bool = False) -> TechContract:
    qs = TechContract.objects.select_related("seller", "buyer", "seller_region", "buyer_region")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=contract_id)
    except (TechContract.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such contract.")) from None


# --- the seller ---------------------------------------------------------------------------


def create_draft(
    *,
    seller: Organisation,
    buyer: Organisation,
    title: str,
    amount_fen: int,
    type: str,
    field: str,
    source: str,
    source_ref: str = "",
    subtype: str = "",
    actor: Any = None,
) -> TechContract:
    """A draft contract for the seller to complete and submit for registration.

    Auctions (a sold lot) and challenges (an award) call this inside their own
    transaction; the audit entry commits with them.
    """
    contract = TechContract.objects.create(
        ref=new_ref(),
        title=title[:300],
        type=type,
        subtype=subtype or str(SUBTYPES[type][0][0]),
        seller=seller,
        seller_name=seller.name_zh,
        seller_region=seller.region,
        buyer=buyer,
        buyer_name=buyer.name_zh,
        buyer_region=buyer.region,
        amount_fen=amount_fen,
        tech_amount_fen=amount_fen,
        field=field,
        signed_on=timezone.localdate(),
        source=source,
        source_ref=source_ref[:60],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action="market.contract.draft",
        target=contract,
        after={"source": source, "source_ref": source_ref, "amount_fen": amount_fen},
        region=seller.region,
    )
    return contract


def create_contract(
    *, actor: Any, data: ContractInput, file: Any = None, submit: bool = False
) -> TechContract:
    """The seller enters a contract (a draft), optionally with its file, optionally
    submitting it for registration at once."""
    _seller_member(actor, data.seller_id)
    checked = validate_contract(data)
    if not checked.seller.is_verified:
        raise PermissionDenied(
            _("The seller must be a verified organisation to register contracts."),
            field="seller",
        )
    stored_name = check_upload(file, allowed=CONTRACT_TYPES, field="file") if file else ""
    with transaction.atomic(durable=True):
        contract = TechContract(ref=new_ref(), source=TechContract.Source.MANUAL, created_by=actor)
        _apply(contract, data, checked)
        if file:
            contract.file.save(stored_name, file, save=False)
            contract.file_name = stored_name
        contract.save()
        audit.record(
            actor=actor,
            action="market.contract.create",
            target=contract,
            after=_snapshot(contract),
            region=contract.seller_region,
        )
        if submit:
            _submit(actor, contract)
    return contract


def update_contract(*, actor: Any, contract_id: int, changes: dict[str, Any]) -> TechContract:
    """Change a draft: any field of `ContractInput` (not the parties or the amount of a
    draft made by an auction or a challenge)."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise DomainError(_("Unknown field."), field=sorted(unknown)[0])
    contract = get_contract(contract_id)
    _seller_member(actor, contract.seller_id)
    if contract.status != TechContract.Status.DRAFT:
        raise DomainError(_("Only a draft can be changed."), status=409)
    current = _input_of(contract)
    if contract.source != TechContract.Source.MANUAL:
        locked = sorted(
            k for k in set(changes) & LOCKED_FOR_GENERATED if changes[k] != getattr(current, k)
        )
        if locked:
            raise DomainError(
                _("The parties and the amount come from the %(source)s and cannot be changed.")
                % {"source": contract.get_source_display()},
                field=locked[0],
            )
    if "buyer_id" in changes and changes["buyer_id"] is not None:
        changes = {**changes, "buyer_name": "", "buyer_region": ""}
    data = replace(current, **changes)
    if data.seller_id != contract.seller_id:
        _seller_member(actor, data.seller_id)
    checked = validate_contract(data)
    with transaction.atomic(durable=True):
        contract = get_contract(contract.pk, lock=True)
        if contract.status != TechContract.Status.DRAFT:
            raise DomainError(_("Only a draft can be changed."), status=409)
        before = _snapshot(contract)
        _apply(contract, data, checked)
        contract.save()
        audit.record(
            actor=actor,
            action="market.contract.update",
            target=contract,
            before=before,
            after=_snapshot(contract),
            region=contract.seller_region,
        )
    return contract


def attach_file(*, actor: Any, contract_id: int, file: Any) -> TechContract:
    """The seller uploads the written contract (PDF, DOCX or an image; ≤ 20 MiB)."""
    contract = get_contract(contract_id)
    _seller_member(actor, contract.seller_id)
    if contract.status != TechContract.Status.DRAFT:
        raise DomainError(
            _("The file can be replaced on a draft, or with an appeal after a refusal."),
            status=409,
        )
    name = check_upload(file, allowed=CONTRACT_TYPES, field="file")
    with transaction.atomic(durable=True):
        contract.file.save(name, file, save=False)
        contract.file_name = name
        contract.save(update_fields=["file", "file_name"])
        audit.record(
            actor=actor,
            action="market.contract.file",
            target=contract,
            after={"file": contract.file.name},
            region=contract.seller_region,
        )
    return contract


def registrars(region: Region) -> list[User]:
    """The regional administrators whose jurisdiction includes `region`."""
    codes = []
    node: Region | None = region
    while node is not None:
        codes.append(node.code)
        node = node.parent
    return list(
        User.objects.filter(
            staff_roles__role=StaffRole.Role.REGIONAL_ADMIN, staff_roles__region__in=codes
        ).distinct()
    )


def _seller_members(contract: TechContract) -> list[User]:
    if contract.seller_id is None:
        return []
    return list(User.objects.filter(memberships__organisation_id=contract.seller_id).distinct())


def _submit(actor: Any, contract: TechContract) -> None:
    """draft → submitted, inside the caller's transaction."""
    checked = validate_contract(_input_of(contract))
    if not checked.seller.is_verified:
        raise PermissionDenied(
            _("The seller must be a verified organisation to register contracts."),
            field="seller",
        )
    if not contract.file:
        raise DomainError(
            _("Upload the written contract before submitting it for registration."),
            field="file",
        )
    now = timezone.now()
    due = timezone.localdate(now) + timedelta(days=REVIEW_DAYS)
    # The parties' names and regions as they are at submission: statistics count these.
    _apply(contract, _input_of(contract), checked)
    updated = TechContract.objects.filter(pk=contract.pk, status=TechContract.Status.DRAFT).update(
        status=TechContract.Status.SUBMITTED,
        submitted_at=now,
        due_on=due,
        seller_name=contract.seller_name,
        seller_region=contract.seller_region,
        buyer_name=contract.buyer_name,
        buyer_region=contract.buyer_region,
    )
    if updated != 1:
        raise DomainError(_("Only a draft can be submitted."), status=409)
    contract.status, contract.submitted_at, contract.due_on = (
        TechContract.Status.SUBMITTED,
        now,
        due,
    )
    audit.record(
        actor=actor,
        action="market.contract.submit",
        target=contract,
        before={"status": TechContract.Status.DRAFT},
        after={"status": contract.status, "due_on": due.isoformat()},
        region=contract.seller_region,
    )
    notify.notify(
        registrars(contract.seller_region),
        kind="market.contract.submitted",
        title=_("Contract %(ref)s awaits registration") % {"ref": contract.ref},
        body=_("%(seller)s submitted “%(title)s”; decide by %(due)s.")
        % {"seller": contract.seller_name, "title": contract.title, "due": due.isoformat()},
        link=reverse("market:contract_detail", args=[contract.pk]),
    )


def submit_contract(*, actor: Any, contract_id: int) -> TechContract:
    """The seller submits a complete draft; the registrar must decide within 30 days."""
    contract = get_contract(contract_id)
    _seller_member(actor, contract.seller_id)
    with transaction.atomic(durable=True):
        _submit(actor, contract)
    return contract


def appeal_contract(
    *, actor: Any, contract_id: int, statement: str, file: Any = None
) -> TechContract:
    """The seller appeals a refusal with a statement (and, if need be, a corrected file):
    the contract goes back to the registrar with a new due date."""
    contract = get_contract(contract_id)
    _seller_member(actor, contract.seller_id)
    statement = (statement or "").strip()
    if not statement or len(statement) > MAX_TEXT:
        raise DomainError(
            _("State why the decision should change (at most 3,000 characters)."),
            field="statement",
        )
    if contract.status != TechContract.Status.REFUSED:
        raise DomainError(_("Only a refused contract can be appealed."), status=409)
    name = check_upload(file, allowed=CONTRACT_TYPES, field="file") if file else ""
    now = timezone.now()
    due = timezone.localdate(now) + timedelta(days=REVIEW_DAYS)
    with transaction.atomic(durable=True):
        updated = TechContract.objects.filter(
            pk=contract.pk, status=TechContract.Status.REFUSED
        ).update(
            status=TechContract.Status.SUBMITTED,
            submitted_at=now,
            due_on=due,
            appeal_statement=statement,
            appeals=F("appeals") + 1,
        )
        if updated != 1:
            raise DomainError(_("Only a refused contract can be appealed."), status=409)
        if file:
            contract.file.save(name, file, save=False)
            TechContract.objects.filter(pk=contract.pk).update(
                file=contract.file.name, file_name=name
            )
        audit.record(
            actor=actor,
            action="market.contract.appeal",
            target=contract,
            before={"status": TechContract.Status.REFUSED},
            after={"status": TechContract.Status.SUBMITTED, "due_on": due.isoformat()},
            region=contract.seller_region,
            note=statement[:500],
        )
        notify.notify(
            registrars(contract.seller_region),
            kind="market.contract.appeal",
            title=_("Appeal on contract %(ref)s") % {"ref": contract.ref},
            body=statement[:1000],
            link=reverse("market:contract_detail", args=[contract.pk]),
        )
    contract.refresh_from_db()
    return contract


# --- the registrar ------------------------------------------------------------------------


def can_register(user: Any, contract: TechContract) -> bool:
    """Registration belongs to the administrators of the seller's region."""
    return perms.administers_region(user, contract.seller_region)


def _registrar(actor: Any, contract: TechContract) -> None:
    if not can_register(actor, contract):
        raise PermissionDenied(
            _("Only the administrators of the seller's region (%(region)s) register it.")
            % {"region": contract.seller_region.name}
        )


def register_contract(
    *,
    actor: Any,
    contract_id: int,
    type: str | None = None,
    subtype: str | None = None,
    tech_amount_fen: int | None = None,
    note: str = "",
) -> TechContract:
    """The registrar registers the contract, confirming (or correcting) its type,
    sub-type and technology-transaction amount, and issues the registration number."""
    contract = get_contract(contract_id)
    _registrar(actor, contract)
    final_type = type or contract.type
    final_subtype = subtype or (contract.subtype if final_type == contract.type else "")
    if final_type not in ContractType.values:
        raise DomainError(_("Choose a contract type."), field="type")
    codes = [c for c, _label in SUBTYPES[final_type]]
    final_subtype = final_subtype or codes[0]
    if final_subtype not in codes:
        raise DomainError(
            _("“%(sub)s” is not a sub-type of %(type)s.")
            % {"sub": final_subtype[:30], "type": ContractType(final_type).label},
            field="subtype",
        )
    amount = contract.tech_amount_fen if tech_amount_fen is None else tech_amount_fen
    if not _is_amount(amount) or amount < 0 or amount > contract.amount_fen:
        raise DomainError(
            _("The technology-transaction amount must be between zero and the contract amount."),
            field="tech_amount_fen",
        )
    if len(note) > MAX_TEXT:
        raise DomainError(_("The note is too long (at most 3,000 characters)."), field="note")
    now = timezone.now()
    today = timezone.localdate(now)
    province = contract.seller_region.province_id or contract.seller_region_id
    with transaction.atomic(durable=True):
        before = _snapshot(contract)
        [number] = reserve_registration_numbers(province, today.year)
        updated = TechContract.objects.filter(
            pk=contract.pk, status=TechContract.Status.SUBMITTED
        ).update(
            status=TechContract.Status.REGISTERED,
            type=final_type,
            subtype=final_subtype,
            registered_tech_amount_fen=amount,
            registration_no=number,
            registered_on=today,
            decided_at=now,
            decided_by=actor,
            decision_reason=note.strip(),
        )
        if updated != 1:
            raise DomainError(_("The contract is not awaiting registration."), status=409)
        contract.refresh_from_db()
        rollups.contract_changed(contract)  # the statistics count it from now on
        audit.record(
            actor=actor,
            action="market.contract.register",
            target=contract,
            before=before,
            after={
                **_snapshot(contract),
                "registration_no": number,
                "registered_tech_amount_fen": amount,
            },
            region=contract.seller_region,
            note=note[:500],
        )
        notify.notify(
            _seller_members(contract),
            kind="market.contract.registered",
            title=_("Contract %(ref)s is registered: %(no)s") % {"ref": contract.ref, "no": number},
            link=reverse("market:contract_detail", args=[contract.pk]),
        )
    return contract


def refuse_contract(*, actor: Any, contract_id: int, reason: str) -> TechContract:
    """The registrar refuses: not a technology contract, or not as declared. Reasons are
    required; the seller may appeal."""
    contract = get_contract(contract_id)
    _registrar(actor, contract)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_TEXT:
        raise DomainError(
            _("Give the reasons for the refusal (at most 3,000 characters)."), field="reason"
        )
    with transaction.atomic(durable=True):
        updated = TechContract.objects.filter(
            pk=contract.pk, status=TechContract.Status.SUBMITTED
        ).update(
            status=TechContract.Status.REFUSED,
            decided_at=timezone.now(),
            decided_by=actor,
            decision_reason=reason,
        )
        if updated != 1:
            raise DomainError(_("The contract is not awaiting registration."), status=409)
        audit.record(
            actor=actor,
            action="market.contract.refuse",
            target=contract,
            before={"status": TechContract.Status.SUBMITTED},
            after={"status": TechContract.Status.REFUSED},
            region=contract.seller_region,
            note=reason[:500],
        )
        notify.notify(
            _seller_members(contract),
            kind="market.contract.refused",
            title=_("Contract %(ref)s was refused") % {"ref": contract.ref},
            body=reason,
            link=reverse("market:contract_detail", args=[contract.pk]),
        )
    contract.refresh_from_db()
    return contract
