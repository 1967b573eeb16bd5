"""Booking rules, one test each, and the booking decisions of both sides."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from innocommons.accounts.models import User
from innocommons.catalog.models import Instrument
from innocommons.core.errors import DomainError
from innocommons.core.models import AuditEntry
from innocommons.orders import services
from innocommons.orders.models import Booking
from innocommons.orders.services import bookings as booking_services
from tests import factories
from tests.orders.factories import at, book, day, instrument

pytestmark = pytest.mark.django_db


def other_enterprise():
    org = factories.org(name="另一家企业", region="330100")
    u = factories.user()
    factories.member(u, org)
    return org, u


def refused(fn, *args, **kw) -> DomainError:
    with pytest.raises(DomainError) as exc:
        fn(*args, **kw)
    return exc.value


def test_booking_without_approval_is_confirmed_and_audited(world) -> None:
    r = instrument(world)
    b = book(world, r, at(3, "10:00"), at(3, "12:00"), purpose="SEM 观察")
    assert b.status == Booking.Status.CONFIRMED and b.minutes == 120
    entry = AuditEntry.objects.get(action="booking.create")
    assert entry.actor == world.enterprise_member and entry.after["status"] == "confirmed"


def test_booking_needing_approval_is_pending_but_holds_the_slot(world) -> None:
    r = instrument(world, needs_approval=True)
    assert book(world, r, at(3, "10:00"), at(3, "11:00")).status == Booking.Status.PENDING
    org, u = other_enterprise()
    err = refused(book, world, r, at(3, "10:30"), at(3, "11:30"), actor=u, organisation_id=org.pk)
    assert err.status == 409


def test_naive_times_are_beijing_time(world) -> None:
    r = instrument(world)
    b = book(world, r, at(3, "10:00").replace(tzinfo=None), at(3, "11:00").replace(tzinfo=None))
    assert b.start == at(3, "10:00")


def test_only_members_of_a_verified_organisation_book(world) -> None:
    r = instrument(world)
    slot = (at(3, "10:00"), at(3, "11:00"))
    assert refused(book, world, r, *slot, actor=world.outsider).status == 403
    # org_admin belongs to the pending organisation only as far as bookers go
    err = refused(book, world, r, *slot, actor=world.org_admin, organisation_id=world.pending.pk)
    assert err.status == 403 and err.field == "organisation"


def test_the_owner_cannot_book_its_own_instrument_here(world) -> None:
    r = instrument(world)
    err = refused(
        book,
        world,
        r,
        at(3, "10:00"),
        at(3, "11:00"),
        actor=world.provider_member,
        organisation_id=world.provider.pk,
    )
    assert err.status == 400 and err.field == "resource"


def test_only_published_instruments_are_bookable(world) -> None:
    draft = factories.resource(
        world.provider, actor=world.provider_member, kind="instrument", publish=False
    )
    assert refused(book, world, draft, at(3, "10:00"), at(3, "11:00")).status == 404
    service = factories.resource(world.provider, actor=world.provider_member, kind="service")
    err = refused(book, world, service, at(3, "10:00"), at(3, "11:00"))
    assert err.status == 400 and err.field == "resource"


@pytest.mark.parametrize(
    ("start", "end"),
    [("07:00", "09:00"), ("19:30", "20:30"), ("06:00", "07:00")],
)
def test_outside_opening_hours_is_refused(world, start, end) -> None:
    r = instrument(world, opens="08:00", closes="20:00")
    err = refused(book, world, r, at(3, start), at(3, end))
    assert err.field == "start" and "08:00–20:00" in err.message


def test_a_booking_cannot_run_past_midnight(world) -> None:
    r = instrument(world, opens="00:00", closes="00:00", max_minutes=600)
    err = refused(book, world, r, at(3, "23:00"), at(4, "01:00"))
    assert err.field == "start"
    assert book(world, r, at(3, "22:00"), at(4, "00:00")).minutes == 120  # 00:00 = midnight


def test_closed_weekday_is_refused(world) -> None:
    target = at(3, "10:00")
    open_days = "".join(d for d in "1234567" if d != str(target.isoweekday()))
    r = instrument(world, weekdays=open_days)
    err = refused(book, world, r, target, at(3, "11:00"))
    assert err.field == "start" and "closed" in err.message


def test_minimum_and_maximum_duration(world) -> None:
    r = instrument(world, min_minutes=60, max_minutes=180)
    assert refused(book, world, r, at(3, "10:00"), at(3, "10:30")).field == "end"
    assert refused(book, world, r, at(3, "10:00"), at(3, "13:30")).field == "end"
    assert book(world, r, at(3, "10:00"), at(3, "13:00")).minutes == 180


def test_end_before_start_is_refused(world) -> None:
    r = instrument(world)
    assert refused(book, world, r, at(3, "11:00"), at(3, "10:00")).field == "end"


def test_lead_time(world) -> None:
    r = instrument(world, lead_time_hours=72, opens="00:00", closes="00:00")
    err = refused(book, world, r, at(1, "10:00"), at(1, "11:00"))
    assert err.field == "start" and "72" in err.message
    assert book(world, r, at(4, "10:00"), at(4, "11:00"))


def test_horizon(world) -> None:
    r = instrument(world, horizon_days=10)
    err = refused(book, world, r, at(11, "10:00"), at(11, "11:00"))
    assert err.field == "start" and "10" in err.message
    assert book(world, r, at(10, "10:00"), at(10, "11:00"))


def test_upcoming_bookings_per_organisation_are_limited(world) -> None:
    r = instrument(world, max_future_per_org=2)
    first = book(world, r, at(3, "10:00"), at(3, "11:00"))
    book(world, r, at(4, "10:00"), at(4, "11:00"))
    assert refused(book, world, r, at(5, "10:00"), at(5, "11:00")).status == 409
    org, u = other_enterprise()  # the limit is per organisation
    assert book(world, r, at(5, "10:00"), at(5, "11:00"), actor=u, organisation_id=org.pk)
    services.cancel_booking(actor=world.enterprise_member, booking_id=first.pk)
    assert book(world, r, at(6, "10:00"), at(6, "11:00"))


def test_blackout_periods_are_not_bookable(world) -> None:
    r = instrument(world)
    services.add_blackout(
        actor=world.provider_member,
        resource_id=r.pk,
        start=at(5, "09:00"),
        end=at(5, "12:00"),
        reason="年度校准",
    )
    err = refused(book, world, r, at(5, "11:00"), at(5, "13:00"))
    assert err.status == 409 and "年度校准" in err.message and "09:00–12:00" in err.message
    assert book(world, r, at(5, "12:00"), at(5, "13:00"))


def test_overlap_is_refused_with_the_clash_details(world) -> None:
    r = instrument(world)
    book(world, r, at(3, "10:00"), at(3, "12:00"))
    org, u = other_enterprise()
    for start, end in [
        ("11:00", "13:00"),
        ("09:00", "10:30"),
        ("10:30", "11:30"),
        ("09:00", "13:00"),
    ]:
        err = refused(book, world, r, at(3, start), at(3, end), actor=u, organisation_id=org.pk)
        assert err.status == 409 and "10:00–12:00" in err.message
    # Touching ends do not overlap (half-open ranges).
    assert book(world, r, at(3, "12:00"), at(3, "13:00"), actor=u, organisation_id=org.pk)
    assert book(world, r, at(3, "09:00"), at(3, "10:00"), actor=u, organisation_id=org.pk)


def test_rejected_and_cancelled_bookings_free_the_slot(world) -> None:
    r = instrument(world, needs_approval=True)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    services.reject_booking(actor=world.provider_member, booking_id=b.pk, reason="维护")
    b2 = book(world, r, at(3, "10:00"), at(3, "11:00"))
    services.cancel_booking(actor=world.enterprise_member, booking_id=b2.pk)
    assert book(world, r, at(3, "10:00"), at(3, "11:00")).status == "pending"


def test_approve_and_reject_by_the_provider_only(world) -> None:
    r = instrument(world, needs_approval=True)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    assert (
        refused(services.approve_booking, actor=world.enterprise_member, booking_id=b.pk).status
        == 403
    )
    assert refused(services.approve_booking, actor=world.outsider, booking_id=b.pk).status == 404
    assert (
        refused(
            services.reject_booking, actor=world.provider_member, booking_id=b.pk, reason=" "
        ).field
        == "reason"
    )
    approved = services.approve_booking(actor=world.org_admin, booking_id=b.pk)
    assert approved.status == "confirmed" and approved.decided_at is not None
    err = refused(services.approve_booking, actor=world.provider_member, booking_id=b.pk)
    assert err.status == 409
    assert AuditEntry.objects.filter(action="booking.approve", target_id=str(b.pk)).exists()


def test_booker_cancels_until_the_notice_period(world) -> None:
    r = instrument(world, cancel_notice_hours=24)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    assert (
        services.cancel_booking(actor=world.enterprise_member, booking_id=b.pk).status
        == "cancelled"
    )
    assert (
        refused(services.cancel_booking, actor=world.enterprise_member, booking_id=b.pk).status
        == 409
    )

    late = instrument(world, cancel_notice_hours=24 * 5, title_zh="离子色谱仪")
    b2 = book(world, late, at(3, "10:00"), at(3, "11:00"))
    err = refused(services.cancel_booking, actor=world.enterprise_member, booking_id=b2.pk)
    assert err.status == 409 and "120" in err.message
    assert refused(services.cancel_booking, actor=world.outsider, booking_id=b2.pk).status == 404


def test_provider_cancels_any_time_with_a_reason(world) -> None:
    r = instrument(world, cancel_notice_hours=24 * 5)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    assert (
        refused(services.cancel_booking, actor=world.provider_member, booking_id=b.pk).field
        == "reason"
    )
    done = services.cancel_booking(actor=world.provider_member, booking_id=b.pk, reason="设备故障")
    assert done.status == "cancelled" and done.status_reason == "设备故障"
    entry = AuditEntry.objects.get(action="booking.cancel")
    assert entry.after["by"] == "provider"


def test_a_finished_booking_cannot_be_cancelled(world) -> None:
    r = instrument(world)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    Booking.objects.filter(pk=b.pk).update(
        start=timezone.now() - timedelta(hours=3), end=timezone.now() - timedelta(hours=2)
    )
    err = refused(services.cancel_booking, actor=world.provider_member, booking_id=b.pk, reason="x")
    assert err.status == 409


def test_calendar_settings_by_the_provider(world) -> None:
    r = instrument(world)
    args = dict(
        resource_id=r.pk,
        weekdays="1,2,3",
        opens_at=datetime.strptime("09:00", "%H:%M").time(),
        closes_at=datetime.strptime("17:00", "%H:%M").time(),
        horizon_days=30,
        max_future_per_org=3,
        cancel_notice_hours=48,
    )
    assert refused(services.set_calendar, actor=world.enterprise_member, **args).status == 403
    cal = services.set_calendar(actor=world.provider_member, **args)
    assert cal.weekdays == "123" and cal.horizon_days == 30
    assert AuditEntry.objects.filter(action="calendar.set").count() == 1
    bad = [
        ({"weekdays": "189"}, "weekdays"),
        ({"weekdays": ""}, "weekdays"),
        ({"closes_at": args["opens_at"]}, "closes_at"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"max_future_per_org": 0}, "max_future_per_org"),
        ({"cancel_notice_hours": -1}, "cancel_notice_hours"),
    ]
    for change, field in bad:
        assert (
            refused(services.set_calendar, actor=world.provider_member, **(args | change)).field
            == field
        )


def test_blackouts_by_the_provider(world) -> None:
    r = instrument(world)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    period = dict(resource_id=r.pk, start=at(3, "08:00"), end=at(3, "12:00"))
    assert refused(services.add_blackout, actor=world.enterprise_member, **period).status == 403
    err = refused(services.add_blackout, actor=world.provider_member, **period)
    assert err.status == 409 and "10:00–11:00" in err.message  # cancel the booking first
    assert (
        refused(
            services.add_blackout,
            actor=world.provider_member,
            resource_id=r.pk,
            start=at(4, "12:00"),
            end=at(4, "08:00"),
        ).field
        == "end"
    )
    services.cancel_booking(actor=world.provider_member, booking_id=b.pk, reason="校准")
    blackout = services.add_blackout(actor=world.provider_member, **period)
    assert (
        refused(
            services.remove_blackout,
            actor=world.enterprise_member,
            resource_id=r.pk,
            blackout_id=blackout.pk,
        ).status
        == 403
    )
    services.remove_blackout(actor=world.provider_member, resource_id=r.pk, blackout_id=blackout.pk)
    assert book(world, r, at(3, "10:00"), at(3, "11:00"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL exclusion constraint")
def test_exclusion_constraint_answers_409_with_clash_details(world, monkeypatch) -> None:
    """When the check is bypassed, the constraint still refuses and names the clash."""
    r = instrument(world)
    book(world, r, at(3, "10:00"), at(3, "12:00"))
    monkeypatch.setattr(booking_services, "_check_capacity", lambda *a, **k: None)
    org, u = other_enterprise()
    err = refused(book, world, r, at(3, "11:00"), at(3, "13:00"), actor=u, organisation_id=org.pk)
    assert err.status == 409 and "10:00–12:00" in err.message


# --- the hand-written booking path (bench/booking) ---------------------------------------------


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The first word of each statement sent, transaction control left out (Django logs a
    prepared statement's SQL as None)."""
    words = [(q["sql"] or "prepared").split()[0] for q in queries.captured_queries]
    return [w for w in words if w not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")]


def test_a_booking_is_a_fixed_handful_of_statements(world) -> None:
    """The booking path is hand-written SQL: its statements must not grow with the ORM
    creeping back in. A fresh user object has nothing cached, as in a new request."""
    r = instrument(world)
    book(world, r, at(3, "10:00"), at(3, "12:00"))
    actor = User.objects.get(pk=world.enterprise_member.pk)
    with CaptureQueriesContext(connection) as queries:
        book(world, r, at(4, "10:00"), at(4, "12:00"), actor=actor)
    # the user's memberships; then one transaction: client organisation and instrument
    # with its rules (locked), conflicts, the booking, the audit entry
    assert len(statements(queries)) == 5, statements(queries)
    with CaptureQueriesContext(connection) as queries, pytest.raises(DomainError):
        book(world, r, at(4, "11:00"), at(4, "13:00"), actor=actor)  # overlaps
    assert len(statements(queries)) == 2, statements(queries)  # memberships are cached now


def test_the_returned_booking_is_the_stored_one(world) -> None:
    r = instrument(world, needs_approval=True)
    b = book(world, r, at(3, "10:00"), at(3, "11:30"), purpose="  XRD 物相分析  ")
    stored = Booking.objects.get(pk=b.pk)
    for field in ("resource_id", "organisation_id", "created_by_id", "start", "end"):
        assert getattr(b, field) == getattr(stored, field), field
    assert (b.status, stored.status) == ("pending", "pending")
    assert b.purpose == stored.purpose == "XRD 物相分析"
    assert b.decided_at is None and stored.decided_at is None
    assert abs(b.created_at - stored.created_at) < timedelta(seconds=1)
    assert b.resource == r and b.organisation == world.enterprise  # relations load lazily
    confirmed = book(
        world, instrument(world, title_zh="拉曼光谱仪"), at(3, "10:00"), at(3, "11:00")
    )
    assert Booking.objects.get(pk=confirmed.pk).decided_at == confirmed.decided_at


def test_without_calendar_and_booking_settings_the_defaults_apply(world) -> None:
    """An instrument whose provider set no calendar (and, defensively, no booking
    settings) is bookable on the model defaults: weekdays 08:30–17:30, 60–480 minutes."""
    r = factories.resource(
        world.provider, actor=world.provider_member, kind="instrument", needs_approval=False
    )
    n = next(n for n in range(2, 9) if day(n).isoweekday() <= 5)  # a weekday, lead time kept
    err = refused(book, world, r, at(n, "08:00"), at(n, "09:00"))
    assert err.field == "start" and "08:30–17:30" in err.message
    assert book(world, r, at(n, "09:00"), at(n, "10:00")).status == "confirmed"
    Instrument.objects.filter(resource=r).delete()
    assert refused(book, world, r, at(n, "10:00"), at(n, "10:30")).field == "end"  # < 60 min
    assert book(world, r, at(n, "10:00"), at(n, "11:00")).status == "pending"  # default


def test_the_organisation_is_refused_before_the_resource(world) -> None:
    factories.member(world.enterprise_member, world.pending)
    missing = {"resource_id": 10**9, "start": at(3, "10:00"), "end": at(3, "11:00")}
    err = refused(
        services.book_instrument,
        actor=world.enterprise_member,
        organisation_id=world.pending.pk,
        **missing,
    )
    assert err.status == 403 and err.field == "organisation"
    err = refused(
        services.book_instrument,
        actor=world.enterprise_member,
        organisation_id=world.enterprise.pk,
        **missing,
    )
    assert err.status == 404 and err.field == "resource"


@pytest.fixture(autouse=True)
def _messages_in_english(english: None) -> None:
    """These tests assert the English wording of messages."""
