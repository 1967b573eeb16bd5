"""Technology-market figures: demands posted vs matched vs solved, challenge outcomes,
auction results (sold rate, total, premium)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from innocommons.catalog.models import Term
from innocommons.insights import periods
from innocommons.insights.selectors import market
from innocommons.market.models import (
    AuctionLot,
    AuctionSession,
    Challenge,
    Demand,
    DemandAlert,
    Proposal,
    Thread,
)
from tests import factories as f
from tests.insights.conftest import W

pytestmark = pytest.mark.django_db


@pytest.fixture
def market_world(world):
    now = timezone.now()
    field = Term.objects.filter(scheme=Term.Scheme.TECH_FIELD).first()
    js = f.org(name="苏州需求企业", region="320500")
    sh = f.org(name="上海需求企业", region="310104")

    def demand(org, status, outcome="", published=True):
        return Demand.objects.create(
            organisation=org,
            region=org.region,
            title_zh="需求",
            summary_zh="问题",
            field=field,
            deadline=(now + timedelta(days=30)).date(),
            status=status,
            outcome=outcome,
            published_at=now if published else None,
        )

    d1 = demand(js, "published")
    d2 = demand(js, "closed", "solved")
    d3 = demand(sh, "closed", "expired")
    demand(sh, "closed", "withdrawn")
    demand(js, "draft", published=False)
    for d in (d1, d2, d3):
        DemandAlert.objects.create(demand=d, organisation=world.provider, score=0.8)
    for d in (d1, d2):
        Thread.objects.create(demand=d, provider=world.provider, last_message_at=now)

    def challenge(status, reward_wan, proposals=0):
        c = Challenge.objects.create(
            title="挑战",
            problem="问题",
            expected_results="结果",
            field="electronics",
            issuer_org=js,
            issued_by_region=False,
            region_id="320500",
            reward_fen=reward_wan * W,
            deadline=now + timedelta(days=10),
        )
        made = [
            Proposal.objects.create(
                challenge=c, lead_org=f.org(region="330100"), title="方案", summary="做法"
            )
            for _ in range(proposals)
        ]
        Challenge.objects.filter(pk=c.pk).update(
            status=status, selected=made[0] if status not in ("open", "cancelled") else None
        )
        return c

    challenge("open", 100, 1)
    challenge("cancelled", 50)
    challenge("awarded", 300, 2)

    session = AuctionSession.objects.create(
        title="拍卖会",
        announcement="公告",
        announced_at=now - timedelta(days=20),
        viewing_starts_at=now - timedelta(days=15),
        viewing_ends_at=now - timedelta(days=10),
        starts_at=now - timedelta(days=9),
    )
    res = f.resource(world.provider, kind="achievement")

    def lot(number, status, start_wan, hammer_wan=None):
        sold = status in ("sold", "defaulted")
        bid = hammer_wan if sold else 0
        return AuctionLot.objects.create(
            session=session,
            number=number,
            resource=res,
            seller=world.provider,
            title="成果",
            field="electronics",
            starting_price_fen=start_wan * W,
            increment_fen=1 * W,
            starts_at=now - timedelta(days=9),
            scheduled_end_at=now - timedelta(days=8),
            ends_at=now - timedelta(days=8),
            hard_end_at=now - timedelta(days=7),
            status=status,
            bid_count=3 if sold else 0,
            high_bid_fen=(bid or 0) * W,
            high_bidder=world.enterprise if sold else None,
            winner=world.enterprise if sold else None,
            hammer_fen=hammer_wan * W if sold else None,
            sign_by=now if sold else None,
            closed_at=now - timedelta(days=8),
        )

    lot(1, "sold", 200, 270)
    lot(2, "sold", 100, 110)
    lot(3, "unsold", 80)
    lot(4, "defaulted", 40, 50)
    lot(5, "open", 10)  # still running: not counted


def this_year() -> periods.Period:
    return periods.current_year()


def test_demands(market_world) -> None:
    rows = {r.region: r for r in market.demands(this_year())}
    js, sh = rows["320000"], rows["310000"]
    assert (js.posted, js.matched, js.answered, js.solved, js.open) == (2, 2, 2, 1, 1)
    assert (sh.posted, sh.matched, sh.answered, sh.expired, sh.withdrawn) == (2, 1, 0, 1, 1)
    assert market.demands(this_year(), "330000") == []


def test_challenges(market_world) -> None:
    rows = {r.status: r for r in market.challenges(this_year())}
    assert (rows["open"].challenges, rows["open"].reward_fen, rows["open"].proposals) == (
        1,
        100 * W,
        1,
    )
    assert rows["awarded"].proposals == 2
    assert rows["cancelled"].reward_fen == 50 * W
    assert rows["completed"].challenges == 0


def test_auctions(market_world) -> None:
    a = market.auctions(this_year())
    assert (a.closed, a.sold, a.unsold, a.defaulted) == (4, 2, 1, 1)
    assert a.sold_rate == 50.0
    assert (a.hammer_fen, a.start_fen) == (380 * W, 300 * W)
    assert a.premium == pytest.approx(26.6667, abs=1e-3)
    assert a.mean_premium == pytest.approx(22.5)


def test_market_api_and_page(client, market_world) -> None:
    body = client.get("/api/v1/stats/market/auctions").json()
    assert body["sold_rate_pct"] == 50.0 and body["hammer_fen"] == 380 * W
    demands = client.get("/api/v1/stats/market/demands").json()["rows"]
    assert {r["region"]["code"]: r["solved"] for r in demands} == {"310000": 0, "320000": 1}
    challenges = client.get("/api/v1/stats/market/challenges").json()["rows"]
    assert sum(r["challenges"] for r in challenges) == 3
    html = client.get("/stats/").content.decode()
    for key in ("demands", "challenges", "auctions"):
        assert f'data-table="{key}"' in html
