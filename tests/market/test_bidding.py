"""The bid path's cost and its hand-written SQL (innocommons.market.services.bidding): the
queries one bid makes, the bid and lot it returns against what was stored, the retry on a
stale state, the staff verdict read with the lot against accounts.permissions', and ids
that name no lot. The bid rules themselves are tested in test_auctions.py, bids under
concurrency in test_auction_races.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from innocommons.accounts.models import User
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.core.models import AuditEntry
from innocommons.market.models import AuctionLot, Bid
from innocommons.market.services import auctions as services
from innocommons.market.services import bidding
from innocommons.vouchers.demo import at
from tests import factories as f
from tests.market.test_auctions import INC, START, auction, bid, bidder

pytestmark = pytest.mark.django_db

# One accepted bid: one read (the lot, the actor's staff roles and organisations with
# their registrations), then the conditional UPDATE, the bid and the audit entry in one
# transaction.
ACCEPTED_BID_QUERIES = 4


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The statements run, without the transaction's own (BEGIN, SAVEPOINT, COMMIT, …):
    they differ between a test, which wraps everything in a transaction, and production.
    (Prepared statements on PostgreSQL are logged without their text.)"""
    control = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "COMMIT")
    run = [q["sql"] or "(prepared)" for q in queries.captured_queries]
    return [sql for sql in run if not sql.startswith(control)]


def test_an_accepted_bid_makes_four_queries() -> None:
    a = auction()
    user, _org, _reg = bidder(a.session)
    actor = User.objects.get(pk=user.pk)  # a fresh user: no permissions cached yet
    with CaptureQueriesContext(connection) as queries:
        bidding.place_bid(actor=actor, lot_id=a.lot.pk, amount_fen=START)
    run = statements(queries)
    assert len(run) <= ACCEPTED_BID_QUERIES, "\n".join(run)


def test_the_queries_do_not_grow_with_the_bidders_organisations(world) -> None:
    a = auction()
    user, org, _reg = bidder(a.session)
    for other in (world.enterprise, world.provider):  # one of them registered too
        f.member(user, other)
    services.register_bidder(
        actor=User.objects.get(pk=user.pk),
        session_id=a.session.pk,
        organisation_id=world.enterprise.pk,
    )
    actor = User.objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as queries:
        placed = bidding.place_bid(
            actor=actor, lot_id=a.lot.pk, amount_fen=START, organisation_id=org.pk
        )
    assert placed.bidder_id == org.pk
    assert len(statements(queries)) <= ACCEPTED_BID_QUERIES


def test_a_bid_on_a_lot_that_moved_on_is_refused_after_one_read() -> None:
    a = auction()
    first, _o1, _r1 = bidder(a.session)
    late, _o2, _r2 = bidder(a.session)
    bid(first, a.lot, START + INC)
    actor = User.objects.get(pk=late.pk)
    with CaptureQueriesContext(connection) as queries, pytest.raises(DomainError) as exc:
        bidding.place_bid(actor=actor, lot_id=a.lot.pk, amount_fen=START + INC)
    assert exc.value.status == 409
    assert len(statements(queries)) == 1


