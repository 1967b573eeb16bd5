"""Innovation voucher statistics: programme money, cross-region redemptions, categories,
processing times — and, for a programme's own administrators, its books.

Redemptions come from the redemption rollup; money movements from the ledger (whose
cached balances `innocommons ledger check` proves), applications and claims from their
tables, which stay small (one row per enterprise request or provider claim).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from innocommons.catalog.models import Term
from innocommons.insights import regions
from innocommons.insights.models import RedemptionDay
from innocommons.insights.periods import Period
from innocommons.vouchers.models import (
    Account,
    Application,
    Claim,
    Posting,
    Programme,
    Voucher,
)


def programmes_in(region: str = "") -> QuerySet[Programme]:
    """Programmes issued by `region` or a region below it (all when empty)."""
    qs = Programme.objects.exclude(status=Programme.Status.DRAFT).select_related("region")
    if region:
        qs = qs.filter(region_id__in=regions.index().descendants(region))
    return qs.order_by("region__sort", "pk")


@dataclass
class ProgrammeFigures:
    """One programme's money in a period (fen). `budget` is everything appropriated up to
    the period's end; the others are what happened inside the period."""

    programme: Programme
    budget_fen: int = 0
    committed_fen: int = 0  # face value of the vouchers issued
    vouchers: int = 0
    redeemed_fen: int = 0  # live redemptions
    redemptions: int = 0
    claimed_fen: int = 0  # claims lodged, unless rejected
    settled_fen: int = 0  # claims paid
    expired_fen: int = 0  # unspent balances returned when vouchers expired
    revoked_fen: int = 0  # unspent balances returned when vouchers were revoked


def _sum_by(qs: QuerySet[Any], key: str, amount: str = "amount_fen") -> dict[int, int]:
    return {
        row[key]: int(row["t"] or 0) for row in qs.values(key).annotate(t=Sum(amount)).order_by()
    }


def programme_figures(period: Period, region: str = "") -> list[ProgrammeFigures]:
    progs = list(programmes_in(region))
    ids = [p.pk for p in progs]
    start, end = period.bounds()
    postings = Posting.objects.filter(account__programme_id__in=ids)
    budget = _sum_by(
        postings.filter(entry__kind="fund", account__kind=Account.Kind.BUDGET, entry__at__lt=end),
        "account__programme_id",
    )
    returned = {
        kind: _sum_by(
            postings.filter(
                entry__kind=kind,
                account__kind=Account.Kind.BUDGET,
                entry__at__gte=start,
                entry__at__lt=end,
            ),
            "account__programme_id",
        )
        for kind in (Voucher.Status.EXPIRED, Voucher.Status.REVOKED)
    }
    issued = {
        row["programme_id"]: (row["n"], int(row["t"] or 0))
        for row in Voucher.objects.filter(
            programme_id__in=ids, created_at__gte=start, created_at__lt=end
        )
        .values("programme_id")
        .annotate(n=Count("pk"), t=Sum("face_value_fen"))
        .order_by()
    }
    redeemed = {
        row["programme_id"]: (int(row["n"] or 0), int(row["t"] or 0))
        for row in RedemptionDay.objects.filter(
            programme_id__in=ids, day__gte=period.start, day__lte=period.end
        )
        .values("programme_id")
        .annotate(n=Sum("redemptions"), t=Sum("amount_fen"))
        .order_by()
    }
    claimed = _sum_by(
        Claim.objects.filter(
            programme_id__in=ids, created_at__gte=start, created_at__lt=end
        ).exclude(status=Claim.Status.REJECTED),
        "programme_id",
    )
    settled = _sum_by(
        Claim.objects.filter(
            programme_id__in=ids, status=Claim.Status.PAID, paid_at__gte=start, paid_at__lt=end
        ),
        "programme_id",
    )
    out = []
    for p in progs:
        n_vouchers, committed = issued.get(p.pk, (0, 0))
        n_redemptions, redeemed_fen = redeemed.get(p.pk, (0, 0))
        out.append(
            ProgrammeFigures(
                programme=p,
                budget_fen=budget.get(p.pk, 0),
                committed_fen=committed,
                vouchers=n_vouchers,
                redeemed_fen=redeemed_fen,
                redemptions=n_redemptions,
                claimed_fen=claimed.get(p.pk, 0),
                settled_fen=settled.get(p.pk, 0),
                expired_fen=returned[Voucher.Status.EXPIRED].get(p.pk, 0),
                revoked_fen=returned[Voucher.Status.REVOKED].get(p.pk, 0),
            )
        )
    return out


# --- cross-region redemptions ---------------------------------------------------------------


