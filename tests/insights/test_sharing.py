"""Catalog and shared-use figures: listings, bookings, hours, utilisation, ratings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from innocommons.catalog.models import Resource
from innocommons.insights import periods
from innocommons.insights.periods import TZ
from innocommons.insights.selectors import sharing
from innocommons.orders.models import Booking, Order, Rating
from tests import factories as f

pytestmark = pytest.mark.django_db

MARCH = periods.parse("2025-03")


def at(day: int, hour: int) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=TZ)


@pytest.fixture
def instrument_use(world):
    nmr = f.resource(world.provider, kind="instrument", title_zh="核磁共振波谱仪", title_en="NMR")
    idle = f.resource(world.provider, kind="instrument", title_zh="闲置仪器")
    user = world.enterprise
    for day, start, end, status in (
        (3, 10, 13, Booking.Status.CONFIRMED),
        (4, 9, 15, Booking.Status.CONFIRMED),
        (5, 9, 17, Booking.Status.CANCELLED),  # never used: not counted
    ):
        Booking.objects.create(
            resource=nmr, organisation=user, start=at(day, start), end=at(day, end), status=status
        )
    Booking.objects.create(
        resource=nmr,
        organisation=user,
        start=datetime(2025, 4, 1, 9, tzinfo=TZ),
        end=datetime(2025, 4, 1, 10, tzinfo=TZ),
        status=Booking.Status.CONFIRMED,
    )
    order = Order.objects.create(
        ref="T-NMR-1",
        client=user,
        provider=world.provider,
        resource=nmr,
        status=Order.Status.COMPLETED,
        fee_fen=100_00,
        service_hours=Decimal("2.5"),
        completed_at=at(20, 12),
    )
    Rating.objects.create(order=order, score=4)
    return nmr, idle


def test_instrument_hours_and_utilisation(instrument_use) -> None:
    nmr, _idle = instrument_use
    (row,) = sharing.instruments(MARCH)
    assert row.resource_id == nmr.pk
    assert (row.bookings, row.hours) == (2, Decimal("9.0"))
    # March 2025 has 21 weekdays; the default calendar opens 08:30–17:30 (9 hours)
    assert row.open_hours == Decimal("189.0")
    assert row.utilisation == Decimal("4.8")
    assert (row.rating, row.ratings) == (4.0, 1)
    assert sharing.booking_totals(MARCH) == (2, Decimal("9.0"))


def test_providers(instrument_use, world) -> None:
    (row,) = sharing.providers(MARCH)
    assert row.organisation_id == world.provider.pk
    assert (row.orders, row.service_hours, row.booked_hours) == (1, Decimal("2.5"), Decimal("9.0"))
    assert sharing.providers(periods.parse("2025-04")) == []


def test_listings(world) -> None:
    f.resource(world.provider, kind="instrument")
    f.resource(world.provider, kind="service")
    f.resource(world.provider, kind="service", field=None)
    f.resource(world.provider, kind="achievement", publish=False)  # a draft
    data = sharing.listings(periods.current_year())
    assert data.by_kind == {"instrument": 1, "service": 2, "achievement": 0, "expert": 0}
    assert data.total == 3
    month = timezone.localdate().replace(day=1)
    assert data.by_month[month] == {"instrument": 1, "service": 2}
    assert data.by_region == [("320000", {"instrument": 1, "service": 2})]
    assert sharing.listings(periods.current_year(), "330000").total == 0
    assert Resource.objects.count() == 4
