"""The iCalendar feed: RFC 5545 structure, escaping, folding, and who may read it."""

from __future__ import annotations

import re

import pytest

from innocommons.core.errors import PermissionDenied
from innocommons.orders import ical, services
from innocommons.orders.models import CalendarFeed
from tests.orders.factories import at, book, instrument

pytestmark = pytest.mark.django_db


def parse(text: str) -> list[tuple[str, dict[str, str], str]]:
    """A small RFC 5545 reader: checks line ends and lengths, unfolds, splits properties."""
    assert text.endswith("\r\n")
    raw = text.split("\r\n")[:-1]
    for line in raw:
        assert "\n" not in line and "\r" not in line
        assert len(line.encode()) <= 75, line
    unfolded: list[str] = []
    for line in raw:
        if line.startswith(" "):
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    out = []
    for line in unfolded:
        head, _, value = line.partition(":")
        name, *params = head.split(";")
        assert re.fullmatch(r"[A-Z][A-Z0-9-]*", name), line
        out.append((name, dict(p.split("=", 1) for p in params), value))
    return out


def components(props: list[tuple[str, dict[str, str], str]]) -> list[dict[str, str]]:
    """VEVENTs as dicts, checking BEGIN/END nesting on the way."""
    stack: list[str] = []
    events: list[dict[str, str]] = []
    for name, _params, value in props:
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
        elif name == "END":
            assert stack and stack.pop() == value
        elif stack and stack[-1] == "VEVENT":
            assert name not in events[-1], f"{name} twice"
            events[-1][name] = value
    assert stack == []
    return events


def unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")


def test_feed_structure(world, client) -> None:
    r = instrument(
        world, title_zh="扫描电镜, 场发射; 型号 SU8010", location="南京市鼓楼区汉口路22号"
    )
    b1 = book(world, r, at(3, "10:00"), at(3, "12:00"), purpose="观察\n第二行，带逗号, 和分号;")
    b2 = book(world, r, at(4, "10:00"), at(4, "11:00"))
    services.cancel_booking(actor=world.enterprise_member, booking_id=b2.pk)
    client.force_login(world.enterprise_member)
    resp = client.get(f"/calendar/{world.enterprise.pk}.ics")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/calendar")
    props = parse(resp.content.decode())
    assert props[0] == ("BEGIN", {}, "VCALENDAR") and props[-1] == ("END", {}, "VCALENDAR")
    top = {n: v for n, _p, v in props}
    assert top["VERSION"] == "2.0" and top["PRODID"]
    events = {e["UID"]: e for e in components(props)}
    first = events[f"booking-{b1.pk}@{ical.UID_DOMAIN}"]
    for required in ("DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "STATUS"):
        assert required in first
    assert first["DTSTART"] == at(3, "02:00").strftime("%Y%m%dT%H%M%SZ")  # 10:00 Beijing = 02:00Z
    assert re.fullmatch(r"\d{8}T\d{6}Z", first["DTEND"])
    assert first["STATUS"] == "CONFIRMED"
    assert "扫描电镜, 场发射; 型号 SU8010" in unescape(first["SUMMARY"])
    assert unescape(first["DESCRIPTION"]) == "观察\n第二行，带逗号, 和分号;"
    assert unescape(first["LOCATION"]) == "南京市鼓楼区汉口路22号"
    assert events[f"booking-{b2.pk}@{ical.UID_DOMAIN}"]["STATUS"] == "CANCELLED"


def test_provider_sees_bookings_of_its_instruments(world, client) -> None:
    r = instrument(world)
    book(world, r, at(3, "10:00"), at(3, "12:00"))
    client.force_login(world.provider_member)
    events = components(parse(client.get(f"/calendar/{world.provider.pk}.ics").content.decode()))
    assert len(events) == 1 and world.enterprise.name_zh in unescape(events[0]["SUMMARY"])


def test_feed_access(world, client) -> None:
    r = instrument(world)
    book(world, r, at(3, "10:00"), at(3, "12:00"))
    path = f"/calendar/{world.enterprise.pk}.ics"
    assert client.get(path).status_code == 302  # sign in first
    client.force_login(world.provider_member)
    assert client.get(path).status_code == 404  # not a member
    client.logout()
    with pytest.raises(PermissionDenied):
        services.calendar_feed(actor=world.outsider, organisation_id=world.enterprise.pk)
    feed = services.calendar_feed(
        actor=world.enterprise_member, organisation_id=world.enterprise.pk
    )
    assert len(feed.token) >= 40
    assert (
        services.calendar_feed(
            actor=world.enterprise_member, organisation_id=world.enterprise.pk
        ).token
        == feed.token
    )
    url = f"/calendar/feed/{feed.token}.ics"
    assert len(components(parse(client.get(url).content.decode()))) == 1
    assert client.get("/calendar/feed/not-the-token.ics").status_code == 404
    services.reset_calendar_feed(actor=world.enterprise_member, organisation_id=world.enterprise.pk)
    assert client.get(url).status_code == 404
    new = CalendarFeed.objects.get(organisation=world.enterprise).token
    assert client.get(f"/calendar/feed/{new}.ics").status_code == 200


def test_folding_keeps_utf8_characters_whole() -> None:
    line = "SUMMARY:" + "仪器预约" * 40
    folded = ical.fold(line)
    parts = folded.split("\r\n ")
    assert "".join(parts) == line
    assert all(len(p.encode()) <= 75 for p in parts)
    assert ical.escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
