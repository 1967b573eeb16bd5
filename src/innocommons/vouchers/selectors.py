"""Reads of voucher programmes, applications, vouchers, claims, batches and the ledger,
filtered by what the user may see (CONVENTIONS habit 7).

Public: open programmes' public facts. Enterprise members: their organisations'
applications and vouchers. Provider members: redemptions on their orders and their
claims. Regional administrators: the books of the programmes they run; auditors and
operators: every programme's books. Everything else is "not found" (or "forbidden" for a
public programme's private figures). List reads use select_related / aggregates so their
query count does not grow with their rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.core.errors import NotFound, PermissionDenied
from innocommons.orders.models import Order
from innocommons.vouchers.models import (
    Account,
    Application,
    Claim,
    JournalEntry,
    Posting,
    Programme,
    Redemption,
    SettlementBatch,
    Voucher,
)
from innocommons.vouchers.permissions import (
    administered_programmes,
    can_read_programme_books,
    can_run_programme,
    sees_everything,
)
from innocommons.vouchers.services.settlement import period_of

# Region.is_within walks up the tree; loading three ancestors with the programme keeps the
# permission checks of a list page from costing a query per row.
PROGRAMME_RELATED = ("region__parent__parent__parent", "scope_group")
PUBLIC_STATUSES = (Programme.Status.OPEN, Programme.Status.CLOSED)


# --- programmes -------------------------------------------------------------------------


def _programmes() -> QuerySet[Programme]:
    return Programme.objects.select_related(*PROGRAMME_RELATED)


def open_programmes() -> QuerySet[Programme]:
    """Programmes taking applications now (or soon), newest window first."""
    return (
        _programmes()
        .filter(status=Programme.Status.OPEN, closes_on__gte=timezone.localdate())
        .prefetch_related("eligible_categories")
        .order_by("closes_on", "pk")
    )


def managed_programmes(user: Any) -> QuerySet[Programme]:
    """Programmes whose books the user reads: the ones they run, or all for auditors."""
    return (
        _programmes()
        .filter(pk__in=administered_programmes(user).values("pk"))
        .order_by("region_id", "-opens_on", "-pk")
    )


def visible_programmes(user: Any) -> QuerySet[Programme]:
    """Every programme the user may see at all: public ones, and drafts they administer."""
    if sees_everything(user):
        return _programmes()
    return _programmes().filter(
        Q(status__in=PUBLIC_STATUSES) | Q(pk__in=administered_programmes(user).values("pk"))
    )


def get_programme(user: Any, programme_id: int) -> Programme:
    programme = (
        visible_programmes(user)
        .prefetch_related("eligible_categories")
        .filter(pk=programme_id)
        .first()
    )
    if programme is None:
        raise NotFound(_("No such voucher programme."))
    return programme


def programme_books(user: Any, programme_id: int) -> Programme:
    """A programme whose private figures (applications, claims, ledger) the user may read."""
    programme = get_programme(user, programme_id)
    if not can_read_programme_books(user, programme):
        raise PermissionDenied(
            _("Only the issuing region's administrators and auditors can see this.")
        )
    return programme


def can_run(user: Any, programme: Programme) -> bool:
    return can_run_programme(user, programme)


def can_read_books(user: Any, programme: Programme) -> bool:
    return can_read_programme_books(user, programme)


# --- figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    amount_fen: int
    percent: str  # of the funded total, "12.34", for CSS widths


@dataclass(frozen=True)
class Figures:
    """Where a programme's money is, from its ledger accounts (fen).

    funded = available + committed + redeemed + payable + paid, because every entry moves
    money between these accounts and the funding source only.
    """

    funded_fen: int = 0
    available_fen: int = 0  # budget not yet committed to a voucher
    committed_fen: int = 0  # unspent balances of issued vouchers
    redeemed_fen: int = 0  # spent on orders, not yet approved in a claim
    payable_fen: int = 0  # approved claims not yet paid
    paid_fen: int = 0
    returned_fen: int = 0  # came back to the budget: expired, revoked, rejected claims
    applications: dict[str, int] = field(default_factory=dict)
    vouchers: dict[str, int] = field(default_factory=dict)

    @property
    def spent_fen(self) -> int:
        return self.redeemed_fen + self.payable_fen + self.paid_fen

    def _percent(self, amount: int) -> str:
        if self.funded_fen <= 0:
            return "0"
        return f"{min(100.0, max(0.0, amount * 100 / self.funded_fen)):.2f}"

    @property
    def bars(self) -> list[Bar]:
        rows = [
            ("funded", _("Funded budget"), self.funded_fen),
            ("committed", _("Committed in vouchers (unspent)"), self.committed_fen),
            ("redeemed", _("Redeemed, awaiting claim or review"), self.redeemed_fen),
            ("payable", _("Approved claims, awaiting payment"), self.payable_fen),
            ("paid", _("Paid to providers"), self.paid_fen),
            ("available", _("Available for new vouchers"), self.available_fen),
        ]
        return [Bar(key, str(label), amount, self._percent(amount)) for key, label, amount in rows]

    @property
    def stack(self) -> list[Bar]:
        """The funded total split into its parts, for one stacked bar."""
        return [b for b in self.bars if b.key != "funded" and b.amount_fen > 0]


def programme_figures(programmes: Iterable[Programme | int]) -> dict[int, Figures]:
    """Figures of several programmes in four queries, whatever their number."""
    ids = [p if isinstance(p, int) else p.pk for p in programmes]
    if not ids:
        return {}
    kinds: dict[int, dict[str, int]] = {pid: {} for pid in ids}
    rows = (
        Account.objects.filter(programme_id__in=ids)
        .values("programme_id", "kind")
        .annotate(total=Sum("balance_fen"))
        .order_by()
    )
    for account_row in rows:
        kinds[account_row["programme_id"]][account_row["kind"]] = int(account_row["total"] or 0)
    returned = dict(
        Posting.objects.filter(
            account__programme_id__in=ids, account__kind=Account.Kind.BUDGET, amount_fen__gt=0
        )
        .exclude(entry__kind="fund")
        .values("account__programme_id")
        .annotate(total=Sum("amount_fen"))
        .order_by()
        .values_list("account__programme_id", "total")
    )
    applications: dict[int, dict[str, int]] = {pid: {} for pid in ids}
    for app_row in (
        Application.objects.filter(programme_id__in=ids)
        .values("programme_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        applications[app_row["programme_id"]][app_row["status"]] = app_row["n"]
    vouchers: dict[int, dict[str, int]] = {pid: {} for pid in ids}
    for voucher_row in (
        Voucher.objects.filter(programme_id__in=ids)
        .values("programme_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        vouchers[voucher_row["programme_id"]][voucher_row["status"]] = voucher_row["n"]
    result = {}
    for pid in ids:
        k = kinds[pid]
        result[pid] = Figures(
            funded_fen=-k.get(Account.Kind.FUNDING, 0),
            available_fen=k.get(Account.Kind.BUDGET, 0),
            committed_fen=k.get(Account.Kind.VOUCHER, 0),
            redeemed_fen=k.get(Account.Kind.REDEEMED, 0),
            payable_fen=k.get(Account.Kind.PAYABLE, 0),
            paid_fen=k.get(Account.Kind.PAID, 0),
            returned_fen=int(returned.get(pid) or 0),
            applications={s: applications[pid].get(s, 0) for s in Application.Status.values},
            vouchers={s: vouchers[pid].get(s, 0) for s in Voucher.Status.values},
        )
    return result


def programme_summary(user: Any, programme_id: int) -> tuple[Programme, Figures]:
    """The dashboard of one programme (its administrators, auditors, operators)."""
    programme = programme_books(user, programme_id)
    return programme, programme_figures([programme])[programme.pk]


# --- progress (DESIGN §9: stage, who acts next, since when) ------------------------------


@dataclass(frozen=True)
class Progress:
    stage: str
    next_actor: str  # empty when nothing more is expected
    since: datetime | None
    expected: str = ""  # e.g. when a provider will be paid
    done: bool = False


def _admins_of(programme: Programme) -> str:
    return _("Administrators of %(region)s") % {"region": programme.region.name}


def application_progress(application: Application) -> Progress:
    programme = application.programme
    status = application.status
    if status == Application.Status.SUBMITTED:
        return Progress(_("Awaiting decision"), _admins_of(programme), application.created_at)
    if status == Application.Status.APPROVED:
        return Progress(
            _("Approved: voucher issued"),
            _("The enterprise, to use the voucher on a completed order"),
            application.decided_at,
        )
    if status == Application.Status.REJECTED:
        return Progress(_("Rejected"), "", application.decided_at, done=True)
    return Progress(_("Withdrawn"), "", application.decided_at, done=True)


def expected_payment(claim: Claim) -> str:
    """When the provider can expect the money, from the programme's settlement period."""
    if claim.status == Claim.Status.PAID or claim.status == Claim.Status.REJECTED:
        return ""
    decided = claim.decided_at or claim.created_at
    _start, end = period_of(claim.programme, timezone.localdate(decided))
    return _("Expected with the settlement of the period ending %(end)s.") % {
        "end": end.isoformat()
    }


