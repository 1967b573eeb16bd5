"""Auction web pages through Django's test client: the sessions, a session with its lots,
results and the operator's desk, the live lot page and its htmx partial (polling, bidding
without reload), the sale confirmation, the forms with their errors, and query counts
that do not grow with the number of bids or lots."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from innocommons.market.models import AuctionLot, AuctionRegistration, AuctionSession
from innocommons.market.services import auctions as services
from innocommons.vouchers.demo import at
from tests.market.test_auctions import (
    DEPOSIT,
    INC,
    START,
    achievement,
    auction,
    bid,
    bidder,
    end,
    lot_input,
    session_input,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def html(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.content.decode()


def test_session_list(client, world) -> None:
    a = auction()
    page = html(client.get(reverse("market:auction_list")))
    assert a.session.title in page and "new-session" not in page
    client.force_login(world.operator)
    assert 'data-testid="new-session"' in html(client.get(reverse("market:auction_list")))


def test_session_page_for_the_public_bidders_and_the_operator(client, world) -> None:
    a = auction()
    url = reverse("market:auction_session", args=[a.session.pk])
    page = html(client.get(url))
    assert a.lot.title in page and a.session.announcement in page
    assert 'data-testid="registrations"' not in page
    client.force_login(world.enterprise_member)
    page = html(client.get(url))
    assert f'data-testid="register-{world.enterprise.pk}"' in page
    resp = client.post(
        reverse("market:auction_register", args=[a.session.pk]),
        {"organisation": world.enterprise.pk},
    )
    assert resp.status_code == 302
    registration = AuctionRegistration.objects.get(session=a.session, organisation=world.enterprise)
    assert 'data-testid="my-registration"' in html(client.get(url))

    client.force_login(world.operator)
    page = html(client.get(url))
    assert 'data-testid="registrations"' in page and world.enterprise.name_zh in page
    resp = client.post(
        reverse("market:auction_deposit", args=[registration.pk]),
        {"amount": "200,000", "reference": "BANK-7", "session": a.session.pk},
    )
    assert resp.status_code == 302 and resp.url == url
    registration.refresh_from_db()
    assert (registration.deposit_status, registration.deposit_fen) == ("held", DEPOSIT)
    # A bad amount comes back as a message, nothing is written.
    client.post(
        reverse("market:auction_deposit", args=[registration.pk]),
        {"amount": "lots", "session": a.session.pk},
    )
    registration.refresh_from_db()
    assert registration.deposit_reference == "BANK-7"


def test_results_on_the_session_page(client) -> None:
    a = auction()
    u1, _o1, _ = bidder(a.session)
    bid(u1, a.lot, START + 3 * INC)
    with at(end(a)):
        page = html(client.get(reverse("market:auction_session", args=[a.session.pk]), **EN))
    assert 'data-testid="results"' in page
    assert "15.0%" in page  # 2.3 m on 2.0 m
    assert "35.6%" in page  # Zhejiang's yardstick


def test_operator_announces_a_session(client, world) -> None:
    url = reverse("market:auction_session_new")
    client.force_login(world.enterprise_member)
    assert client.get(url).status_code == 403
    client.force_login(world.operator)
    html(client.get(url))
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    data = {
        "title": "安徽科技大市场成果拍卖会",
        "announcement": "公告正文",
        "viewing_starts_at": (now + timedelta(days=1)).strftime(fmt),
        "viewing_ends_at": (now + timedelta(days=2)).strftime(fmt),
        "starts_at": (now + timedelta(days=5)).strftime(fmt),
        "sign_days": 10,
    }
    page = html(client.post(url, data))
    assert page.count('class="error"') == 2  # 7 days' notice, 2 days' viewing
    assert not AuctionSession.objects.exists()
    data["viewing_ends_at"] = (now + timedelta(days=4)).strftime(fmt)
    data["starts_at"] = (now + timedelta(days=9)).strftime(fmt)
    resp = client.post(url, data)
    assert resp.status_code == 302
    assert AuctionSession.objects.get().title == data["title"]


def test_seller_offers_a_lot_and_the_operator_approves(client, world) -> None:
    session = services.create_session(actor=world.operator, data=session_input(timezone.now()))
    resource = achievement(world.provider, world.provider_member)
    url = reverse("market:auction_lot_new", args=[session.pk])
    client.force_login(world.provider_member)
    page = html(client.get(url))
    assert resource.title_zh in page
    opens = timezone.localtime(session.starts_at) + timedelta(minutes=1)  # whole minutes
    fmt = "%Y-%m-%dT%H:%M"
    data = {
        "resource": resource.pk,
        "starting_price": "2,000,000",
        "increment": "100000",
        "reserve": "",
        "deposit": "200000",
        "starts_at": opens.strftime(fmt),
        "scheduled_end_at": (opens + timedelta(hours=1)).strftime(fmt),
        "hard_end_at": (opens - timedelta(hours=1)).strftime(fmt),
        "soft_close_minutes": 5,
        "field": "electronics",
        "terms": "",
    }
    page = html(client.post(url, data))
    assert 'class="error"' in page and not AuctionLot.objects.exists()
    data["hard_end_at"] = (opens + timedelta(hours=2)).strftime(fmt)
    resp = client.post(url, data)
    lot = AuctionLot.objects.get()
    assert resp.status_code == 302 and resp.url == reverse("market:auction_lot", args=[lot.pk])
    assert (lot.starting_price_fen, lot.increment_fen, lot.reserve_fen) == (START, INC, None)
    assert client.get(reverse("market:auction_lot", args=[lot.pk])).status_code == 200
    client.logout()
    assert client.get(reverse("market:auction_lot", args=[lot.pk])).status_code == 404
    client.force_login(world.operator)
    resp = client.post(reverse("market:auction_lot_decide", args=[lot.pk]), {"action": "approve"})
    assert resp.status_code == 302
    lot.refresh_from_db()
    assert lot.status == "open"


def test_live_page_polls_and_its_partial(client) -> None:
    a = auction()
    u1, o1, _ = bidder(a.session)
    bid(u1, a.lot, START)
    url = reverse("market:auction_lot", args=[a.lot.pk])
    page = html(client.get(url, **EN))
    assert 'hx-trigger="every 2s"' in page and "data-countdown=" in page
    assert "Bidder 1" in page and o1.name_zh not in page
    assert "<html" in page
    partial = html(client.get(url, **HTMX, **EN))
    assert "<html" not in partial and 'id="lot-live"' in partial
    assert 'hx-trigger="every 2s"' in partial
    assert "¥2,000,000.00" in partial
    # Once the lot is over the partial stops polling (and the lot was closed by the read).
    with at(end(a)):
        closed = html(client.get(url, **HTMX, **EN))
    assert "hx-trigger" not in closed and "Sold to Bidder 1" in closed
    assert a.refresh().status == "sold"


def test_bidding_on_the_page_without_reload(client) -> None:
    a = auction()
    u1, _o1, _ = bidder(a.session)
    u2, _o2, _ = bidder(a.session)
    client.force_login(u1)
    page = html(client.get(reverse("market:auction_lot", args=[a.lot.pk])))
    assert f'data-testid="bid-{START}"' in page and f'data-testid="bid-{START + 4 * INC}"' in page
    url = reverse("market:auction_bid", args=[a.lot.pk])
    partial = html(client.post(url, {"amount_fen": START}, **HTMX, **EN))
    assert 'data-testid="bid-ok"' in partial and "<html" not in partial
    # The high bidder is not offered a raise over its own bid.
    assert f'data-testid="bid-{START + INC}"' not in partial and "highest bid" in partial
    bid(u2, a.lot, START + INC)
    client.force_login(u2)
    stale = html(client.post(url, {"amount_fen": START + INC}, **HTMX, **EN))
    assert 'data-testid="bid-error"' in stale and "¥2,100,000.00" in stale
    # Without htmx: a redirect back to the page with the message; the yuan form works too.
    client.force_login(u1)
    resp = client.post(url, {"amount": "2,300,000"})
    assert resp.status_code == 302
    assert a.refresh().high_bid_fen == START + 3 * INC


def test_confirmation_page_and_signing(client, world) -> None:
    a = auction()
    u1, o1, _ = bidder(a.session)
    bid(u1, a.lot, START)
    with at(end(a)):
        services.close_due_lots()
    url = reverse("market:auction_confirmation", args=[a.lot.pk])
    assert client.get(url).status_code == 403
    client.force_login(world.enterprise_member)
    assert client.get(url).status_code == 403
    client.force_login(u1)
    page = html(client.get(url))
    assert o1.name_zh in page and a.seller_org.name_zh in page and 'data-testid="sign"' in page
    resp = client.post(reverse("market:auction_sign", args=[a.lot.pk]))
    assert resp.status_code == 302
    assert a.refresh().confirmed_at is not None
    assert 'data-testid="sign"' not in html(client.get(url))
    client.force_login(a.seller)
    assert 'data-testid="contract"' in html(client.get(url))


def test_seller_reoffers_an_unsold_lot(client) -> None:
    a = auction()
    with at(end(a)):
        services.close_due_lots()
    nxt = services.create_session(actor=a.op, data=session_input(timezone.now()))
    client.force_login(a.seller)
    url = reverse("market:auction_reoffer", args=[a.lot.pk])
    html(client.get(url))
    resp = client.post(url, {"session": nxt.pk, "starting_price": "1,500,000"})
    assert resp.status_code == 302
    new = AuctionLot.objects.get(reoffer_of=a.lot)
    assert new.session == nxt and new.starting_price_fen == 1_500_000 * 100


# --- query counts ---------------------------------------------------------------------------------


def _count(client, url: str, **extra) -> int:
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url, **extra)
    assert resp.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["anonymous", "bidder", "operator"])
def test_lot_page_queries_do_not_grow_with_bids(client, world, role: str) -> None:
    a = auction()
    users = [bidder(a.session)[0] for _ in range(3)]
    if role == "bidder":
        client.force_login(users[0])
    elif role == "operator":
        client.force_login(world.operator)
    url = reverse("market:auction_lot", args=[a.lot.pk])
    counts = []
    amount = START
    for n in (2, 9):
        while a.refresh().bid_count < n:
            bid(users[a.lot.bid_count % 3], a.lot, amount)
            amount += INC
        counts.append((_count(client, url), _count(client, url, **HTMX)))
    assert counts[0] == counts[1], counts


def test_session_page_queries_do_not_grow_with_lots(client, world) -> None:
    a = auction(opens_in=timedelta(days=1))
    client.force_login(world.operator)
    url = reverse("market:auction_session", args=[a.session.pk])
    counts = []
    for n in (1, 4):
        while AuctionLot.objects.filter(session=a.session).count() < n:
            resource = achievement(a.seller_org, a.seller)
            lot = services.offer_lot(
                actor=a.seller, session_id=a.session.pk, data=lot_input(resource, a.session)
            )
            services.approve_lot(actor=a.op, lot_id=lot.pk)
            bidder(a.session)
        counts.append(_count(client, url))
    assert counts[0] == counts[1], counts
