"""Bids and the hammer under concurrency: real threads released together by a barrier,
each with its own database connection, against the real database (SQLite file with WAL
and IMMEDIATE transactions, or PostgreSQL). The conditional update is first switched off
to show that the race it prevents really happens (CONVENTIONS habit 8), then shown to
hold with it on: the history stays strictly increasing, without gaps or duplicates, and
the lot has one winner.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection

from innocommons.accounts.models import User
from innocommons.core.errors import DomainError
from innocommons.core.models import AuditEntry
from innocommons.market import tasks
from innocommons.market.models import AuctionLot, Bid, TechContract
from innocommons.market.selectors import auctions as selectors
from innocommons.market.services import auctions as auction_service
from innocommons.market.services import bidding
from innocommons.vouchers.demo import at
from tests.market.test_auctions import INC, START, Auction, auction, bidder

pytestmark = pytest.mark.django_db(transaction=True)

BIDDERS = 20


def race(work: Callable[[int], Any], n: int = BIDDERS) -> list[tuple[str, Any]]:
    """Run work(0) … work(n-1) in n threads released at the same instant.

    One (outcome, value) per thread: ("ok", result), ("409"/"400"/…, DomainError),
    ("constraint", IntegrityError).
    """
    barrier = threading.Barrier(n)
    results: list[tuple[str, Any]] = [("missing", None)] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = ("ok", work(i))
        except DomainError as exc:
            results[i] = (str(exc.status), exc)
        except IntegrityError as exc:
            results[i] = ("constraint", exc)
        except Exception as exc:  # reported by the assertion below, with the thread's error
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    errors = [value for outcome, value in results if outcome in ("error", "missing")]
    assert not errors, errors
    return results


def tally(results: list[tuple[str, Any]]) -> Counter[str]:
    return Counter(outcome for outcome, _value in results)


def assert_history_sound(lot: AuctionLot) -> list[Bid]:
    """Sequence 1..n without gaps or duplicates, amounts strictly increasing, each a whole
    number of increments above the one before, and the lot's cached state = the last bid."""
    bids = list(Bid.objects.filter(lot=lot).order_by("seq"))
    assert [b.seq for b in bids] == list(range(1, len(bids) + 1))
    amounts = [b.amount_fen for b in bids]
    assert all(b > a for a, b in itertools.pairwise(amounts)), amounts
    assert all((b - a) % lot.increment_fen == 0 for a, b in itertools.pairwise(amounts))
    if bids:
        assert (amounts[0] - lot.starting_price_fen) % lot.increment_fen == 0
    lot.refresh_from_db()
    assert lot.bid_count == len(bids)
    if bids:
        assert (lot.high_bid_fen, lot.high_bidder_id) == (bids[-1].amount_fen, bids[-1].bidder_id)
    return bids


@pytest.fixture
def crowd(transactional_db: Any) -> tuple[Auction, list[User]]:
    """One open lot and 20 registered bidders with deposits."""
    a = auction()
    users = [bidder(a.session)[0] for _ in range(BIDDERS)]
    return a, users


def bid_at_once(a: Auction, users: list[User], amounts: list[int]) -> list[tuple[str, Any]]:
    def work(i: int) -> Bid:
        actor = User.objects.get(pk=users[i].pk)  # one user object per thread
        return auction_service.place_bid(actor=actor, lot_id=a.lot.pk, amount_fen=amounts[i])

    return race(work)


def slow_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold every bid for a moment between reading the lot and writing, as a loaded server
    would: the bid path takes well under a millisecond, too short for threads to meet in it
    reliably."""
    write = bidding._write_bid

    def slow_write(*args: Any) -> Bid | None:
        time.sleep(0.02)
        return write(*args)

    monkeypatch.setattr(bidding, "_write_bid", slow_write)


def test_without_the_conditional_update_bids_collide(
    crowd: tuple[Auction, list[User]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race exists: with CONDITIONAL off, each bid is written on the state read before
    its transaction, so bids decided on the same high bid claim the same sequence number
    (and lower bids overwrite higher ones); only the unique constraints stop them."""
    a, users = crowd
    monkeypatch.setattr(bidding, "CONDITIONAL", False)
    slow_decisions(monkeypatch)
    amounts = [START + i * INC for i in range(BIDDERS)]
    random.Random(3).shuffle(amounts)
    outcomes = tally(bid_at_once(a, users, amounts))
    assert outcomes["constraint"] > 0, f"no bid passed on a stale state: {outcomes}"


