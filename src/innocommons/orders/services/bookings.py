"""Every write about instrument calendars and bookings.

Overlapping active bookings are impossible, even under concurrent requests (DESIGN §3):

- SQLite: the settings open every write transaction with BEGIN IMMEDIATE, so two booking
  transactions never run at once and the overlap check inside the transaction suffices.
- PostgreSQL: the transaction first locks the instrument's row (SELECT … FOR NO KEY
  UPDATE), then checks; the exclusion constraint `booking_no_overlap` (migration 0002) is
  the last line, and its violation is turned into the same 409 with the clash details.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions
from innocommons.accounts.models import Organisation, User
from innocommons.catalog.models import Instrument, Kind, Resource
from innocommons.core import audit, sql
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.orders import hours
from innocommons.orders.models import Blackout, Booking, Calendar, CalendarFeed
from innocommons.orders.services import common
from innocommons.orders.workflow import CLIENT, PROVIDER

# Tests switch this off to prove the race it prevents really happens (CONVENTIONS habit 8);
# never change it anywhere else. Off, booking behaves like the naive implementation: no
# row lock, and the overlap and quota checks run before, not inside, the write transaction.
LOCKING = True

MAX_REASON = 500
Span = tuple[datetime, datetime]
LIMITS = {  # calendar settings: field → (lowest, highest)
    "horizon_days": (1, 730),
    "max_future_per_org": (1, 10_000),
    "cancel_notice_hours": (0, 24 * 30),
}


def _state(booking: Booking) -> dict[str, Any]:
    return {
        "status": booking.status,
        "start": booking.start.isoformat(),
        "reason": booking.status_reason,
    }


# --- calendar settings and blackouts --------------------------------------------------------


def _instrument_for_provider(actor: Any, resource_id: int) -> Resource:
    resource = (
        Resource.objects.select_related("owner", "region", "instrument")
        .filter(pk=resource_id, kind=Kind.INSTRUMENT)
        .first()
    )
    if resource is None:
        raise NotFound(_("Instrument not found."), field="resource")
    common.require_provider(actor, resource.owner_id)
    return resource


def set_calendar(
    *,
    actor: User,
    resource_id: int,
    weekdays: str,
    opens_at: time,
    closes_at: time,
    horizon_days: int,
    max_future_per_org: int,
    cancel_notice_hours: int,
) -> Calendar:
    """The instrument's provider sets its opening days and hours and booking limits."""
    resource = _instrument_for_provider(actor, resource_id)
    typed = str(weekdays).replace(",", "").replace(" ", "")
    days = "".join(sorted(set(typed)))
    if not days or any(d not in "1234567" for d in days):
        raise DomainError(
            _("Choose the open weekdays as numbers 1 (Monday) to 7 (Sunday)."), field="weekdays"
        )
    if closes_at != time(0) and closes_at <= opens_at:
        raise DomainError(
            _("The closing time must be after the opening time (00:00 means midnight)."),
            field="closes_at",
        )
    values = {
        "horizon_days": horizon_days,
        "max_future_per_org": max_future_per_org,
        "cancel_notice_hours": cancel_notice_hours,
    }
    for name, value in values.items():
        low, high = LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise DomainError(
                _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
                field=name,
            )
    with transaction.atomic():
        calendar, _created = Calendar.objects.select_for_update().get_or_create(resource=resource)
        before = {f: str(getattr(calendar, f)) for f in ("weekdays", "opens_at", "closes_at")}
        calendar.weekdays = days
        calendar.opens_at = opens_at
        calendar.closes_at = closes_at
        for name, value in values.items():
            setattr(calendar, name, value)
        calendar.save()
        audit.record(
            actor=actor,
            action="calendar.set",
            target=calendar,
            region=resource.region,
            before=before,
            after={"weekdays": days, "opens_at": str(opens_at), "closes_at": str(closes_at)}
            | values,
        )
    return calendar


