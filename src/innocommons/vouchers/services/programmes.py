"""Voucher programmes, their budgets, and applications decided by the issuing region."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.catalog.models import Term
from innocommons.core import audit
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.core.models import Region, RegionGroup
from innocommons.core.money import format_yuan
from innocommons.vouchers import codes, ledger
from innocommons.vouchers.models import Account, Application, Programme, Voucher
from innocommons.vouchers.permissions import can_run_programme

MAX_AMOUNT_FEN = 10**13  # 100 bn yuan: far above any real programme, far below BIGINT


@dataclass(frozen=True)
class ProgrammeInput:
    region: str
    name_zh: str
    max_per_voucher_fen: int
    max_per_enterprise_year_fen: int
    opens_on: date
    closes_on: date
    budget_fen: int = 0
    name_en: str = ""
    agency: str = ""
    description: str = ""
    coverage_bp: int = 5000
    voucher_valid_days: int = 365
    require_tech_sme: bool = False
    require_high_tech: bool = False
    scope: str = Programme.Scope.COMMUNITY
    scope_group: str = ""
    settlement_period: str = Programme.Period.QUARTERLY
    status: str = Programme.Status.OPEN  # or DRAFT, to prepare it before opening
    eligible_categories: list[str] = field(default_factory=list)  # service category codes


def _amount(value: int, field_name: str, *, allow_zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DomainError(_("Enter an amount in fen as a whole number."), field=field_name)
    if value < 0 or (value == 0 and not allow_zero):
        raise DomainError(_("The amount must be greater than zero."), field=field_name)
    if value > MAX_AMOUNT_FEN:
        raise DomainError(_("The amount is too large."), field=field_name)
    return value


def _validate_programme(data: ProgrammeInput) -> tuple[Region, RegionGroup | None, list[Term]]:
    if not data.name_zh.strip() or len(data.name_zh) > 200 or len(data.name_en) > 200:
        raise DomainError(_("Enter a name of at most 200 characters."), field="name_zh")
    try:
        region = Region.objects.get(code=data.region)
    except Region.DoesNotExist:
        raise DomainError(_("Unknown region code."), field="region") from None
    _amount(data.budget_fen, "budget_fen", allow_zero=True)
    _amount(data.max_per_voucher_fen, "max_per_voucher_fen")
    _amount(data.max_per_enterprise_year_fen, "max_per_enterprise_year_fen")
    if not 1 <= data.coverage_bp <= 10000:
        raise DomainError(
            _("Coverage must be between 1 and 10,000 basis points (10,000 = the whole fee)."),
            field="coverage_bp",
        )
    if data.closes_on < data.opens_on:
        raise DomainError(
            _("The closing date must not be before the opening date."), field="closes_on"
        )
    if not 1 <= data.voucher_valid_days <= 3660:
        raise DomainError(_("Validity must be 1 to 3,660 days."), field="voucher_valid_days")
    if data.scope not in Programme.Scope.values:
        raise DomainError(_("Choose an acceptance scope."), field="scope")
    if data.status not in (Programme.Status.DRAFT, Programme.Status.OPEN):
        raise DomainError(_("A new programme is either a draft or open."), field="status")
    if data.settlement_period not in Programme.Period.values:
        raise DomainError(_("Choose a settlement period."), field="settlement_period")
    group = None
    if data.scope == Programme.Scope.GROUP:
        group = RegionGroup.objects.filter(code=data.scope_group).first()
        if group is None:
            raise DomainError(
                _("Choose the region group whose providers accept the voucher."),
                field="scope_group",
            )
    terms = list(
        Term.objects.filter(
            scheme__in=[Term.Scheme.SERVICE_CATEGORY, Term.Scheme.INSTRUMENT_CATEGORY],
            code__in=data.eligible_categories,
        )
    )
    if len({t.code for t in terms}) != len(set(data.eligible_categories)):
        raise DomainError(_("Unknown service category."), field="eligible_categories")
    return region, group, terms


def create_programme(*, actor: Any, data: ProgrammeInput) -> Programme:
    """A regional administrator opens a programme and funds its budget."""
    region, group, terms = _validate_programme(data)
    if not perms.administers_region(actor, region):
        raise PermissionDenied(_("Only the region's administrators can run its programmes."))
    with transaction.atomic(durable=True):
        programme = Programme.objects.create(
            region=region,
            name_zh=data.name_zh.strip(),
            name_en=data.name_en.strip(),
            agency=data.agency[:200],
            description=data.description[:5000],
            budget_fen=0,
            coverage_bp=data.coverage_bp,
            max_per_voucher_fen=data.max_per_voucher_fen,
            max_per_enterprise_year_fen=data.max_per_enterprise_year_fen,
            opens_on=data.opens_on,
            closes_on=data.closes_on,
            voucher_valid_days=data.voucher_valid_days,
            require_tech_sme=data.require_tech_sme,
            require_high_tech=data.require_high_tech,
            scope=data.scope,
            scope_group=group,
            settlement_period=data.settlement_period,
            status=data.status,
            created_by=actor,
        )
        programme.eligible_categories.set(terms)
        ledger.open_programme_accounts(programme)
        audit.record(
            actor=actor,
            action="vouchers.programme.create",
            target=programme,
            after={"budget_fen": data.budget_fen, "coverage_bp": data.coverage_bp},
            region=region,
        )
        if data.budget_fen:
            _fund(actor, programme, data.budget_fen)
    programme.refresh_from_db()
    return programme


def _fund(actor: Any, programme: Programme, amount: int) -> None:
    ledger.post(
        kind="fund",
        programme=programme,
        lines=[
            (ledger.programme_account(programme, Account.Kind.FUNDING), -amount),
            (ledger.programme_account(programme, Account.Kind.BUDGET), amount),
        ],
        actor=actor,
        memo=f"budget +{amount}",
    )
    Programme.objects.filter(pk=programme.pk).update(budget_fen=F("budget_fen") + amount)


def get_programme(programme_id: int) -> Programme:
    try:
        return Programme.objects.select_related("region", "scope_group").get(pk=programme_id)
    except (Programme.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such voucher programme.")) from None


def add_budget(*, actor: Any, programme_id: int, amount_fen: int) -> Programme:
    """Top up a programme's budget (a new appropriation)."""
    _amount(amount_fen, "amount_fen")
    programme = get_programme(programme_id)
    if not can_run_programme(actor, programme):
        raise PermissionDenied(_("Only the region's administrators can run its programmes."))
    with transaction.atomic(durable=True):
        _fund(actor, programme, amount_fen)
        audit.record(
            actor=actor,
            action="vouchers.programme.budget",
            target=programme,
            after={"added_fen": amount_fen},
            region=programme.region,
        )
    programme.refresh_from_db()
    return programme