def test_same_amount_exactly_one_wins(
    crowd: tuple[Auction, list[User]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the conditional update, and the same window as above: one bid, 19 refusals."""
    a, users = crowd
    slow_decisions(monkeypatch)
    results = bid_at_once(a, users, [START + INC] * BIDDERS)
    outcomes = tally(results)
    assert outcomes == Counter({"ok": 1, "409": BIDDERS - 1}), outcomes
    stale = next(value for outcome, value in results if outcome == "409")
    assert "2,100,000.00" in str(stale.message)  # the current price is named
    bids = assert_history_sound(a.lot)
    assert len(bids) == 1


def test_twenty_bidders_at_once_leave_a_strictly_increasing_history(
    crowd: tuple[Auction, list[User]],
) -> None:
    a, users = crowd
    rng = random.Random(11)
    amounts = [START + rng.randrange(0, 12) * INC for _ in range(BIDDERS)]
    results = bid_at_once(a, users, amounts)
    outcomes = tally(results)
    assert set(outcomes) <= {"ok", "409"}, outcomes
    accepted = sorted(value.amount_fen for outcome, value in results if outcome == "ok")
    bids = assert_history_sound(a.lot)
    assert [b.amount_fen for b in bids] == accepted
    assert bids[-1].amount_fen == max(amounts)  # the highest offer always gets in
    with at(a.refresh().ends_at + timedelta(seconds=1)):
        tasks.close_due_lots()
    lot = a.refresh()
    assert lot.status == AuctionLot.Status.SOLD
    assert (lot.winner_id, lot.hammer_fen) == (bids[-1].bidder_id, max(amounts))
    assert TechContract.objects.filter(source_ref=f"lot:{lot.pk}").count() == 1


def test_a_bidding_war_stays_sound(crowd: tuple[Auction, list[User]]) -> None:
    """Each bidder keeps raising on the price it last saw, five times."""
    a, users = crowd

    def work(i: int) -> int:
        actor = User.objects.get(pk=users[i].pk)
        placed = 0
        for _round in range(5):
            lot = AuctionLot.objects.get(pk=a.lot.pk)
            try:
                auction_service.place_bid(actor=actor, lot_id=lot.pk, amount_fen=lot.next_bid_fen)
                placed += 1
            except DomainError as exc:
                assert exc.status == 409, exc
        return placed

    results = race(work)
    placed = sum(value for _outcome, value in results)
    bids = assert_history_sound(a.lot)
    assert len(bids) == placed > 0
    entries = AuditEntry.objects.filter(action="market.auction.bid", target_id=str(a.lot.pk))
    assert entries.count() == placed  # every accepted bid audited, nothing else


def test_the_job_and_lazy_reads_close_a_lot_once(crowd: tuple[Auction, list[User]]) -> None:
    a, users = crowd
    auction_service.place_bid(actor=users[0], lot_id=a.lot.pk, amount_fen=START)
    auction_service.place_bid(actor=users[1], lot_id=a.lot.pk, amount_fen=START + INC)
    moment = a.refresh().ends_at + timedelta(seconds=1)

    class Anonymous:
        is_authenticated = False
        is_superuser = False

    def work(i: int) -> Any:
        if i % 2:
            return tasks.close_due_lots()
        return selectors.get_lot(Anonymous(), a.lot.pk).status

    with at(moment):
        results = race(work, 12)
    assert tally(results) == Counter({"ok": 12})
    lot = a.refresh()
    assert lot.status == AuctionLot.Status.SOLD
    closes = AuditEntry.objects.filter(action="market.auction.lot.close", target_id=str(lot.pk))
    assert closes.count() == 1
    assert TechContract.objects.filter(source_ref=f"lot:{lot.pk}").count() == 1
    assert all(value == "sold" for outcome, value in results[::2])
