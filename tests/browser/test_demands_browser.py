"""Demands in a real browser (screenshots in test-artifacts/screenshots/): an enterprise
posts a demand and reads its matches and their reasons; the alerted provider opens the
demand from its inbox, expresses interest, and the two converse."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from innocommons.market.models import Demand, Thread
from tests.browser.conftest import shot
from tests.market.test_demands_support import sodium_catalog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def test_post_match_alert_interest_and_converse(page, world) -> None:
    items = sodium_catalog(world)
    sign_in(page, "ent")
    page.goto("/market/demands/new/")
    page.fill("input[name=title_zh]", "钠离子电池正极材料技术许可")
    page.fill(
        "textarea[name=summary_zh]",
        "计划建设钠离子电池产线，需要不含镍钴的层状氧化物正极材料制备技术。",
    )
    page.fill("textarea[name=details_zh]", "年产能规划两万吨。")
    page.fill("input[name=keywords]", "钠离子电池；正极材料")
    page.select_option("select[name=field]", "0603")
    page.fill("input[name=budget_min]", "5000000")
    page.fill("input[name=budget_max]", "10000000")
    page.fill("input[name=deadline]", str(timezone.localdate() + timedelta(days=30)))
    shot(page, "demands-01-form")
    page.click("button[value=publish]")
    page.wait_for_selector(".msg.success")
    d = Demand.objects.get()
    assert d.status == "published"
    match = page.locator(f"[data-testid=match-{items['strong'].pk}]")
    assert match.count() == 1 and "钠离子" in match.inner_text()
    assert match.locator("[data-factor=region]").inner_text().strip() != ""
    shot(page, "demands-02-detail-matches")
    page.click("#matches nav a >> nth=-1")  # the providers tab, swapped in by htmx
    page.wait_for_selector(f"[data-testid=provider-{world.provider.pk}]")
    shot(page, "demands-03-providers")

    sign_in(page, "prov")
    page.goto("/inbox/")
    assert "1" in page.inner_text("[data-testid=unread-count]")
    shot(page, "demands-04-provider-inbox")
    page.click("[data-testid=notifications] button >> nth=0")  # open: marks it read
    page.wait_for_url(re.compile(rf".*/market/demands/{d.pk}/$"))
    assert "年产能规划两万吨" in page.inner_text("[data-testid=demand-details]")
    page.select_option("select[name=resource]", str(items["strong"].pk))
    page.fill("textarea[name=message]", "我们有吨级中试数据，欢迎交流。")
    page.click("#interest-h ~ form button[type=submit]")
    page.wait_for_url(re.compile(r".*/market/threads/\d+/$"))
    shot(page, "demands-05-thread-provider")
    t = Thread.objects.get()

    sign_in(page, "ent")
    page.goto("/inbox/")
    page.click("[data-testid=notifications] button >> nth=0")
    page.wait_for_url(re.compile(rf".*/market/threads/{t.pk}/$"))
    page.fill("textarea[name=body]", "请寄样品，谢谢。")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("text=请寄样品，谢谢。")
    shot(page, "demands-06-thread-enterprise")
    assert t.messages.count() == 2