# Once open, a programme never returns to draft: its vouchers and applications must stay
# visible. A closed programme may reopen for applications.
STATUS_MOVES: dict[str, tuple[str, ...]] = {
    Programme.Status.DRAFT: (Programme.Status.OPEN,),
    Programme.Status.OPEN: (Programme.Status.CLOSED,),
    Programme.Status.CLOSED: (Programme.Status.OPEN,),
}


def set_programme_status(*, actor: Any, programme_id: int, status: str) -> Programme:
    programme = get_programme(programme_id)
    if not can_run_programme(actor, programme):
        raise PermissionDenied(_("Only the region's administrators can run its programmes."))
    if status not in Programme.Status.values:
        raise DomainError(_("Unknown status."), field="status")
    if status not in STATUS_MOVES.get(Programme.Status(programme.status), ()):
        raise DomainError(
            _("A programme cannot go from %(old)s to %(new)s.")
            % {
                "old": Programme.Status(programme.status).label,
                "new": Programme.Status(status).label,
            },
            field="status",
            status=409,
        )
    with transaction.atomic(durable=True):
        before = programme.status
        Programme.objects.filter(pk=programme.pk).update(status=status)
        audit.record(
            actor=actor,
            action="vouchers.programme.status",
            target=programme,
            before={"status": before},
            after={"status": status},
            region=programme.region,
        )
    programme.status = status
    return programme


def eligibility_problem(programme: Programme, organisation: Organisation) -> str | None:
    """Why `organisation` may not apply to `programme`, or None if it may."""
    if organisation.type != Organisation.Type.ENTERPRISE:
        return _("Only enterprises can apply for innovation vouchers.")
    if not organisation.is_verified:
        return _("The organisation must be verified before it can apply.")
    if not organisation.region.is_within(programme.region):
        return _("The programme is for enterprises registered in %(region)s.") % {
            "region": programme.region.name
        }
    if programme.require_tech_sme and not organisation.is_tech_sme:
        return _("The programme is for tech-based SMEs only.")
    if programme.require_high_tech and not organisation.is_high_tech:
        return _("The programme is for high-tech enterprises only.")
    return None


def apply_for_voucher(
    *, actor: Any, programme_id: int, organisation_id: int, amount_fen: int, purpose: str
) -> Application:
    """A member of a verified enterprise applies for a voucher."""
    programme = get_programme(programme_id)
    organisation = Organisation.objects.select_related("region").filter(pk=organisation_id).first()
    if organisation is None or not perms.is_member(actor, organisation.pk):
        raise PermissionDenied(_("You can only apply for your own organisation."))
    problem = eligibility_problem(programme, organisation)
    if problem:
        raise DomainError(problem, field="organisation", status=403)
    today = timezone.localdate()
    if programme.status != Programme.Status.OPEN or not (
        programme.opens_on <= today <= programme.closes_on
    ):
        raise DomainError(_("The programme is not open for applications."), status=409)
    _amount(amount_fen, "amount_fen")
    if amount_fen > programme.max_per_voucher_fen:
        raise DomainError(
            _("A voucher of this programme is worth at most %(cap)s.")
            % {"cap": format_yuan(programme.max_per_voucher_fen)},
            field="amount_fen",
        )
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > 3000:
        raise DomainError(_("Describe the purpose (at most 3,000 characters)."), field="purpose")
    waiting = DomainError(
        _("The organisation already has an application awaiting a decision."), status=409
    )
    try:
        with transaction.atomic(durable=True):
            if Application.objects.filter(
                programme=programme, organisation=organisation, status=Application.Status.SUBMITTED
            ).exists():
                raise waiting
            application = Application.objects.create(
                programme=programme,
                organisation=organisation,
                applicant=actor,
                amount_fen=amount_fen,
                purpose=purpose,
            )
            audit.record(
                actor=actor,
                action="vouchers.application.submit",
                target=application,
                after={"amount_fen": amount_fen},
                region=programme.region,
            )
    except IntegrityError:
        raise waiting from None  # two applications raced; the unique constraint kept one
    return application


