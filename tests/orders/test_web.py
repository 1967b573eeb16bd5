"""Web pages of bookings and orders through Django's test client."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from innocommons.orders import selectors
from innocommons.orders.models import Booking, Calendar, CalendarFeed, Order
from tests import factories
from tests.orders.factories import PDF, ROUTE, at, book, day, instrument, order, service, step

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def html(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.content.decode()


def test_pages_need_sign_in(client, world) -> None:
    for url in ("/my/bookings/", "/my/bookings/incoming/", "/my/orders/", "/my/orders/incoming/"):
        assert client.get(url).status_code == 302
    client.force_login(world.enterprise_member)
    for url in ("/my/bookings/", "/my/bookings/incoming/", "/my/orders/", "/my/orders/incoming/"):
        assert "<html" in html(client.get(url, **EN))


def test_booking_page_calendar_and_htmx_partial(client, world) -> None:
    r = instrument(world)
    book(world, r, at(3, "10:00"), at(3, "12:00"))
    page = html(client.get(f"/resources/{r.pk}/book/", {"from": day(3).isoformat()}, **EN))
    assert "<html" in page and "Sign in to book" in page
    assert "08:00–10:00" in page and "12:00–20:00" in page
    partial = client.get(
        f"/resources/{r.pk}/book/", {"from": day(10).isoformat()}, HTTP_HX_REQUEST="true", **EN
    )
    text = html(partial)
    assert "<html" not in text and 'data-testid="slots"' in text
    assert partial["Vary"] and "HX-Request" in partial["Vary"]
    assert client.get(f"/resources/{service(world).pk}/book/").status_code == 404


def test_booking_through_the_form(client, world) -> None:
    r = instrument(world)
    client.force_login(world.enterprise_member)
    form = {
        "organisation": world.enterprise.pk,
        "day": day(3).isoformat(),
        "start_time": "10:00",
        "end_time": "12:00",
        "purpose": "样品",
    }
    resp = client.post(f"/resources/{r.pk}/book/", form, **EN)
    assert resp.status_code == 302 and resp["Location"] == "/my/bookings/"
    assert Booking.objects.get().purpose == "样品"
    again = html(
        client.post(
            f"/resources/{r.pk}/book/", form | {"start_time": "11:00", "end_time": "13:00"}, **EN
        )
    )
    assert "10:00–12:00" in again and Booking.objects.count() == 1
    listing = html(client.get("/my/bookings/", **EN))
    assert r.title in listing and "Confirmed" in listing


def test_provider_decides_on_pending_bookings(client, world) -> None:
    r = instrument(world, needs_approval=True)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    client.force_login(world.provider_member)
    page = html(client.get("/my/bookings/incoming/", **EN))
    assert f'data-testid="pending-{b.pk}"' in page
    resp = client.post(f"/bookings/{b.pk}/approve/", {"next": "/my/bookings/incoming/"})
    assert resp.status_code == 302 and resp["Location"] == "/my/bookings/incoming/"
    assert Booking.objects.get(pk=b.pk).status == "confirmed"
    client.force_login(world.enterprise_member)
    client.post(f"/bookings/{b.pk}/cancel/", {"next": "https://evil.example/"})
    assert Booking.objects.get(pk=b.pk).status == "cancelled"
    client.force_login(world.outsider)
    assert client.post(f"/bookings/{b.pk}/cancel/").status_code == 404


def test_order_from_request_to_rating_on_the_web(client, world) -> None:
    s = service(world)
    client.force_login(world.enterprise_member)
    page = html(client.get(f"/resources/{s.pk}/order/", **EN))
    assert 'data-testid="order-form"' in page
    resp = client.post(
        f"/resources/{s.pk}/order/", {"client": world.enterprise.pk, "description": "两台样机"}
    )
    o = Order.objects.get()
    assert resp["Location"] == f"/orders/{o.pk}/"
    detail = html(client.get(f"/orders/{o.pk}/", **EN))
    assert "Next:" in detail and world.provider.name_zh in detail and "step-quote" not in detail

    client.force_login(world.provider_member)
    incoming = html(client.get("/my/orders/incoming/", **EN))
    assert o.ref in incoming and "#step-quote" in incoming
    detail = html(client.get(f"/orders/{o.pk}/", **EN))
    assert 'data-testid="step-quote"' in detail and 'value="3000.00"' in detail  # the list price
    client.post(f"/orders/{o.pk}/quote/", {"quote-amount_yuan": "2,800.50"})
    assert Order.objects.get().quote_fen == 280_050
    client.force_login(world.enterprise_member)
    assert "confirm(" in html(client.get(f"/orders/{o.pk}/", **EN))  # cancel asks first
    client.post(f"/orders/{o.pk}/accept/")
    client.force_login(world.provider_member)
    client.post(f"/orders/{o.pk}/start/", {"next": "/my/orders/incoming/"})
    client.post(
        f"/orders/{o.pk}/deliver/",
        {
            "deliver-report": SimpleUploadedFile("report.pdf", b"MZ spoof"),
            "deliver-service_hours": "2",
        },
    )
    assert Order.objects.get().status == "in_progress"
    client.post(
        f"/orders/{o.pk}/deliver/",
        {"deliver-report": SimpleUploadedFile("report.pdf", PDF), "deliver-service_hours": "2"},
    )
    assert Order.objects.get().status == "delivered"
    resp = client.post(f"/orders/{o.pk}/complete/", follow=True, **EN)
    assert "Only the client can do this." in resp.content.decode()
    client.force_login(world.enterprise_member)
    download = client.get(f"/orders/{o.pk}/report/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    client.post(f"/orders/{o.pk}/complete/")
    client.post(f"/orders/{o.pk}/rate/", {"rate-score": "4", "rate-comment": "好"})
    done = Order.objects.get()
    assert done.status == "completed" and done.rating.score == 4
    assert "★★★★" in html(client.get(f"/orders/{o.pk}/", **EN))
    client.force_login(world.outsider)
    assert client.get(f"/orders/{o.pk}/").status_code == 404


def test_calendar_settings_page(client, world) -> None:
    r = instrument(world)
    client.force_login(world.enterprise_member)
    assert client.get(f"/resources/{r.pk}/calendar/").status_code == 404
    client.force_login(world.provider_member)
    assert 'data-testid="calendar-form"' in html(client.get(f"/resources/{r.pk}/calendar/", **EN))
    client.post(
        f"/resources/{r.pk}/calendar/",
        {
            "what": "calendar",
            "weekdays": ["1", "3", "5"],
            "opens_at": "09:00",
            "closes_at": "00:00",
            "horizon_days": "30",
            "max_future_per_org": "3",
            "cancel_notice_hours": "12",
        },
    )
    cal = Calendar.objects.get(resource=r)
    assert cal.weekdays == "135" and str(cal.closes_at) == "00:00:00"
    page = html(
        client.post(
            f"/resources/{r.pk}/calendar/",
            {"what": "blackout", "start": f"{day(5)}T12:00", "end": f"{day(5)}T09:00"},
            **EN,
        )
    )
    assert "The end must be after the start." in page
    client.post(
        f"/resources/{r.pk}/calendar/",
        {
            "what": "blackout",
            "start": f"{day(5)}T09:00",
            "end": f"{day(5)}T12:00",
            "reason": "校准",
        },
    )
    blackout = cal.blackouts.get()
    assert blackout.start == at(5, "09:00")
    client.post(f"/resources/{r.pk}/calendar/", {"what": "unblock", "blackout": blackout.pk})
    assert not cal.blackouts.exists()


def test_feed_address_on_my_bookings(client, world) -> None:
    client.force_login(world.enterprise_member)
    client.post("/my/bookings/feed/", {"org": world.enterprise.pk})
    feed = CalendarFeed.objects.get(organisation=world.enterprise)
    assert feed.token in html(client.get("/my/bookings/"))
    client.post("/my/bookings/feed/", {"org": world.enterprise.pk, "reset": "1"})
    assert CalendarFeed.objects.get(organisation=world.enterprise).token != feed.token
    client.post("/my/bookings/feed/", {"org": world.provider.pk})
    assert not CalendarFeed.objects.filter(organisation=world.provider).exists()


def test_resource_usage_partial(rf, world) -> None:
    r = instrument(world)
    request = rf.get("/")
    request.user = world.enterprise_member
    text = render_to_string(
        "orders/partials/resource_usage.html",
        {"u": selectors.resource_usage(world.enterprise_member, r)},
        request=request,
    )
    assert 'data-testid="book-button"' in text and f"/resources/{r.pk}/book/" in text
    assert 'data-testid="next-slot"' in text and f"/resources/{r.pk}/order/" in text
    org_text = render_to_string(
        "orders/partials/organisation_usage.html",
        {"u": selectors.usage(organisation_id=world.provider.pk)},
    )
    assert org_text.strip() == ""  # nothing to show yet


def test_list_pages_do_not_grow_with_their_rows(client, world) -> None:
    r = instrument(world, max_future_per_org=50)
    s = service(world)
    client.force_login(world.enterprise_member)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            html(client.get(url))
        return len(ctx.captured_queries)

    book(world, r, at(3, "10:00"), at(3, "11:00"))
    order(world, s)
    few = (count("/my/bookings/"), count("/my/orders/"))
    for n in range(4, 12):
        book(world, r, at(n, "10:00"), at(n, "11:00"))
        o = order(world, s)
        for name, who in ROUTE["quoted"]:
            step(world, o.pk, name, who)
    assert (count("/my/bookings/"), count("/my/orders/")) == few


def test_admin_is_read_only(client, world) -> None:
    r = instrument(world)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    o = order(world)
    root = factories.user("root", is_staff=True, is_superuser=True)
    client.force_login(root)
    for path in (
        "/admin/orders/booking/",
        f"/admin/orders/booking/{b.pk}/change/",
        "/admin/orders/order/",
        f"/admin/orders/order/{o.pk}/change/",
        "/admin/orders/calendar/",
        "/admin/orders/calendarfeed/",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/orders/booking/add/").status_code == 403
    resp = client.post(f"/admin/orders/booking/{b.pk}/delete/", {"post": "yes"})
    assert resp.status_code == 403 and Booking.objects.filter(pk=b.pk).exists()
