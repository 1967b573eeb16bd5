"""JSON API: voucher applications, the decision queue and the decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema, Status

from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH
from innocommons.vouchers import selectors, services
from innocommons.vouchers.api.common import PAGE, PAGE_SIZE, VouchersRouter, paginate
from innocommons.vouchers.api.schemas import ProgressOut, ReasonIn, progress_out
from innocommons.vouchers.models import Application, Voucher

router = VouchersRouter()


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
        progress=progress_out(selectors.application_progress(a)),
    )


def _application_page(qs: QuerySet[Application], page: int, page_size: int) -> ApplicationPage:
    total, rows = paginate(qs, page, page_size)
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
