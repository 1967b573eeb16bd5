"""JSON API: voucher programmes, their figures, budget, status and eligibility."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Schema, Status
from ninja.params.functions import Query

from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH, current_user
from innocommons.vouchers import selectors, services
from innocommons.vouchers.api.common import PAGE, PAGE_SIZE, VouchersRouter, paginate
from innocommons.vouchers.models import Programme
from innocommons.vouchers.services.programmes import eligibility_problem

router = VouchersRouter()


class ProgrammeOut(Schema):
    """A programme's public facts."""

    id: int
    name: str
    name_zh: str
    name_en: str
    region: str
    region_name: str
    agency: str
    description: str
    status: str
    budget_fen: int
    coverage_bp: int = Field(description="Share of an eligible fee covered, 5000 = 50%")
    max_per_voucher_fen: int
    max_per_enterprise_year_fen: int
    opens_on: date
    closes_on: date
    voucher_valid_days: int
    require_tech_sme: bool
    require_high_tech: bool
    scope: str
    scope_group: str | None
    settlement_period: str
    eligible_categories: list[str]
    url: str


class FiguresOut(Schema):
    funded_fen: int
    available_fen: int
    committed_fen: int = Field(description="Unspent balances of issued vouchers")
    redeemed_fen: int = Field(description="Redeemed, not yet approved in a claim")
    payable_fen: int
    paid_fen: int
    returned_fen: int = Field(description="Returned to the budget: expiry, revocation, rejection")
    applications: dict[str, int]
    vouchers: dict[str, int]


class ProgrammePrivateOut(ProgrammeOut):
    """With the figures only the issuing region's administrators and auditors see."""

    can_run: bool
    figures: FiguresOut


class ProgrammePage(Schema):
    total: int
    page: int
    page_size: int
    items: list[ProgrammePrivateOut | ProgrammeOut]


def _programme_base(p: Programme) -> dict[str, Any]:
    return {
        "id": p.pk,
        "name": p.name,
        "name_zh": p.name_zh,
        "name_en": p.name_en,
        "region": p.region_id,
        "region_name": p.region.name,
        "agency": p.agency,
        "description": p.description,
        "status": p.status,
        "budget_fen": p.budget_fen,
        "coverage_bp": p.coverage_bp,
        "max_per_voucher_fen": p.max_per_voucher_fen,
        "max_per_enterprise_year_fen": p.max_per_enterprise_year_fen,
        "opens_on": p.opens_on,
        "closes_on": p.closes_on,
        "voucher_valid_days": p.voucher_valid_days,
        "require_tech_sme": p.require_tech_sme,
        "require_high_tech": p.require_high_tech,
        "scope": p.scope,
        "scope_group": p.scope_group_id,
        "settlement_period": p.settlement_period,
        "eligible_categories": [t.code for t in p.eligible_categories.all()],
        "url": f"/vouchers/programmes/{p.pk}/",
    }


def _figures_out(f: selectors.Figures) -> FiguresOut:
    return FiguresOut(
        funded_fen=f.funded_fen,
        available_fen=f.available_fen,
        committed_fen=f.committed_fen,
        redeemed_fen=f.redeemed_fen,
        payable_fen=f.payable_fen,
        paid_fen=f.paid_fen,
        returned_fen=f.returned_fen,
        applications=f.applications,
        vouchers=f.vouchers,
    )


def _programme_outs(user: Any, programmes: list[Programme]) -> list[ProgrammeOut]:
    private = [p for p in programmes if selectors.can_read_books(user, p)]
    figures = selectors.programme_figures(private)
    out: list[ProgrammeOut] = []
    for p in programmes:
        base = _programme_base(p)
        if p.pk in figures:
            out.append(
                ProgrammePrivateOut(
                    **base,
                    can_run=selectors.can_run(user, p),
                    figures=_figures_out(figures[p.pk]),
                )
            )
        else:
            out.append(ProgrammeOut(**base))
    return out


