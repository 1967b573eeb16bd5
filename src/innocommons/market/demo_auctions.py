"""Demo auctions, replayed through the real services at the times they would have happened
(`innocommons.vouchers.demo.at` sets the services' clock):

- a past session of five university achievements: two sold and signed (premiums about
  35 % and 40 %, near Zhejiang's 35.6 %), one below its reserve, one without bids, one
  whose winner did not sign in time (deposit forfeited); losers' deposits refunded;
- a session open now, with bids on its lots (one ends within hours) and the defaulted
  lot re-offered at a lower starting price.

Idempotent: nothing happens when the demo sessions exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from innocommons.accounts.models import Organisation, StaffRole, User
from innocommons.catalog.models import Resource
from innocommons.market.models import AuctionLot, AuctionSession
from innocommons.market.services import auctions as services
from innocommons.vouchers.demo import at

DEMO_MARK = "（演示）"
Y = 100  # fen per yuan
DEPOSIT = 500_000 * Y


@dataclass(frozen=True)
class DemoLot:
    ref: str  # the achievement's demo ref
    start: int  # yuan
    increment: int  # yuan
    reserve: int | None  # yuan
    deposit: int  # yuan
    minutes: int  # scheduled bidding time


PAST = [
    DemoLot("demo-ach-014", 2_000_000, 100_000, 2_200_000, 200_000, 60),
    DemoLot("demo-ach-028", 3_000_000, 200_000, None, 300_000, 75),
    DemoLot("demo-ach-034", 1_500_000, 50_000, 2_000_000, 150_000, 90),
    DemoLot("demo-ach-008", 800_000, 50_000, None, 100_000, 60),
    # An all-day lot: re-offered, it stays open for a working day of the live session too.
    DemoLot("demo-ach-029", 5_000_000, 200_000, 5_000_000, 500_000, 8 * 60),
]
# Bids of the past session, per lot: (minutes after the opening, bidder, increments).
PAST_BIDS: dict[str, list[tuple[int, str, int]]] = {
    # 2.0 m → 2.7 m (+35 %), two bids in the last minutes extend the end
    "demo-ach-014": [
        (5, "yunxiu", 0),
        (12, "hongyi", 2),
        (30, "yunxiu", 1),
        (41, "nayan", 2),
        (57, "hongyi", 1),
        (61, "yunxiu", 1),
    ],
    # 3.0 m → 4.2 m (+40 %)
    "demo-ach-028": [
        (3, "lichi", 0),
        (20, "qineng", 2),
        (44, "lichi", 1),
        (70, "qineng", 3),
    ],
    # 1.5 m → 1.7 m: below the 2.0 m reserve, unsold
    "demo-ach-034": [(10, "lvyuan", 0), (50, "chengxin", 2), (80, "lvyuan", 2)],
    # 5.0 m → 5.6 m, sold; the winner does not sign in time
    "demo-ach-029": [(8, "lichi", 0), (25, "qineng", 1), (50, "lichi", 2)],
}
LIVE = [
    DemoLot("demo-ach-026", 6_000_000, 200_000, 7_000_000, 500_000, 3 * 24 * 60),
    DemoLot("demo-ach-019", 2_500_000, 100_000, None, 250_000, 2 * 24 * 60),
    DemoLot("demo-ach-039", 1_200_000, 50_000, 1_300_000, 100_000, 6 * 60),
]
# Bids of the live session so far: (minutes after the opening, bidder, increments).
LIVE_BIDS: dict[str, list[tuple[int, str, int]]] = {
    "demo-ach-026": [(10, "qineng", 0), (40, "lichi", 1), (75, "qineng", 2)],
    "demo-ach-019": [(15, "ruixi", 0), (50, "chengshi", 1)],
    "demo-ach-039": [(5, "hongyi", 0), (30, "yunxiu", 1), (85, "hongyi", 1), (100, "yunxiu", 2)],
}
PAST_BIDDERS = ["yunxiu", "hongyi", "nayan", "lichi", "qineng", "lvyuan", "chengxin", "weigan"]
LIVE_BIDDERS = ["qineng", "lichi", "ruixi", "chengshi", "hongyi", "yunxiu", "heyuan"]


def _operator() -> User:
    found = User.objects.filter(staff_roles__role=StaffRole.Role.OPERATOR).order_by("pk").first()
    if found is not None:
        return found
    user, _created = User.objects.get_or_create(
        username="demo-auctioneer", defaults={"display_name": "拍卖会运营（演示）"}
    )
    StaffRole.objects.get_or_create(user=user, role=StaffRole.Role.OPERATOR, region=None)
    return user


def _member(org: Organisation) -> User:
    """Someone acting for the organisation: its first member, or a demo stand-in."""
    user = User.objects.filter(memberships__organisation=org).order_by("pk").first()
    if user is None:
        user, _ = User.objects.get_or_create(
            username=f"demo-{org.pk}", defaults={"display_name": f"{org.name_zh} 经办人"}
        )
        user.memberships.create(organisation=org)
    return user


def _hour(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)


def _session(op: User, title: str, title_en: str, opens: datetime, announced: datetime) -> Any:
    with at(announced):
        return services.create_session(
            actor=op,
            data=services.SessionInput(
                title=title + DEMO_MARK,
                title_en=title_en + " (demo)",
                announcement=(
                    "本场拍卖会通过InnoCommons平台在线举行，拍卖高校与科研院所的科技成果。"
                    "竞买人须为通过认证的机构，于开拍前登记并交纳保证金；每次加价为加价幅度的"
                    "整数倍；最后若干分钟内出价将顺延截止时间，但不超过最迟截止时间。"
                    "成交后买受人须在规定期限内签署成交确认书，逾期视为违约，保证金不予退还。"
                ),
                viewing_place="线上资料查阅；线下看样：上海市松江区G60科创云廊展示中心",
                viewing_starts_at=announced + timedelta(days=1),
                viewing_ends_at=opens - timedelta(hours=2),
                starts_at=opens,
                sign_days=10,
            ),
        )


def _offer(
    op: User, session: AuctionSession, spec: DemoLot, opens: datetime, offset: int
) -> AuctionLot | None:
    resource = Resource.objects.filter(ref=spec.ref, status="published").first()
    if resource is None:
        return None
    end = opens + timedelta(minutes=spec.minutes + offset)
    lot = services.offer_lot(
        actor=_member(resource.owner),
        session_id=session.pk,
        data=services.LotInput(
            resource_id=resource.pk,
            starting_price_fen=spec.start * Y,
            increment_fen=spec.increment * Y,
            reserve_fen=spec.reserve * Y if spec.reserve is not None else None,
            deposit_fen=spec.deposit * Y,
            starts_at=opens,
            scheduled_end_at=end,
            hard_end_at=end + timedelta(minutes=30),
            soft_close_minutes=5,
            terms="转让全部专利权及配套技术秘密，卖方提供3个月技术指导。",
        ),
    )
    return services.approve_lot(actor=op, lot_id=lot.pk)


def _register(
    op: User, session: AuctionSession, keys: list[str], orgs: dict[str, Organisation], day: datetime
) -> None:
    for key in keys:
        org = orgs.get(key)
        if org is None or not org.is_verified:
            continue
        with at(day):
            registration = services.register_bidder(
                actor=_member(org), session_id=session.pk, organisation_id=org.pk
            )
        with at(day + timedelta(days=1)):
            services.record_deposit(
                actor=op,
                registration_id=registration.pk,
                amount_fen=DEPOSIT,
                reference=f"DEMO-BOND-{session.pk}-{registration.number:03d}",
            )


def _bids(
    lot: AuctionLot,
    bids: list[tuple[int, str, int]],
    orgs: dict[str, Organisation],
    opens: datetime,
) -> None:
    for minutes, key, increments in bids:
        org = orgs.get(key)
        if org is None:
            continue
        lot.refresh_from_db()
        # The first bid: the starting price plus k increments (k ≥ 0); then raises (k ≥ 1).
        amount = (
            lot.starting_price_fen + increments * lot.increment_fen
            if not lot.bid_count
            else lot.high_bid_fen + max(1, increments) * lot.increment_fen
        )
        with at(opens + timedelta(minutes=minutes, seconds=17)):
            services.place_bid(
                actor=_member(org), lot_id=lot.pk, amount_fen=amount, organisation_id=org.pk
            )


def load_auction_demo(orgs: dict[str, Organisation]) -> int:
    """Create the demo auction sessions once; return how many sessions were created."""
    if AuctionSession.objects.filter(title__endswith=DEMO_MARK).exists():
        return 0
    op = _operator()
    now = timezone.now()

    # --- the past session -----------------------------------------------------------------
    opens = _hour(now - timedelta(days=50)).replace(hour=10)
    past = _session(
        op,
        "长三角G60科创走廊科技成果网络拍卖会（春季场）",
        "G60 corridor online technology auction, spring session",
        opens,
        opens - timedelta(days=10),
    )
    lots: dict[str, AuctionLot] = {}
    with at(opens - timedelta(days=9)):
        for i, spec in enumerate(PAST):
            lot = _offer(op, past, spec, opens, 15 * i)
            if lot is not None:
                lots[spec.ref] = lot
    _register(op, past, PAST_BIDDERS, orgs, opens - timedelta(days=6))
    for ref, bids in PAST_BIDS.items():
        if ref in lots:
            _bids(lots[ref], bids, orgs, opens)
    last_end = max((lot.ends_at for lot in AuctionLot.objects.filter(session=past)), default=opens)
    with at(last_end + timedelta(minutes=1)):
        services.close_due_lots()
    signed_day = opens + timedelta(days=2)
    for ref in ("demo-ach-014", "demo-ach-028"):
        lot = AuctionLot.objects.filter(session=past, resource__ref=ref, status="sold").first()
        if lot is not None and lot.winner is not None:
            with at(signed_day):
                services.sign_confirmation(actor=_member(lot.winner), lot_id=lot.pk)
    with at(opens + timedelta(days=11)):
        services.mark_defaults()
    with at(opens + timedelta(days=12)):
        for registration in past.registrations.filter(deposit_status="refund_due"):
            services.record_refund(
                actor=op,
                registration_id=registration.pk,
                reference=f"DEMO-REFUND-{registration.pk:04d}",
            )

    # --- the session open now ---------------------------------------------------------------
    live_opens = _hour(now - timedelta(hours=2))
    live = _session(
        op,
        "长三角科技成果拍卖会（秋季场）",
        "Yangtze River Delta technology auction, autumn session",
        live_opens,
        live_opens - timedelta(days=9),
    )
    live_lots: dict[str, AuctionLot] = {}
    with at(live_opens - timedelta(days=8)):
        for i, spec in enumerate(LIVE):
            lot = _offer(op, live, spec, live_opens, i)
            if lot is not None:
                live_lots[spec.ref] = lot
        defaulted = AuctionLot.objects.filter(session=past, status="defaulted").first()
        if defaulted is not None:
            again = services.reoffer_lot(
                actor=_member(defaulted.seller),
                lot_id=defaulted.pk,
                session_id=live.pk,
                starting_price_fen=defaulted.starting_price_fen - 4 * defaulted.increment_fen,
            )
            services.approve_lot(actor=op, lot_id=again.pk)
    _register(op, live, LIVE_BIDDERS, orgs, live_opens - timedelta(days=7))
    for ref, bids in LIVE_BIDS.items():
        if ref in live_lots:
            _bids(live_lots[ref], [b for b in bids if b[0] < 115], orgs, live_opens)
    return 2
