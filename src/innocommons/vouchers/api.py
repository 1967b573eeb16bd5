"""JSON API of the vouchers app (mounted under /api/v1/).

Amounts are integer fen (`*_fen`). Writes call one service each (which checks the
permission); reads go through `vouchers.selectors`, which filter by what the user may see:
another region's applications, vouchers, claims, batches and ledger are 404 (or 403 for a
public programme's private figures). Lists are paginated: `page`, `page_size` (≤ 100).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.params.functions import Header, Query

from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH, current_user
from innocommons.core.errors import DomainError, PermissionDenied
from innocommons.vouchers import codes, ledger, selectors, services
from innocommons.vouchers.exports import batch_export_response
from innocommons.vouchers.models import (
    Application,
    Claim,
    JournalEntry,
    Programme,
    Redemption,
    SettlementBatch,
    Voucher,
)
from innocommons.vouchers.services.programmes import eligibility_problem

router = Router(tags=["vouchers"])

PAGE = Query(1, ge=1, le=10_000)
PAGE_SIZE = Query(20, ge=1, le=100)


def _slice(qs: QuerySet[Any], page: int, page_size: int) -> tuple[int, list[Any]]:
    total = qs.count()
    return total, list(qs[(page - 1) * page_size : page * page_size])


# --- shared schemas ---------------------------------------------------------------------


class ProgressOut(Schema):
    """Where a case stands (DESIGN §9): its stage, who acts next, since when."""

    stage: str
    next_actor: str
    since: datetime | None
    expected: str
    done: bool


def _progress(p: selectors.Progress) -> ProgressOut:
    return ProgressOut(
        stage=p.stage, next_actor=p.next_actor, since=p.since, expected=p.expected, done=p.done
    )


# --- programmes -------------------------------------------------------------------------


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
    total, rows = _slice(qs, page, page_size)
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


# --- applications -----------------------------------------------------------------------


class ApplicationOut(Schema):
    id: int
    programme: int
    programme_name: str
    organisation: int
    organisation_name: str
    amount_fen: int
    approved_fen: int | None
    purpose: str
    status: str
    decision_reason: str
    created_at: datetime
    decided_at: datetime | None
    voucher: int | None
    progress: ProgressOut


class ApplicationPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[ApplicationOut]


def _voucher_id(application: Application) -> int | None:
    try:
        return application.voucher.pk
    except Voucher.DoesNotExist:
        return None


def _application_out(a: Application) -> ApplicationOut:
    return ApplicationOut(
        id=a.pk,
        programme=a.programme_id,
        programme_name=a.programme.name,
        organisation=a.organisation_id,
        organisation_name=a.organisation.name,
        amount_fen=a.amount_fen,
        approved_fen=a.approved_fen,
        purpose=a.purpose,
        status=a.status,
        decision_reason=a.decision_reason,
        created_at=a.created_at,
        decided_at=a.decided_at,
        voucher=_voucher_id(a),
        progress=_progress(selectors.application_progress(a)),
    )


def _application_page(qs: QuerySet[Application], page: int, page_size: int) -> ApplicationPage:
    total, rows = _slice(qs, page, page_size)
    return ApplicationPage(
        total=total, page=page, page_size=page_size, items=[_application_out(a) for a in rows]
    )


@router.get(
    "/voucher-applications",
    response=ApplicationPage,
    auth=AUTH,
    summary="My organisations' voucher applications",
)
def my_applications(
    request: HttpRequest, status: str = "", page: int = PAGE, page_size: int = PAGE_SIZE
) -> ApplicationPage:
    qs = selectors.my_applications(acting_user(request), status=status)
    return _application_page(qs, page, page_size)


@router.get(
    "/voucher-applications/queue",
    response=ApplicationPage,
    auth=AUTH,
    summary="Applications to decide (administrators; all programmes for auditors)",
)
def application_queue(
    request: HttpRequest,
    status: str = "submitted",
    programme: int | None = None,
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> ApplicationPage:
    user = acting_user(request)
    if programme is not None:
        selectors.programme_books(user, programme)
    qs = selectors.application_queue(user, status=status, programme_id=programme)
    return _application_page(qs, page, page_size)


@router.get(
    "/voucher-applications/{application_id}",
    response=ApplicationOut,
    auth=AUTH,
    summary="One application",
)
def get_application(request: HttpRequest, application_id: int) -> ApplicationOut:
    return _application_out(selectors.get_application(acting_user(request), application_id))


class ApplicationIn(Schema):
    programme: int
    organisation: int
    amount_fen: int
    purpose: str = Field(max_length=3000)


@router.post(
    "/voucher-applications",
    response={201: ApplicationOut},
    auth=AUTH,
    summary="Apply for a voucher for my organisation",
)
def apply(request: HttpRequest, payload: ApplicationIn) -> Any:
    user = acting_user(request)
    application = services.apply_for_voucher(
        actor=user,
        programme_id=payload.programme,
        organisation_id=payload.organisation,
        amount_fen=payload.amount_fen,
        purpose=payload.purpose,
    )
    return Status(201, _application_out(selectors.get_application(user, application.pk)))


class ApproveIn(Schema):
    amount_fen: int | None = Field(None, description="Omit to approve the amount applied for")
    note: str = Field("", max_length=2000)


class ReasonIn(Schema):
    reason: str = Field(max_length=2000)


@router.post(
    "/voucher-applications/{application_id}/approve",
    response=ApplicationOut,
    auth=AUTH,
    summary="Approve (possibly a smaller amount) and issue the voucher",
)
def approve_application(request: HttpRequest, application_id: int, payload: ApproveIn) -> Any:
    user = acting_user(request)
    services.approve_application(
        actor=user, application_id=application_id, amount_fen=payload.amount_fen, note=payload.note
    )
    return _application_out(selectors.get_application(user, application_id))


@router.post(
    "/voucher-applications/{application_id}/reject",
    response=ApplicationOut,
    auth=AUTH,
    summary="Reject an application with a reason",
)
def reject_application(request: HttpRequest, application_id: int, payload: ReasonIn) -> Any:
    user = acting_user(request)
    services.reject_application(actor=user, application_id=application_id, reason=payload.reason)
    return _application_out(selectors.get_application(user, application_id))


@router.post(
    "/voucher-applications/{application_id}/withdraw",
    response=ApplicationOut,
    auth=AUTH,
    summary="Withdraw my organisation's application",
)
def withdraw_application(request: HttpRequest, application_id: int) -> Any:
    user = acting_user(request)
    services.withdraw_application(actor=user, application_id=application_id)
    return _application_out(selectors.get_application(user, application_id))


# --- vouchers and redemption ------------------------------------------------------------


class RedemptionOut(Schema):
    id: int
    voucher: int
    order: int
    order_ref: str
    provider: int
    provider_name: str
    amount_fen: int
    created_at: datetime
    reversed_at: datetime | None
    claim: int | None


class VoucherOut(Schema):
    id: int
    code: str
    code_display: str
    programme: int
    programme_name: str
    organisation: int
    organisation_name: str
    face_value_fen: int
    balance_fen: int
    valid_from: datetime
    valid_until: datetime
    status: str
    status_reason: str


class VoucherDetailOut(VoucherOut):
    redemptions: list[RedemptionOut]


class VoucherPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[VoucherOut]


def _voucher_base(v: Voucher) -> dict[str, Any]:
    return {
        "id": v.pk,
        "code": v.code,
        "code_display": codes.display(v.code),
        "programme": v.programme_id,
        "programme_name": v.programme.name,
        "organisation": v.organisation_id,
        "organisation_name": v.organisation.name,
        "face_value_fen": v.face_value_fen,
        "balance_fen": v.balance_fen,
        "valid_from": v.valid_from,
        "valid_until": v.valid_until,
        "status": v.status,
        "status_reason": v.status_reason,
    }


def _redemption_out(r: Redemption) -> RedemptionOut:
    return RedemptionOut(
        id=r.pk,
        voucher=r.voucher_id,
        order=r.order_id,
        order_ref=r.order.ref,
        provider=r.provider_id,
        provider_name=r.provider.name,
        amount_fen=r.amount_fen,
        created_at=r.created_at,
        reversed_at=r.reversed_at,
        claim=r.claim_id,
    )


def _voucher_detail(v: Voucher) -> VoucherDetailOut:
    return VoucherDetailOut(
        **_voucher_base(v),
        redemptions=[_redemption_out(r) for r in selectors.voucher_redemptions(v)],
    )


def _voucher_page(qs: QuerySet[Voucher], page: int, page_size: int) -> VoucherPage:
    total, rows = _slice(qs, page, page_size)
    return VoucherPage(
        total=total,
        page=page,
        page_size=page_size,
        items=[VoucherOut(**_voucher_base(v)) for v in rows],
    )


@router.get("/vouchers", response=VoucherPage, auth=AUTH, summary="My organisations' vouchers")
def my_vouchers(
    request: HttpRequest,
    organisation: int | None = None,
    status: str = "",
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> VoucherPage:
    qs = selectors.my_vouchers(acting_user(request), organisation_id=organisation)
    if status:
        qs = qs.filter(status=status[:10])
    return _voucher_page(qs, page, page_size)


@router.get(
    "/voucher-programmes/{programme_id}/vouchers",
    response=VoucherPage,
    auth=AUTH,
    summary="Vouchers issued by a programme (its administrators and auditors)",
)
def programme_vouchers(
    request: HttpRequest,
    programme_id: int,
    status: str = "",
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> VoucherPage:
    qs = selectors.programme_vouchers(acting_user(request), programme_id, status=status)
    return _voucher_page(qs, page, page_size)


class CheckOut(Schema):
    ok: bool
    accounts: int
    entries: int
    postings: int
    problems: list[str]


@router.get(
    "/vouchers/ledger/check",
    response=CheckOut,
    auth=AUTH,
    summary="Check every cached balance against the ledger (auditors, operators)",
)
def check_ledger(request: HttpRequest) -> CheckOut:
    if not selectors.can_check_ledger(acting_user(request)):
        raise PermissionDenied(_("Only auditors and operators can run the ledger check."))
    report = ledger.check()
    return CheckOut(
        ok=report.ok,
        accounts=report.accounts,
        entries=report.entries,
        postings=report.postings,
        problems=report.problems,
    )


@router.get(
    "/vouchers/{voucher_id}",
    response=VoucherDetailOut,
    auth=AUTH,
    summary="One voucher with its redemptions",
)
def get_voucher(request: HttpRequest, voucher_id: int) -> VoucherDetailOut:
    return _voucher_detail(selectors.get_voucher(acting_user(request), voucher_id))


class QuoteOut(Schema):
    voucher: int
    order: int
    fee_fen: int
    amount_fen: int = Field(description="What the voucher would pay")
    client_pays_fen: int = Field(description="What the enterprise pays itself")
    balance_fen: int
    coverage_fen: int
    cap_left_fen: int
    limited_by: Literal["balance", "coverage", "cap"]


@router.get(
    "/vouchers/{voucher_id}/quote",
    response=QuoteOut,
    auth=AUTH,
    summary="What the voucher would pay for a completed order (nothing is written)",
)
def quote(request: HttpRequest, voucher_id: int, order: int) -> QuoteOut:
    user = acting_user(request)
    selectors.get_voucher(user, voucher_id)
    q = services.quote_redemption(actor=user, voucher=voucher_id, order_id=order)
    fee = selectors.order_for_redemption(user, order).fee_fen or 0
    return QuoteOut(
        voucher=voucher_id,
        order=order,
        fee_fen=fee,
        amount_fen=q.amount_fen,
        client_pays_fen=fee - q.amount_fen,
        balance_fen=q.balance_fen,
        coverage_fen=q.coverage_fen,
        cap_left_fen=q.cap_left_fen,
        limited_by=q.limited_by,  # type: ignore[arg-type]
    )


class RedeemIn(Schema):
    order: int
    idempotency_key: str = Field(
        "", max_length=64, description="Or the Idempotency-Key header: a retry pays once"
    )


@router.post(
    "/vouchers/{voucher_id}/redeem",
    response={201: RedemptionOut},
    auth=AUTH,
    summary="Apply the voucher to a completed order (idempotent with a key)",
)
def redeem(
    request: HttpRequest,
    voucher_id: int,
    payload: RedeemIn,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=64),
) -> Any:
    user = acting_user(request)
    header_key = (idempotency_key or "").strip()
    body_key = payload.idempotency_key.strip()
    if header_key and body_key and header_key != body_key:
        raise DomainError(
            _("The Idempotency-Key header and the idempotency_key field differ."),
            field="idempotency_key",
        )
    selectors.get_voucher(user, voucher_id)
    redemption = services.redeem_voucher(
        actor=user,
        voucher=voucher_id,
        order_id=payload.order,
        idempotency_key=header_key or body_key,
    )
    redemption = Redemption.objects.select_related("order", "provider").get(pk=redemption.pk)
    return Status(201, _redemption_out(redemption))


@router.post(
    "/vouchers/{voucher_id}/revoke",
    response=VoucherOut,
    auth=AUTH,
    summary="Revoke a voucher; its balance returns to the budget (administrators)",
)
def revoke(request: HttpRequest, voucher_id: int, payload: ReasonIn) -> Any:
    user = acting_user(request)
    selectors.get_voucher(user, voucher_id)
    services.revoke_voucher(actor=user, voucher_id=voucher_id, reason=payload.reason)
    return VoucherOut(**_voucher_base(selectors.get_voucher(user, voucher_id)))


# --- claims -----------------------------------------------------------------------------


class UnclaimedOut(Schema):
    programme: int
    programme_name: str
    count: int
    total_fen: int
    first_at: datetime | None


@router.get(
    "/voucher-redemptions/unclaimed",
    response=list[UnclaimedOut],
    auth=AUTH,
    summary="Redeemed amounts on my organisation's orders not yet claimed, per programme",
)
def unclaimed(request: HttpRequest, provider: int) -> list[UnclaimedOut]:
    rows = selectors.unclaimed_redemptions(acting_user(request), provider)
    return [
        UnclaimedOut(
            programme=u.programme.pk,
            programme_name=u.programme.name,
            count=u.count,
            total_fen=u.total_fen,
            first_at=u.first_at,
        )
        for u in rows
    ]


class EvidenceOut(Schema):
    redemption: int
    order: int
    order_ref: str
    resource: str
    client_name: str
    invoice_no: str | None
    has_report: bool
    amount_fen: int
    reversed_at: datetime | None


class ClaimOut(Schema):
    id: int
    programme: int
    programme_name: str
    provider: int
    provider_name: str
    amount_fen: int
    status: str
    redemption_count: int
    decision_reason: str
    created_at: datetime
    decided_at: datetime | None
    paid_at: datetime | None
    batch: int | None
    progress: ProgressOut


class ClaimDetailOut(ClaimOut):
    evidence: list[EvidenceOut]


class ClaimPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[ClaimOut]


def _claim_base(c: Claim) -> dict[str, Any]:
    return {
        "id": c.pk,
        "programme": c.programme_id,
        "programme_name": c.programme.name,
        "provider": c.provider_id,
        "provider_name": c.provider.name,
        "amount_fen": c.amount_fen,
        "status": c.status,
        "redemption_count": getattr(c, "redemption_count", 0),
        "decision_reason": c.decision_reason,
        "created_at": c.created_at,
        "decided_at": c.decided_at,
        "paid_at": c.paid_at,
        "batch": c.batch_id,
        "progress": _progress(selectors.claim_progress(c)),
    }


def _claim_detail(c: Claim) -> ClaimDetailOut:
    return ClaimDetailOut(
        **_claim_base(c),
        evidence=[
            EvidenceOut(
                redemption=r.pk,
                order=r.order_id,
                order_ref=r.order.ref,
                resource=r.order.resource.title,
                client_name=r.client.name,
                invoice_no=r.order.invoice_no,
                has_report=bool(r.order.report),
                amount_fen=r.amount_fen,
                reversed_at=r.reversed_at,
            )
            for r in c.redemptions.all()
        ],
    )


def _claim_page(qs: QuerySet[Claim], page: int, page_size: int) -> ClaimPage:
    total, rows = _slice(qs, page, page_size)
    return ClaimPage(
        total=total,
        page=page,
        page_size=page_size,
        items=[ClaimOut(**_claim_base(c)) for c in rows],
    )


@router.get(
    "/voucher-claims",
    response=ClaimPage,
    auth=AUTH,
    summary="A provider's claims (its members)",
)
def provider_claims(
    request: HttpRequest,
    provider: int,
    status: str = "",
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> ClaimPage:
    qs = selectors.provider_claims(acting_user(request), provider, status=status)
    return _claim_page(qs, page, page_size)


@router.get(
    "/voucher-claims/queue",
    response=ClaimPage,
    auth=AUTH,
    summary="Claims to review (administrators; all programmes for auditors)",
)
def claim_queue(
    request: HttpRequest,
    status: str = "submitted",
    programme: int | None = None,
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> ClaimPage:
    user = acting_user(request)
    if programme is not None:
        selectors.programme_books(user, programme)
    qs = selectors.claim_queue(user, status=status, programme_id=programme)
    return _claim_page(qs, page, page_size)


@router.get(
    "/voucher-claims/{claim_id}",
    response=ClaimDetailOut,
    auth=AUTH,
    summary="One claim with its evidence",
)
def get_claim(request: HttpRequest, claim_id: int) -> ClaimDetailOut:
    return _claim_detail(selectors.get_claim(acting_user(request), claim_id))


class ClaimIn(Schema):
    provider: int
    programme: int


@router.post(
    "/voucher-claims",
    response={201: ClaimDetailOut},
    auth=AUTH,
    summary="Claim every unclaimed redemption of a programme on my organisation's orders",
)
def submit_claim(request: HttpRequest, payload: ClaimIn) -> Any:
    user = acting_user(request)
    claim = services.submit_claim(
        actor=user, provider_id=payload.provider, programme_id=payload.programme
    )
    return Status(201, _claim_detail(selectors.get_claim(user, claim.pk)))


@router.post(
    "/voucher-claims/{claim_id}/approve",
    response=ClaimDetailOut,
    auth=AUTH,
    summary="Approve a claim: the amount becomes payable (administrators)",
)
def approve_claim(request: HttpRequest, claim_id: int) -> Any:
    user = acting_user(request)
    services.approve_claim(actor=user, claim_id=claim_id)
    return _claim_detail(selectors.get_claim(user, claim_id))


@router.post(
    "/voucher-claims/{claim_id}/reject",
    response=ClaimDetailOut,
    auth=AUTH,
    summary="Reject a claim with a reason: its redemptions are reversed (administrators)",
)
def reject_claim(request: HttpRequest, claim_id: int, payload: ReasonIn) -> Any:
    user = acting_user(request)
    services.reject_claim(actor=user, claim_id=claim_id, reason=payload.reason)
    return _claim_detail(selectors.get_claim(user, claim_id))


# --- settlement batches -----------------------------------------------------------------


class BatchOut(Schema):
    id: int
    programme: int
    programme_name: str
    period_start: date
    period_end: date
    status: str
    total_fen: int
    payment_reference: str
    created_at: datetime
    paid_at: datetime | None
    export_url: str


class BatchDetailOut(BatchOut):
    claims: list[ClaimOut]


class BatchPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[BatchOut]


def _batch_base(b: SettlementBatch) -> dict[str, Any]:
    return {
        "id": b.pk,
        "programme": b.programme_id,
        "programme_name": b.programme.name,
        "period_start": b.period_start,
        "period_end": b.period_end,
        "status": b.status,
        "total_fen": b.total_fen,
        "payment_reference": b.payment_reference,
        "created_at": b.created_at,
        "paid_at": b.paid_at,
        "export_url": f"/api/v1/settlement-batches/{b.pk}/export.xlsx",
    }


def _batch_detail(b: SettlementBatch) -> BatchDetailOut:
    return BatchDetailOut(
        **_batch_base(b),
        claims=[ClaimOut(**_claim_base(c)) for c in selectors.batch_claims(b)],
    )


@router.get(
    "/voucher-programmes/{programme_id}/batches",
    response=BatchPage,
    auth=AUTH,
    summary="A programme's settlement batches",
)
def list_batches(
    request: HttpRequest, programme_id: int, page: int = PAGE, page_size: int = PAGE_SIZE
) -> BatchPage:
    total, rows = _slice(
        selectors.programme_batches(acting_user(request), programme_id), page, page_size
    )
    return BatchPage(
        total=total,
        page=page,
        page_size=page_size,
        items=[BatchOut(**_batch_base(b)) for b in rows],
    )


class BatchIn(Schema):
    day: date | None = Field(
        None, description="Any day of the settlement period to settle; default today"
    )


@router.post(
    "/voucher-programmes/{programme_id}/batches",
    response={201: BatchDetailOut},
    auth=AUTH,
    summary="Gather approved claims into the settlement batch of a period",
)
def create_batch(request: HttpRequest, programme_id: int, payload: BatchIn) -> Any:
    user = acting_user(request)
    batch = services.create_batch(
        actor=user, programme_id=programme_id, day=payload.day or timezone.localdate()
    )
    return Status(201, _batch_detail(selectors.get_batch(user, batch.pk)))


@router.get(
    "/settlement-batches/{batch_id}",
    response=BatchDetailOut,
    auth=AUTH,
    summary="One settlement batch with its claims",
)
def get_batch(request: HttpRequest, batch_id: int) -> BatchDetailOut:
    return _batch_detail(selectors.get_batch(acting_user(request), batch_id))


class PayIn(Schema):
    payment_reference: str = Field(max_length=100)


@router.post(
    "/settlement-batches/{batch_id}/pay",
    response=BatchDetailOut,
    auth=AUTH,
    summary="Record the batch as paid with the bank's payment reference",
)
def pay_batch(request: HttpRequest, batch_id: int, payload: PayIn) -> Any:
    user = acting_user(request)
    selectors.get_batch(user, batch_id)
    services.pay_batch(actor=user, batch_id=batch_id, payment_reference=payload.payment_reference)
    return _batch_detail(selectors.get_batch(user, batch_id))


@router.get(
    "/settlement-batches/{batch_id}/export.xlsx",
    auth=AUTH,
    summary="The batch as an XLSX workbook for the finance office",
)
def export_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    return batch_export_response(selectors.get_batch(acting_user(request), batch_id))


# --- ledger -----------------------------------------------------------------------------


class PostingOut(Schema):
    account: str
    kind: str
    amount_fen: int = Field(description="Debit positive, credit negative")


class EntryOut(Schema):
    id: int
    at: datetime
    kind: str
    memo: str
    actor: str | None
    postings: list[PostingOut]


class EntryPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[EntryOut]


def _entry_out(e: JournalEntry) -> EntryOut:
    return EntryOut(
        id=e.pk,
        at=e.at,
        kind=e.kind,
        memo=e.memo,
        actor=e.actor.get_username() if e.actor else None,
        postings=[
            PostingOut(account=p.account.code, kind=p.account.kind, amount_fen=p.amount_fen)
            for p in e.postings.all()
        ],
    )


@router.get(
    "/voucher-programmes/{programme_id}/ledger",
    response=EntryPage,
    auth=AUTH,
    summary="A programme's journal entries with their postings (administrators, auditors)",
)
def programme_ledger(
    request: HttpRequest, programme_id: int, page: int = PAGE, page_size: int = PAGE_SIZE
) -> EntryPage:
    total, rows = _slice(
        selectors.ledger_entries(acting_user(request), programme_id), page, page_size
    )
    return EntryPage(
        total=total, page=page, page_size=page_size, items=[_entry_out(e) for e in rows]
    )
