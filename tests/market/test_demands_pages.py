"""Demand pages through Django's test client: the list, a demand with its hidden or shown
details and its matches with reasons (also as htmx partials), posting and editing, interest
and the conversation, the inbox, and the partial for a listing's page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from innocommons.core.models import Notification
from innocommons.market.models import Demand, Message, Thread
from innocommons.market.services import demands as services
from tests import factories
from tests.market.test_demands_support import make_demand, sodium_catalog

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def form(**kw):
    data = {
        "organisation": "",
        "title_zh": "钠离子电池正极材料技术许可",
        "title_en": "",
        "summary_zh": "需要不含镍钴的层状氧化物正极材料制备技术。",
        "summary_en": "",
        "details_zh": "规划产能两万吨。",
        "details_en": "",
        "confidentiality": "verified",
        "keywords": "钠离子电池；正极材料",
        "field": "0603",
        "budget_min": "5,000,000",
        "budget_max": "10000000",
        "min_trl": "6",
        "deadline": str(timezone.localdate() + timedelta(days=30)),
        "region": "",
    }
    data.update(kw)
    return data


def test_list_shows_published_demands_and_filters(client, world) -> None:
    live = make_demand(world)
    draft = make_demand(world, publish=False, title_zh="未发布的草稿")
    other = make_demand(
        world, title_zh="核磁共振测试", summary_zh="需要核磁机时。", keywords="核磁", field="0405"
    )
    page = client.get(reverse("market:demand_list")).content.decode()
    assert f'data-testid="demand-{live.pk}"' in page and "未发布的草稿" not in page
    assert f'data-testid="demand-{draft.pk}"' not in page
    filtered = client.get(reverse("market:demand_list"), {"field": "04"}, **HTMX).content.decode()
    assert (
        "<html" not in filtered
        and f"demand-{other.pk}" in filtered
        and f"demand-{live.pk}" not in filtered
    )
    searched = client.get(reverse("market:demand_list"), {"q": "钠离子"}).content.decode()
    assert f"demand-{live.pk}" in searched and f"demand-{other.pk}" not in searched


def test_list_queries_do_not_grow_with_the_rows(client, world) -> None:
    make_demand(world)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("market:demand_list"))
    for i in range(5):
        make_demand(world, title_zh=f"需求{i}")
    with CaptureQueriesContext(connection) as six:
        client.get(reverse("market:demand_list"))
    assert len(six.captured_queries) == len(one.captured_queries)


def test_detail_hides_details_from_anonymous_and_shows_matches_with_reasons(client, world) -> None:
    items = sodium_catalog(world)
    d = make_demand(world)
    page = client.get(reverse("market:demand_detail", args=[d.pk])).content.decode()
    assert "计划建设钠离子电池产线" in page
    assert 'data-testid="details-hidden"' in page and "年产能规划两万吨" not in page
    assert f'data-testid="match-{items["strong"].pk}"' in page
    for factor in ("text", "field", "maturity", "price", "region"):
        assert f'data-factor="{factor}"' in page
    assert "钠离子" in page and "Across regions" in page
    client.force_login(world.provider_member)
    page = client.get(reverse("market:demand_detail", args=[d.pk])).content.decode()
    assert 'data-testid="demand-details"' in page and "年产能规划两万吨" in page
    assert "Express your interest" in page and "Edit" not in page


def test_match_tabs_are_htmx_partials(client, world) -> None:
    items = sodium_catalog(world)
    d = make_demand(world)
    url = reverse("market:demand_matches", args=[d.pk])
    providers = client.get(url, {"kind": "providers"}, **HTMX).content.decode()
    assert "<html" not in providers and f'data-testid="provider-{world.provider.pk}"' in providers
    instruments = client.get(url, {"kind": "instrument"}, **HTMX).content.decode()
    assert f"match-{items['strong'].pk}" not in instruments
    draft = make_demand(world, publish=False)
    assert client.get(reverse("market:demand_matches", args=[draft.pk])).status_code == 404


def test_post_publish_edit_and_close(client, world) -> None:
    client.force_login(world.enterprise_member)
    url = reverse("market:demand_new")
    bad = client.post(
        url,
        form(
            organisation=world.enterprise.pk,
            deadline=str(timezone.localdate() - timedelta(days=1)),
            action="publish",
        ),
    )
    assert bad.status_code == 200 and "The deadline cannot be in the past." in bad.content.decode()
    assert not Demand.objects.exists()
    ok = client.post(url, form(organisation=world.enterprise.pk, action="publish"))
    d = Demand.objects.get()
    assert ok.status_code == 302 and ok["Location"] == reverse("market:demand_detail", args=[d.pk])
    assert d.status == "published" and d.budget_max_fen == 10_000_000_00 and d.min_trl == 6
    edit = reverse("market:demand_edit", args=[d.pk])
    assert "钠离子电池；正极材料" in client.get(edit).content.decode()
    client.post(edit, form(title_en="Sodium-ion cathodes"))
    d.refresh_from_db()
    assert d.title_en == "Sodium-ion cathodes"
    client.post(reverse("market:demand_close", args=[d.pk]), {"outcome": "withdrawn"})
    d.refresh_from_db()
    assert (d.status, d.outcome) == ("closed", "withdrawn")
    assert client.get(edit).status_code == 403


def test_draft_then_publish_from_the_page(client, world) -> None:
    client.force_login(world.enterprise_member)
    client.post(reverse("market:demand_new"), form(organisation=world.enterprise.pk, action="save"))
    d = Demand.objects.get()
    assert d.status == "draft"
    page = client.get(reverse("market:demand_detail", args=[d.pk])).content.decode()
    assert reverse("market:demand_publish", args=[d.pk]) in page
    client.post(reverse("market:demand_publish", args=[d.pk]))
    d.refresh_from_db()
    assert d.status == "published"


@pytest.mark.parametrize("who", ["provider_member", "outsider", "operator"])
def test_others_cannot_edit_or_post_for_the_enterprise(client, world, who) -> None:
    d = make_demand(world)
    client.force_login(getattr(world, who))
    assert client.get(reverse("market:demand_edit", args=[d.pk])).status_code == 403
    client.post(reverse("market:demand_close", args=[d.pk]), {"outcome": "withdrawn"})
    d.refresh_from_db()
    assert d.status == "published"
    assert client.get(reverse("market:demand_new")).status_code == 403


def test_interest_opens_the_thread_page_for_the_two_organisations_only(client, world) -> None:
    d = make_demand(world)
    client.force_login(world.provider_member)
    r = client.post(
        reverse("market:demand_interest", args=[d.pk]),
        {"organisation": world.provider.pk, "message": "我们有中试数据", "resource": ""},
    )
    t = Thread.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("market:thread", args=[t.pk])
    page = client.get(reverse("market:thread", args=[t.pk])).content.decode()
    assert "我们有中试数据" in page
    client.post(reverse("market:thread", args=[t.pk]), {"body": "欢迎来访"})
    client.force_login(world.enterprise_member)
    page = client.get(reverse("market:thread", args=[t.pk])).content.decode()
    assert "欢迎来访" in page
    mine = client.get(reverse("market:demand_mine")).content.decode()
    assert reverse("market:thread", args=[t.pk]) in mine
    for outsider in (world.outsider, world.operator):
        client.force_login(outsider)
        assert client.get(reverse("market:thread", args=[t.pk])).status_code == 404
        client.post(reverse("market:thread", args=[t.pk]), {"body": "偷看"})
    client.force_login(world.auditor)  # reads (DESIGN §2), without a form to write
    page = client.get(reverse("market:thread", args=[t.pk])).content.decode()
    assert "欢迎来访" in page and 'name="body"' not in page
    client.post(reverse("market:thread", args=[t.pk]), {"body": "偷看"})
    assert Message.objects.filter(body="偷看").count() == 0
    client.logout()
    assert client.get(reverse("market:thread", args=[t.pk])).status_code == 302  # to sign-in


def test_inbox_lists_counts_and_marks_read(client, world) -> None:
    assert client.get(reverse("market:inbox")).status_code == 302
    d = make_demand(world)
    for n in range(2):
        services.express_interest(
            actor=world.provider_member,
            demand_id=d.pk,
            organisation_id=world.provider.pk,
            message=f"消息{n}",
        )
    client.force_login(world.enterprise_member)
    page = client.get(reverse("market:inbox")).content.decode()
    assert 'data-testid="unread-count">2 unread' in page
    first = Notification.objects.filter(user=world.enterprise_member).order_by("id").first()
    r = client.post(reverse("market:inbox"), {"id": first.pk, "next": first.link})
    assert r.status_code == 302 and r["Location"] == first.link
    assert "1 unread" in client.get(reverse("market:inbox")).content.decode()
    unread_only = client.get(reverse("market:inbox"), {"unread": "1"}).content.decode()
    assert f"notification-{first.pk}" not in unread_only
    # An open redirect is refused: back to the inbox.
    assert client.post(reverse("market:inbox"), {"id": first.pk, "next": "//evil.example"})[
        "Location"
    ] == reverse("market:inbox")
    client.post(reverse("market:inbox"))
    assert "0 unread" in client.get(reverse("market:inbox")).content.decode()
    assert not Notification.objects.filter(
        user=world.provider_member, read_at__isnull=False
    ).exists()


def test_partial_for_an_achievement_page(client, world) -> None:
    items = sodium_catalog(world)
    d = make_demand(world)
    url = reverse("market:demand_for_resource", args=[items["strong"].pk])
    page = client.get(url, **HTMX).content.decode()
    assert f'data-testid="demand-match-{d.pk}"' in page and 'data-factor="text"' in page
    nothing = client.get(
        reverse("market:demand_for_resource", args=[items["unrelated"].pk])
    ).content.decode()
    assert "No open demand matches this listing yet." in nothing
    loader = render_to_string(
        "market/demands/partials/for_resource_loader.html", {"resource": items["strong"]}
    )
    assert f'hx-get="{url}"' in loader and 'hx-trigger="load"' in loader
    draft = factories.resource(
        world.provider, actor=world.provider_member, publish=False, title_zh="钠离子草稿"
    )
    assert client.get(reverse("market:demand_for_resource", args=[draft.pk])).status_code == 404


@pytest.fixture(autouse=True)
def _messages_in_english(english: None) -> None:
    """These tests assert the English wording of messages."""
