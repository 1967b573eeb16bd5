"""Reads of auctions, filtered by what the user may see.

- sessions, approved lots, their prices, bid histories and results are public; bidders
  appear as "Bidder 3" (their number in the session) — their names only to operators and
  auditors, and each bidder sees which bids are its own;
- the reserve is confidential: the seller's members, operators and auditors see it;
- pending and rejected lots: the seller's members, operators and auditors;
- registrations and deposits: the registered organisation's members, operators, auditors;
- the sale confirmation: the seller's and the winner's members, operators and auditors.

A lot whose end has passed is closed when it is read (besides the periodic job), so a page
never shows a finished lot as open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.core.errors import NotFound, PermissionDenied
from innocommons.market.models import (
    ZHEJIANG_PREMIUM_PCT,
    AuctionLot,
    AuctionRegistration,
    AuctionSession,
    Bid,
)
from innocommons.market.services import auctions as services

Status = AuctionLot.Status
PUBLIC_STATUSES = (Status.OPEN, Status.SOLD, Status.UNSOLD, Status.DEFAULTED)
HISTORY_LIMIT = 50
# The quick bids offered: raises of this many increments over the current price.
QUICK_RAISES = (1, 2, 5)


def sees_everything(user: Any) -> bool:
    """Operators and auditors: bidders' names, reserves, registrations, every lot."""
    return perms.is_operator(user) or perms.is_auditor(user)


def sees_seller_side(user: Any, lot: AuctionLot) -> bool:
    return sees_everything(user) or perms.is_member(user, lot.seller_id)


def close_if_due(lot: AuctionLot, now: datetime | None = None) -> AuctionLot:
    """The lazy close: a lot read after its end is closed first (once, whoever races)."""
    now = now or timezone.now()
    if lot.status == Status.OPEN and lot.ends_at <= now:
        services.close_lot(lot_id=lot.pk, via="read")
        return services.get_lot(lot.pk)
    return lot


# --- sessions -------------------------------------------------------------------------------


def session_phase(session: AuctionSession, now: datetime, open_lots: int) -> str:
    """announced | viewing | live | closed."""
    if now < session.viewing_starts_at:
        return "announced"
    if now < session.starts_at:
        return "viewing"
    return "live" if open_lots else "closed"


def sessions() -> QuerySet[AuctionSession]:
    """Every session, newest first, with its count of approved and of still-open lots."""
    return AuctionSession.objects.annotate(
        lot_count=Count("lots", filter=Q(lots__status__in=PUBLIC_STATUSES)),
        open_count=Count("lots", filter=Q(lots__status=Status.OPEN)),
    ).order_by("-starts_at", "-pk")


def get_session(session_id: int) -> AuctionSession:
    return services.get_session(session_id)


def session_lots(user: Any, session: AuctionSession) -> list[AuctionLot]:
    """The session's lots the user may see, closing those whose end has passed."""
    now = timezone.now()
    qs = session.lots.select_related("seller", "resource").order_by("number")
    if not sees_everything(user):
        mine = list(perms.memberships(user))
        qs = qs.filter(Q(status__in=PUBLIC_STATUSES) | Q(seller_id__in=mine))
    lots = list(qs)
    if any(lot.status == Status.OPEN and lot.ends_at <= now for lot in lots):
        for lot in lots:
            close_if_due(lot, now)
        lots = list(qs.all())  # read again once, closed
    return lots


def get_lot(user: Any, lot_id: int) -> AuctionLot:
    """One lot the user may see, closed first if its end has passed."""
    lot = close_if_due(services.get_lot(lot_id))
    if lot.status not in PUBLIC_STATUSES and not sees_seller_side(user, lot):
        raise NotFound(_("No such lot."))
    return lot


# --- a lot's live state ---------------------------------------------------------------------


@dataclass(frozen=True)
class BidLine:
    seq: int
    amount_fen: int
    label: str
    placed_at: datetime
    mine: bool


@dataclass(frozen=True)
class QuickBid:
    amount_fen: int
    increments: int


@dataclass
class BidderView:
    """What the signed-in user may do on the lot, and why not."""

    can_bid: bool = False
    reason: str = ""
    registration: AuctionRegistration | None = None
    organisations: list[int] = field(default_factory=list)


@dataclass
class LotState:
    lot: AuctionLot
    phase: str
    now: datetime
    current_fen: int
    next_fen: int
    quick: list[QuickBid]
    history: list[BidLine]
    high_label: str
    reserve_visible: bool
    reserve_met: bool | None
    bidder: BidderView
    extended: bool

    @property
    def seconds_left(self) -> int:
        reference = self.lot.starts_at if self.phase == "upcoming" else self.lot.ends_at
        return max(0, int((reference - self.now).total_seconds()))

    @property
    def clock(self) -> str:
        """The countdown as first drawn, "HH:MM:SS" (with days, "2d 03:04:05")."""
        days, rest = divmod(self.seconds_left, 86400)
        hours, rest = divmod(rest, 3600)
        text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        return f"{days}d {text}" if days else text


