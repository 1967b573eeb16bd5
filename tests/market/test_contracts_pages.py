"""Contract pages through Django's test client: the seller's form and list, the registrar's
queue and decision with its confirmation step, appeals, downloads and the import page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from innocommons.market.models import TechContract
from innocommons.market.services import contracts as services

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def form_data(world, **kw):
    data = {
        "seller": world.provider.pk,
        "title": "工业机器人视觉系统技术开发",
        "type": "development",
        "subtype": "commissioned",
        "buyer": world.enterprise.credit_code,
        "buyer_name": "",
        "buyer_region": "",
        "amount": "1,200,000",
        "tech_amount": "1000000.50",
        "payment_method": "instalments",
        "field": "manufacturing",
        "signed_on": str(timezone.localdate() - timedelta(days=2)),
        "file": SimpleUploadedFile("合同.pdf", PDF),
        "action": "submit",
    }
    data.update(kw)
    return data


def submitted(world) -> TechContract:
    return services.create_contract(
        actor=world.provider_member,
        data=services.ContractInput(
            seller_id=world.provider.pk,
            title="技术服务合同",
            type="service",
            buyer_id=world.enterprise.pk,
            amount_fen=50_000_00,
            tech_amount_fen=50_000_00,
            field="electronics",
            signed_on=timezone.localdate(),
        ),
        file=SimpleUploadedFile("c.pdf", PDF),
        submit=True,
    )


def test_seller_registers_a_contract_through_the_form(client, world) -> None:
    client.force_login(world.provider_member)
    page = client.get(reverse("market:contract_new"))
    assert page.status_code == 200 and "contract-form" in page.content.decode()
    resp = client.post(reverse("market:contract_new"), form_data(world))
    c = TechContract.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse(
        "market:contract_detail", args=[c.pk]
    )
    assert (
        c.status == "submitted" and c.amount_fen == 120_000_000 and c.tech_amount_fen == 100_000_050
    )
    assert c.buyer == world.enterprise and c.payment_method == "instalments"
    html = client.get(resp["Location"]).content.decode()
    assert "工业机器人视觉系统技术开发" in html and c.ref in html
    assert str(c.due_on) in html
    mine = client.get(reverse("market:contract_mine")).content.decode()
    assert f"contract-{c.pk}" in mine


def test_form_shows_errors_on_the_fields(client, world) -> None:
    client.force_login(world.provider_member)
    resp = client.post(
        reverse("market:contract_new"),
        form_data(world, tech_amount="2,000,000", subtype="patent_right", buyer="不存在的公司"),
    )
    assert resp.status_code == 200 and not TechContract.objects.exists()
    errors = resp.context["form"].errors
    assert set(errors) == {"buyer"}
    resp = client.post(
        reverse("market:contract_new"),
        form_data(world, tech_amount="2,000,000", subtype="patent_right"),
    )
    assert set(resp.context["form"].errors) == {"tech_amount", "subtype"}
    resp = client.post(
        reverse("market:contract_new"),
        form_data(world, file=SimpleUploadedFile("c.pdf", b"not a pdf")),
    )
    assert set(resp.context["form"].errors) == {"file"} and not TechContract.objects.exists()


def test_foreign_buyer_and_draft_then_submit(client, world) -> None:
    client.force_login(world.provider_member)
    resp = client.post(
        reverse("market:contract_new"),
        form_data(
            world, buyer="", buyer_name="Siemens AG", buyer_region="DE", action="save", file=""
        ),
    )
    c = TechContract.objects.get()
    assert resp.status_code == 302 and c.status == "draft" and c.buyer_region_id == "DE"
    assert "drafts" in client.get(reverse("market:contract_mine")).content.decode()
    edit = reverse("market:contract_edit", args=[c.pk])
    assert client.get(edit).status_code == 200
    resp = client.post(
        edit,
        form_data(world, buyer="", buyer_name="Siemens AG", buyer_region="DE", title="改过的标题"),
    )
    c.refresh_from_db()
    assert resp.status_code == 302 and c.status == "submitted" and c.title == "改过的标题"


def test_draft_from_an_award_has_locked_parties(client, world) -> None:
    draft = services.create_draft(
        seller=world.provider,
        buyer=world.enterprise,
        title="揭榜项目合同",
        amount_fen=300_000_00,
        type="development",
        field="electronics",
        source="challenge",
        source_ref="challenge:9",
    )
    client.force_login(world.provider_member)
    page = client.get(reverse("market:contract_edit", args=[draft.pk])).content.decode()
    assert 'data-testid="locked"' in page
    resp = client.post(
        reverse("market:contract_edit", args=[draft.pk]),
        form_data(world, amount="1", buyer="", tech_amount="250000", action="submit"),
    )
    draft.refresh_from_db()
    assert resp.status_code == 302, resp.context["form"].errors if resp.context else resp
    assert draft.status == "submitted" and draft.amount_fen == 300_000_00
    assert draft.buyer == world.enterprise and draft.tech_amount_fen == 250_000_00


def test_registrar_queue_shows_due_dates_and_overdue(client, world) -> None:
    c = submitted(world)
    late = submitted(world)
    TechContract.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - timedelta(days=2))
    client.force_login(world.admin_js)
    html = client.get(reverse("market:contract_queue")).content.decode()
    assert f"queue-{c.pk}" in html and f"queue-{late.pk}" in html
    assert 'data-testid="overdue-filter"' in html and "badge overdue" in html
    overdue = client.get(reverse("market:contract_queue"), {"overdue": "1"}).content.decode()
    assert f"queue-{late.pk}" in overdue and f"queue-{c.pk}" not in overdue
    client.force_login(world.admin_zj)
    assert f"queue-{c.pk}" not in client.get(reverse("market:contract_queue")).content.decode()
    client.force_login(world.provider_member)
    assert client.get(reverse("market:contract_queue")).status_code == 404


def test_queue_page_query_count_does_not_grow(client, world) -> None:
    client.force_login(world.admin_js)
    submitted(world)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("market:contract_queue"))
    for _ in range(5):
        submitted(world)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("market:contract_queue"))
    assert len(many) == len(few)


def test_decision_needs_confirmation_then_registers(client, world) -> None:
    c = submitted(world)
    url = reverse("market:contract_decide", args=[c.pk])
    client.force_login(world.admin_zj)
    assert client.get(url).status_code == 404
    client.force_login(world.admin_js)
    assert "decision-form" in client.get(url).content.decode()
    post = {
        "decision": "register",
        "type": "service",
        "subtype": "training",
        "tech_amount": "40,000",
        "note": "",
    }
    review = client.post(url, post)
    assert 'data-testid="confirmation"' in review.content.decode()
    c.refresh_from_db()
    assert c.status == "submitted"  # nothing happens before the confirmation
    done = client.post(url, {**post, "confirm": "1"})
    assert done.status_code == 302
    c.refresh_from_db()
    assert c.status == "registered" and c.subtype == "training"
    assert c.registered_tech_amount_fen == 40_000_00
    detail = client.get(reverse("market:contract_detail", args=[c.pk])).content.decode()
    assert c.registration_no in detail
    assert "already been decided" in client.get(url).content.decode()


def test_refusal_needs_reasons_and_seller_appeals(client, world) -> None:
    c = submitted(world)
    url = reverse("market:contract_decide", args=[c.pk])
    client.force_login(world.admin_js)
    post = {
        "decision": "refuse",
        "type": "service",
        "subtype": "service",
        "tech_amount": "1",
        "note": "",
    }
    resp = client.post(url, {**post, "confirm": "1"})
    assert resp.status_code == 200 and "note" in resp.context["form"].errors
    resp = client.post(url, {**post, "note": "缺少技术内容说明"})
    assert 'data-testid="confirmation"' in resp.content.decode()
    client.post(url, {**post, "note": "缺少技术内容说明", "confirm": "1"})
    c.refresh_from_db()
    assert c.status == "refused"
    client.force_login(world.provider_member)
    detail = client.get(reverse("market:contract_detail", args=[c.pk])).content.decode()
    assert "缺少技术内容说明" in detail and "appeal-form" in detail
    resp = client.post(
        reverse("market:contract_appeal", args=[c.pk]),
        {"statement": "已补充技术内容说明", "file": SimpleUploadedFile("new.pdf", PDF)},
    )
    c.refresh_from_db()
    assert resp.status_code == 302 and c.status == "submitted" and c.appeals == 1


def test_detail_and_file_access(client, world) -> None:
    c = submitted(world)
    detail = reverse("market:contract_detail", args=[c.pk])
    file_url = reverse("market:contract_file", args=[c.pk])
    expected = {
        world.provider_member: (200, 200),
        world.enterprise_member: (200, 200),
        world.admin_js: (200, 200),
        world.admin_zj: (404, 404),
        world.operator: (200, 404),
        world.auditor: (200, 404),
        world.outsider: (404, 404),
    }
    for user, (page_status, file_status) in expected.items():
        client.force_login(user)
        assert client.get(detail).status_code == page_status, user
        assert client.get(file_url).status_code == file_status, user
    client.logout()
    assert client.get(detail).status_code == 302  # to the sign-in page


def test_import_page_reports_rejected_lines(client, world) -> None:
    client.force_login(world.admin_js)
    content = (
        "title,type,seller,seller_region,buyer,buyer_region,amount_yuan,field,signed_on\n"
        "技术服务合同,service,南京某公司,320100,上海某公司,310000,1000,electronics,2023-01-01\n"
        "坏行,service,南京某公司,320100,上海某公司,310000,abc,electronics,2023-01-01\n"
    ).encode("gb18030")
    resp = client.post(
        reverse("market:contract_import"), {"file": SimpleUploadedFile("c.csv", content)}
    )
    html = resp.content.decode()
    assert 'data-testid="rejections"' in html and '<td class="num">3</td>' in html
    assert not TechContract.objects.exists()
    client.post(
        reverse("market:contract_import"),
        {"file": SimpleUploadedFile("c.csv", content), "skip_invalid": "on"},
    )
    assert TechContract.objects.count() == 1
    client.force_login(world.provider_member)
    assert client.get(reverse("market:contract_import")).status_code == 404


@pytest.fixture(autouse=True)
def _messages_in_english(english: None) -> None:
    """These tests assert the English wording of messages."""