def claim_progress(claim: Claim) -> Progress:
    programme = claim.programme
    status = claim.status
    if status == Claim.Status.SUBMITTED:
        return Progress(
            _("Awaiting review"), _admins_of(programme), claim.created_at, expected_payment(claim)
        )
    if status == Claim.Status.APPROVED:
        batch = claim.batch
        if batch is None:
            return Progress(
                _("Approved, awaiting a settlement batch"),
                _admins_of(programme),
                claim.decided_at,
                expected_payment(claim),
            )
        if batch.status == SettlementBatch.Status.PAYING:
            return Progress(
                _("Payment in progress"),
                _("Finance office of %(region)s") % {"region": programme.region.name},
                batch.created_at,
                _("Payment reference %(ref)s.") % {"ref": batch.payment_reference},
            )
        return Progress(
            _("In a settlement batch, awaiting payment"),
            _("Finance office of %(region)s") % {"region": programme.region.name},
            batch.created_at,
            _("Expected with the settlement of %(start)s – %(end)s.")
            % {"start": batch.period_start.isoformat(), "end": batch.period_end.isoformat()},
        )
    if status == Claim.Status.PAID:
        return Progress(_("Paid"), "", claim.paid_at, done=True)
    return Progress(_("Rejected"), "", claim.decided_at, done=True)