def add_blackout(
    *, actor: User, resource_id: int, start: datetime, end: datetime, reason: str = ""
) -> Blackout:
    """The provider blocks a period (maintenance, holidays). Active bookings in the period
    must be cancelled first, so their bookers hear about it with a reason."""
    start, end = hours.aware(start), hours.aware(end)
    if end <= start:
        raise DomainError(_("The end must be after the start."), field="end")
    if end <= timezone.now():
        raise DomainError(_("The period is already over."), field="end")
    with transaction.atomic():
        resource = _instrument_for_provider(actor, resource_id)
        calendar, _created = Calendar.objects.get_or_create(resource=resource)
        clash = _overlapping(resource.pk, start, end)
        if clash is not None:
            raise DomainError(
                _("A booking %(range)s falls in this period; cancel it first.")
                % {"range": hours.fmt_range(*clash)},
                field="start",
                status=409,
            )
        blackout = Blackout.objects.create(
            calendar=calendar, start=start, end=end, reason=reason.strip()[:200]
        )
        audit.record(
            actor=actor,
            action="calendar.blackout_add",
            target=calendar,
            region=resource.region,
            after={"start": start.isoformat(), "end": end.isoformat(), "reason": blackout.reason},
        )
    return blackout


def remove_blackout(*, actor: User, resource_id: int, blackout_id: int) -> None:
    """The provider lifts a blocked period of its instrument."""
    with transaction.atomic():
        resource = _instrument_for_provider(actor, resource_id)
        blackout = Blackout.objects.filter(pk=blackout_id, calendar_id=resource.pk).first()
        if blackout is None:
            raise NotFound(_("Blackout period not found."))
        audit.record(
            actor=actor,
            action="calendar.blackout_remove",
            target=blackout.calendar,
            region=resource.region,
            before={"start": blackout.start.isoformat(), "end": blackout.end.isoformat()},
        )
        blackout.delete()


# --- booking ---------------------------------------------------------------------------------

# After the actor's memberships (read once per request), a booking is four statements in one
# transaction (bench/booking): the client organisation and the instrument with its rules
# (locked), the conflicts, the insert and the audit entry. They are hand-written: building an
# ORM query costs more Python time here than the database spends running it
# (docs/performance.md); tests/orders/test_bookings.py counts them.

