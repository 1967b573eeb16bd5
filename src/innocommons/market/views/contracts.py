"""Web pages: technology contracts (技术合同) and their registration.

- sellers: "my contracts" (drafts to complete, submissions and decisions), the form to
  register a contract, the detail page with submit and appeal;
- registrars (regional administrators): the queue of their region's submissions with due
  dates and the overdue flag, the decision form with a confirmation step, and the import
  of historical registered contracts.

Views parse, call one service or selector, and render; a service's DomainError goes back
on the form field it names. Every POST redirects (POST-redirect-GET) or re-renders a form.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from innocommons.accounts import permissions as perms
from innocommons.accounts.permissions import acting_user
from innocommons.catalog.validation import YuanField
from innocommons.core import uploads
from innocommons.core.errors import DomainError
from innocommons.core.models import Region
from innocommons.core.money import format_yuan
from innocommons.market.importer import COLUMNS, import_contracts
from innocommons.market.models import (
    REVIEW_DAYS,
    SUBTYPES,
    ContractField,
    ContractType,
    PaymentMethod,
    TechContract,
)
from innocommons.market.selectors import contracts as selectors
from innocommons.market.services import contracts as services

PER_PAGE = 20
# service field name → form field name
SERVICE_FIELDS = {
    "seller": "seller",
    "buyer": "buyer",
    "buyer_id": "buyer",
    "amount_fen": "amount",
    "tech_amount_fen": "tech_amount",
    "statement": "statement",
    "reason": "reason",
}


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's error on the field it names, or on the form as a whole."""
    for err in exc.errors():
        name = SERVICE_FIELDS.get(err["field"], err["field"])
        form.add_error(name if name in form.fields else None, err["message"])


def _read(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(str(exc.message)) from None
        raise Http404(str(exc.message)) from None


def _page(request: HttpRequest, qs: Any) -> Page:
    return Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))