def _label(bid: Bid, named: bool, mine: bool) -> str:
    label = services.bidder_label(bid.bidder_no)
    if named:
        label = f"{bid.bidder.name} · {label}"
    if mine:
        label = _("%(bidder)s (you)") % {"bidder": label}
    return label


def bid_history(user: Any, lot: AuctionLot, limit: int = HISTORY_LIMIT) -> list[BidLine]:
    """The latest bids, highest first; names only for operators and auditors."""
    named = sees_everything(user)
    mine = set(perms.memberships(user))
    qs = Bid.objects.filter(lot=lot).order_by("-seq")
    if named:
        qs = qs.select_related("bidder")
    return [
        BidLine(
            seq=b.seq,
            amount_fen=b.amount_fen,
            label=_label(b, named, b.bidder_id in mine),
            placed_at=b.placed_at,
            mine=b.bidder_id in mine,
        )
        for b in qs[:limit]
    ]


def quick_bids(lot: AuctionLot) -> list[QuickBid]:
    """The next valid bids offered as buttons: +1, +2 and +5 increments over the current
    price (before the first bid: the starting price, +1 and +4 increments over it)."""
    if lot.bid_count:
        return [QuickBid(lot.high_bid_fen + k * lot.increment_fen, k) for k in QUICK_RAISES]
    return [
        QuickBid(lot.starting_price_fen + (k - 1) * lot.increment_fen, k - 1) for k in QUICK_RAISES
    ]


def bidder_view(user: Any, lot: AuctionLot, phase: str) -> BidderView:
    """Whether the user may bid on the lot now, and if not, why (in the user's words)."""
    view = BidderView()
    if not getattr(user, "is_authenticated", False):
        view.reason = _("Sign in to bid.")
        return view
    staff = services.staff_problem(user)
    if staff:
        view.reason = staff
        return view
    mine = list(perms.memberships(user))
    if lot.seller_id in mine:
        view.reason = _("This is your organisation's lot.")
        return view
    regs = [r for r in registrations_of(user, lot.session) if r.organisation_id in mine]
    view.organisations = [r.organisation_id for r in regs]
    held = [r for r in regs if r.deposit_status == AuctionRegistration.Deposit.HELD]
    if not regs:
        view.reason = _("Register for this session and lodge the deposit to bid.")
    elif not held:
        view.reason = _("Your deposit has not been recorded yet.")
    elif all(r.deposit_fen < lot.deposit_fen for r in held):
        view.reason = _("Your deposit does not cover this lot's deposit.")
    elif phase != "live":
        view.reason = ""
    elif lot.bid_count and lot.high_bidder_id in view.organisations:
        view.reason = _("You hold the highest bid.")
    else:
        view.can_bid = True
    view.registration = held[0] if held else (regs[0] if regs else None)
    return view


def registrations_of(user: Any, session: AuctionSession) -> list[AuctionRegistration]:
    """The user's organisations' registrations for the session (cached per request)."""
    cache = getattr(user, "_ic_auction_regs", None)
    if cache is None:
        cache = {}
        if getattr(user, "is_authenticated", False):
            user._ic_auction_regs = cache
    if session.pk not in cache:
        mine = list(perms.memberships(user))
        cache[session.pk] = list(
            AuctionRegistration.objects.filter(session=session, organisation_id__in=mine)
            .select_related("organisation")
            .order_by("number")
        )
    return cache[session.pk]  # type: ignore[no-any-return]


def lot_state(user: Any, lot: AuctionLot) -> LotState:
    """Everything the live lot page and the API show, for this user."""
    now = timezone.now()
    phase = lot.phase(now)
    reserve_visible = sees_seller_side(user, lot)
    reserve_met = None
    if reserve_visible and lot.reserve_fen is not None:
        reserve_met = bool(lot.bid_count) and lot.high_bid_fen >= lot.reserve_fen
    history = bid_history(user, lot)
    return LotState(
        lot=lot,
        phase=phase,
        now=now,
        current_fen=lot.current_price_fen,
        next_fen=lot.next_bid_fen,
        quick=quick_bids(lot) if phase in ("live", "upcoming") else [],
        history=history,
        high_label=history[0].label if history else "",
        reserve_visible=reserve_visible,
        reserve_met=reserve_met,
        bidder=bidder_view(user, lot, phase),
        extended=lot.ends_at > lot.scheduled_end_at,
    )


