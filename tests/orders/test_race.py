"""Concurrency with real threads released together by a barrier (CONVENTIONS habit 8).

Each race is first shown to happen with the protection switched off, then shown to be
stopped with it on, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from innocommons.core.errors import DomainError
from innocommons.orders.models import Booking, Order
from innocommons.orders.services import bookings as booking_services
from tests import factories
from tests.orders.factories import ROUTE, at, book, instrument, order, service, step

N = 20
POSTGRES = connection.vendor == "postgresql"


def race(jobs: list[Callable[[], Any]]) -> list[str]:
    """Run the jobs in threads that start at the same instant; 'ok' or the error status."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            job()
            result = "ok"
        except DomainError as exc:
            result = str(exc.status)
        except Exception as exc:  # a crash must fail the test, not vanish in the thread
            result = f"crash: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(outcomes) == len(jobs), "a thread hung"
    return outcomes


def bookers(count: int) -> list[tuple[Any, Any]]:
    out = []
    for i in range(count):
        org = factories.org(name=f"并发企业{i}")
        user = factories.user()
        factories.member(user, org)
        out.append((user, org))
    return out


def widen_the_window(monkeypatch: Any) -> None:
    """Hold every booker between its overlap check and its insert until all have checked
    (or 3 s have passed). Without protection this makes the race certain instead of likely;
    with the lock, the first booker times out here while the others queue for the lock."""
    rendezvous = threading.Barrier(N)
    check = booking_services._check_capacity

    def check_then_wait(*args: Any, **kwargs: Any) -> None:
        try:
            check(*args, **kwargs)
        finally:
            try:
                rendezvous.wait(timeout=3)
            except threading.BrokenBarrierError:
                pass

    monkeypatch.setattr(booking_services, "_check_capacity", check_then_wait)


def twenty_bookings_of_one_slot(world: Any, monkeypatch: Any) -> tuple[list[str], int]:
    widen_the_window(monkeypatch)
    r = instrument(world)
    people = bookers(N)
    start, end = at(3, "10:00"), at(3, "12:00")
    jobs = [
        (lambda u=u, o=o: book(world, r, start, end, actor=u, organisation_id=o.pk))
        for u, o in people
    ]
    outcomes = race(jobs)
    assert not [o for o in outcomes if o.startswith("crash")], outcomes
    return outcomes, Booking.objects.filter(resource=r, status__in=Booking.ACTIVE).count()


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_bookings_of_one_slot_give_exactly_one(world, monkeypatch) -> None:
    outcomes, kept = twenty_bookings_of_one_slot(world, monkeypatch)
    assert kept == 1
    assert sorted(outcomes) == ["409"] * (N - 1) + ["ok"]


@pytest.mark.django_db(transaction=True)
def test_without_the_lock_and_check_the_race_happens(world, monkeypatch) -> None:
    """The naive check-then-insert: on SQLite several bookings of one slot get through; on
    PostgreSQL the exclusion constraint still stops all but one (as a 409)."""
    monkeypatch.setattr(booking_services, "LOCKING", False)
    outcomes, kept = twenty_bookings_of_one_slot(world, monkeypatch)
    if POSTGRES:
        assert kept == 1
        assert sorted(outcomes) == ["409"] * (N - 1) + ["ok"]
    else:
        assert kept == N, "the race did not show; the test proves nothing"


@pytest.mark.skipif(not POSTGRES, reason="the exclusion constraint exists on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_postgres_without_lock_and_constraint_the_race_happens(world, monkeypatch) -> None:
    monkeypatch.setattr(booking_services, "LOCKING", False)
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE orders_booking DROP CONSTRAINT booking_no_overlap")
    try:
        _outcomes, kept = twenty_bookings_of_one_slot(world, monkeypatch)
        assert kept == N, "the race did not show; the test proves nothing"
    finally:
        Booking.objects.all().delete()
        with connection.cursor() as cur:
            cur.execute(
                "ALTER TABLE orders_booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist "
                "(resource_id WITH =, tstzrange(start, \"end\", '[)') WITH &&) "
                "WHERE (status IN ('pending', 'confirmed'))"
            )


@pytest.mark.skipif(not POSTGRES, reason="checks the lock alone, with the constraint dropped")
@pytest.mark.django_db(transaction=True)
def test_postgres_the_lock_alone_prevents_the_race(world, monkeypatch) -> None:
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE orders_booking DROP CONSTRAINT booking_no_overlap")
    try:
        outcomes, kept = twenty_bookings_of_one_slot(world, monkeypatch)
        assert kept == 1 and sorted(outcomes) == ["409"] * (N - 1) + ["ok"]
    finally:
        Booking.objects.all().delete()
        with connection.cursor() as cur:
            cur.execute(
                "ALTER TABLE orders_booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist "
                "(resource_id WITH =, tstzrange(start, \"end\", '[)') WITH &&) "
                "WHERE (status IN ('pending', 'confirmed'))"
            )


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_get_distinct_refs(world) -> None:
    s = service(world)
    outcomes = race([lambda: order(world, s) for _ in range(10)])
    assert outcomes == ["ok"] * 10
    refs = list(Order.objects.values_list("ref", flat=True))
    assert len(set(refs)) == 10 and all(r.startswith("OR") for r in refs)


@pytest.mark.django_db(transaction=True)
def test_one_invoice_number_recorded_twice_at_once_is_kept_once(world) -> None:
    s = service(world)
    orders = []
    for _ in range(2):
        o = order(world, s)
        for name, who in ROUTE["completed"]:
            step(world, o.pk, name, who)
        orders.append(o)
    outcomes = race(
        [lambda o=o: step(world, o.pk, "invoice", "provider", invoice_no="FP-1") for o in orders]
    )
    assert sorted(outcomes) == ["409", "ok"]
    assert Order.objects.filter(invoice_no="FP-1").count() == 1