# --- applications -----------------------------------------------------------------------


def _applications() -> QuerySet[Application]:
    return Application.objects.select_related(
        *(f"programme__{r}" for r in PROGRAMME_RELATED),
        "organisation__region",
        "applicant",
        "decided_by",
        "voucher",
    )


def my_applications(user: Any, *, status: str = "") -> QuerySet[Application]:
    """Applications of the user's organisations, newest first."""
    qs = _applications().filter(organisation_id__in=list(perms.memberships(user)))
    if status in Application.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def application_queue(
    user: Any, *, status: str = Application.Status.SUBMITTED, programme_id: int | None = None
) -> QuerySet[Application]:
    """Applications of the programmes the user administers (all of them for auditors):
    the oldest waiting first, so nobody waits longest."""
    qs = _applications().filter(programme__in=administered_programmes(user))
    if programme_id is not None:
        qs = qs.filter(programme_id=programme_id)
    if status in Application.Status.values:
        qs = qs.filter(status=status)
    if status == Application.Status.SUBMITTED:
        return qs.order_by("created_at", "pk")
    return qs.order_by("-created_at", "-pk")


def get_application(user: Any, application_id: int) -> Application:
    """The applicant's organisation's members and the programme's book readers see it."""
    application = _applications().filter(pk=application_id).first()
    if application is None or not (
        perms.is_member(user, application.organisation_id)
        or can_read_programme_books(user, application.programme)
    ):
        raise NotFound(_("No such application."))
    return application


# --- vouchers ---------------------------------------------------------------------------


def _vouchers() -> QuerySet[Voucher]:
    return Voucher.objects.select_related(
        *(f"programme__{r}" for r in PROGRAMME_RELATED), "organisation__region"
    )


