"""Technology-market statistics: demands posted vs matched vs solved, challenge outcomes,
auction results (sold rate, total, premium over the starting price).

These read the market's own tables, which hold one row per demand, challenge or lot —
thousands, not millions — bounded by their indexed dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Sum

from innocommons.insights import regions
from innocommons.insights.periods import Period
from innocommons.market.models import (
    AuctionLot,
    Challenge,
    Demand,
    DemandAlert,
    Proposal,
    Thread,
)


@dataclass
class DemandFigures:
    region: str  # province-level region of the posting organisation's demand
    posted: int = 0
    matched: int = 0  # providers were alerted to it (the platform found matches)
    answered: int = 0  # at least one provider opened a conversation
    solved: int = 0
    expired: int = 0
    withdrawn: int = 0
    open: int = 0


def demands(period: Period, region: str = "") -> list[DemandFigures]:
    """Demands published in the period, per province-level region, and what became of
    them (as of now)."""
    idx = regions.index()
    start, end = period.bounds()
    qs = Demand.objects.filter(published_at__gte=start, published_at__lt=end).exclude(
        status=Demand.Status.DRAFT
    )
    if region:
        qs = qs.filter(region_id__in=idx.descendants(region))
    rows = (
        qs.annotate(
            has_alert=Exists(DemandAlert.objects.filter(demand=OuterRef("pk"))),
            has_thread=Exists(Thread.objects.filter(demand=OuterRef("pk"))),
        )
        .values("region_id", "status", "outcome", "has_alert", "has_thread")
        .annotate(n=Count("pk"))
        .order_by()
    )
    out: dict[str, DemandFigures] = {}
    for row in rows:
        prov = idx.province(row["region_id"])
        f = out.setdefault(prov, DemandFigures(prov))
        n = row["n"]
        f.posted += n
        f.matched += n if row["has_alert"] else 0
        f.answered += n if row["has_thread"] else 0
        if row["status"] == Demand.Status.PUBLISHED:
            f.open += n
        elif row["outcome"] == Demand.Outcome.SOLVED:
            f.solved += n
        elif row["outcome"] == Demand.Outcome.EXPIRED:
            f.expired += n
        elif row["outcome"] == Demand.Outcome.WITHDRAWN:
            f.withdrawn += n
    return sorted(out.values(), key=lambda f: idx.sort_key(f.region))


@dataclass
class ChallengeOutcome:
    status: str
    challenges: int
    reward_fen: int
    proposals: int


def challenges(period: Period, region: str = "") -> list[ChallengeOutcome]:
    """Challenges posted in the period by their state now: open, in public notice,
    awarded, completed, cancelled — with their rewards and the proposals they drew."""
    start, end = period.bounds()
    qs = Challenge.objects.filter(created_at__gte=start, created_at__lt=end)
    if region:
        qs = qs.filter(region_id__in=regions.index().descendants(region))
    counts = {
        row["status"]: (row["n"], int(row["r"] or 0))
        for row in qs.values("status").annotate(n=Count("pk"), r=Sum("reward_fen")).order_by()
    }
    proposals = {
        row["challenge__status"]: row["n"]
        for row in Proposal.objects.filter(challenge__in=qs)
        .exclude(status=Proposal.Status.WITHDRAWN)
        .values("challenge__status")
        .annotate(n=Count("pk"))
        .order_by()
    }
    return [
        ChallengeOutcome(s, counts.get(s, (0, 0))[0], counts.get(s, (0, 0))[1], proposals.get(s, 0))
        for s in Challenge.Status.values
    ]


@dataclass
class AuctionFigures:
    """Lots closed in the period (sold, unsold, or sold and then defaulted)."""

    closed: int = 0
    sold: int = 0
    unsold: int = 0
    defaulted: int = 0
    hammer_fen: int = 0  # total of the hammer prices of the lots sold
    start_fen: int = 0  # their starting prices
    premiums: list[float] = field(default_factory=list)  # each sold lot's premium, percent

    @property
    def sold_rate(self) -> float | None:
        return self.sold * 100 / self.closed if self.closed else None

    @property
    def premium(self) -> float | None:
        """Total hammer over total starting price, percent."""
        return (self.hammer_fen - self.start_fen) * 100 / self.start_fen if self.start_fen else None

    @property
    def mean_premium(self) -> float | None:
        """The average of the lots' premiums (how Zhejiang reports its 35.6%)."""
        return sum(self.premiums) / len(self.premiums) if self.premiums else None


CLOSED = (AuctionLot.Status.SOLD, AuctionLot.Status.UNSOLD, AuctionLot.Status.DEFAULTED)


def auctions(period: Period, region: str = "") -> AuctionFigures:
    start, end = period.bounds()
    qs = AuctionLot.objects.filter(status__in=CLOSED, closed_at__gte=start, closed_at__lt=end)
    if region:
        qs = qs.filter(seller__region_id__in=regions.index().descendants(region))
    out = AuctionFigures()
    for status, hammer, start_price in qs.values_list("status", "hammer_fen", "starting_price_fen"):
        out.closed += 1
        if status == AuctionLot.Status.UNSOLD:
            out.unsold += 1
            continue
        if status == AuctionLot.Status.DEFAULTED:
            out.defaulted += 1
            continue
        out.sold += 1
        out.hammer_fen += int(hammer or 0)
        out.start_fen += int(start_price)
        out.premiums.append((int(hammer or 0) - start_price) * 100 / start_price)
    return out
