"""Booking and ordering in a real browser (screenshots in test-artifacts/screenshots/)."""

from __future__ import annotations

import re

import pytest

from innocommons.orders.models import Booking, Order
from tests.browser.conftest import shot
from tests.orders.factories import instrument, order, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def test_book_a_free_slot_and_get_it_approved(page, world) -> None:
    r = instrument(world, needs_approval=True, location="南京大学仙林校区 分析测试中心 101")
    sign_in(page, "ent")
    page.goto(f"/resources/{r.pk}/book/")
    page.wait_for_selector("[data-testid=slots]")
    shot(page, "orders-01-calendar")
    first_day = page.get_attribute(".week .day", "data-date")
    page.click("[data-testid=next-week]")  # htmx swaps the calendar, the URL follows
    page.wait_for_function(f"document.querySelector('.week .day').dataset.date !== '{first_day}'")
    assert "from=" in page.url and page.locator("h1").count() == 1
    page.click("[data-testid=slot] >> nth=0")
    page.wait_for_selector("[data-testid=booking-form]")
    assert page.input_value("input[name=start_time]") == "08:00"
    page.fill("textarea[name=purpose]", "样品形貌观察")
    shot(page, "orders-02-booking-form")
    page.click("[data-testid=booking-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/my/bookings/(#.*)?$"))
    booking = Booking.objects.get()
    assert booking.status == "pending"
    assert page.locator(f"[data-testid=booking-{booking.pk}]").count() == 1
    shot(page, "orders-03-my-bookings")

    sign_in(page, "prov")
    page.goto("/my/bookings/incoming/")
    page.click(f"[data-testid=approve-{booking.pk}]")
    page.wait_for_selector(".msg.success")
    shot(page, "orders-04-approved")
    booking.refresh_from_db()
    assert booking.status == "confirmed"


def test_provider_quotes_and_client_accepts(page, world) -> None:
    o = order(world, service(world))
    sign_in(page, "prov")
    page.goto(f"/orders/{o.pk}/")
    page.wait_for_selector("[data-testid=step-quote]")
    shot(page, "orders-05-order-requested-provider")
    page.fill("input[name=quote-amount_yuan]", "2800")
    page.click("[data-testid=step-quote] button[type=submit]")
    page.wait_for_selector(".msg.success")
    sign_in(page, "ent")
    page.goto(f"/orders/{o.pk}/")
    page.click("[data-testid=step-accept] button[type=submit]")
    page.wait_for_selector(".msg.success")
    shot(page, "orders-06-order-accepted-client")
    assert Order.objects.get(pk=o.pk).fee_fen == 280_000
    assert "2,800.00" in page.inner_text("[data-testid=fee]")
