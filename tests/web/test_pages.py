"""Web pages through Django's test client: access rules, forms, htmx partials, exports."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from innocommons.accounts.models import Organisation
from innocommons.catalog.completeness import completeness
from innocommons.catalog.models import Resource
from innocommons.catalog.search import indexer
from innocommons.core.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(world):
    r = factories.resource(
        world.provider,
        actor=world.provider_member,
        kind="service",
        title_zh="电磁兼容检测",
        title_en="EMC testing",
        price_yuan="3000",
        field="01",
        summary_zh="按国家标准开展电磁兼容检测。",
    )
    indexer.apply_outbox()
    return r


def test_home_shows_counts_and_newest(client, listing) -> None:
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "电磁兼容检测" in html and 'lang="zh-CN"' in html


def test_navigation_leads_to_statistics_and_administrators_to_their_dashboard(
    client, world
) -> None:
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'href="/stats/"' in html and "统计" in html
    assert 'href="/stats/admin/"' not in html  # the dashboard link is for administrators
    client.force_login(world.admin_js)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'href="/stats/admin/"' in html and "统计看板" in html
    assert client.get("/stats/admin/").status_code == 200


def test_english_via_accept_language_and_cookie(client, listing) -> None:
    html = client.get(f"/resources/{listing.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "EMC testing" in html and 'lang="en"' in html


def test_search_page_and_htmx_partial(client, listing) -> None:
    full = client.get("/search/", {"q": "电磁兼容"})
    assert b"<html" in full.content and "电磁兼容检测" in full.content.decode()
    partial = client.get("/search/", {"q": "电磁兼容", "kind": "service"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and "电磁兼容检测" in partial.content.decode()


def test_search_page_survives_hostile_params(client, listing) -> None:
    for params in (
        {"q": "\x00" * 50},
        {"page": "-3"},
        {"page": "abc"},
        {"sort": "<x>"},
        {"q": "a" * 20000},
        {"kind": "'; drop table"},
    ):
        assert client.get("/search/", params).status_code == 200


def test_export_csv_and_xlsx(client, listing) -> None:
    csv_resp = client.get("/search/export/", {"q": "电磁兼容", "format": "csv"})
    text = csv_resp.content.decode("utf-8-sig")
    assert "电磁兼容检测" in text and "3000.00" in text
    xlsx = client.get("/search/export/", {"q": "电磁兼容", "format": "xlsx"})
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][2] == "电磁兼容检测"


def test_export_neutralises_formula_injection(client, world) -> None:
    factories.resource(world.provider, actor=world.provider_member, title_zh="=HYPERLINK(1)注入")
    indexer.apply_outbox()
    text = client.get("/search/export/", {"q": "注入"}).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_drafts_are_404_for_the_public_and_visible_to_owners(client, world) -> None:
    draft = factories.resource(world.provider, actor=world.provider_member, publish=False)
    assert client.get(f"/resources/{draft.pk}/").status_code == 404
    client.force_login(world.provider_member)
    assert client.get(f"/resources/{draft.pk}/").status_code == 200


def test_my_listings_needs_login_and_shows_completeness(client, world, listing) -> None:
    assert client.get("/my/listings/").status_code == 302
    client.force_login(world.provider_member)
    html = client.get("/my/listings/").content.decode()
    assert "电磁兼容检测" in html and "<meter" in html


def test_create_listing_form_shows_field_errors_then_saves(client, world) -> None:
    client.force_login(world.provider_member)
    url = reverse("web:listing_create", args=["achievement"])
    resp = client.post(url, {"title_zh": "", "trl": "15"})
    assert resp.status_code == 200 and "has-error" in resp.content.decode()
    assert not Resource.objects.exists()
    resp = client.post(url, {"title_zh": "新型催化剂", "trl": "5", "publish": "1"})
    r = Resource.objects.get()
    assert resp.status_code == 302 and r.status == "published"


def test_status_change_from_my_listings(client, world, listing) -> None:
    client.force_login(world.provider_member)
    client.post(reverse("web:listing_status", args=[listing.pk]), {"status": "archived"})
    listing.refresh_from_db()
    assert listing.status == "archived"
    client.force_login(world.enterprise_member)
    client.post(reverse("web:listing_status", args=[listing.pk]), {"status": "published"})
    listing.refresh_from_db()
    assert listing.status == "archived"


def test_review_queue_is_regional(client, world) -> None:
    client.force_login(world.admin_zj)
    assert "苏州待审企业" not in client.get("/review/organisations/").content.decode()
    client.force_login(world.enterprise_member)
    assert client.get("/review/organisations/").status_code == 404
    client.force_login(world.admin_js)
    assert "苏州待审企业" in client.get("/review/organisations/").content.decode()
    client.post(
        reverse("web:review_decide", args=[world.pending.pk]), {"decision": "reject", "reason": ""}
    )
    world.pending.refresh_from_db()
    assert world.pending.status == "pending"  # a reason is required
    client.post(reverse("web:review_decide", args=[world.pending.pk]), {"decision": "verify"})
    world.pending.refresh_from_db()
    assert world.pending.status == "verified"
    assert AuditEntry.objects.filter(action="organisation.verified").exists()


def test_signup_then_apply_for_an_organisation(client) -> None:
    resp = client.post(
        "/signup/",
        {
            "username": "newfirm",
            "email": "a@b.cn",
            "password1": "Xk3!pQ9#zL",
            "password2": "Xk3!pQ9#zL",
        },
    )
    assert resp.status_code == 302
    resp = client.post(
        "/organisations/apply/",
        {
            "name_zh": "合肥量子科技",
            "type": "enterprise",
            "region": "340100",
            "credit_code": "BAD",
        },
    )
    assert "has-error" in resp.content.decode()
    resp = client.post(
        "/organisations/apply/",
        {
            "name_zh": "合肥量子科技",
            "type": "enterprise",
            "region": "340100",
            "credit_code": factories.credit_code("340100"),
        },
    )
    assert resp.status_code == 302
    assert Organisation.objects.get(name_zh="合肥量子科技").status == "pending"


def test_tokens_page_creates_and_revokes(client, world) -> None:
    client.force_login(world.outsider)
    html = client.post("/my/tokens/", {"name": "script"}).content.decode()
    assert 'data-testid="new-token">ic_' in html
    token = world.outsider.api_tokens.get()
    client.post("/my/tokens/", {"revoke": str(token.pk)})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_completeness_score_names_what_is_missing(world) -> None:
    bare = factories.resource(world.provider, actor=world.provider_member, kind="achievement")
    c = completeness(bare)
    assert c.score == 0 and len(c.missing) == 11
    full = factories.resource(
        world.provider,
        actor=world.provider_member,
        kind="achievement",
        title_en="x",
        summary_zh="一" * 30,
        summary_en="y",
        keywords="a;b;c",
        field="01",
        problem="p",
        advantages="a",
        trl=6,
        patents="ZL1",
        transfer_modes="transfer",
        price_yuan="1",
    )
    assert completeness(full).score == 100


def test_checkbox_fields_reach_the_service(client, world) -> None:
    client.force_login(world.provider_member)
    client.post(
        reverse("web:listing_create", args=["service"]), {"title_zh": "材料检测", "cma": "on"}
    )
    service = Resource.objects.get().service
    assert service.cma is True and service.cnas is False


def test_sign_in_page_locks_out_after_repeated_failures(client, world, settings) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/login/", {"username": "prov", "password": "bad"})
    resp = client.post("/login/", {"username": "prov", "password": "pw-prov"})
    assert resp.status_code == 429
    assert "_auth_user_id" not in client.session


def test_org_admin_manages_members_on_the_web(client, world) -> None:
    url = reverse("web:members", args=[world.provider.pk])
    client.force_login(world.enterprise_member)
    assert client.get(url).status_code == 404
    client.force_login(world.provider_member)
    client.post(url, {"username": "nobody", "role": "member"})
    assert not world.provider.memberships.filter(user=world.outsider).exists()  # not an admin
    client.force_login(world.org_admin)
    client.post(url, {"username": "nobody", "role": "member"})
    assert world.provider.memberships.filter(user=world.outsider, role="member").exists()
    client.post(url, {"username": "nobody", "role": ""})
    assert not world.provider.memberships.filter(user=world.outsider).exists()
    assert AuditEntry.objects.filter(action="membership.role").count() == 2


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_status_change_never_redirects_off_site(client, world, listing, target) -> None:
    client.force_login(world.provider_member)
    resp = client.post(
        reverse("web:listing_status", args=[listing.pk]), {"status": "draft", "next": target}
    )
    assert resp.status_code == 302 and resp["Location"] == reverse("web:my_listings")


def _add_listings(world, n: int) -> None:
    kinds = ["instrument", "service", "achievement", "expert"]
    start = world.provider.resources.count()
    for i in range(start, start + n):
        factories.resource(
            world.provider, actor=world.provider_member, kind=kinds[i % 4], title_zh=f"批量资源{i}"
        )
    indexer.apply_outbox()


@pytest.mark.parametrize("url", ["/search/?q=批量", "/my/listings/", "org-page"])
def test_list_pages_cost_the_same_queries_for_3_or_20_listings(client, world, url) -> None:
    """No query per listing (N+1): a page's query count does not grow with its rows."""
    client.force_login(world.provider_member)
    url = f"/organisations/{world.provider.pk}/" if url == "org-page" else url
    counts = []
    for n in (3, 17):
        _add_listings(world, n)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