def my_vouchers(user: Any, *, organisation_id: int | None = None) -> QuerySet[Voucher]:
    """Vouchers held by the user's organisations: active ones first, then newest."""
    orgs = list(perms.memberships(user))
    if organisation_id is not None:
        orgs = [o for o in orgs if o == organisation_id]
    return (
        _vouchers()
        .filter(organisation_id__in=orgs)
        .annotate(redemption_count=Count("redemptions", filter=Q(redemptions__reversed_at=None)))
        .order_by("status", "valid_until", "-pk")
    )


def programme_vouchers(user: Any, programme_id: int, *, status: str = "") -> QuerySet[Voucher]:
    programme = programme_books(user, programme_id)
    qs = _vouchers().filter(programme=programme)
    if status in Voucher.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def get_voucher(user: Any, voucher_id: int) -> Voucher:
    """The holder's members and the programme's book readers see a voucher."""
    voucher = _vouchers().filter(pk=voucher_id).first()
    if voucher is None or not (
        perms.is_member(user, voucher.organisation_id)
        or can_read_programme_books(user, voucher.programme)
    ):
        raise NotFound(_("No such voucher."))
    return voucher


def voucher_redemptions(voucher: Voucher) -> QuerySet[Redemption]:
    return (
        Redemption.objects.filter(voucher=voucher)
        .select_related("order__resource", "provider", "claim")
        .order_by("-created_at", "-pk")
    )


def spendable_vouchers(user: Any, organisation_id: int) -> list[Voucher]:
    """Active, currently valid vouchers of one of the user's organisations."""
    if not perms.is_member(user, organisation_id):
        return []
    now = timezone.now()
    return list(
        _vouchers()
        .filter(
            organisation_id=organisation_id,
            status=Voucher.Status.ACTIVE,
            valid_from__lte=now,
            valid_until__gt=now,
            balance_fen__gt=0,
        )
        .order_by("valid_until", "pk")
    )


def redeemable_orders(user: Any) -> QuerySet[Order]:
    """Completed orders of the user's organisations with a fee and no voucher applied."""
    live = Redemption.objects.filter(order=OuterRef("pk"), reversed_at__isnull=True)
    return (
        Order.objects.filter(
            client_id__in=list(perms.memberships(user)),
            status__in=[Order.Status.COMPLETED, Order.Status.CLOSED],
            fee_fen__gt=0,
        )
        .exclude(Exists(live))
        .select_related("client", "provider__region", "resource")
        .order_by("-completed_at", "-pk")
    )


def order_for_redemption(user: Any, order_id: int) -> Order:
    """An order of one of the user's organisations (as the client)."""
    order = (
        Order.objects.select_related("client__region", "provider__region", "resource")
        .filter(pk=order_id, client_id__in=list(perms.memberships(user)))
        .first()
    )
    if order is None:
        raise NotFound(_("No such order."), field="order")
    return order


def live_redemption(order: Order) -> Redemption | None:
    return (
        Redemption.objects.filter(order=order, reversed_at__isnull=True)
        .select_related("voucher")
        .first()
    )


# --- providers: redemptions and claims -------------------------------------------------


def _require_member(user: Any, organisation_id: int) -> None:
    if not (perms.is_member(user, organisation_id) or sees_everything(user)):
        raise PermissionDenied(_("Only members of the organisation can see this."))


@dataclass(frozen=True)
class Unclaimed:
    """Redeemed amounts on a provider's orders not yet claimed, for one programme."""

    programme: Programme
    count: int
    total_fen: int
    first_at: datetime | None


def unclaimed_redemptions(user: Any, provider_id: int) -> list[Unclaimed]:
    _require_member(user, provider_id)
    rows = list(
        Redemption.objects.filter(
            provider_id=provider_id, claim__isnull=True, reversed_at__isnull=True
        )
        .values("programme_id")
        .annotate(n=Count("id"), total=Sum("amount_fen"), first=Min("created_at"))
        .order_by("programme_id")
    )
    programmes = _programmes().in_bulk([r["programme_id"] for r in rows])
    return [
        Unclaimed(programmes[r["programme_id"]], r["n"], int(r["total"] or 0), r["first"])
        for r in rows
    ]


