"""Reads: free slots for the calendar, the next free slot, service hours and ratings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from innocommons.core.errors import NotFound
from innocommons.orders import hours, selectors, services
from innocommons.orders.models import Booking
from tests import factories
from tests.orders.factories import ROUTE, at, book, day, instrument, order, service, step

pytestmark = pytest.mark.django_db


def labels(d: selectors.Day) -> list[str]:
    return [f"{hours.local(s.start):%H:%M}-{hours.local(s.end):%H:%M}" for s in d.slots]


def test_free_slots_subtract_bookings_and_blackouts(world) -> None:
    r = instrument(world, min_minutes=60)
    book(world, r, at(3, "10:00"), at(3, "12:00"))
    services.add_blackout(
        actor=world.provider_member, resource_id=r.pk, start=at(3, "14:00"), end=at(3, "15:00")
    )
    (d,) = selectors.free_slots(r, day(3), 1)
    assert d.opening == (at(3, "08:00"), at(3, "20:00"))
    assert labels(d) == ["08:00-10:00", "12:00-14:00", "15:00-20:00"]
    assert d.slots[0].suggested_end == at(3, "09:00") and d.slots[0].minutes == 120


def test_gaps_shorter_than_the_minimum_are_left_out(world) -> None:
    r = instrument(world, min_minutes=60)
    book(world, r, at(3, "08:30"), at(3, "12:00"))
    (d,) = selectors.free_slots(r, day(3), 1)
    assert labels(d) == ["12:00-20:00"]


def test_pending_bookings_hold_their_slot_cancelled_ones_do_not(world) -> None:
    r = instrument(world, needs_approval=True)
    pending = book(world, r, at(3, "10:00"), at(3, "12:00"))
    assert "10:00-12:00" not in " ".join(labels(selectors.free_slots(r, day(3), 1)[0]))
    services.cancel_booking(actor=world.enterprise_member, booking_id=pending.pk)
    assert labels(selectors.free_slots(r, day(3), 1)[0]) == ["08:00-20:00"]


def test_lead_time_horizon_and_closed_days(world) -> None:
    target = day(3)
    open_days = "".join(d for d in "1234567" if d != str(target.isoweekday()))
    r = instrument(world, weekdays=open_days, horizon_days=5, lead_time_hours=24)
    days = selectors.free_slots(r, day(0), 8)
    by_day = {d.day: d for d in days}
    assert by_day[day(0)].slots == []  # all of today is within the lead time
    assert by_day[target].opening is None and by_day[target].slots == []
    assert by_day[day(6)].opening is None  # beyond the horizon
    assert by_day[day(4)].slots
    earliest = timezone.now() + timedelta(hours=24)
    assert all(s.start >= earliest for d in days for s in d.slots)


def test_free_slots_take_a_fixed_number_of_queries(world, django_assert_max_num_queries) -> None:
    r = instrument(world)
    for n in range(3, 8):
        book(world, r, at(n, "10:00"), at(n, "11:00"))
    r = type(r).objects.select_related("instrument", "calendar").get(pk=r.pk)
    with django_assert_max_num_queries(2):
        days = selectors.free_slots(r, day(0), 31)
    assert len(days) == 31


def test_next_free_slot(world) -> None:
    r = instrument(world, opens="09:00", closes="11:00", min_minutes=120, lead_time_hours=0)
    # Fill the next days completely: the next slot moves on.
    first = selectors.next_free_slot(r)
    assert first is not None
    for n in range(0, 4):
        start = at(n, "09:00")
        if start > timezone.now():
            Booking.objects.create(
                resource=r,
                organisation=world.enterprise,
                start=start,
                end=at(n, "11:00"),
                status="confirmed",
            )
    nxt = selectors.next_free_slot(r)
    assert nxt is not None and nxt.start == at(4, "09:00")
    assert "09:00–11:00" in nxt.label


def test_no_free_slot_when_everything_is_blocked(world) -> None:
    r = instrument(world, horizon_days=3)
    services.add_blackout(
        actor=world.provider_member,
        resource_id=r.pk,
        start=timezone.now(),
        end=timezone.now() + timedelta(days=5),
        reason="搬迁",
    )
    assert selectors.next_free_slot(r) is None


def test_usage_counts_hours_once_and_averages_ratings(world) -> None:
    r = instrument(world)
    now = timezone.now()
    # A finished confirmed booking (2 h), a finished cancelled one (ignored).
    Booking.objects.create(
        resource=r,
        organisation=world.enterprise,
        start=now - timedelta(hours=5),
        end=now - timedelta(hours=3),
        status="confirmed",
    )
    Booking.objects.create(
        resource=r,
        organisation=world.enterprise,
        start=now - timedelta(days=2, hours=5),
        end=now - timedelta(days=2, hours=3),
        status="cancelled",
    )
    # A finished booking whose completed order recorded 1.5 h: counted once, as 1.5 h.
    booked = Booking.objects.create(
        resource=r,
        organisation=world.enterprise,
        start=now - timedelta(days=1, hours=4),
        end=now - timedelta(days=1),
        status="confirmed",
    )
    o = order(world, r, booking_id=booked.pk)
    for name, who in ROUTE["completed"]:
        step(world, o.pk, name, who, **({"service_hours": "1.5"} if name == "deliver" else {}))
    step(world, o.pk, "rate", "client", score=4)
    u = selectors.usage(resource_id=r.pk)
    assert u.service_hours == Decimal("3.5") and u.rating_avg == 4.0 and u.rating_count == 1

    s = service(world)
    o2 = order(world, s)
    for name, who in ROUTE["completed"]:
        step(world, o2.pk, name, who, **({"service_hours": "2"} if name == "deliver" else {}))
    step(world, o2.pk, "rate", "client", score=5)
    org = selectors.usage(organisation_id=world.provider.pk)
    assert org.service_hours == Decimal("5.5") and org.rating_avg == 4.5 and org.rating_count == 2
    assert selectors.usage(organisation_id=world.enterprise.pk).rating_count == 0


def test_resource_usage_context(world) -> None:
    r = instrument(world)
    ctx = selectors.resource_usage(world.enterprise_member, r)
    assert ctx["bookable"] and ctx["next_slot"] is not None
    assert ctx["book_url"] == f"/resources/{r.pk}/book/" and ctx["calendar_url"] == ""
    mine = selectors.resource_usage(world.provider_member, r)
    assert mine["is_provider"] and mine["calendar_url"] == f"/resources/{r.pk}/calendar/"
    a = factories.resource(world.provider, actor=world.provider_member)
    assert not selectors.resource_usage(world.enterprise_member, a)["orderable"]


def test_lists_show_only_my_organisations(world) -> None:
    r = instrument(world)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    o = order(world)
    assert list(selectors.bookings_made(world.enterprise_member)) == [b]
    assert list(selectors.bookings_received(world.provider_member)) == [b]
    assert list(selectors.bookings_made(world.provider_member)) == []
    assert list(selectors.orders_for(world.enterprise_member, "placed")) == [o]
    assert list(selectors.orders_for(world.provider_member, "received")) == [o]
    assert list(selectors.orders_for(world.outsider, "placed")) == []
    assert list(selectors.orders_for(world.enterprise_member, "placed", "closed")) == []
    with pytest.raises(NotFound):
        selectors.get_order(world.outsider, o.pk)
    assert selectors.get_order(world.auditor, o.pk) == o