# --- the sale confirmation --------------------------------------------------------------------


def can_see_confirmation(user: Any, lot: AuctionLot) -> bool:
    return lot.winner_id is not None and (
        sees_seller_side(user, lot) or perms.is_member(user, lot.winner_id)
    )


def confirmation(user: Any, lot_id: int) -> AuctionLot:
    """A sold lot's sale confirmation (成交确认书), for the parties, operators, auditors."""
    lot = get_lot(user, lot_id)
    if lot.winner_id is None:
        raise NotFound(_("No such lot."))
    if not can_see_confirmation(user, lot):
        raise PermissionDenied(_("The sale confirmation is for the parties and the operator."))
    return (
        AuctionLot.objects.select_related(
            "session", "seller__region", "winner__region", "resource", "contract", "confirmed_by"
        )
        .filter(pk=lot.pk)
        .get()
    )


def winner_registration(lot: AuctionLot) -> AuctionRegistration | None:
    if lot.winner_id is None:
        return None
    return AuctionRegistration.objects.filter(
        session_id=lot.session_id, organisation_id=lot.winner_id
    ).first()


# --- registrations (operators) ----------------------------------------------------------------


def session_registrations(user: Any, session: AuctionSession) -> list[AuctionRegistration]:
    """Every bidder of the session with its deposit: operators and auditors."""
    if not sees_everything(user):
        raise PermissionDenied(_("Registrations are for the operator and auditors."))
    return list(
        session.registrations.select_related("organisation__region", "registered_by").order_by(
            "number"
        )
    )


def pending_lots(user: Any) -> QuerySet[AuctionLot]:
    """Lots awaiting the operator's approval."""
    if not sees_everything(user):
        return AuctionLot.objects.none()
    return AuctionLot.objects.filter(status=Status.PENDING).select_related("session", "seller")


def offerable_achievements(user: Any) -> list[Any]:
    """The published achievements of the user's verified organisations not already at
    auction: what the user may offer."""
    from innocommons.catalog.models import Kind, Resource
    from innocommons.catalog.models import Status as ResourceStatus

    mine = list(perms.memberships(user))
    return list(
        Resource.objects.filter(
            owner_id__in=mine,
            owner__status="verified",
            kind=Kind.ACHIEVEMENT,
            status=ResourceStatus.PUBLISHED,
        )
        .exclude(auction_lots__status__in=AuctionLot.LIVE)
        .select_related("owner")
        .order_by("owner__name_zh", "title_zh")
    )


# --- results --------------------------------------------------------------------------------


def _pct(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class SessionResults:
    """A session's results. Value and premium count the lots sold (a defaulted sale is
    not a sale); the premium is over the starting prices of those lots — overall
    (Σ hammer / Σ start − 1) and the mean of the lots' own premiums, as in Zhejiang's
    figure (`ZHEJIANG_PREMIUM_PCT`)."""

    lots: int
    closed: int
    sold: int
    unsold: int
    defaulted: int
    total_fen: int
    starting_fen: int
    premium_pct: Decimal | None
    mean_premium_pct: Decimal | None
    sale_rate_pct: Decimal | None
    benchmark_pct: Decimal = ZHEJIANG_PREMIUM_PCT


def session_results(session: AuctionSession) -> SessionResults:
    lots = AuctionLot.objects.filter(session=session, status__in=PUBLIC_STATUSES)
    counts = lots.aggregate(
        lots=Count("pk"),
        sold=Count("pk", filter=Q(status=Status.SOLD)),
        unsold=Count("pk", filter=Q(status=Status.UNSOLD)),
        defaulted=Count("pk", filter=Q(status=Status.DEFAULTED)),
        total=Sum("hammer_fen", filter=Q(status=Status.SOLD)),
        starting=Sum("starting_price_fen", filter=Q(status=Status.SOLD)),
    )
    sold = [
        (int(h or 0), s)
        for h, s in lots.filter(status=Status.SOLD).values_list("hammer_fen", "starting_price_fen")
    ]
    total, starting = int(counts["total"] or 0), int(counts["starting"] or 0)
    closed = counts["sold"] + counts["unsold"] + counts["defaulted"]
    mean = None
    if sold:
        premiums = [Decimal(h - s) * 100 / Decimal(s) for h, s in sold]
        mean = (sum(premiums, Decimal(0)) / len(premiums)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
    return SessionResults(
        lots=counts["lots"],
        closed=closed,
        sold=counts["sold"],
        unsold=counts["unsold"],
        defaulted=counts["defaulted"],
        total_fen=total,
        starting_fen=starting,
        premium_pct=_pct(total - starting, starting),
        mean_premium_pct=mean,
        sale_rate_pct=_pct(counts["sold"] + counts["defaulted"], closed),
    )