def _claims() -> QuerySet[Claim]:
    return Claim.objects.select_related(
        *(f"programme__{r}" for r in PROGRAMME_RELATED),
        "provider__region",
        "batch",
        "submitted_by",
        "decided_by",
    ).annotate(redemption_count=Count("redemptions"))


def with_evidence(qs: QuerySet[Claim]) -> QuerySet[Claim]:
    """Attach each claim's redemptions with their orders (one extra query in all)."""
    return qs.prefetch_related(
        Prefetch(
            "redemptions",
            queryset=Redemption.objects.select_related(
                "order__resource", "client", "voucher"
            ).order_by("pk"),
        )
    )


def provider_claims(user: Any, provider_id: int, *, status: str = "") -> QuerySet[Claim]:
    _require_member(user, provider_id)
    qs = _claims().filter(provider_id=provider_id)
    if status in Claim.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def claim_queue(
    user: Any, *, status: str = Claim.Status.SUBMITTED, programme_id: int | None = None
) -> QuerySet[Claim]:
    """Claims on the programmes the user administers; the oldest waiting first."""
    qs = _claims().filter(programme__in=administered_programmes(user))
    if programme_id is not None:
        qs = qs.filter(programme_id=programme_id)
    if status in Claim.Status.values:
        qs = qs.filter(status=status)
    if status == Claim.Status.SUBMITTED:
        return qs.order_by("created_at", "pk")
    return qs.order_by("-created_at", "-pk")


def get_claim(user: Any, claim_id: int) -> Claim:
    """The provider's members and the programme's book readers see a claim."""
    claim = with_evidence(_claims()).filter(pk=claim_id).first()
    if claim is None or not (
        perms.is_member(user, claim.provider_id) or can_read_programme_books(user, claim.programme)
    ):
        raise NotFound(_("No such claim."))
    return claim


# --- settlement batches -----------------------------------------------------------------


def programme_batches(user: Any, programme_id: int) -> QuerySet[SettlementBatch]:
    programme = programme_books(user, programme_id)
    return (
        SettlementBatch.objects.filter(programme=programme)
        .select_related(*(f"programme__{r}" for r in PROGRAMME_RELATED), "created_by")
        .annotate(claim_count=Count("claims"))
        .order_by("-period_start", "-pk")
    )


def get_batch(user: Any, batch_id: int) -> SettlementBatch:
    batch = (
        SettlementBatch.objects.select_related(
            *(f"programme__{r}" for r in PROGRAMME_RELATED), "created_by"
        )
        .filter(pk=batch_id)
        .first()
    )
    if batch is None or not can_read_programme_books(user, batch.programme):
        raise NotFound(_("No such settlement batch."))
    return batch


def batch_claims(batch: SettlementBatch) -> list[Claim]:
    """The batch's claims with providers and evidence, for its page and its export."""
    return list(with_evidence(_claims().filter(batch=batch)).order_by("provider__name_zh", "pk"))


def settlement_periods(programme: Programme, today: date | None = None) -> list[tuple[date, date]]:
    """The current and the previous settlement period, for "create batch" choices."""
    today = today or timezone.localdate()
    current = period_of(programme, today)
    previous = period_of(programme, date.fromordinal(current[0].toordinal() - 1))
    return [current, previous]


# --- ledger -----------------------------------------------------------------------------


def can_check_ledger(user: Any) -> bool:
    return sees_everything(user)


def ledger_entries(user: Any, programme_id: int) -> QuerySet[JournalEntry]:
    """A programme's journal entries with their postings, oldest first."""
    programme = programme_books(user, programme_id)
    return (
        JournalEntry.objects.filter(programme=programme)
        .select_related("actor")
        .prefetch_related(
            Prefetch("postings", queryset=Posting.objects.select_related("account").order_by("pk"))
        )
        .order_by("pk")
    )


def organisations_of(user: Any, *, type_filter: Iterable[str] | None = None) -> list[Organisation]:
    """The user's organisations (regions loaded), optionally of some types only."""
    qs = Organisation.objects.filter(pk__in=list(perms.memberships(user))).select_related(
        "region__parent__parent"
    )
    if type_filter is not None:
        qs = qs.filter(type__in=list(type_filter))
    return list(qs.order_by("name_zh", "pk"))