def _choices(form: forms.Form, name: str, choices: Any) -> None:
    """Set a choice field's options at run time (they depend on the user)."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class DateInput(forms.DateInput):
    input_type = "date"


def _subtype_choices() -> list[Any]:
    return [
        (ContractType(t).label, [(code, label) for code, label in subs])
        for t, subs in SUBTYPES.items()
    ]


def _region_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [
        (r.code, f"{r.code} {r.name}") for r in Region.objects.order_by("sort", "code")
    ]


class ContractForm(forms.Form):
    """The seller's contract. The rules (sub-type of the type, amounts, parties) are the
    service's; this form only reads the shapes."""

    seller = forms.TypedChoiceField(label=gettext_lazy("Seller (your organisation)"), coerce=int)
    title = forms.CharField(label=gettext_lazy("Contract title"), max_length=300)
    type = forms.ChoiceField(label=gettext_lazy("Contract type"), choices=ContractType.choices)
    subtype = forms.ChoiceField(label=gettext_lazy("Sub-type"))
    buyer = forms.CharField(
        label=gettext_lazy("Buyer on the platform"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Its unified social credit code or exact registered name."),
    )
    buyer_name = forms.CharField(
        label=gettext_lazy("Or: buyer not on the platform (name)"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("For foreign or other buyers without a profile here."),
    )
    buyer_region = forms.ChoiceField(
        label=gettext_lazy("… and its region"),
        required=False,
        help_text=gettext_lazy("Counts the absorption of the technology in that region."),
    )
    amount = YuanField(label=gettext_lazy("Contract amount (yuan)"), required=True)
    tech_amount = YuanField(
        label=gettext_lazy("Technology-transaction amount claimed (yuan)"),
        help_text=gettext_lazy(
            "The technical part of the contract amount; at most the contract amount. "
            "Empty: the whole contract amount."
        ),
    )
    payment_method = forms.ChoiceField(
        label=gettext_lazy("Payment method"), choices=PaymentMethod.choices
    )
    field = forms.ChoiceField(label=gettext_lazy("Field"), choices=ContractField.choices)
    signed_on = forms.DateField(label=gettext_lazy("Signed on"), widget=DateInput)
    file = forms.FileField(
        label=gettext_lazy("Written contract"),
        required=False,
        help_text=gettext_lazy("PDF, Word (DOCX), PNG or JPEG; at most 20 MiB."),
    )

    def __init__(self, *args: Any, sellers: list[Any], locked: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        _choices(self, "seller", [(o.pk, o.name) for o in sellers])
        _choices(self, "subtype", _subtype_choices())
        _choices(self, "buyer_region", _region_choices())
        if locked:
            for name in ("seller", "buyer", "buyer_name", "buyer_region", "amount"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def changes(self) -> dict[str, Any]:
        """The cleaned data in the service's terms (fields left out when disabled)."""
        d = self.cleaned_data
        out: dict[str, Any] = {
            "title": d["title"],
            "type": d["type"],
            "subtype": d["subtype"],
            "payment_method": d["payment_method"],
            "field": d["field"],
            "signed_on": d["signed_on"],
        }
        if not self.fields["amount"].disabled:
            out["amount_fen"] = d["amount"]
            out["seller_id"] = d["seller"]
            buyer = selectors.find_organisation(d["buyer"]) if d["buyer"] else None
            if d["buyer"] and buyer is None:
                raise DomainError(
                    _("No organisation on the platform has this credit code or name."),
                    field="buyer",
                )
            out["buyer_id"] = buyer.pk if buyer else None
            out["buyer_name"] = "" if buyer else d["buyer_name"]
            out["buyer_region"] = "" if buyer else d["buyer_region"]
        tech = d.get("tech_amount")
        out["tech_amount_fen"] = d["amount"] if tech is None else tech
        return out


def _initial(contract: TechContract) -> dict[str, Any]:
    return {
        "seller": contract.seller_id,
        "title": contract.title,
        "type": contract.type,
        "subtype": contract.subtype,
        "buyer": (contract.buyer.credit_code or contract.buyer.name_zh) if contract.buyer else "",
        "buyer_name": "" if contract.buyer_id else contract.buyer_name,
        "buyer_region": "" if contract.buyer_id else contract.buyer_region_id,
        "amount": format_yuan(contract.amount_fen).lstrip("¥"),
        "tech_amount": format_yuan(contract.tech_amount_fen).lstrip("¥"),
        "payment_method": contract.payment_method,
        "field": contract.field,
        "signed_on": contract.signed_on,
    }


# --- sellers ------------------------------------------------------------------------------


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    status = request.GET.get("status", "")
    page = _page(request, selectors.my_contracts(user, status=status))
    return render(
        request,
        "market/contracts/mine.html",
        {
            "page": page,
            "status": status,
            "statuses": TechContract.Status.choices,
            "extra": urlencode({"status": status}) if status else "",
            "drafts": selectors.my_contracts(user, status=TechContract.Status.DRAFT).count(),
            "can_register": bool(selectors.seller_organisations(user)),
            "is_registrar": bool(perms.admin_regions(user)),
            "review_days": REVIEW_DAYS,
        },
    )


@login_required
def new(request: HttpRequest) -> HttpResponseBase:
    user = acting_user(request)
    sellers = selectors.seller_organisations(user)
    if not sellers:
        messages.error(
            request, _("Only members of a verified organisation can register contracts.")
        )
        return redirect("market:contract_mine")
    form = ContractForm(request.POST or None, request.FILES or None, sellers=sellers)
    if request.method == "POST" and form.is_valid():
        try:
            c = form.changes()
            data = services.ContractInput(
                seller_id=c["seller_id"],
                title=c["title"],
                type=c["type"],
                subtype=c["subtype"],
                buyer_id=c["buyer_id"],
                buyer_name=c["buyer_name"],
                buyer_region=c["buyer_region"],
                amount_fen=c["amount_fen"],
                tech_amount_fen=c["tech_amount_fen"],
                payment_method=c["payment_method"],
                field=c["field"],
                signed_on=c["signed_on"],
            )
            contract = services.create_contract(
                actor=user,
                data=data,
                file=form.cleaned_data.get("file"),
                submit=request.POST.get("action") == "submit",
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if contract.status == TechContract.Status.SUBMITTED:
                messages.success(
                    request,
                    _("Submitted. The registrar of %(region)s decides by %(due)s.")
                    % {"region": contract.seller_region.name, "due": contract.due_on},
                )
            else:
                messages.success(request, _("Saved as a draft."))
            return redirect("market:contract_detail", contract_id=contract.pk)
    return render(
        request,
        "market/contracts/form.html",
        {"form": form, "contract": None, "review_days": REVIEW_DAYS},
    )


@login_required
def edit(request: HttpRequest, contract_id: int) -> HttpResponseBase:
    """Complete a draft (also one made by an auction or an award), then save or submit."""
    user = acting_user(request)
    contract = _read(selectors.get_contract, user, contract_id)
    if not selectors.is_seller(user, contract) or contract.status != TechContract.Status.DRAFT:
        messages.error(request, _("Only the seller's members change a draft."))
        return redirect("market:contract_detail", contract_id=contract.pk)
    locked = contract.source != TechContract.Source.MANUAL
    sellers = selectors.seller_organisations(user)
    if contract.seller is not None and contract.seller not in sellers:
        sellers.append(contract.seller)
    initial = _initial(contract)
    form = ContractForm(
        request.POST or None, request.FILES or None, sellers=sellers, locked=locked, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_contract(actor=user, contract_id=contract.pk, changes=form.changes())
            if form.cleaned_data.get("file"):
                services.attach_file(
                    actor=user, contract_id=contract.pk, file=form.cleaned_data["file"]
                )
            if request.POST.get("action") == "submit":
                services.submit_contract(actor=user, contract_id=contract.pk)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            contract.refresh_from_db()
            if contract.status == TechContract.Status.SUBMITTED:
                messages.success(
                    request,
                    _("Submitted. The registrar of %(region)s decides by %(due)s.")
                    % {"region": contract.seller_region.name, "due": contract.due_on},
                )
            else:
                messages.success(request, _("Draft saved."))
            return redirect("market:contract_detail", contract_id=contract.pk)
    return render(
        request,
        "market/contracts/form.html",
        {"form": form, "contract": contract, "locked": locked, "review_days": REVIEW_DAYS},
    )


@login_required
@require_POST
def submit(request: HttpRequest, contract_id: int) -> HttpResponseBase:
    try:
        contract = services.submit_contract(actor=acting_user(request), contract_id=contract_id)
        messages.success(
            request,
            _("Submitted. The registrar decides by %(due)s.") % {"due": contract.due_on},
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("market:contract_detail", contract_id=contract_id)


class AppealForm(forms.Form):
    statement = forms.CharField(
        label=gettext_lazy("Why should the decision change?"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    file = forms.FileField(
        label=gettext_lazy("Corrected contract file (optional)"),
        required=False,
        help_text=gettext_lazy("PDF, Word (DOCX), PNG or JPEG; at most 20 MiB."),
    )


@login_required
def detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    user = acting_user(request)
    contract = _read(selectors.get_contract, user, contract_id)
    is_seller = selectors.is_seller(user, contract)
    return render(
        request,
        "market/contracts/detail.html",
        {
            "c": contract,
            "is_seller": is_seller,
            "can_decide": contract.status == TechContract.Status.SUBMITTED
            and services.can_register(user, contract),
            "can_download": bool(contract.file) and selectors.can_download(user, contract),
            "appeal_form": AppealForm() if is_seller else None,
            "history": selectors.history(contract),
            "review_days": REVIEW_DAYS,
        },
    )


@login_required
@require_POST
def appeal(request: HttpRequest, contract_id: int) -> HttpResponseBase:
    user = acting_user(request)
    contract = _read(selectors.get_contract, user, contract_id)
    form = AppealForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.appeal_contract(
                actor=user,
                contract_id=contract.pk,
                statement=form.cleaned_data["statement"],
                file=form.cleaned_data.get("file"),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Appeal submitted; the registrar reviews it again."))
            return redirect("market:contract_detail", contract_id=contract.pk)
    return render(
        request,
        "market/contracts/detail.html",
        {
            "c": contract,
            "is_seller": True,
            "appeal_form": form,
            "history": selectors.history(contract),
            "can_download": selectors.can_download(user, contract),
            "review_days": REVIEW_DAYS,
        },
        status=400,
    )


@login_required
def file(request: HttpRequest, contract_id: int) -> HttpResponseBase:
    user = acting_user(request)
    contract = _read(selectors.get_contract, user, contract_id)
    if not selectors.can_download(user, contract):
        raise Http404
    try:
        return uploads.download(contract.file, contract.file_name or f"{contract.ref}.pdf")
    except DomainError:
        raise Http404 from None


# --- registrars ---------------------------------------------------------------------------


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not perms.admin_regions(user):
        raise Http404
    status = request.GET.get("status", TechContract.Status.SUBMITTED)
    overdue = request.GET.get("overdue") == "1"
    page = _page(request, selectors.registrar_queue(user, status=status, overdue=overdue))
    return render(
        request,
        "market/contracts/queue.html",
        {
            "page": page,
            "status": status,
            "overdue": overdue,
            "statuses": [s for s in TechContract.Status.choices if s[0] != "draft"],
            "counts": selectors.queue_counts(user),
            "extra": urlencode({"status": status, **({"overdue": "1"} if overdue else {})}),
            "regions": perms.admin_regions(user),
        },
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("register", gettext_lazy("Register")),
            ("refuse", gettext_lazy("Refuse")),
        ],
        widget=forms.RadioSelect,
    )
    type = forms.ChoiceField(label=gettext_lazy("Confirmed type"), choices=ContractType.choices)
    subtype = forms.ChoiceField(label=gettext_lazy("Confirmed sub-type"))
    tech_amount = YuanField(
        required=True,
        label=gettext_lazy("Technology-transaction amount registered (yuan)"),
        help_text=gettext_lazy("At most the contract amount."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note or reasons (reasons required to refuse)"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        _choices(self, "subtype", _subtype_choices())


DECISION_FIELDS = {"reason": "note", "tech_amount_fen": "tech_amount"}


@login_required
def decide(request: HttpRequest, contract_id: int) -> HttpResponseBase:
    """The decision form; a valid POST first shows what will be recorded, and a second
    POST with confirm=1 records it."""
    user = acting_user(request)
    contract = _read(selectors.get_contract, user, contract_id)
    if not services.can_register(user, contract):
        raise DjangoPermissionDenied(
            _("Only the administrators of the seller's region register it.")
        )
    form = DecisionForm(
        request.POST or None,
        initial={
            "decision": "register",
            "type": contract.type,
            "subtype": contract.subtype,
            "tech_amount": format_yuan(contract.tech_amount_fen).lstrip("¥"),
        },
    )
    confirm = False
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if request.POST.get("confirm") == "1":
            try:
                if d["decision"] == "register":
                    services.register_contract(
                        actor=user,
                        contract_id=contract.pk,
                        type=d["type"],
                        subtype=d["subtype"],
                        tech_amount_fen=d["tech_amount"],
                        note=d["note"],
                    )
                    messages.success(request, _("Registered."))
                else:
                    services.refuse_contract(actor=user, contract_id=contract.pk, reason=d["note"])
                    messages.success(request, _("Refused; the seller has been told the reasons."))
            except DomainError as exc:
                for err in exc.errors():
                    name = DECISION_FIELDS.get(err["field"], err["field"])
                    form.add_error(name if name in form.fields else None, err["message"])
            else:
                return redirect("market:contract_detail", contract_id=contract.pk)
        elif d["decision"] == "refuse" and not d["note"].strip():
            form.add_error("note", _("Give the reasons for the refusal."))
        else:
            confirm = True
    return render(
        request,
        "market/contracts/decide.html",
        {
            "c": contract,
            "form": form,
            "confirm": confirm,
            "closed": contract.status != TechContract.Status.SUBMITTED,
            "subtype_label": dict(
                (code, label) for subs in SUBTYPES.values() for code, label in subs
            ),
        },
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV or XLSX file"),
        help_text=gettext_lazy("UTF-8 (with or without BOM) or GB18030; a header row."),
    )
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Import the valid rows even if some are rejected"), required=False
    )


@login_required
def import_view(request: HttpRequest) -> HttpResponse:
    """Historical registered contracts from a file, with the rejection report."""
    user = acting_user(request)
    if not (perms.admin_regions(user) or perms.is_operator(user)):
        raise Http404
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = ".xlsx" if upload.name.lower().endswith(".xlsx") else ".csv"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / f"upload{suffix}"
                with target.open("wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
                report = import_contracts(
                    target, actor=user, skip_invalid=form.cleaned_data["skip_invalid"]
                )
        except DomainError as exc:
            add_domain_error(form, exc)
        if report is not None and report.imported:
            messages.success(
                request,
                _("%(n)d registered contract(s) imported.") % {"n": report.imported},
            )
    return render(
        request,
        "market/contracts/import.html",
        {"form": form, "report": report, "columns": list(COLUMNS)},
    )


urlpatterns: list[URLPattern] = [
    path("market/contracts/", mine, name="contract_mine"),
    path("market/contracts/new/", new, name="contract_new"),
    path("market/contracts/registry/", queue, name="contract_queue"),
    path("market/contracts/import/", import_view, name="contract_import"),
    path("market/contracts/<int:contract_id>/", detail, name="contract_detail"),
    path("market/contracts/<int:contract_id>/edit/", edit, name="contract_edit"),
    path("market/contracts/<int:contract_id>/submit/", submit, name="contract_submit"),
    path("market/contracts/<int:contract_id>/appeal/", appeal, name="contract_appeal"),
    path("market/contracts/<int:contract_id>/decide/", decide, name="contract_decide"),
    path("market/contracts/<int:contract_id>/file/", file, name="contract_file"),
]
