"""The vouchers API: happy paths over real HTTP, the error format (400/401/403/404/409/422),
reads filtered across regions, idempotent redemption, claims, batches and the ledger."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from innocommons.vouchers import services
from innocommons.vouchers.models import Programme, Redemption, Voucher
from tests import factories as f
from tests.vouchers import factories as vf

pytestmark = pytest.mark.django_db

API = "/api/v1"


def http(method: str, url: str, body: Any = None, token: str = "", **headers: str):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in headers.items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            ctype = resp.headers.get("Content-Type", "")
            return resp.status, json.loads(raw or b"null") if "json" in ctype else raw
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def token_for(base: str, username: str) -> str:
    status, body = http(
        "POST", f"{base}/auth/token", {"username": username, "password": f"pw-{username}"}
    )
    assert status == 201, body
    return body["token"]


def assert_error(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.content[:500])
    body = resp.json()
    assert body["detail"] and isinstance(body["errors"], list)
    if field is not None:
        assert body["errors"][0]["field"] == field, body
    return body


def post(client, url: str, body: Any = None, **extra: Any):
    return client.post(url, json.dumps(body or {}), content_type="application/json", **extra)


@pytest.fixture
def sh_admin():
    return vf.regional_admin("310000")


@pytest.fixture
def prog(sh_admin):
    return vf.programme(sh_admin, name_en="Shanghai vouchers")


def _apply(world, prog, amount=100_000_00):
    return services.apply_for_voucher(
        actor=world.enterprise_member,
        programme_id=prog.pk,
        organisation_id=world.enterprise.pk,
        amount_fen=amount,
        purpose="检测",
    )


def _voucher(world, prog, sh_admin, amount=100_000_00) -> Voucher:
    return services.approve_application(
        actor=sh_admin, application_id=_apply(world, prog, amount).pk
    )


def _claim(world, prog, sh_admin):
    v = _voucher(world, prog, sh_admin)
    order = vf.completed_order(world.enterprise, world.provider, fee_fen=50_000_00)
    services.redeem_voucher(actor=world.enterprise_member, voucher=v.pk, order_id=order.pk)
    return services.submit_claim(
        actor=world.provider_member, provider_id=world.provider.pk, programme_id=prog.pk
    )


# --- the whole journey over real HTTP ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_voucher_journey_over_real_http(live_server, world) -> None:
    base = live_server.url + API
    admin = vf.regional_admin("310000")
    admin_token = token_for(base, admin.username)
    ent = token_for(base, "ent")
    prov = token_for(base, "prov")
    aud = token_for(base, "aud")
    today = timezone.localdate()

    status, prog = http(
        "POST",
        f"{base}/voucher-programmes",
        {
            "region": "310000",
            "name_zh": "上海市科技创新券",
            "name_en": "Shanghai innovation vouchers",
            "budget_fen": 1_000_000_00,
            "coverage_bp": 5000,
            "max_per_voucher_fen": 200_000_00,
            "max_per_enterprise_year_fen": 500_000_00,
            "opens_on": (today - timedelta(days=1)).isoformat(),
            "closes_on": (today + timedelta(days=90)).isoformat(),
            "eligible_categories": [],
        },
        token=admin_token,
    )
    assert status == 201, prog
    assert prog["figures"]["available_fen"] == 1_000_000_00 and prog["can_run"] is True

    status, public = http("GET", f"{base}/voucher-programmes/{prog['id']}")
    assert status == 200 and "figures" not in public and public["coverage_bp"] == 5000

    status, elig = http("GET", f"{base}/voucher-programmes/{prog['id']}/eligibility", token=ent)
    assert status == 200 and elig == [
        {
            "organisation": world.enterprise.pk,
            "organisation_name": world.enterprise.name_zh,
            "eligible": True,
            "reason": "",
        }
    ]

    status, app = http(
        "POST",
        f"{base}/voucher-applications",
        {
            "programme": prog["id"],
            "organisation": world.enterprise.pk,
            "amount_fen": 100_000_00,
            "purpose": "电磁兼容检测",
        },
        token=ent,
    )
    assert status == 201 and app["progress"]["stage"] and app["progress"]["next_actor"]
    status, queue = http("GET", f"{base}/voucher-applications/queue", token=admin_token)
    assert status == 200 and [a["id"] for a in queue["items"]] == [app["id"]]

    status, app = http(
        "POST",
        f"{base}/voucher-applications/{app['id']}/approve",
        {"amount_fen": 80_000_00, "note": "按80%批准"},
        token=admin_token,
    )
    assert status == 200 and app["status"] == "approved" and app["approved_fen"] == 80_000_00
    voucher_id = app["voucher"]

    status, mine = http("GET", f"{base}/vouchers", token=ent)
    assert status == 200 and mine["total"] == 1
    assert mine["items"][0]["balance_fen"] == 80_000_00
    assert mine["items"][0]["code_display"].count("-") == 4

    order = vf.completed_order(world.enterprise, world.provider, fee_fen=120_000_00)
    status, quote = http("GET", f"{base}/vouchers/{voucher_id}/quote?order={order.pk}", token=ent)
    assert status == 200
    assert quote["amount_fen"] == 60_000_00 and quote["client_pays_fen"] == 60_000_00
    assert quote["limited_by"] == "coverage"

    key = "retry-safe-123"
    results = [
        http(
            "POST",
            f"{base}/vouchers/{voucher_id}/redeem",
            {"order": order.pk},
            token=ent,
            **{"Idempotency-Key": key},
        )
        for _ in range(2)
    ]
    assert [s for s, _b in results] == [201, 201]
    assert results[0][1]["id"] == results[1][1]["id"] and results[0][1]["amount_fen"] == 60_000_00
    assert Redemption.objects.count() == 1

    status, unclaimed = http(
        "GET", f"{base}/voucher-redemptions/unclaimed?provider={world.provider.pk}", token=prov
    )
    assert status == 200 and unclaimed[0]["total_fen"] == 60_000_00
    status, claim = http(
        "POST",
        f"{base}/voucher-claims",
        {"provider": world.provider.pk, "programme": prog["id"]},
        token=prov,
    )
    assert status == 201 and claim["amount_fen"] == 60_000_00
    assert claim["evidence"][0]["order_ref"] == order.ref
    status, claim = http(
        "POST", f"{base}/voucher-claims/{claim['id']}/approve", {}, token=admin_token
    )
    assert status == 200 and claim["status"] == "approved"

    status, batch = http(
        "POST", f"{base}/voucher-programmes/{prog['id']}/batches", {}, token=admin_token
    )
    assert status == 201 and batch["total_fen"] == 60_000_00 and len(batch["claims"]) == 1
    status, batch = http(
        "POST",
        f"{base}/settlement-batches/{batch['id']}/pay",
        {"payment_reference": "BANK-2026-001"},
        token=admin_token,
    )
    assert status == 200 and batch["status"] == "paid"
    status, xlsx = http(
        "GET", f"{base}/settlement-batches/{batch['id']}/export.xlsx", token=admin_token
    )
    assert status == 200
    ws = load_workbook(io.BytesIO(xlsx)).active
    assert ws.cell(row=2, column=5).value == 60000

    status, claims = http("GET", f"{base}/voucher-claims?provider={world.provider.pk}", token=prov)
    assert status == 200 and claims["items"][0]["status"] == "paid"
    assert claims["items"][0]["progress"]["done"] is True

    status, entries = http(
        "GET", f"{base}/voucher-programmes/{prog['id']}/ledger?page_size=100", token=aud
    )
    assert status == 200 and [e["kind"] for e in entries["items"]] == [
        "fund",
        "issue",
        "redeem",
        "approve_claim",
        "pay",
    ]
    assert all(sum(p["amount_fen"] for p in e["postings"]) == 0 for e in entries["items"])
    status, report = http("GET", f"{base}/vouchers/ledger/check", token=aud)
    assert status == 200 and report["ok"] is True and report["problems"] == []

    status, prog_after = http("GET", f"{base}/voucher-programmes/{prog['id']}", token=admin_token)
    figures = prog_after["figures"]
    assert figures["paid_fen"] == 60_000_00 and figures["committed_fen"] == 20_000_00
    assert figures["available_fen"] == 920_000_00 and figures["funded_fen"] == 1_000_000_00


# --- programmes --------------------------------------------------------------------------


def test_programme_list_public_and_private_figures(client, world, prog, sh_admin) -> None:
    draft = vf.programme(sh_admin, status="draft")

    body = client.get(f"{API}/voucher-programmes").json()
    assert [p["id"] for p in body["items"]] == [prog.pk]
    assert "figures" not in body["items"][0] and body["total"] == 1

    client.force_login(world.admin_js)  # sees the public programme, not its figures
    body = client.get(f"{API}/voucher-programmes").json()
    assert [p["id"] for p in body["items"]] == [prog.pk] and "figures" not in body["items"][0]
    assert client.get(f"{API}/voucher-programmes", {"mine": "true"}).json()["total"] == 0
    assert client.get(f"{API}/voucher-programmes/{draft.pk}").status_code == 404

    client.force_login(sh_admin)
    body = client.get(f"{API}/voucher-programmes", {"page_size": 1}).json()
    assert body["total"] == 2 and len(body["items"]) == 1
    assert body["items"][0]["figures"]["funded_fen"] == 10_000_000_00

    client.force_login(world.auditor)
    item = client.get(f"{API}/voucher-programmes/{draft.pk}").json()
    assert item["figures"]["available_fen"] == 10_000_000_00 and item["can_run"] is False


def test_create_programme_errors(client, world, sh_admin) -> None:
    today = timezone.localdate().isoformat()
    good = {
        "region": "310000",
        "name_zh": "计划",
        "max_per_voucher_fen": 100,
        "max_per_enterprise_year_fen": 100,
        "opens_on": today,
        "closes_on": today,
    }
    url = f"{API}/voucher-programmes"
    assert_error(post(client, url, good), 401)

    client.force_login(sh_admin)
    assert_error(post(client, url, {**good, "opens_on": "not a date"}), 422, "opens_on")
    assert_error(post(client, url, {**good, "max_per_voucher_fen": "abc"}), 422)
    assert_error(post(client, url, {**good, "scope": "moon"}), 422, "scope")
    bad = {**good, "closes_on": (timezone.localdate() - timedelta(days=1)).isoformat()}
    assert_error(post(client, url, bad), 400, "closes_on")
    assert_error(post(client, url, {**good, "coverage_bp": 20000}), 400, "coverage_bp")
    assert_error(post(client, url, {**good, "region": "999999"}), 400, "region")
    assert_error(post(client, url, {**good, "max_per_voucher_fen": -1}), 400, "max_per_voucher_fen")
    assert not Programme.objects.exists()

    client.force_login(world.admin_js)
    assert_error(post(client, url, good), 403)
    assert post(client, url, {**good, "region": "320000"}).status_code == 201


def test_budget_and_status(client, world, prog, sh_admin) -> None:
    client.force_login(world.admin_js)
    assert_error(
        post(client, f"{API}/voucher-programmes/{prog.pk}/budget", {"amount_fen": 100}), 403
    )
    client.force_login(sh_admin)
    assert_error(
        post(client, f"{API}/voucher-programmes/{prog.pk}/budget", {"amount_fen": 0}),
        400,
        "amount_fen",
    )
    body = post(client, f"{API}/voucher-programmes/{prog.pk}/budget", {"amount_fen": 100}).json()
    assert (
        body["budget_fen"] == 10_000_000_00 + 100
        and body["figures"]["funded_fen"] == body["budget_fen"]
    )
    assert_error(
        post(client, f"{API}/voucher-programmes/{prog.pk}/status", {"status": "x"}), 422, "status"
    )
    body = post(client, f"{API}/voucher-programmes/{prog.pk}/status", {"status": "closed"}).json()
    assert body["status"] == "closed"
    assert_error(client.get(f"{API}/voucher-programmes/999999"), 404)


# --- applications ------------------------------------------------------------------------


def test_application_errors_and_decisions(client, world, prog, sh_admin) -> None:
    url = f"{API}/voucher-applications"
    data = {
        "programme": prog.pk,
        "organisation": world.enterprise.pk,
        "amount_fen": 50_000_00,
        "purpose": "检测",
    }
    client.force_login(world.provider_member)
    assert_error(
        post(client, url, {**data, "organisation": world.provider.pk}), 403, "organisation"
    )
    assert_error(post(client, url, data), 403)  # not a member of the enterprise

    client.force_login(world.enterprise_member)
    assert_error(post(client, url, {**data, "amount_fen": 10**9}), 400, "amount_fen")
    assert_error(post(client, url, {**data, "purpose": "  "}), 400, "purpose")
    assert_error(
        post(client, url, {k: v for k, v in data.items() if k != "purpose"}), 422, "purpose"
    )
    assert_error(post(client, url, {**data, "programme": 999999}), 404)
    created = post(client, url, data)
    assert created.status_code == 201
    app_id = created.json()["id"]
    assert_error(post(client, url, data), 409)
    assert client.get(url).json()["items"][0]["id"] == app_id

    # Decisions: other regions cannot; too much cannot; reason required.
    client.force_login(world.admin_js)
    assert_error(post(client, f"{url}/{app_id}/approve", {}), 403)
    client.force_login(sh_admin)
    assert_error(
        post(client, f"{url}/{app_id}/approve", {"amount_fen": 60_000_00}), 400, "amount_fen"
    )
    assert_error(post(client, f"{url}/{app_id}/reject", {"reason": ""}), 400, "reason")
    assert_error(post(client, f"{url}/{app_id}/reject", {}), 422, "reason")
    body = post(client, f"{url}/{app_id}/approve", {"amount_fen": 30_000_00}).json()
    assert body["status"] == "approved" and body["approved_fen"] == 30_000_00 and body["voucher"]
    assert_error(post(client, f"{url}/{app_id}/approve", {}), 409)
    assert Voucher.objects.get().face_value_fen == 30_000_00

    # Withdraw: only the applicant's organisation, only while waiting.
    client.force_login(world.enterprise_member)
    assert_error(post(client, f"{url}/{app_id}/withdraw"), 409)
    second = post(client, url, data).json()
    client.force_login(world.provider_member)
    assert_error(post(client, f"{url}/{second['id']}/withdraw"), 403)
    client.force_login(world.enterprise_member)
    assert post(client, f"{url}/{second['id']}/withdraw").json()["status"] == "withdrawn"


def test_approval_never_overcommits_the_budget(client, world, sh_admin) -> None:
    small = vf.programme(sh_admin, budget_fen=10_000_00)
    app = _apply(world, small, 20_000_00)
    client.force_login(sh_admin)
    assert_error(
        post(client, f"{API}/voucher-applications/{app.pk}/approve", {}), 409, "amount_fen"
    )
    assert not Voucher.objects.exists()


def test_reads_are_filtered_across_regions(client, world, prog, sh_admin) -> None:
    claim = _claim(world, prog, sh_admin)
    voucher = Voucher.objects.get()
    application = voucher.application
    services.approve_claim(actor=sh_admin, claim_id=claim.pk)
    batch = services.create_batch(actor=sh_admin, programme_id=prog.pk, day=timezone.localdate())

    for admin in (world.admin_js, world.admin_zj):
        client.force_login(admin)
        assert_error(client.get(f"{API}/voucher-applications/{application.pk}"), 404)
        assert client.get(f"{API}/voucher-applications/queue").json()["total"] == 0
        assert_error(client.get(f"{API}/voucher-applications/queue", {"programme": prog.pk}), 403)
        assert_error(client.get(f"{API}/vouchers/{voucher.pk}"), 404)
        assert_error(client.get(f"{API}/voucher-programmes/{prog.pk}/vouchers"), 403)
        assert_error(client.get(f"{API}/voucher-claims/{claim.pk}"), 404)
        assert client.get(f"{API}/voucher-claims/queue", {"status": ""}).json()["total"] == 0
        assert_error(client.get(f"{API}/voucher-claims/queue", {"programme": prog.pk}), 403)
        assert_error(client.get(f"{API}/voucher-programmes/{prog.pk}/ledger"), 403)
        assert_error(client.get(f"{API}/voucher-programmes/{prog.pk}/batches"), 403)
        assert_error(client.get(f"{API}/settlement-batches/{batch.pk}"), 404)
        assert client.get(f"{API}/settlement-batches/{batch.pk}/export.xlsx").status_code == 404
        assert_error(client.get(f"{API}/vouchers/ledger/check"), 403)
        assert_error(
            post(client, f"{API}/settlement-batches/{batch.pk}/pay", {"payment_reference": "X"}),
            404,
        )
        assert_error(post(client, f"{API}/vouchers/{voucher.pk}/revoke", {"reason": "x"}), 404)

    # The holder, the provider and the issuing region see what is theirs.
    client.force_login(world.enterprise_member)
    assert (
        client.get(f"{API}/vouchers/{voucher.pk}").json()["redemptions"][0]["amount_fen"]
        == 25_000_00
    )
    assert_error(client.get(f"{API}/voucher-claims/{claim.pk}"), 404)
    assert_error(client.get(f"{API}/voucher-claims", {"provider": world.provider.pk}), 403)
    client.force_login(world.provider_member)
    assert (
        client.get(f"{API}/voucher-claims/{claim.pk}").json()["evidence"][0]["amount_fen"]
        == 25_000_00
    )
    assert_error(client.get(f"{API}/vouchers/{voucher.pk}"), 404)
    assert_error(
        client.get(f"{API}/voucher-redemptions/unclaimed", {"provider": world.enterprise.pk}), 403
    )
    client.force_login(sh_admin)
    assert client.get(f"{API}/voucher-claims/queue", {"status": "approved"}).json()["total"] == 1
    assert client.get(f"{API}/settlement-batches/{batch.pk}").json()["claims"][0]["id"] == claim.pk
    assert client.get(f"{API}/voucher-programmes/{prog.pk}/vouchers").json()["total"] == 1


def test_unauthenticated_requests_get_401(client, prog) -> None:
    for url in (
        "/vouchers",
        "/voucher-applications",
        "/voucher-claims/queue",
        "/vouchers/ledger/check",
    ):
        assert_error(client.get(API + url), 401)
    assert_error(post(client, f"{API}/vouchers/1/redeem", {"order": 1}), 401)


# --- vouchers and redemption -------------------------------------------------------------


def test_redeem_is_idempotent_and_validated(client, world, prog, sh_admin) -> None:
    v = _voucher(world, prog, sh_admin, amount=100_000_00)
    order = vf.completed_order(world.enterprise, world.provider, fee_fen=40_000_00)
    url = f"{API}/vouchers/{v.pk}/redeem"
    client.force_login(world.enterprise_member)

    body = assert_error(post(client, url, {"order": order.pk, "idempotency_key": "a" * 65}), 422)
    assert body["errors"][0]["field"] == "idempotency_key"
    assert_error(
        post(client, url, {"order": order.pk, "idempotency_key": "b"}, HTTP_IDEMPOTENCY_KEY="a"),
        400,
        "idempotency_key",
    )
    assert_error(post(client, url, {"order": "x"}), 422, "order")
    assert_error(post(client, url, {"order": 999999}), 404, "order")

    first = post(client, url, {"order": order.pk}, HTTP_IDEMPOTENCY_KEY="k1")
    again = post(client, url, {"order": order.pk, "idempotency_key": "k1"})  # same key in body
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and first.json()["amount_fen"] == 20_000_00
    v.refresh_from_db()
    assert v.balance_fen == 80_000_00 and Redemption.objects.count() == 1
    # Another key for the same order is a second payment: refused.
    assert_error(post(client, url, {"order": order.pk}, HTTP_IDEMPOTENCY_KEY="k2"), 409)

    # The quote refuses what the redemption would refuse.
    unfinished = vf.completed_order(world.enterprise, world.provider, status="in_progress")
    assert_error(client.get(f"{API}/vouchers/{v.pk}/quote", {"order": unfinished.pk}), 409, "order")
    assert_error(client.get(f"{API}/vouchers/{v.pk}/quote"), 422, "order")

    # Someone else's voucher: not found; the issuing admin sees it but cannot spend it.
    client.force_login(world.provider_member)
    assert_error(post(client, url, {"order": order.pk}), 404)
    client.force_login(sh_admin)
    other = vf.completed_order(world.enterprise, world.provider)
    assert_error(post(client, url, {"order": other.pk}), 403)


def test_quote_for_an_order_already_paid_by_voucher_is_refused(
    client, world, prog, sh_admin
) -> None:
    v = _voucher(world, prog, sh_admin)
    order = vf.completed_order(world.enterprise, world.provider, fee_fen=40_000_00)
    services.redeem_voucher(actor=world.enterprise_member, voucher=v.pk, order_id=order.pk)
    client.force_login(world.enterprise_member)
    assert_error(client.get(f"{API}/vouchers/{v.pk}/quote", {"order": order.pk}), 409)


def test_related_parties_cannot_redeem(client, world, prog, sh_admin) -> None:
    v = _voucher(world, prog, sh_admin)
    world.enterprise.related.add(world.provider)
    order = vf.completed_order(world.enterprise, world.provider)
    client.force_login(world.enterprise_member)
    body = assert_error(
        post(client, f"{API}/vouchers/{v.pk}/redeem", {"order": order.pk}), 409, "order"
    )
    assert "related" in body["detail"] or "关联" in body["detail"]


def test_revoke_over_the_api(client, world, prog, sh_admin) -> None:
    v = _voucher(world, prog, sh_admin, amount=7_000_00)
    client.force_login(world.enterprise_member)
    assert_error(post(client, f"{API}/vouchers/{v.pk}/revoke", {"reason": "x"}), 403)
    client.force_login(sh_admin)
    assert_error(post(client, f"{API}/vouchers/{v.pk}/revoke", {"reason": " "}), 400, "reason")
    body = post(client, f"{API}/vouchers/{v.pk}/revoke", {"reason": "重复申请"}).json()
    assert body["status"] == "revoked" and body["balance_fen"] == 0
    assert_error(post(client, f"{API}/vouchers/{v.pk}/revoke", {"reason": "again"}), 409)
    figures = client.get(f"{API}/voucher-programmes/{prog.pk}").json()["figures"]
    assert figures["returned_fen"] == 7_000_00 and figures["vouchers"]["revoked"] == 1


# --- claims, batches, ledger -------------------------------------------------------------


def test_claims_and_batches_errors(client, world, prog, sh_admin) -> None:
    client.force_login(world.provider_member)
    data = {"provider": world.provider.pk, "programme": prog.pk}
    assert_error(post(client, f"{API}/voucher-claims", data), 409)
    claim = _claim(world, prog, sh_admin)
    page = client.get(f"{API}/voucher-claims", {"provider": world.provider.pk}).json()
    assert page["total"] == 1 and page["items"][0]["progress"]["next_actor"]
    client.force_login(world.enterprise_member)
    assert_error(post(client, f"{API}/voucher-claims", data), 403)

    client.force_login(sh_admin)
    batches = f"{API}/voucher-programmes/{prog.pk}/batches"
    assert_error(post(client, batches, {}), 409)  # nothing approved yet
    assert_error(
        post(client, f"{API}/voucher-claims/{claim.pk}/reject", {"reason": ""}), 400, "reason"
    )
    assert post(client, f"{API}/voucher-claims/{claim.pk}/approve").status_code == 200
    assert_error(post(client, f"{API}/voucher-claims/{claim.pk}/approve"), 409)
    future = (timezone.localdate() + timedelta(days=400)).isoformat()
    assert_error(post(client, batches, {"day": future}), 400, "day")
    assert_error(post(client, batches, {"day": "soon"}), 422, "day")
    batch = post(client, batches, {}).json()
    assert batch["total_fen"] == 25_000_00
    assert_error(post(client, batches, {}), 409, "day")
    listed = client.get(batches).json()
    assert listed["total"] == 1 and listed["items"][0]["export_url"].endswith("export.xlsx")
    pay = f"{API}/settlement-batches/{batch['id']}/pay"
    assert_error(post(client, pay, {"payment_reference": "  "}), 400, "payment_reference")
    assert_error(post(client, pay, {}), 422, "payment_reference")
    assert post(client, pay, {"payment_reference": "REF-1"}).json()["status"] == "paid"
    assert_error(post(client, pay, {"payment_reference": "REF-1"}), 409)
    assert_error(client.get(f"{API}/settlement-batches/999999"), 404)


def test_rejected_claim_returns_money_to_the_voucher(client, world, prog, sh_admin) -> None:
    claim = _claim(world, prog, sh_admin)
    client.force_login(sh_admin)
    body = post(client, f"{API}/voucher-claims/{claim.pk}/reject", {"reason": "无发票"}).json()
    assert body["status"] == "rejected" and body["progress"]["done"] is True
    assert body["evidence"][0]["reversed_at"] is not None
    assert Voucher.objects.get().balance_fen == 100_000_00


def test_ledger_pages_and_check_permissions(client, world, prog, sh_admin) -> None:
    _claim(world, prog, sh_admin)
    client.force_login(sh_admin)
    page = client.get(f"{API}/voucher-programmes/{prog.pk}/ledger", {"page_size": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["items"][0]["kind"] == "fund"
    page2 = client.get(
        f"{API}/voucher-programmes/{prog.pk}/ledger", {"page_size": 2, "page": 2}
    ).json()
    assert [e["kind"] for e in page2["items"]] == ["redeem"]
    assert_error(client.get(f"{API}/vouchers/ledger/check"), 403)
    assert_error(
        client.get(f"{API}/voucher-programmes/{prog.pk}/ledger", {"page_size": 500}),
        422,
        "page_size",
    )
    for reader in (world.auditor, world.operator):
        client.force_login(reader)
        report = client.get(f"{API}/vouchers/ledger/check").json()
        assert report["ok"] is True and report["entries"] >= 3
        assert client.get(f"{API}/voucher-programmes/{prog.pk}/ledger").status_code == 200


def test_openapi_lists_the_voucher_endpoints(client) -> None:
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    for path in (
        "/api/v1/voucher-programmes",
        "/api/v1/voucher-applications/{application_id}/approve",
        "/api/v1/vouchers/{voucher_id}/redeem",
        "/api/v1/voucher-claims/queue",
        "/api/v1/settlement-batches/{batch_id}/pay",
        "/api/v1/vouchers/ledger/check",
    ):
        assert path in paths, path


def test_eligibility_reasons(client, world, prog) -> None:
    tech = f.org(region="310117", is_tech_sme=False)
    f.member(world.enterprise_member, tech)
    client.force_login(world.provider_member)
    rows = client.get(f"{API}/voucher-programmes/{prog.pk}/eligibility").json()
    assert rows[0]["eligible"] is False and rows[0]["reason"]
    client.force_login(world.enterprise_member)
    rows = client.get(f"{API}/voucher-programmes/{prog.pk}/eligibility").json()
    assert {r["organisation"] for r in rows} == {world.enterprise.pk, tech.pk}
    assert all(r["eligible"] for r in rows)


# --- every endpoint × every role (CONVENTIONS habit 7) ----------------------------------

ROLES = ["anonymous", "holder", "provider", "admin_same", "admin_other", "auditor", "operator"]
BOOKS = {"admin_same": 200, "auditor": 200, "operator": 200}


@pytest.fixture
def books(world, sh_admin, prog):
    """A voucher, an approved claim settled in a batch, a claim waiting, an application
    waiting: something for every endpoint to read or decide."""
    v = _voucher(world, prog, sh_admin, amount=100_000_00)
    for fee in (10_000_00, 20_000_00):
        order = vf.completed_order(world.enterprise, world.provider, fee_fen=fee)
        services.redeem_voucher(actor=world.enterprise_member, voucher=v.pk, order_id=order.pk)
        claim = services.submit_claim(
            actor=world.provider_member, provider_id=world.provider.pk, programme_id=prog.pk
        )
        if fee == 10_000_00:
            services.approve_claim(actor=sh_admin, claim_id=claim.pk)
            batch = services.create_batch(
                actor=sh_admin, programme_id=prog.pk, day=timezone.localdate()
            )
    other = f.org(region="310117")
    waiting = services.apply_for_voucher(
        actor=vf.member_of(other),
        programme_id=prog.pk,
        organisation_id=other.pk,
        amount_fen=1_000_00,
        purpose="检测",
    )
    return {
        "p": prog.pk,
        "v": v.pk,
        "a": v.application_id,
        "waiting": waiting.pk,
        "c": claim.pk,
        "b": batch.pk,
        "org": world.provider.pk,
    }


TABLE = [
    ("GET", "/voucher-programmes", None, dict.fromkeys(ROLES, 200), 200),
    ("GET", "/voucher-programmes/{p}", None, dict.fromkeys(ROLES, 200), 200),
    ("GET", "/voucher-programmes/{p}/vouchers", None, BOOKS, 403),
    ("GET", "/voucher-programmes/{p}/ledger", None, BOOKS, 403),
    ("GET", "/voucher-programmes/{p}/batches", None, BOOKS, 403),
    ("GET", "/voucher-applications/{a}", None, {**BOOKS, "holder": 200}, 404),
    ("GET", "/vouchers/{v}", None, {**BOOKS, "holder": 200}, 404),
    ("GET", "/voucher-claims/{c}", None, {**BOOKS, "provider": 200}, 404),
    ("GET", "/settlement-batches/{b}", None, BOOKS, 404),
    ("GET", "/settlement-batches/{b}/export.xlsx", None, BOOKS, 404),
    ("GET", "/vouchers/ledger/check", None, {"auditor": 200, "operator": 200}, 403),
    (
        "GET",
        "/voucher-claims?provider={org}",
        None,
        {"provider": 200, "auditor": 200, "operator": 200},
        403,
    ),
    (
        "GET",
        "/voucher-redemptions/unclaimed?provider={org}",
        None,
        {"provider": 200, "auditor": 200, "operator": 200},
        403,
    ),
    ("POST", "/voucher-applications/{waiting}/approve", {}, {"admin_same": 200}, 403),
    (
        "POST",
        "/voucher-applications/{waiting}/reject",
        {"reason": "不符合条件"},
        {"admin_same": 200},
        403,
    ),
    ("POST", "/voucher-claims/{c}/approve", {}, {"admin_same": 200}, 403),
    ("POST", "/voucher-programmes/{p}/budget", {"amount_fen": 100}, {"admin_same": 200}, 403),
    ("POST", "/voucher-programmes/{p}/status", {"status": "closed"}, {"admin_same": 200}, 403),
    (
        "POST",
        "/settlement-batches/{b}/pay",
        {"payment_reference": "R-1"},
        {"admin_same": 200, "auditor": 403, "operator": 403},
        404,
    ),
    (
        "POST",
        "/vouchers/{v}/revoke",
        {"reason": "撤销"},
        {"admin_same": 200, "auditor": 403, "operator": 403, "holder": 403},
        404,
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "method,path,body,allowed,denied", TABLE, ids=[f"{m} {p}" for m, p, *_ in TABLE]
)
def test_permission_table(
    client, world, sh_admin, books, role, method, path, body, allowed, denied
) -> None:
    user = {
        "holder": world.enterprise_member,
        "provider": world.provider_member,
        "admin_same": sh_admin,
        "admin_other": world.admin_js,
        "auditor": world.auditor,
        "operator": world.operator,
    }.get(role)
    if user is not None:
        client.force_login(user)
    url = API + path.format(**books)
    resp = client.get(url) if method == "GET" else post(client, url, body)
    public = allowed.get("anonymous") == 200
    expected = allowed.get(role, 401 if role == "anonymous" and not public else denied)
    assert resp.status_code == expected, (role, resp.status_code, resp.content[:300])
    if expected >= 400:
        assert_error(resp, expected)