@dataclass
class RedemptionFlow:
    provider: str  # node of the providers' side
    client: str  # node of the firms' side
    redemptions: int
    amount_fen: int


@dataclass
class CrossRegion:
    flows: list[RedemptionFlow]
    total_fen: int
    total_redemptions: int
    cross_fen: int  # provider and client in different province-level regions
    cross_redemptions: int


def _redemption_cells(period: Period, region: str) -> QuerySet[RedemptionDay]:
    qs = RedemptionDay.objects.filter(day__gte=period.start, day__lte=period.end)
    if region:
        qs = qs.filter(programme__region_id__in=regions.index().descendants(region))
    return qs


def cross_region(period: Period, level: str = "province", region: str = "") -> CrossRegion:
    """Which regions' providers served which regions' firms, with vouchers of programmes
    issued in `region` (all programmes when empty)."""
    idx = regions.index()
    rows = (
        _redemption_cells(period, region)
        .values("provider_region_id", "client_region_id")
        .annotate(n=Sum("redemptions"), t=Sum("amount_fen"))
        .order_by()
    )
    pairs: dict[tuple[str, str], list[int]] = {}
    total = [0, 0]
    cross = [0, 0]
    for row in rows:
        provider, client = row["provider_region_id"], row["client_region_id"]
        n, t = int(row["n"] or 0), int(row["t"] or 0)
        key = (idx.node(provider, level), idx.node(client, level))
        acc = pairs.setdefault(key, [0, 0])
        acc[0] += n
        acc[1] += t
        total[0] += n
        total[1] += t
        if idx.province(provider) != idx.province(client):
            cross[0] += n
            cross[1] += t
    return CrossRegion(
        flows=[
            RedemptionFlow(p, c, v[0], v[1])
            for (p, c), v in sorted(pairs.items(), key=lambda kv: -kv[1][1])
        ],
        total_fen=total[1],
        total_redemptions=total[0],
        cross_fen=cross[1],
        cross_redemptions=cross[0],
    )


# --- service categories -------------------------------------------------------------------------


@dataclass
class CategoryFigures:
    code: str  # "scheme:code" of the top-level category, "" for none
    name_zh: str
    name_en: str
    redemptions: int
    amount_fen: int


def top_categories(period: Period, region: str = "", limit: int = 10) -> list[CategoryFigures]:
    """Redemptions by top-level service or instrument category, largest amount first."""
    terms = {
        t.pk: t
        for t in Term.objects.filter(
            scheme__in=[Term.Scheme.SERVICE_CATEGORY, Term.Scheme.INSTRUMENT_CATEGORY]
        )
    }

    def top(term_id: int) -> Term | None:
        term = terms.get(term_id)
        while term is not None and term.parent_id is not None and term.parent_id in terms:
            term = terms[term.parent_id]
        return term

    rows = (
        _redemption_cells(period, region)
        .values("category")
        .annotate(n=Sum("redemptions"), t=Sum("amount_fen"))
        .order_by()
    )
    found: dict[str, CategoryFigures] = {}
    for row in rows:
        term = top(int(row["category"]))
        key = f"{term.scheme}:{term.code}" if term else ""
        if key not in found:
            found[key] = CategoryFigures(
                code=key,
                name_zh=term.name_zh if term else "未分类",
                name_en=(term.name_en or term.name_zh) if term else "Uncategorised",
                redemptions=0,
                amount_fen=0,
            )
        found[key].redemptions += int(row["n"] or 0)
        found[key].amount_fen += int(row["t"] or 0)
    return sorted(found.values(), key=lambda c: (-c.amount_fen, c.code))[:limit]


# --- processing times ---------------------------------------------------------------------------


@dataclass
class Timing:
    """Days between two steps, over the cases completed in the period."""

    cases: int = 0
    median_days: float | None = None
    mean_days: float | None = None
    p90_days: float | None = None

    @classmethod
    def of(cls, spans: list[float]) -> Timing:
        if not spans:
            return cls()
        ordered = sorted(spans)
        p90 = ordered[min(len(ordered) - 1, max(0, round(0.9 * (len(ordered) - 1))))]
        return cls(
            cases=len(spans),
            median_days=round(statistics.median(ordered), 1),
            mean_days=round(statistics.fmean(ordered), 1),
            p90_days=round(p90, 1),
        )


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 86400


@dataclass
class RegionTiming:
    region: str  # issuing province-level region ("" for all)
    approval: Timing
    payment: Timing


