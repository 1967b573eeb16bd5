"""The live lot page in a real browser (Debian's Chromium through Playwright): the
countdown runs, another bidder's bid appears without a reload (htmx polling every 2 s),
and a quick-bid button places a bid after the confirmation (htmx POST with the CSRF
header). Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from innocommons.market.models import Bid
from innocommons.market.services import auctions as services
from tests.browser.conftest import shot
from tests.market.test_auctions import INC, START, auction, bidder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, username: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()


def test_live_lot_page_updates_and_bids_without_reload(page) -> None:
    a = auction()
    me, _my_org, _ = bidder(a.session)
    rival, _rival_org, _ = bidder(a.session)
    other, _other_org, _ = bidder(a.session)
    services.place_bid(actor=rival, lot_id=a.lot.pk, amount_fen=START)
    login(page, me.username)
    page.goto(f"/market/auctions/lots/{a.lot.pk}/")
    price = page.locator("[data-testid=price]")
    assert "2,000,000.00" in price.inner_text()

    # The countdown ticks in the browser.
    clock = page.locator("[data-testid=countdown]")
    first = clock.inner_text()
    assert re.fullmatch(r"\d\d:\d\d:\d\d", first), first
    page.wait_for_function(
        "t => document.querySelector('[data-testid=countdown]').innerText !== t", arg=first
    )

    # A rival's bid shows up without a reload.
    page.evaluate("window.__same_page = true")
    services.place_bid(actor=other, lot_id=a.lot.pk, amount_fen=START + 2 * INC)
    page.wait_for_function(
        "document.querySelector('[data-testid=price]').innerText.includes('2,200,000.00')",
        timeout=10_000,
    )
    assert page.evaluate("window.__same_page") is True
    shot(page, "auction-01-live")

    # One click on the next valid bid (+1 increment), confirmed in the dialog.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"[data-testid=bid-{START + 3 * INC}]")
    page.wait_for_selector("[data-testid=bid-ok]")
    assert page.evaluate("window.__same_page") is True
    assert "2,300,000.00" in price.inner_text()
    last = Bid.objects.filter(lot=a.lot).order_by("-seq").first()
    assert last is not None and (last.seq, last.amount_fen, last.placed_by_id) == (
        3,
        START + 3 * INC,
        me.pk,
    )
    shot(page, "auction-02-bid")
