"""The auctions API: a whole auction over real HTTP with tokens, what each role sees of a
lot (pseudonyms, names, the reserve), the stale bid's 409, the error format, and a
permission table of every write endpoint × role."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from innocommons.accounts.models import User
from innocommons.market.models import AuctionLot, AuctionSession
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
    session_input,
)
from tests.vouchers.test_api import http, token_for

pytestmark = pytest.mark.django_db

API = "/api/v1"


def post(client, url: str, body: Any = None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def iso(moment) -> str:
    return moment.isoformat()


def assert_error(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.content[:500])
    body = resp.json()
    assert body["detail"] and isinstance(body["errors"], list)
    if field is not None:
        assert body["errors"][0]["field"] == field, body
    return body


# --- over real HTTP -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_auction_over_real_http(live_server, world) -> None:
    base = live_server.url + API
    op, prov, ent = (token_for(base, u) for u in ("op", "prov", "ent"))
    now = timezone.now()
    status, session = http(
        "POST",
        f"{base}/auction-sessions",
        {
            "title": "G60科创走廊技术成果拍卖会",
            "announcement": "拍卖高校科技成果。",
            "viewing_starts_at": iso(now + timedelta(days=1)),
            "viewing_ends_at": iso(now + timedelta(days=4)),
            "starts_at": iso(now + timedelta(days=8)),
        },
        token=op,
    )
    assert status == 201, session
    assert session["phase"] == "announced" and session["lots"] == []
    resource = achievement(world.provider, world.provider_member)
    opens = AuctionSession.objects.get(pk=session["id"]).starts_at
    status, lot = http(
        "POST",
        f"{base}/auction-sessions/{session['id']}/lots",
        {
            "resource": resource.pk,
            "starting_price_fen": START,
            "increment_fen": INC,
            "reserve_fen": START + INC,
            "deposit_fen": DEPOSIT,
            "starts_at": iso(opens),
            "scheduled_end_at": iso(opens + timedelta(hours=1)),
            "hard_end_at": iso(opens + timedelta(hours=2)),
            "field": "electronics",
        },
        token=prov,
    )
    assert status == 201, lot
    assert lot["status"] == "pending" and lot["reserve_fen"] == START + INC
    status, approved = http("POST", f"{base}/auction-lots/{lot['id']}/approve", {}, token=op)
    assert status == 200 and approved["status"] == "open" and approved["phase"] == "upcoming"
    status, reg = http(
        "POST",
        f"{base}/auction-sessions/{session['id']}/registrations",
        {"organisation": world.enterprise.pk},
        token=ent,
    )
    assert status == 201 and reg["bidder"].endswith("1")
    status, reg = http(
        "POST",
        f"{base}/auction-registrations/{reg['id']}/deposit",
        {"amount_fen": DEPOSIT, "reference": "BANK-1"},
        token=op,
    )
    assert status == 200 and reg["deposit_status"] == "held"
    # Too early to bid: 409 with the opening time.
    status, body = http(
        "POST", f"{base}/auction-lots/{lot['id']}/bids", {"amount_fen": START}, token=ent
    )
    assert status == 409 and body["detail"]
    with at(opens + timedelta(minutes=1)):
        status, placed = http(
            "POST", f"{base}/auction-lots/{lot['id']}/bids", {"amount_fen": START + INC}, token=ent
        )
        assert status == 201, placed
        assert placed["seq"] == 1 and placed["lot"]["current_price_fen"] == START + INC
        assert placed["lot"]["history"][0]["mine"] is True
        status, public = http("GET", f"{base}/auction-lots/{lot['id']}")
        assert status == 200 and public["phase"] == "live"
        assert public["reserve_fen"] is None and public["has_reserve"] is True
        assert world.enterprise.name_zh not in json.dumps(public, ensure_ascii=False)
    with at(opens + timedelta(hours=1, seconds=1)):
        status, closed = http("GET", f"{base}/auction-lots/{lot['id']}", token=ent)
    assert status == 200 and closed["status"] == "sold" and closed["contract"]
    status, signed = http("POST", f"{base}/auction-lots/{lot['id']}/sign", {}, token=ent)
    assert status == 200 and signed["confirmed_at"]
    status, results = http("GET", f"{base}/auction-sessions/{session['id']}/results")
    assert status == 200
    assert (results["sold"], results["total_fen"]) == (1, START + INC)
    assert results["premium_pct"] == "5.0" and results["benchmark_pct"] == "35.6"


# --- reads ----------------------------------------------------------------------------------


def test_what_each_role_sees_of_a_lot(client, world) -> None:
    a = auction(reserve_fen=START * 2)
    u1, o1, _ = bidder(a.session)
    u2, _o2, _ = bidder(a.session)
    bid(u1, a.lot, START)
    bid(u2, a.lot, START + INC)
    url = f"{API}/auction-lots/{a.lot.pk}"

    public = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    assert [h["bidder"] for h in public["history"]] == ["Bidder 2", "Bidder 1"]
    assert o1.name_zh not in json.dumps(public, ensure_ascii=False)
    assert public["reserve_fen"] is None and public["reserve_met"] is None
    assert public["current_price_fen"] == START + INC
    assert public["next_bid_fen"] == START + 2 * INC
    assert [q["amount_fen"] for q in public["quick_bids"]] == [
        START + 2 * INC,
        START + 3 * INC,
        START + 6 * INC,
    ]
    assert public["can_bid"] is False and public["cannot_bid_reason"]
    assert 0 < public["seconds_left"] <= 3600

    client.force_login(u1)
    mine = client.get(url).json()
    assert mine["can_bid"] is True
    assert [h["mine"] for h in mine["history"]] == [False, True]

    client.force_login(world.operator)
    staff = client.get(url).json()
    assert o1.name_zh in staff["history"][1]["bidder"]
    assert staff["reserve_fen"] == START * 2 and staff["reserve_met"] is False

    client.force_login(a.seller)
    seller = client.get(url).json()
    assert seller["reserve_fen"] == START * 2
    assert o1.name_zh not in json.dumps(seller, ensure_ascii=False)


def test_session_list_and_detail(client, world) -> None:
    a = auction()
    services.create_session(actor=a.op, data=session_input(timezone.now()))
    listing = client.get(f"{API}/auction-sessions").json()
    assert listing["total"] == 2
    assert {s["phase"] for s in listing["items"]} == {"announced", "live"}
    detail = client.get(f"{API}/auction-sessions/{a.session.pk}").json()
    assert [lot["id"] for lot in detail["lots"]] == [a.lot.pk]
    assert detail["results"]["lots"] == 1 and detail["my_registrations"] == []
    assert_error(client.get(f"{API}/auction-sessions/999999"), 404)
    assert_error(client.get(f"{API}/auction-lots/999999"), 404)


def test_registrations_are_for_operators_and_auditors(client, world) -> None:
    a = auction()
    bidder(a.session)
    url = f"{API}/auction-sessions/{a.session.pk}/registrations"
    assert_error(client.get(url), 401)
    client.force_login(world.enterprise_member)
    assert_error(client.get(url), 403)
    client.force_login(world.auditor)
    rows = client.get(url).json()
    assert len(rows) == 1 and rows[0]["deposit_status"] == "held"


# --- writes: errors -------------------------------------------------------------------------------


def test_stale_bid_is_409_with_the_current_price(client) -> None:
    a = auction()
    u1, _o1, _ = bidder(a.session)
    u2, _o2, _ = bidder(a.session)
    bid(u1, a.lot, START + 2 * INC)
    client.force_login(u2)
    body = assert_error(
        post(client, f"{API}/auction-lots/{a.lot.pk}/bids", {"amount_fen": START + INC}),
        409,
        "amount_fen",
    )
    assert "2,200,000.00" in body["detail"] and "2,300,000.00" in body["detail"]
    assert_error(
        post(client, f"{API}/auction-lots/{a.lot.pk}/bids", {"amount_fen": START + 2 * INC + 7}),
        400,
        "amount_fen",
    )
    resp = post(client, f"{API}/auction-lots/{a.lot.pk}/bids", {"amount_fen": START + 3 * INC})
    assert resp.status_code == 201 and resp.json()["seq"] == 2
    assert_error(post(client, f"{API}/auction-lots/{a.lot.pk}/bids", {"amount_fen": "x"}), 422)


def test_session_validation_errors_name_the_fields(client, world) -> None:
    client.force_login(world.operator)
    now = timezone.now()
    body = assert_error(
        post(
            client,
            f"{API}/auction-sessions",
            {
                "title": "拍卖会",
                "announcement": "公告",
                "viewing_starts_at": iso(now + timedelta(days=1)),
                "viewing_ends_at": iso(now + timedelta(days=2)),
                "starts_at": iso(now + timedelta(days=3)),
            },
        ),
        400,
    )
    assert {e["field"] for e in body["errors"]} == {"starts_at", "viewing_ends_at"}


# --- the permission table -------------------------------------------------------------------------

ROLES = ["anonymous", "outsider", "enterprise_member", "provider_member", "auditor", "operator"]


@pytest.fixture
def table(world) -> dict[str, Any]:
    """A live lot sold by the provider, the enterprise registered with a deposit; an
    unsold lot; a pending lot; a session not yet open."""
    live = auction(seller_org=world.provider, duration=timedelta(hours=6))
    reg = services.register_bidder(
        actor=world.enterprise_member,
        session_id=live.session.pk,
        organisation_id=world.enterprise.pk,
    )
    services.record_deposit(actor=world.operator, registration_id=reg.pk, amount_fen=DEPOSIT)
    unsold = auction(seller_org=world.provider)
    with at(end(unsold)):
        services.close_lot(lot_id=unsold.lot.pk)
    upcoming = services.create_session(actor=world.operator, data=session_input(timezone.now()))
    resource = achievement(world.provider, world.provider_member)
    pending = services.offer_lot(
        actor=world.provider_member,
        session_id=upcoming.pk,
        data=services.LotInput(
            resource_id=resource.pk,
            starting_price_fen=START,
            increment_fen=INC,
            starts_at=upcoming.starts_at,
            scheduled_end_at=upcoming.starts_at + timedelta(hours=1),
            hard_end_at=upcoming.starts_at + timedelta(hours=2),
            field="electronics",
        ),
    )
    return {
        "live": live.lot,
        "session": live.session,
        "unsold": unsold.lot,
        "upcoming": upcoming,
        "pending": pending,
        "registration": reg,
        "resource": achievement(world.provider, world.provider_member),
    }


def _case(name: str, t: dict[str, Any], world) -> tuple[str, dict[str, Any]]:
    now = timezone.now()
    opens = t["upcoming"].starts_at
    return {
        "create_session": (
            f"{API}/auction-sessions",
            {
                "title": "新拍卖会",
                "announcement": "公告",
                "viewing_starts_at": iso(now + timedelta(days=1)),
                "viewing_ends_at": iso(now + timedelta(days=4)),
                "starts_at": iso(now + timedelta(days=8)),
            },
        ),
        "offer_lot": (
            f"{API}/auction-sessions/{t['upcoming'].pk}/lots",
            {
                "resource": t["resource"].pk,
                "starting_price_fen": START,
                "increment_fen": INC,
                "starts_at": iso(opens),
                "scheduled_end_at": iso(opens + timedelta(hours=1)),
                "hard_end_at": iso(opens + timedelta(hours=2)),
                "field": "electronics",
            },
        ),
        "approve_lot": (f"{API}/auction-lots/{t['pending'].pk}/approve", {}),
        "register": (
            f"{API}/auction-sessions/{t['upcoming'].pk}/registrations",
            {"organisation": world.enterprise.pk},
        ),
        "record_deposit": (
            f"{API}/auction-registrations/{t['registration'].pk}/deposit",
            {"amount_fen": DEPOSIT},
        ),
        "bid": (f"{API}/auction-lots/{t['live'].pk}/bids", {"amount_fen": START}),
        "reoffer": (
            f"{API}/auction-lots/{t['unsold'].pk}/reoffer",
            {"session": t["upcoming"].pk},
        ),
    }[name]


# endpoint → the role that succeeds (and its status); everyone else is refused: anonymous
# 401, the others 403 (404 where the object is hidden from them).
SUCCEEDS = {
    "create_session": ("operator", 201),
    "offer_lot": ("provider_member", 201),
    "approve_lot": ("operator", 200),
    "register": ("enterprise_member", 201),
    "record_deposit": ("operator", 409),  # already recorded: only the operator gets this far
    "bid": ("enterprise_member", 201),
    "reoffer": ("provider_member", 201),
}
ALSO_ALLOWED = {("reoffer", "operator"): 201}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(SUCCEEDS))
def test_permission_table(client, world, table, endpoint: str, role: str) -> None:
    url, body = _case(endpoint, table, world)
    if role != "anonymous":
        client.force_login(User.objects.get(pk=getattr(world, role).pk))
    resp = post(client, url, body)
    winner, ok = SUCCEEDS[endpoint]
    if role == winner:
        assert resp.status_code == ok, (resp.status_code, resp.content[:300])
    elif (endpoint, role) in ALSO_ALLOWED:
        assert resp.status_code == ALSO_ALLOWED[endpoint, role], resp.content[:300]
    elif role == "anonymous":
        assert_error(resp, 401)
    else:
        assert resp.status_code in (403, 404), (resp.status_code, resp.content[:300])
    assert AuctionLot.objects.filter(pk=table["live"].pk).exists()


@pytest.fixture(autouse=True)
def _messages_in_english(english: None) -> None:
    """These tests assert the English wording of messages."""