def test_the_bid_returned_is_the_bid_stored() -> None:
    a = auction(duration=timedelta(hours=1), extension=timedelta(minutes=30))
    user, org, registration = bidder(a.session)
    moment = a.lot.scheduled_end_at - timedelta(minutes=2)  # inside the soft-close window
    with at(moment):
        placed = bidding.place_bid(
            actor=User.objects.get(pk=user.pk), lot_id=a.lot.pk, amount_fen=START + 2 * INC
        )
    stored = Bid.objects.get(pk=placed.pk)
    fields = ("lot_id", "seq", "amount_fen", "bidder_id", "bidder_no", "placed_by_id", "placed_at")
    assert [getattr(placed, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert (stored.seq, stored.bidder_id, stored.bidder_no) == (1, org.pk, registration.number)
    assert stored.placed_at == moment
    # The lot handed back with the bid is the lot as the bid left it.
    lot = AuctionLot.objects.get(pk=a.lot.pk)
    assert (placed.lot.high_bid_fen, placed.lot.bid_count, placed.lot.high_bidder_id) == (
        lot.high_bid_fen,
        lot.bid_count,
        lot.high_bidder_id,
    )
    assert placed.lot.ends_at == lot.ends_at == moment + timedelta(minutes=5)
    entry = AuditEntry.objects.get(action="market.auction.bid", target_id=str(a.lot.pk))
    assert entry.region_id == a.seller_org.region_id
    assert entry.actor_id == user.pk
    assert entry.after == {
        "seq": 1,
        "amount_fen": START + 2 * INC,
        "bidder": org.pk,
        "bidder_no": registration.number,
        "ends_at": lot.ends_at.isoformat(),
    }


def test_a_bid_overtaken_while_deciding_is_decided_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another bid lands between the read and the write: a bid still above the new price is
    retried on the new state; one that no longer is gets 409 with the current price."""
    a = auction()
    rival, _o1, _r1 = bidder(a.session)
    user, org, _r2 = bidder(a.session)
    third, _o3, _r3 = bidder(a.session)
    write = bidding._write_bid
    rival_bids: list[int] = []  # what the rival bids just before the next write

    def rival_first(*args: Any) -> Bid | None:
        if rival_bids:
            bid(rival, a.lot, rival_bids.pop())
        return write(*args)

    monkeypatch.setattr(bidding, "_write_bid", rival_first)
    rival_bids.append(START)
    placed = bid(user, a.lot, START + 2 * INC)  # decided on "no bids yet"
    assert (placed.seq, placed.amount_fen, placed.bidder_id) == (2, START + 2 * INC, org.pk)
    rival_bids.append(START + 3 * INC)
    with pytest.raises(DomainError) as exc:  # decided on START + 2 INC
        bid(third, a.lot, START + 3 * INC)
    assert exc.value.status == 409
    assert "the current price is ¥2,300,000.00" in str(exc.value.message)
    amounts = Bid.objects.filter(lot=a.lot).order_by("seq").values_list("amount_fen", flat=True)
    assert list(amounts) == [START, START + 2 * INC, START + 3 * INC]


@pytest.mark.parametrize("role", ["operator", "auditor", "superuser", "regional_admin", ""])
def test_staff_are_refused_as_the_permissions_decide(role: str) -> None:
    """The bid reads the actor's staff roles itself: its verdict is staff_problem's."""
    a = auction()
    _first, org, _reg = bidder(a.session)
    user = f.user(is_superuser=role == "superuser")
    if role in ("operator", "auditor", "regional_admin"):
        f.staff(user, role, region="310000" if role == "regional_admin" else None)
    f.member(user, org)  # a member of a registered bidder, deposit recorded
    expected = services.staff_problem(User.objects.get(pk=user.pk))
    assert (expected is None) == (role in ("", "regional_admin"))
    if expected is None:
        assert bid(user, a.lot, START).bidder_id == org.pk
    else:
        with pytest.raises(PermissionDenied) as exc:
            bid(user, a.lot, START)
        assert str(exc.value.message) == expected


@pytest.mark.parametrize("lot_id", ["abc", None, 0, -1, 2**63, 10**30])
def test_ids_that_name_no_lot(lot_id: Any) -> None:
    a = auction()
    user, _org, _reg = bidder(a.session)
    with pytest.raises(NotFound):
        bidding.place_bid(actor=User.objects.get(pk=user.pk), lot_id=lot_id, amount_fen=START)


def test_a_lot_id_as_text_names_the_lot() -> None:
    a = auction()
    user, _org, _reg = bidder(a.session)
    placed = bidding.place_bid(
        actor=User.objects.get(pk=user.pk), lot_id=str(a.lot.pk), amount_fen=START
    )
    assert placed.lot_id == a.lot.pk