def _get_application(application_id: int) -> Application:
    try:
        return Application.objects.select_related("programme__region", "organisation__region").get(
            pk=application_id
        )
    except (Application.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such application.")) from None


def _decide(application: Application, status: str, **fields: Any) -> None:
    """Move a submitted application on, exactly once even if two decisions race."""
    updated = Application.objects.filter(
        pk=application.pk, status=Application.Status.SUBMITTED
    ).update(status=status, decided_at=timezone.now(), **fields)
    if updated != 1:
        raise DomainError(_("The application has already been decided."), status=409)


def approve_application(
    *, actor: Any, application_id: int, amount_fen: int | None = None, note: str = ""
) -> Voucher:
    """Approve (possibly a smaller amount), commit budget and issue the voucher."""
    application = _get_application(application_id)
    programme = application.programme
    if not can_run_programme(actor, programme):
        raise PermissionDenied(_("Only the issuing region's administrators decide applications."))
    # The enterprise may have been suspended or moved since it applied.
    problem = eligibility_problem(programme, application.organisation)
    if problem:
        raise DomainError(problem, field="organisation", status=403)
    amount = application.amount_fen if amount_fen is None else _amount(amount_fen, "amount_fen")
    if amount > application.amount_fen:
        raise DomainError(_("You can approve at most the amount applied for."), field="amount_fen")
    now = timezone.now()
    try:
        with transaction.atomic(durable=True):
            _decide(
                application,
                Application.Status.APPROVED,
                approved_fen=amount,
                decided_by=actor,
                decision_reason=note[:2000],
            )
            voucher = Voucher.objects.create(
                code=codes.new_code(),
                programme=programme,
                organisation=application.organisation,
                application=application,
                face_value_fen=amount,
                balance_fen=amount,
                valid_from=now,
                valid_until=now + timedelta(days=programme.voucher_valid_days),
            )
            account = ledger.open_voucher_account(voucher)
            # The budget line is a conditional decrement: it fails (and everything rolls
            # back) rather than over-commit, however many approvals run at once.
            ledger.post(
                kind="issue",
                programme=programme,
                lines=[
                    (ledger.programme_account(programme, Account.Kind.BUDGET), -amount),
                    (account, amount),
                ],
                actor=actor,
                memo=f"application {application.pk} → voucher {voucher.pk}",
            )
            audit.record(
                actor=actor,
                action="vouchers.application.approve",
                target=application,
                before={"status": Application.Status.SUBMITTED},
                after={"status": "approved", "approved_fen": amount, "voucher": voucher.code},
                region=programme.region,
                note=note[:500],
            )
    except ledger.InsufficientFunds:
        raise DomainError(
            _("The programme's remaining budget cannot cover this amount."),
            field="amount_fen",
            status=409,
        ) from None
    except IntegrityError:
        # Only the (astronomically unlikely) voucher code collision gets here.
        raise DomainError(_("Please try again."), status=409) from None
    return voucher


def reject_application(*, actor: Any, application_id: int, reason: str) -> Application:
    application = _get_application(application_id)
    if not can_run_programme(actor, application.programme):
        raise PermissionDenied(_("Only the issuing region's administrators decide applications."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the rejection."), field="reason")
    with transaction.atomic(durable=True):
        _decide(
            application,
            Application.Status.REJECTED,
            decided_by=actor,
            decision_reason=reason[:2000],
        )
        audit.record(
            actor=actor,
            action="vouchers.application.reject",
            target=application,
            before={"status": Application.Status.SUBMITTED},
            after={"status": "rejected"},
            region=application.programme.region,
            note=reason[:500],
        )
    application.refresh_from_db()
    return application


def withdraw_application(*, actor: Any, application_id: int) -> Application:
    application = _get_application(application_id)
    if not perms.is_member(actor, application.organisation_id):
        raise PermissionDenied(_("Only the applicant's organisation can withdraw it."))
    with transaction.atomic(durable=True):
        _decide(application, Application.Status.WITHDRAWN)
        audit.record(
            actor=actor,
            action="vouchers.application.withdraw",
            target=application,
            after={"status": "withdrawn"},
            region=application.programme.region,
        )
    application.refresh_from_db()
    return application