def timing(period: Period, region: str = "") -> list[RegionTiming]:
    """Days from application to approval and from claim to payment, per issuing
    province-level region and for all together."""
    idx = regions.index()
    start, end = period.bounds()
    ids = list(programmes_in(region).values_list("pk", flat=True))
    approvals: dict[str, list[float]] = {}
    for created, decided, prog_region in Application.objects.filter(
        programme_id__in=ids,
        status=Application.Status.APPROVED,
        decided_at__gte=start,
        decided_at__lt=end,
    ).values_list("created_at", "decided_at", "programme__region_id"):
        if decided is not None:
            approvals.setdefault(idx.province(prog_region), []).append(_days(created, decided))
    payments: dict[str, list[float]] = {}
    for created, paid, prog_region in Claim.objects.filter(
        programme_id__in=ids, status=Claim.Status.PAID, paid_at__gte=start, paid_at__lt=end
    ).values_list("created_at", "paid_at", "programme__region_id"):
        if paid is not None:
            payments.setdefault(idx.province(prog_region), []).append(_days(created, paid))
    codes = sorted(set(approvals) | set(payments), key=idx.sort_key)
    out = [
        RegionTiming(c, Timing.of(approvals.get(c, [])), Timing.of(payments.get(c, [])))
        for c in codes
    ]
    out.append(
        RegionTiming(
            "",
            Timing.of([d for v in approvals.values() for d in v]),
            Timing.of([d for v in payments.values() for d in v]),
        )
    )
    return out


# --- private: a programme's books ---------------------------------------------------------------


@dataclass
class Books:
    """Applications and claims of one programme (its administrators, auditors, operators)."""

    programme: Programme
    applications: dict[str, tuple[int, int]] = field(default_factory=dict)  # status → (n, fen)
    approved_fen: int = 0
    waiting: int = 0
    oldest_waiting_days: float | None = None
    claims: dict[str, tuple[int, int]] = field(default_factory=dict)


def books(programme_ids: list[int], period: Period) -> list[Books]:
    start, end = period.bounds()
    now = timezone.now()
    progs = {p.pk: p for p in programmes_in().filter(pk__in=programme_ids)}
    out = {pid: Books(programme=p) for pid, p in progs.items()}
    apps = Application.objects.filter(
        programme_id__in=progs, created_at__gte=start, created_at__lt=end
    )
    for row in (
        apps.values("programme_id", "status")
        .annotate(n=Count("pk"), t=Sum("amount_fen"), ok=Sum("approved_fen"))
        .order_by()
    ):
        b = out[row["programme_id"]]
        b.applications[row["status"]] = (row["n"], int(row["t"] or 0))
        if row["status"] == Application.Status.APPROVED:
            b.approved_fen += int(row["ok"] or 0)
    for pid, created in Application.objects.filter(
        programme_id__in=progs, status=Application.Status.SUBMITTED
    ).values_list("programme_id", "created_at"):
        b = out[pid]
        b.waiting += 1
        age = round(_days(created, now), 1)
        b.oldest_waiting_days = max(b.oldest_waiting_days or 0.0, age)
    for claim_row in (
        Claim.objects.filter(programme_id__in=progs, created_at__gte=start, created_at__lt=end)
        .values("programme_id", "status")
        .annotate(n=Count("pk"), t=Sum("amount_fen"))
        .order_by()
    ):
        out[claim_row["programme_id"]].claims[claim_row["status"]] = (
            claim_row["n"],
            int(claim_row["t"] or 0),
        )
    return [out[pid] for pid in progs]


@dataclass
class ProviderClaims:
    programme: Programme
    provider: str
    provider_region: str
    claims: int
    claimed_fen: int
    paid_fen: int
    waiting_fen: int


def provider_claims(programme_ids: list[int], period: Period) -> list[ProviderClaims]:
    """Claims per provider (names are private: the programme's administrators only)."""
    start, end = period.bounds()
    progs = {p.pk: p for p in programmes_in().filter(pk__in=programme_ids)}
    rows = (
        Claim.objects.filter(programme_id__in=progs, created_at__gte=start, created_at__lt=end)
        .exclude(status=Claim.Status.REJECTED)
        .values("programme_id", "provider__name_zh", "provider__region_id")
        .annotate(
            n=Count("pk"),
            t=Sum("amount_fen"),
            paid=Sum("amount_fen", filter=Q(status=Claim.Status.PAID)),
            waiting=Sum(
                "amount_fen", filter=Q(status__in=[Claim.Status.SUBMITTED, Claim.Status.APPROVED])
            ),
        )
        .order_by("-t", "provider__name_zh")
    )
    return [
        ProviderClaims(
            programme=progs[r["programme_id"]],
            provider=r["provider__name_zh"],
            provider_region=r["provider__region_id"],
            claims=r["n"],
            claimed_fen=int(r["t"] or 0),
            paid_fen=int(r["paid"] or 0),
            waiting_fen=int(r["waiting"] or 0),
        )
        for r in rows
    ]