# Active bookings of one instrument overlapping [start, end). No booking spans more than a
# day (hours.MAX_SPAN), which bounds the index range scan on (resource, start) however long
# the calendar's history is. This fragment is the only place the overlap rule is written.
# "status IN (%s, %s)" takes Booking.ACTIVE (pending, confirmed).
OVERLAP = (
    'SELECT start, "end" FROM orders_booking WHERE resource_id = %s AND status IN (%s, %s) '
    'AND start < %s AND start > %s AND "end" > %s ORDER BY start LIMIT 1'
)
UPCOMING = (
    "SELECT COUNT(*) FROM orders_booking WHERE resource_id = %s AND organisation_id = %s "
    'AND status IN (%s, %s) AND start > %s AND "end" > %s'
)
BLACKOUT = 'SELECT id FROM orders_blackout WHERE calendar_id = %s AND start < %s AND "end" > %s'
CONFLICTS = (
    f'SELECT ({UPCOMING}), ({BLACKOUT} LIMIT 1), clash.start, clash."end" '  # noqa: S608
    f"FROM (SELECT 1) AS one LEFT JOIN ({OVERLAP}) AS clash ON TRUE"
)
# Only what the booking path reads: the client organisation's status, the instrument, its
# owner's status, its booking settings and its calendar (the last two may be missing: then
# the model defaults apply).
BOOKABLE = (
    "SELECT (SELECT status FROM accounts_organisation WHERE id = %s), r.kind, r.status, "
    "r.owner_id, r.region_id, o.status, i.resource_id, i.min_booking_minutes, "
    "i.max_booking_minutes, i.lead_time_hours, i.needs_approval, c.resource_id, c.weekdays, "
    "c.opens_at, c.closes_at, c.horizon_days, c.max_future_per_org, c.cancel_notice_hours "
    "FROM catalog_resource r JOIN accounts_organisation o ON o.id = r.owner_id "
    "LEFT JOIN catalog_instrument i ON i.resource_id = r.id "
    "LEFT JOIN orders_calendar c ON c.resource_id = r.id WHERE r.id = %s"
)
INSTRUMENT = "min_booking_minutes max_booking_minutes lead_time_hours needs_approval".split()
CALENDAR = "weekdays opens_at closes_at horizon_days max_future_per_org cancel_notice_hours".split()
INSERT = (
    "INSERT INTO orders_booking (resource_id, organisation_id, created_by_id, status, purpose, "
    'status_reason, start, "end", created_at, decided_at) '
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
INSERTED = "resource_id organisation_id created_by_id status purpose status_reason".split()
INSERTED += ["start", "end", "created_at", "decided_at"]  # INSERT's columns; timestamps last


def _overlap_params(resource_id: int, start: datetime, end: datetime) -> list[Any]:
    ts = connection.ops.adapt_datetimefield_value
    return [resource_id, *Booking.ACTIVE, ts(end), ts(start - hours.MAX_SPAN), ts(start)]


def _overlapping(resource_id: int, start: datetime, end: datetime) -> Span | None:
    """Start and end of the first active booking overlapping [start, end), if any."""
    with sql.cursor() as cur:
        cur.execute(OVERLAP, _overlap_params(resource_id, start, end))
        row = cur.fetchone()
    return (common.db_datetime(row[0]), common.db_datetime(row[1])) if row else None


def _conflicts(
    resource_id: int, organisation_id: int, start: datetime, end: datetime
) -> tuple[int, int | None, Span | None]:
    """In one statement: the organisation's upcoming active bookings of the instrument, the
    id of a blackout and the span of an active booking overlapping [start, end)."""
    ts = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    params = [
        resource_id,
        organisation_id,
        *Booking.ACTIVE,
        ts(now - hours.MAX_SPAN),
        ts(now),
        resource_id,  # a calendar's key is its instrument's
        ts(end),
        ts(start),
        *_overlap_params(resource_id, start, end),
    ]
    with sql.cursor() as cur:
        cur.execute(CONFLICTS, params)
        upcoming, blackout, clash_start, clash_end = cur.fetchone()
    clash = (
        None
        if clash_start is None
        else (common.db_datetime(clash_start), common.db_datetime(clash_end))
    )
    return int(upcoming), blackout, clash


def _bookable(
    organisation_id: int, resource_id: int, *, lock: bool
) -> tuple[Organisation, Resource, hours.Rules]:
    """The client organisation, the instrument (with its owner's status) and its booking
    rules, from one statement; with `lock`, the instrument's row stays locked until the
    transaction ends."""
    query = BOOKABLE
    if lock and connection.features.has_select_for_no_key_update:
        # NO KEY UPDATE: serialises bookers of this instrument without blocking rows that
        # merely reference it (orders, bookings of other instruments' foreign keys).
        query += " FOR NO KEY UPDATE OF r"
    with sql.cursor() as cur:
        cur.execute(query, [organisation_id, resource_id])
        row = cur.fetchone()
    # The organisation's refusals come first, also when there is no such resource.
    status = row[0] if row else common.organisation_status(organisation_id)
    org = common.verified_client(organisation_id, status, field="organisation")
    found = None
    if row is not None:
        values = dict(zip(("kind", "status", "owner_id", "region_id"), row[1:5], strict=True))
        found = common.loaded(Resource, {"id": resource_id, **values})
        found.owner = common.loaded(Organisation, {"id": found.owner_id, "status": row[5]})
    resource = common.check_offered(found, (Kind.INSTRUMENT,))
    assert row is not None  # check_offered raised NotFound otherwise
    inst = None
    if row[6] is not None:
        values = dict(zip(INSTRUMENT, row[7:11], strict=True))
        inst = common.loaded(Instrument, {"resource_id": resource_id, **values})
    if row[11] is None:
        cal = Calendar(resource_id=resource_id)  # the defaults until the provider sets them
    else:
        values = dict(zip(CALENDAR, row[12:], strict=True))
        for name in ("opens_at", "closes_at"):
            values[name] = common.db_time(values[name])
        cal = common.loaded(Calendar, {"resource_id": resource_id, **values})
    return org, resource, hours.rules_from(cal, inst)


def _check_rules(rules: hours.Rules, start: datetime, end: datetime) -> None:
    """The calendar's rules that do not depend on other bookings."""
    cal = rules.calendar
    if not hours.inside_opening_hours(cal, start, end):
        win = hours.window(cal, hours.local(start).date())
        if win is None:
            message = _("The instrument is closed on that day.")
        else:
            message = _("Bookings must lie within the opening hours %(range)s.") % {
                "range": hours.fmt_range(*win)
            }
        raise DomainError(message, field="start")
    minutes = (end - start) / timedelta(minutes=1)
    if minutes < rules.min_minutes:
        raise DomainError(
            _("A booking must last at least %(n)d minutes.") % {"n": rules.min_minutes},
            field="end",
        )
    if minutes > rules.max_minutes:
        raise DomainError(
            _("A booking may last at most %(n)d minutes.") % {"n": rules.max_minutes},
            field="end",
        )
    now = timezone.now()
    if start < now + rules.lead_time:
        raise DomainError(
            _("Bookings must be made at least %(n)d hours ahead.")
            % {"n": rules.lead_time // timedelta(hours=1)},
            field="start",
        )
    if hours.local(start).date() > hours.today() + rules.horizon:
        raise DomainError(
            _("Bookings can be made at most %(n)d days ahead.") % {"n": cal.horizon_days},
            field="start",
        )


def _check_capacity(
    resource: Resource, rules: hours.Rules, org: Organisation, start: datetime, end: datetime
) -> None:
    """Rules that depend on other bookings: checked under the lock."""
    upcoming, blackout_id, clash = _conflicts(resource.pk, org.pk, start, end)
    if upcoming >= rules.calendar.max_future_per_org:
        raise DomainError(
            _(
                "Your organisation already has %(n)d upcoming bookings of this instrument, "
                "the most it allows."
            )
            % {"n": upcoming},
            field="start",
            status=409,
        )
    if blackout_id is not None:
        blackout = Blackout.objects.get(pk=blackout_id)
        raise DomainError(
            _("The instrument is unavailable %(range)s: %(reason)s")
            % {
                "range": hours.fmt_range(blackout.start, blackout.end),
                "reason": blackout.reason or _("blocked by the provider"),
            },
            field="start",
            status=409,
        )
    if clash is not None:
        raise _clash(clash)


def _clash(span: Span | None) -> DomainError:
    if span is None:
        message = _("The slot overlaps another booking.")
    else:
        message = _("The slot overlaps a booking %(range)s.") % {"range": hours.fmt_range(*span)}
    return DomainError(message, field="start", status=409)


def _book(
    actor: User, org_id: int, resource_id: int, start: datetime, end: datetime, purpose: str
) -> Booking:
    """The write transaction of `book_instrument`: lock, check, insert, audit."""
    with transaction.atomic():
        org, resource, rules = _bookable(org_id, resource_id, lock=LOCKING)
        common.not_own(resource, org)
        _check_rules(rules, start, end)
        if LOCKING:
            _check_capacity(resource, rules, org, start, end)
        status = Booking.Status.PENDING if rules.needs_approval else Booking.Status.CONFIRMED
        now = timezone.now()
        decided_at = None if rules.needs_approval else now
        values: list[Any] = [resource.pk, org.pk, actor.pk, status.value, purpose, ""]
        moments = [start, end, now, decided_at]
        ts = connection.ops.adapt_datetimefield_value
        with sql.cursor() as cur:
            cur.execute(INSERT, [*values, *(ts(m) for m in moments)])
            (booking_id,) = cur.fetchone()
        row = {"id": booking_id, **dict(zip(INSERTED, [*values, *moments], strict=True))}
        booking = common.loaded(Booking, row)
        audit.record(
            actor=actor,
            action="booking.create",
            target=booking,
            region=resource.region_id,
            after={
                "status": status,
                "resource": resource.pk,
                "organisation": org.pk,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        )
    return booking


def book_instrument(
    *,
    actor: User,
    organisation_id: int,
    resource_id: int,
    start: datetime,
    end: datetime,
    purpose: str = "",
) -> Booking:
    """A member of a verified organisation books a published instrument of another one.

    Confirmed at once unless the instrument needs the provider's approval (then pending,
    but the slot is held all the same).
    """
    start, end = hours.aware(start), hours.aware(end)
    if end <= start:
        raise DomainError(_("The end must be after the start."), field="end")
    common.require_client_member(actor, organisation_id, field="organisation")
    if not LOCKING:
        org, resource, rules = _bookable(organisation_id, resource_id, lock=False)
        _check_capacity(resource, rules, org, start, end)
    try:
        booking = _book(actor, organisation_id, resource_id, start, end, purpose.strip()[:500])
    except IntegrityError as exc:
        if "booking_no_overlap" not in str(exc):
            raise
        # The exclusion constraint waited for the other booking's commit and the failed
        # transaction is rolled back: the clashing booking is visible now.
        raise _clash(_overlapping(resource_id, start, end)) from None
    return booking


def _booking_for_update(actor: Any, booking_id: int) -> tuple[Booking, set[str]]:
    booking = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("resource__owner", "resource__region", "organisation")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        raise NotFound(_("Booking not found."))
    ids = {"client_id": booking.organisation_id, "provider_id": booking.resource.owner_id}
    acting = common.sides(actor, **ids)
    if not acting and not common.can_view(actor, **ids):
        raise NotFound(_("Booking not found."))
    return booking, acting


def _decide(
    actor: User, booking_id: int, status: str, reason: str, action: str, sides_allowed: set[str]
) -> Booking:
    with transaction.atomic():
        booking, acting = _booking_for_update(actor, booking_id)
        if not acting & sides_allowed:
            raise PermissionDenied(_("Only the instrument's provider can decide on a booking."))
        if booking.status != Booking.Status.PENDING:
            raise DomainError(
                _("This booking is %(state)s, not awaiting approval.")
                % {"state": booking.get_status_display()},
                field="status",
                status=409,
            )
        if status == Booking.Status.CONFIRMED and booking.start <= timezone.now():
            raise DomainError(
                _("The booking's start has passed; it can only be rejected."),
                field="status",
                status=409,
            )
        before = _state(booking)
        booking.status = status
        booking.status_reason = reason
        booking.decided_at = timezone.now()
        booking.save(update_fields=["status", "status_reason", "decided_at"])
        audit.record(
            actor=actor,
            action=action,
            target=booking,
            region=booking.resource.region,
            before=before,
            after=_state(booking),
            note=reason,
        )
    return booking


def approve_booking(*, actor: User, booking_id: int) -> Booking:
    """The provider confirms a booking that needed approval."""
    return _decide(actor, booking_id, Booking.Status.CONFIRMED, "", "booking.approve", {PROVIDER})


def reject_booking(*, actor: User, booking_id: int, reason: str) -> Booking:
    """The provider refuses a pending booking; the reason is shown to the booker."""
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise DomainError(_("Please give the booker a reason."), field="reason")
    return _decide(actor, booking_id, Booking.Status.REJECTED, reason, "booking.reject", {PROVIDER})


def cancel_booking(*, actor: User, booking_id: int, reason: str = "") -> Booking:
    """Cancel an active booking: the booker up to the calendar's notice period before the
    start, the provider at any time before the end, with a reason for the booker."""
    reason = reason.strip()[:MAX_REASON]
    with transaction.atomic():
        booking, acting = _booking_for_update(actor, booking_id)
        if not acting:
            raise PermissionDenied(_("Only the booker or the provider can cancel a booking."))
        if booking.status not in Booking.ACTIVE:
            raise DomainError(
                _("This booking is already %(state)s.") % {"state": booking.get_status_display()},
                field="status",
                status=409,
            )
        now = timezone.now()
        if booking.end <= now:
            raise DomainError(_("The booking is over and can no longer be cancelled."), status=409)
        notice = timedelta(hours=hours.calendar_for(booking.resource).cancel_notice_hours)
        if CLIENT in acting and booking.start - now >= notice:
            side = CLIENT
        elif PROVIDER in acting:
            side = PROVIDER
            if not reason:
                raise DomainError(
                    _("Please tell the booker why the booking is cancelled."), field="reason"
                )
        else:
            raise DomainError(
                _(
                    "Bookings can be cancelled up to %(n)d hours before the start; "
                    "please contact the provider."
                )
                % {"n": notice // timedelta(hours=1)},
                status=409,
            )
        before = _state(booking)
        booking.status = Booking.Status.CANCELLED
        booking.status_reason = reason
        booking.decided_at = now
        booking.save(update_fields=["status", "status_reason", "decided_at"])
        audit.record(
            actor=actor,
            action="booking.cancel",
            target=booking,
            region=booking.resource.region,
            before=before,
            after=_state(booking) | {"by": side},
            note=reason,
        )
    return booking


# --- calendar feed ---------------------------------------------------------------------------


def _feed_org(actor: Any, organisation_id: int) -> None:
    if not permissions.is_member(actor, organisation_id):
        raise PermissionDenied(_("Only the organisation's members can see its calendar feed."))


def calendar_feed(*, actor: User, organisation_id: int) -> CalendarFeed:
    """The organisation's secret feed address, created on first use."""
    _feed_org(actor, organisation_id)
    with transaction.atomic():
        feed = CalendarFeed.objects.filter(organisation_id=organisation_id).first()
        if feed is None:
            try:
                with transaction.atomic():
                    feed = CalendarFeed.objects.create(
                        organisation_id=organisation_id, token=CalendarFeed.new_token()
                    )
            except IntegrityError:  # another request created it first
                feed = CalendarFeed.objects.get(organisation_id=organisation_id)
    return feed


def reset_calendar_feed(*, actor: User, organisation_id: int) -> CalendarFeed:
    """A new secret address; the old one stops working (e.g. after it was shared)."""
    feed = calendar_feed(actor=actor, organisation_id=organisation_id)
    with transaction.atomic():
        feed.token = CalendarFeed.new_token()
        feed.save(update_fields=["token", "issued_at"])
        audit.record(actor=actor, action="calendar.feed_reset", target=feed)
    return feed