@router.get("/voucher-programmes", response=ProgrammePage, summary="Voucher programmes")
def list_programmes(
    request: HttpRequest,
    status: str = "",
    region: str = "",
    mine: bool = Query(False, description="Only programmes whose books I read"),
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> ProgrammePage:
    """Public and closed programmes for everyone; drafts and private figures for the
    issuing region's administrators, auditors and operators."""
    user = current_user(request)
    qs = selectors.managed_programmes(user) if mine else selectors.visible_programmes(user)
    if status:
        qs = qs.filter(status=status[:8])
    if region:
        qs = qs.filter(region_id=region[:12])
    qs = qs.prefetch_related("eligible_categories").order_by("-opens_on", "-pk")
    total, rows = paginate(qs, page, page_size)
    return ProgrammePage(
        total=total, page=page, page_size=page_size, items=_programme_outs(user, rows)
    )


@router.get(
    "/voucher-programmes/{programme_id}",
    response=ProgrammePrivateOut | ProgrammeOut,
    summary="One programme (with its figures for those who may read them)",
)
def get_programme(request: HttpRequest, programme_id: int) -> Any:
    user = current_user(request)
    return _programme_outs(user, [selectors.get_programme(user, programme_id)])[0]


class ProgrammeIn(Schema):
    region: str = Field(max_length=12, description="GB/T 2260 code of the issuing region")
    name_zh: str = Field(max_length=200)
    name_en: str = Field("", max_length=200)
    agency: str = Field("", max_length=200)
    description: str = Field("", max_length=5000)
    budget_fen: int = 0
    coverage_bp: int = Field(5000, description="1–10000; 5000 = 50% of the fee")
    max_per_voucher_fen: int
    max_per_enterprise_year_fen: int
    opens_on: date
    closes_on: date
    voucher_valid_days: int = 365
    require_tech_sme: bool = False
    require_high_tech: bool = False
    scope: Literal["own_region", "group", "community"] = "community"
    scope_group: str = Field("", max_length=40)
    settlement_period: Literal["monthly", "quarterly", "yearly"] = "quarterly"
    eligible_categories: list[str] = Field(default_factory=list, max_length=100)


@router.post(
    "/voucher-programmes",
    response={201: ProgrammePrivateOut},
    auth=AUTH,
    summary="Create a programme (the issuing region's administrators)",
)
def create_programme(request: HttpRequest, payload: ProgrammeIn) -> Any:
    user = acting_user(request)
    programme = services.create_programme(
        actor=user, data=services.ProgrammeInput(**payload.dict())
    )
    return Status(201, _programme_outs(user, [selectors.get_programme(user, programme.pk)])[0])


class BudgetIn(Schema):
    amount_fen: int


@router.post(
    "/voucher-programmes/{programme_id}/budget",
    response=ProgrammePrivateOut,
    auth=AUTH,
    summary="Add budget to a programme",
)
def add_budget(request: HttpRequest, programme_id: int, payload: BudgetIn) -> Any:
    user = acting_user(request)
    services.add_budget(actor=user, programme_id=programme_id, amount_fen=payload.amount_fen)
    return _programme_outs(user, [selectors.get_programme(user, programme_id)])[0]


class ProgrammeStatusIn(Schema):
    status: Literal["draft", "open", "closed"]


@router.post(
    "/voucher-programmes/{programme_id}/status",
    response=ProgrammePrivateOut,
    auth=AUTH,
    summary="Open, close or return a programme to draft",
)
def set_programme_status(
    request: HttpRequest, programme_id: int, payload: ProgrammeStatusIn
) -> Any:
    user = acting_user(request)
    services.set_programme_status(actor=user, programme_id=programme_id, status=payload.status)
    return _programme_outs(user, [selectors.get_programme(user, programme_id)])[0]


class EligibilityOut(Schema):
    organisation: int
    organisation_name: str
    eligible: bool
    reason: str


@router.get(
    "/voucher-programmes/{programme_id}/eligibility",
    response=list[EligibilityOut],
    auth=AUTH,
    summary="Whether each of my organisations may apply, and why not",
)
def eligibility(request: HttpRequest, programme_id: int) -> list[EligibilityOut]:
    user = acting_user(request)
    programme = selectors.get_programme(user, programme_id)
    out = []
    for org in selectors.organisations_of(user):
        problem = eligibility_problem(programme, org)
        out.append(
            EligibilityOut(
                organisation=org.pk,
                organisation_name=org.name,
                eligible=problem is None,
                reason=problem or "",
            )
        )
    return out
