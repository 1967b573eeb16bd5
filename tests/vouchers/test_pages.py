"""Voucher web pages through Django's test client: every role's pages, empty states, forms
with their errors, the confirmation steps, cross-region access and query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from innocommons.core.models import AuditEntry
from innocommons.vouchers import codes, services
from innocommons.vouchers.models import Application, Claim, Programme, Redemption, Voucher
from tests import factories as f
from tests.vouchers import factories as vf

pytestmark = pytest.mark.django_db


@pytest.fixture
def sh_admin():
    return vf.regional_admin("310000")


@pytest.fixture
def prog(sh_admin):
    return vf.programme(sh_admin, name_en="Shanghai test vouchers", agency="上海市科委")


def _voucher(world, prog, sh_admin, amount=100_000_00) -> Voucher:
    application = services.apply_for_voucher(
        actor=world.enterprise_member,
        programme_id=prog.pk,
        organisation_id=world.enterprise.pk,
        amount_fen=amount,
        purpose="检测",
    )
    return services.approve_application(actor=sh_admin, application_id=application.pk)


def _claimed(world, prog, sh_admin, fee=50_000_00) -> Claim:
    v = _voucher(world, prog, sh_admin)
    order = vf.completed_order(world.enterprise, world.provider, fee_fen=fee)
    services.redeem_voucher(actor=world.enterprise_member, voucher=v.pk, order_id=order.pk)
    return services.submit_claim(
        actor=world.provider_member, provider_id=world.provider.pk, programme_id=prog.pk
    )


def _html(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.content.decode()


# --- everyone and enterprises -------------------------------------------------------------


def test_programme_list_empty_state_and_eligibility(client, world, sh_admin) -> None:
    assert "No programme is open" in _html(client.get("/vouchers/", HTTP_ACCEPT_LANGUAGE="en"))
    prog = vf.programme(sh_admin, name_en="Shanghai test vouchers")
    draft = vf.programme(sh_admin, status="draft")

    html = _html(client.get("/vouchers/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Shanghai test vouchers" in html and f"programme-{draft.pk}" not in html
    assert "Sign in" in html

    client.force_login(world.enterprise_member)
    html = _html(client.get("/vouchers/", HTTP_ACCEPT_LANGUAGE="en"))
    assert f"{world.enterprise.name_zh} may apply" in html

    client.force_login(world.provider_member)
    html = _html(client.get(f"/vouchers/programmes/{prog.pk}/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Only enterprises can apply" in html and 'data-testid="apply"' not in html
    # A draft is not public.
    assert client.get(f"/vouchers/programmes/{draft.pk}/").status_code == 404


def test_apply_form_shows_errors_then_submits(client, world, prog) -> None:
    client.force_login(world.enterprise_member)
    url = reverse("vouchers:apply", args=[prog.pk])
    html = _html(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Amount (yuan)" in html

    bad = client.post(url, {"organisation": world.enterprise.pk, "amount": "abc", "purpose": "x"})
    assert "Enter an amount in yuan" in _html(bad) or "元" in _html(bad)
    assert not Application.objects.exists()

    # Over the programme's cap per voucher: the service's rule, shown on the amount field.
    over = client.post(
        url,
        {"organisation": world.enterprise.pk, "amount": "300000", "purpose": "检测"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "worth at most" in _html(over) and not Application.objects.exists()

    ok = client.post(
        url,
        {"organisation": world.enterprise.pk, "amount": "120,000.50", "purpose": "材料检测"},
    )
    assert ok.status_code == 302 and ok["Location"] == reverse("vouchers:my_vouchers")
    application = Application.objects.get()
    assert application.amount_fen == 120_000_50

    html = _html(client.get(ok["Location"], HTTP_ACCEPT_LANGUAGE="en"))
    assert "Awaiting decision" in html and "Administrators of" in html and "Since" in html

    again = client.post(
        url,
        {"organisation": world.enterprise.pk, "amount": "100", "purpose": "再次"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "already has an application" in _html(again)


def test_apply_redirects_with_reason_when_not_eligible(client, world, prog) -> None:
    client.force_login(world.provider_member)
    resp = client.get(reverse("vouchers:apply", args=[prog.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 302
    html = _html(client.get(resp["Location"], HTTP_ACCEPT_LANGUAGE="en"))
    assert "Only enterprises can apply" in html


def test_withdraw_from_my_vouchers(client, world, prog) -> None:
    a = services.apply_for_voucher(
        actor=world.enterprise_member,
        programme_id=prog.pk,
        organisation_id=world.enterprise.pk,
        amount_fen=1000_00,
        purpose="检测",
    )
    client.force_login(world.outsider)
    client.post(reverse("vouchers:withdraw", args=[a.pk]))
    a.refresh_from_db()
    assert a.status == "submitted"
    client.force_login(world.enterprise_member)
    resp = client.post(reverse("vouchers:withdraw", args=[a.pk]))
    assert resp.status_code == 302
    a.refresh_from_db()
    assert a.status == "withdrawn"


def test_my_vouchers_empty_states(client, world) -> None:
    client.force_login(world.outsider)
    html = _html(client.get("/vouchers/mine/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "not a member of any organisation" in html
    client.force_login(world.enterprise_member)
    html = _html(client.get("/vouchers/mine/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "hold no vouchers yet" in html and "No applications yet" in html


def test_my_vouchers_and_voucher_detail(client, world, prog, sh_admin) -> None:
    v = _voucher(world, prog, sh_admin)
    order = vf.completed_order(world.enterprise, world.provider, fee_fen=40_000_00)
    client.force_login(world.enterprise_member)
    html = _html(client.get("/vouchers/mine/", HTTP_ACCEPT_LANGUAGE="en"))
    assert codes.display(v.code) in html and "¥100,000.00" in html
    assert f"use-voucher-{order.pk}" in html

    services.redeem_voucher(actor=world.enterprise_member, voucher=v.pk, order_id=order.pk)
    html = _html(client.get(reverse("vouchers:voucher", args=[v.pk]), HTTP_ACCEPT_LANGUAGE="en"))
    assert codes.display(v.code) in html and "¥80,000.00" in html
    assert order.ref in html and "not yet claimed" in html
    # Nobody else sees the voucher.
    client.force_login(world.provider_member)
    assert client.get(reverse("vouchers:voucher", args=[v.pk])).status_code == 404


def test_redeem_shows_the_quote_then_pays_once(client, world, prog, sh_admin) -> None:
    v = _voucher(world, prog, sh_admin, amount=30_000_00)
    order = vf.completed_order(world.enterprise, world.provider, fee_fen=100_000_00)
    client.force_login(world.enterprise_member)
    url = reverse("vouchers:redeem", args=[order.pk])
    html = _html(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    # 50% of 100,000 = 50,000, but the balance is 30,000: the voucher pays 30,000.
    assert "¥30,000.00" in html and "¥70,000.00" in html and 'data-testid="quote"' in html

    partial = client.get(url, {"voucher": v.pk}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b'data-testid="quote"' in partial.content

    body = {"voucher": v.pk, "key": "k-123"}
    first = client.post(url, body)
    second = client.post(url, body)  # a double click
    assert first.status_code == second.status_code == 302
    assert Redemption.objects.filter(order=order).count() == 1
    v.refresh_from_db()
    assert v.balance_fen == 0 and v.status == "exhausted"

    html = _html(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert 'data-testid="already-redeemed"' in html


def test_redeem_rule_problem_is_a_message_not_an_error(client, world, sh_admin) -> None:
    own = vf.programme(sh_admin, scope=Programme.Scope.OWN_REGION)
    _voucher(world, own, sh_admin)
    order = vf.completed_order(world.enterprise, world.provider)  # provider in Jiangsu
    client.force_login(world.enterprise_member)
    html = _html(client.get(reverse("vouchers:redeem", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en"))
    assert "outside the regions where this voucher is accepted" in html
    assert 'data-testid="confirm-redeem"' not in html
    v = Voucher.objects.get()
    resp = client.post(
        reverse("vouchers:redeem", args=[order.pk]),
        {"voucher": v.pk, "key": "x"},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert "outside the regions" in _html(resp) and not Redemption.objects.exists()


def test_redeem_other_organisations_order_is_404(client, world, prog, sh_admin) -> None:
    order = vf.completed_order(world.enterprise, world.provider)
    client.force_login(world.provider_member)
    assert client.get(reverse("vouchers:redeem", args=[order.pk])).status_code == 404
    client.force_login(world.enterprise_member)
    html = _html(client.get(reverse("vouchers:redeem", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en"))
    assert "has no active voucher" in html


# --- providers ---------------------------------------------------------------------------


def test_provider_claims_page_and_claim_button(client, world, prog, sh_admin) -> None:
    client.force_login(world.provider_member)
    html = _html(client.get("/vouchers/claims/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Nothing to claim" in html and "No claims yet" in html

    v = _voucher(world, prog, sh_admin)
    order = vf.completed_order(world.enterprise, world.provider, fee_fen=10_000_00)
    services.redeem_voucher(actor=world.enterprise_member, voucher=v.pk, order_id=order.pk)
    html = _html(client.get("/vouchers/claims/", HTTP_ACCEPT_LANGUAGE="en"))
    assert f"claim-{prog.pk}" in html and "¥5,000.00" in html

    resp = client.post(
        reverse("vouchers:claim_submit"), {"provider": world.provider.pk, "programme": prog.pk}
    )
    assert resp.status_code == 302
    claim = Claim.objects.get()
    assert claim.amount_fen == 5_000_00
    html = _html(client.get(resp["Location"], HTTP_ACCEPT_LANGUAGE="en"))
    assert "Awaiting review" in html and "Expected with the settlement" in html

    # Claiming again: nothing left, a message, no error page.
    resp = client.post(
        reverse("vouchers:claim_submit"),
        {"provider": world.provider.pk, "programme": prog.pk},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "no unclaimed redemptions" in _html(resp)
    # Someone else's provider.
    client.force_login(world.enterprise_member)
    resp = client.post(
        reverse("vouchers:claim_submit"), {"provider": world.provider.pk, "programme": prog.pk}
    )
    assert resp.status_code == 302 and Claim.objects.count() == 1


# --- administrators ----------------------------------------------------------------------


def test_back_office_is_hidden_from_others(client, world, prog) -> None:
    for user in (world.enterprise_member, world.provider_member, world.outsider):
        client.force_login(user)
        for name in ("vouchers:manage", "vouchers:application_queue", "vouchers:claim_queue"):
            assert client.get(reverse(name)).status_code == 404
        assert client.get(reverse("vouchers:dashboard", args=[prog.pk])).status_code == 403
        assert client.get(reverse("vouchers:programme_create")).status_code == 404
    client.logout()
    assert client.get(reverse("vouchers:manage")).status_code == 302  # to sign-in


def test_other_regions_admin_cannot_see_programme_books(client, world, prog, sh_admin) -> None:
    claim = _claimed(world, prog, sh_admin)
    application = Application.objects.get()
    client.force_login(world.admin_js)
    assert client.get(reverse("vouchers:dashboard", args=[prog.pk])).status_code == 403
    assert client.get(reverse("vouchers:ledger", args=[prog.pk])).status_code == 403
    assert client.get(reverse("vouchers:batches", args=[prog.pk])).status_code == 403
    assert (
        client.get(reverse("vouchers:application_decide", args=[application.pk])).status_code == 404
    )
    assert client.get(reverse("vouchers:claim_decide", args=[claim.pk])).status_code == 404
    assert (
        client.get(reverse("vouchers:application_queue"), {"programme": prog.pk}).status_code == 403
    )
    html = _html(client.get(reverse("vouchers:claim_queue"), HTTP_ACCEPT_LANGUAGE="en"))
    assert "No claims here" in html
    resp = client.post(
        reverse("vouchers:claim_decide", args=[claim.pk]), {"decision": "approve", "confirm": "1"}
    )
    assert resp.status_code == 404
    claim.refresh_from_db()
    assert claim.status == "submitted"


def test_manage_and_dashboard_show_budget_bars(client, world, prog, sh_admin) -> None:
    _claimed(world, prog, sh_admin, fee=50_000_00)  # voucher 100k; redeemed 25k
    client.force_login(sh_admin)
    html = _html(client.get(reverse("vouchers:manage"), HTTP_ACCEPT_LANGUAGE="en"))
    assert f"programme-{prog.pk}" in html and "1 claim waiting" in html
    html = _html(
        client.get(reverse("vouchers:dashboard", args=[prog.pk]), HTTP_ACCEPT_LANGUAGE="en")
    )
    # Funded 10m; committed 75k (unspent); redeemed 25k; available 9.9m.
    assert 'data-testid="fig-funded">¥10,000,000.00' in html
    assert 'data-testid="fig-committed">¥75,000.00' in html
    assert 'data-testid="fig-redeemed">¥25,000.00' in html
    assert 'data-testid="fig-available">¥9,900,000.00' in html
    assert 'data-testid="apps-approved">1<' in html
    assert "width:99.00%" in html  # available share of the funded budget


def test_auditor_reads_but_cannot_act(client, world, prog, sh_admin) -> None:
    claim = _claimed(world, prog, sh_admin)
    client.force_login(world.auditor)
    html = _html(
        client.get(reverse("vouchers:dashboard", args=[prog.pk]), HTTP_ACCEPT_LANGUAGE="en")
    )
    assert "Read-only" in html and 'data-testid="add-budget"' not in html
    html = _html(client.get(reverse("vouchers:claim_queue"), HTTP_ACCEPT_LANGUAGE="en"))
    assert f"claim-{claim.pk}" in html and f"approve-claim-{claim.pk}" not in html
    html = _html(client.get(reverse("vouchers:ledger", args=[prog.pk]), HTTP_ACCEPT_LANGUAGE="en"))
    assert f"P{prog.pk}:budget" in html
    resp = client.post(
        reverse("vouchers:claim_decide", args=[claim.pk]),
        {"decision": "approve", "confirm": "1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert resp.status_code == 200 and "Only the issuing region" in resp.content.decode()
    claim.refresh_from_db()
    assert claim.status == "submitted"


def test_create_programme_form(client, world, sh_admin) -> None:
    client.force_login(sh_admin)
    url = reverse("vouchers:programme_create")
    html = _html(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert "310000" in html and "320000" not in html  # only the admin's own regions
    today = timezone.localdate()
    data = {
        "region": "310000",
        "name_zh": "上海市科技创新券",
        "budget": "1,000,000",
        "coverage_percent": "50",
        "max_per_voucher": "200000",
        "max_per_enterprise_year": "500000",
        "opens_on": today.isoformat(),
        "closes_on": (today - timedelta(days=1)).isoformat(),
        "voucher_valid_days": "365",
        "scope": "group",
        "scope_group": "",
        "settlement_period": "quarterly",
        "eligible_categories": ["testing"],
    }
    html = _html(client.post(url, data, HTTP_ACCEPT_LANGUAGE="en"))
    assert "closing date must not be before" in html and not Programme.objects.exists()
    data["closes_on"] = (today + timedelta(days=100)).isoformat()
    html = _html(client.post(url, data, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Choose the region group" in html and not Programme.objects.exists()
    data["scope_group"] = "g60"
    resp = client.post(url, data)
    assert resp.status_code == 302
    prog = Programme.objects.get()
    assert prog.budget_fen == 1_000_000_00 and prog.coverage_bp == 5000
    assert [t.code for t in prog.eligible_categories.all()] == ["testing"]
    assert resp["Location"] == reverse("vouchers:dashboard", args=[prog.pk])

    client.force_login(world.auditor)  # reads everything, runs nothing
    assert client.get(url).status_code == 404


def test_budget_and_status_with_confirmation(client, world, prog, sh_admin) -> None:
    client.force_login(sh_admin)
    url = reverse("vouchers:add_budget", args=[prog.pk])
    html = _html(client.post(url, {"amount": "500000"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Add to the budget" in html and 'name="confirm"' in html
    prog.refresh_from_db()
    assert prog.budget_fen == 10_000_000_00
    html = _html(client.post(url, {"amount": "-5", "confirm": "1"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "cannot be negative" in html
    resp = client.post(url, {"amount": "500000", "confirm": "1"})
    assert resp.status_code == 302
    prog.refresh_from_db()
    assert prog.budget_fen == 10_500_000_00

    resp = client.post(reverse("vouchers:set_status", args=[prog.pk]), {"status": "closed"})
    assert resp.status_code == 302
    prog.refresh_from_db()
    assert prog.status == "closed"


def test_application_queue_approve_smaller_amount_with_confirmation(
    client, world, prog, sh_admin
) -> None:
    a = services.apply_for_voucher(
        actor=world.enterprise_member,
        programme_id=prog.pk,
        organisation_id=world.enterprise.pk,
        amount_fen=100_000_00,
        purpose="电磁兼容检测",
    )
    client.force_login(sh_admin)
    html = _html(client.get(reverse("vouchers:application_queue"), HTTP_ACCEPT_LANGUAGE="en"))
    assert f"approve-{a.pk}" in html and "电磁兼容检测" in html and "Since" in html
    url = reverse("vouchers:application_decide", args=[a.pk])

    # Step 1: the confirmation page; nothing is decided yet.
    html = _html(
        client.post(url, {"decision": "approve", "amount": "80000"}, HTTP_ACCEPT_LANGUAGE="en")
    )
    assert "Approve the application" in html and "¥9,920,000.00" in html  # available after
    a.refresh_from_db()
    assert a.status == "submitted"
    # More than applied for: the service's error on the amount field.
    html = _html(
        client.post(
            url,
            {"decision": "approve", "amount": "150000", "confirm": "1"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    )
    assert "at most the amount applied for" in html
    # Step 2: confirmed.
    resp = client.post(url, {"decision": "approve", "amount": "80000", "confirm": "1"})
    assert resp.status_code == 302
    voucher = Voucher.objects.get(application=a)
    assert voucher.face_value_fen == 80_000_00
    assert AuditEntry.objects.filter(action="vouchers.application.approve").count() == 1

    html = _html(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert "already been decided" in html

    client.force_login(world.enterprise_member)
    html = _html(client.get("/vouchers/mine/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Approved: voucher issued" in html and "¥80,000.00" in html


def test_application_reject_needs_a_reason(client, world, prog, sh_admin) -> None:
    a = services.apply_for_voucher(
        actor=world.enterprise_member,
        programme_id=prog.pk,
        organisation_id=world.enterprise.pk,
        amount_fen=1_000_00,
        purpose="检测",
    )
    client.force_login(sh_admin)
    url = reverse("vouchers:application_decide", args=[a.pk])
    html = _html(
        client.post(
            url, {"decision": "reject", "reason": "", "confirm": "1"}, HTTP_ACCEPT_LANGUAGE="en"
        )
    )
    assert "Give the reason" in html
    resp = client.post(url, {"decision": "reject", "reason": "材料不全", "confirm": "1"})
    assert resp.status_code == 302
    a.refresh_from_db()
    assert a.status == "rejected" and a.decision_reason == "材料不全"


def test_claim_queue_evidence_and_decisions(client, world, prog, sh_admin) -> None:
    claim = _claimed(world, prog, sh_admin)
    redemption = claim.redemptions.get()
    order = redemption.order
    order.invoice_no = "INV-2026-001"
    order.save(update_fields=["invoice_no"])
    client.force_login(sh_admin)
    html = _html(client.get(reverse("vouchers:claim_queue"), HTTP_ACCEPT_LANGUAGE="en"))
    assert order.ref in html and "INV-2026-001" in html and order.resource.title_zh in html
    url = reverse("vouchers:claim_decide", args=[claim.pk])
    html = _html(client.post(url, {"decision": "approve"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Approve the claim" in html and 'name="confirm"' in html
    resp = client.post(url, {"decision": "approve", "confirm": "1"})
    assert resp.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "approved"

    # A second claim, rejected: the amount goes back to the voucher.
    v = Voucher.objects.get()
    before = v.balance_fen
    order2 = vf.completed_order(world.enterprise, world.provider, fee_fen=2_000_00)
    services.redeem_voucher(actor=world.enterprise_member, voucher=v.pk, order_id=order2.pk)
    claim2 = services.submit_claim(
        actor=world.provider_member, provider_id=world.provider.pk, programme_id=prog.pk
    )
    url2 = reverse("vouchers:claim_decide", args=[claim2.pk])
    html = _html(
        client.post(url2, {"decision": "reject", "confirm": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    )
    assert "Give the reason" in html
    resp = client.post(url2, {"decision": "reject", "reason": "无发票", "confirm": "1"})
    assert resp.status_code == 302
    v.refresh_from_db()
    assert v.balance_fen == before


def test_settlement_batch_create_pay_and_export(client, world, prog, sh_admin) -> None:
    claim = _claimed(world, prog, sh_admin)
    client.force_login(sh_admin)
    url = reverse("vouchers:batches", args=[prog.pk])
    html = _html(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert "No settlement batches yet" in html
    html = _html(client.post(url, {"period": "current"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "no approved claims to settle" in html
    services.approve_claim(actor=sh_admin, claim_id=claim.pk)
    resp = client.post(url, {"period": "current"})
    assert resp.status_code == 302
    batch_url = resp["Location"]
    html = _html(client.get(batch_url, HTTP_ACCEPT_LANGUAGE="en"))
    assert 'data-testid="batch-total">¥25,000.00' in html and world.provider.name_zh in html

    client.force_login(world.provider_member)
    html = _html(client.get("/vouchers/claims/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "In a settlement batch, awaiting payment" in html

    client.force_login(sh_admin)
    batch_id = int(batch_url.rstrip("/").rsplit("/", 1)[1])
    pay = reverse("vouchers:batch_pay", args=[batch_id])
    html = _html(client.post(pay, {"payment_reference": ""}, HTTP_ACCEPT_LANGUAGE="en"))
    assert 'name="confirm"' in html
    html = _html(client.post(pay, {"payment_reference": "BANK-77"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Mark the settlement batch as paid" in html and "¥25,000.00" in html
    resp = client.post(pay, {"payment_reference": "BANK-77", "confirm": "1"})
    assert resp.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "paid"
    html = _html(client.get(batch_url, HTTP_ACCEPT_LANGUAGE="en"))
    assert 'data-testid="batch-status">Paid' in html and 'data-testid="mark-paid"' not in html
    # Paying twice is a clear error on the page, not a 500.
    html = _html(
        client.post(
            pay, {"payment_reference": "BANK-77", "confirm": "1"}, HTTP_ACCEPT_LANGUAGE="en"
        )
    )
    assert "already been paid" in html

    export = client.get(reverse("vouchers:batch_export", args=[batch_id]))
    assert export.status_code == 200 and export["Content-Type"].startswith(
        "application/vnd.openxmlformats"
    )
    client.force_login(world.admin_zj)
    assert client.get(reverse("vouchers:batch_export", args=[batch_id])).status_code == 404

    client.force_login(world.provider_member)
    html = _html(client.get("/vouchers/claims/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "BANK-77" in html and ">Paid<" in html


def test_revoke_voucher_with_confirmation(client, world, prog, sh_admin) -> None:
    v = _voucher(world, prog, sh_admin, amount=5_000_00)
    client.force_login(world.admin_js)
    assert client.get(reverse("vouchers:revoke", args=[v.pk])).status_code == 404
    client.force_login(sh_admin)
    html = _html(client.get(reverse("vouchers:programme_vouchers", args=[prog.pk])))
    assert reverse("vouchers:revoke", args=[v.pk]) in html
    url = reverse("vouchers:revoke", args=[v.pk])
    html = _html(client.post(url, {"reason": "虚假申请"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Revoke voucher" in html and "¥5,000.00" in html
    v.refresh_from_db()
    assert v.status == "active"
    resp = client.post(url, {"reason": "虚假申请", "confirm": "1"})
    assert resp.status_code == 302
    v.refresh_from_db()
    assert v.status == "revoked" and v.balance_fen == 0


def test_pages_in_english_and_chinese(client, world, prog, sh_admin) -> None:
    client.force_login(sh_admin)
    en = _html(client.get(reverse("vouchers:dashboard", args=[prog.pk]), HTTP_ACCEPT_LANGUAGE="en"))
    assert 'lang="en"' in en and "Shanghai test vouchers" in en
    zh = _html(
        client.get(reverse("vouchers:dashboard", args=[prog.pk]), HTTP_ACCEPT_LANGUAGE="zh-CN")
    )
    assert 'lang="zh-CN"' in zh and prog.name_zh in zh


# --- query counts ------------------------------------------------------------------------


def _grow(world, sh_admin, prog, n: int) -> None:
    """n more applications, vouchers, redemptions and claims, from n more enterprises."""
    for _ in range(n):
        ent = f.org(region="310117")
        member = vf.member_of(ent)
        f.member(world.enterprise_member, ent)
        application = services.apply_for_voucher(
            actor=member,
            programme_id=prog.pk,
            organisation_id=ent.pk,
            amount_fen=10_000_00,
            purpose="检测",
        )
        v = services.approve_application(actor=sh_admin, application_id=application.pk)
        order = vf.completed_order(ent, world.provider, fee_fen=2_000_00)
        services.redeem_voucher(actor=member, voucher=v.pk, order_id=order.pk)
        services.submit_claim(
            actor=world.provider_member, provider_id=world.provider.pk, programme_id=prog.pk
        )
        services.apply_for_voucher(
            actor=member,
            programme_id=prog.pk,
            organisation_id=ent.pk,
            amount_fen=5_000_00,
            purpose="再申请",
        )
        vf.programme(sh_admin)
    from innocommons.accounts import permissions

    permissions.forget(world.enterprise_member)


@pytest.mark.parametrize(
    "who,url",
    [
        ("admin", "/vouchers/manage/"),
        ("admin", "/vouchers/manage/applications/"),
        ("admin", "/vouchers/manage/claims/"),
        ("admin", "/vouchers/manage/applications/?status=approved"),
        ("admin", "vouchers-of-programme"),
        ("admin", "ledger"),
        ("enterprise", "/vouchers/mine/"),
        ("enterprise", "/vouchers/"),
        ("provider", "/vouchers/claims/"),
    ],
)
def test_list_pages_cost_the_same_queries_for_few_or_many_rows(
    client, world, prog, sh_admin, who, url
) -> None:
    """No query per row (N+1): the query count of a list page does not grow with its rows."""
    user = {"admin": sh_admin, "enterprise": world.enterprise_member}.get(
        who, world.provider_member
    )
    if url == "vouchers-of-programme":
        url = reverse("vouchers:programme_vouchers", args=[prog.pk])
    elif url == "ledger":
        url = reverse("vouchers:ledger", args=[prog.pk])
    client.force_login(user)
    counts = []
    for n in (2, 5):
        _grow(world, sh_admin, prog, n)
        with CaptureQueriesContext(connection) as ctx:
            resp = client.get(url)
        assert resp.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_admin_back_office_is_read_only(client, world, prog, sh_admin) -> None:
    from innocommons.vouchers.models import JournalEntry, Posting

    _claimed(world, prog, sh_admin)
    root = f.user("root", is_staff=True, is_superuser=True)
    client.force_login(root)
    for model in (
        "programme",
        "application",
        "voucher",
        "redemption",
        "claim",
        "settlementbatch",
        "account",
        "journalentry",
    ):
        assert client.get(f"/admin/vouchers/{model}/").status_code == 200, model
        assert client.get(f"/admin/vouchers/{model}/add/").status_code == 403, model
    entry = JournalEntry.objects.first()
    page = client.get(f"/admin/vouchers/journalentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert (
        client.post(f"/admin/vouchers/journalentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    resp = client.post(
        "/admin/vouchers/programme/",
        {"action": "delete_selected", "_selected_action": [prog.pk], "post": "yes"},
    )
    assert Programme.objects.filter(pk=prog.pk).exists() and resp.status_code in (200, 302)
    assert JournalEntry.objects.filter(pk=entry.pk).exists() and Posting.objects.exists()
