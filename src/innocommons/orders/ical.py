"""An organisation's bookings as an iCalendar (RFC 5545) feed.

Hand-written because the format needed is small: one VCALENDAR of VEVENTs with times in
UTC, escaped text and folded lines. A dependency would add nothing the tests do not check.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.orders.models import Booking

PRODID = "-//InnoCommons//Bookings//EN"
# Stable whatever host name the feed is fetched by, so calendars never see duplicates.
UID_DOMAIN = "bookings.innocommons"
STATUS = {
    Booking.Status.PENDING: "TENTATIVE",
    Booking.Status.CONFIRMED: "CONFIRMED",
    Booking.Status.REJECTED: "CANCELLED",
    Booking.Status.CANCELLED: "CANCELLED",
}


def escape(text: str) -> str:
    """TEXT values (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines escaped."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and a space,
    without splitting a UTF-8 character (§3.1)."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    limit = 75
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > limit:
            parts.append(current.decode())
            current = b""
            limit = 74  # continuation lines start with a space
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(booking: Booking, organisation_id: int, stamp: str) -> list[str]:
    resource = booking.resource
    ours = booking.organisation_id == organisation_id
    summary = (
        _("Booking: %(title)s") % {"title": resource.title}
        if ours
        else _("Booked by %(org)s: %(title)s")
        % {"org": booking.organisation.name, "title": resource.title}
    )
    instrument = getattr(resource, "instrument", None)
    lines = [
        "BEGIN:VEVENT",
        f"UID:booking-{booking.pk}@{UID_DOMAIN}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{utc(booking.start)}",
        f"DTEND:{utc(booking.end)}",
        f"SUMMARY:{escape(summary)}",
        f"STATUS:{STATUS[Booking.Status(booking.status)]}",
        f"LAST-MODIFIED:{utc(booking.decided_at or booking.created_at)}",
    ]
    if instrument is not None and instrument.location:
        lines.append(f"LOCATION:{escape(instrument.location)}")
    description = booking.purpose
    if booking.status_reason:
        description = f"{description}\n{booking.status_reason}".strip()
    if description:
        lines.append(f"DESCRIPTION:{escape(description)}")
    lines.append("END:VEVENT")
    return lines


def feed(bookings: Iterable[Booking], *, organisation_id: int, name: str) -> str:
    """The whole VCALENDAR text with CRLF line ends."""
    stamp = utc(timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ]
    for booking in bookings:
        lines += _event(booking, organisation_id, stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
