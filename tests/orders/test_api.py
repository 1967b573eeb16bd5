"""The orders API through the Django test client with bearer tokens (and a session)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from innocommons.accounts.services import create_api_token
from innocommons.orders.models import Booking
from tests.orders.factories import PDF, ROUTE, at, book, instrument, order, service, step

pytestmark = pytest.mark.django_db

B = "/api/v1"


class Api:
    """A test client that sends one user's bearer token."""

    def __init__(self, user=None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            _token, raw = create_api_token(actor=user, name="test")
            self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, path, **params):
        return self.client.get(B + path, params, headers=self.headers)

    def post(self, path, body=None):
        return self.client.post(
            B + path, body or {}, content_type="application/json", headers=self.headers
        )

    def put(self, path, body):
        return self.client.put(
            B + path, body, content_type="application/json", headers=self.headers
        )

    def delete(self, path):
        return self.client.delete(B + path, headers=self.headers)

    def upload(self, path, data):
        return self.client.post(B + path, data, headers=self.headers)


def error(resp, status, field=None):
    body = resp.json()
    assert resp.status_code == status, body
    assert body["detail"] and isinstance(body["errors"], list)
    if field:
        assert body["errors"][0]["field"] == field, body
    return body


def test_booking_flow(world) -> None:
    r = instrument(world, needs_approval=True)
    ent, prov = Api(world.enterprise_member), Api(world.provider_member)
    body = {
        "organisation": world.enterprise.pk,
        "resource": r.pk,
        "start": at(3, "10:00").isoformat(),
        "end": at(3, "12:00").isoformat(),
        "purpose": "样品观察",
    }
    resp = ent.post("/bookings", body)
    assert resp.status_code == 201, resp.json()
    created = resp.json()
    assert created["status"] == "pending" and created["resource_title"] == r.title
    clash = error(
        ent.post(
            "/bookings",
            body | {"start": at(3, "11:00").isoformat(), "end": at(3, "13:00").isoformat()},
        ),
        409,
        "start",
    )
    assert "10:00–12:00" in clash["detail"]
    naive = body | {"start": "2020-01-01T10:00:00", "end": "2020-01-01T11:00:00"}
    error(ent.post("/bookings", naive), 400, "start")
    error(ent.post("/bookings", body | {"start": "tomorrow"}), 422, "start")
    error(Api().post("/bookings", body), 401)

    assert ent.get("/bookings").json()["total"] == 1
    received = prov.get("/bookings", role="received", status="pending").json()
    assert received["items"][0]["id"] == created["id"]
    error(ent.post(f"/bookings/{created['id']}/approve"), 403)
    assert prov.post(f"/bookings/{created['id']}/approve").json()["status"] == "confirmed"
    error(prov.post(f"/bookings/{created['id']}/cancel", {"reason": ""}), 400, "reason")
    done = prov.post(f"/bookings/{created['id']}/cancel", {"reason": "设备故障"}).json()
    assert done["status"] == "cancelled" and done["status_reason"] == "设备故障"
    error(Api(world.outsider).get(f"/bookings/{created['id']}"), 404)


def test_calendar_blackouts_and_free_slots(world) -> None:
    r = instrument(world)
    anon, prov, ent = Api(), Api(world.provider_member), Api(world.enterprise_member)
    cal = anon.get(f"/resources/{r.pk}/calendar").json()
    assert cal["weekdays"] == "1234567" and cal["min_booking_minutes"] == 60
    new = {
        "weekdays": "1234567",
        "opens_at": "09:00",
        "closes_at": "18:00",
        "horizon_days": 30,
        "max_future_per_org": 3,
        "cancel_notice_hours": 12,
    }
    error(ent.put(f"/resources/{r.pk}/calendar", new), 403)
    error(prov.put(f"/resources/{r.pk}/calendar", new | {"closes_at": "08:00"}), 400, "closes_at")
    assert prov.put(f"/resources/{r.pk}/calendar", new).json()["opens_at"] == "09:00:00"

    period = {
        "start": at(3, "09:00").isoformat(),
        "end": at(3, "12:00").isoformat(),
        "reason": "校准",
    }
    resp = prov.post(f"/resources/{r.pk}/blackouts", period)
    assert resp.status_code == 201
    blackout = resp.json()
    assert [b["id"] for b in anon.get(f"/resources/{r.pk}/blackouts").json()] == [blackout["id"]]
    slots = anon.get(
        f"/resources/{r.pk}/free-slots", date_from=at(3, "00:00").date().isoformat(), days=2
    ).json()
    first = slots["days"][0]
    assert first["open"] and first["slots"][0]["start"].startswith(
        at(3, "12:00").date().isoformat()
    )
    assert first["slots"][0]["minutes"] == 360
    error(anon.get(f"/resources/{r.pk}/free-slots", days=99), 422, "days")
    error(ent.delete(f"/resources/{r.pk}/blackouts/{blackout['id']}"), 403)
    assert prov.delete(f"/resources/{r.pk}/blackouts/{blackout['id']}").status_code == 204
    error(anon.get(f"/resources/{service(world).pk}/calendar"), 404)


def test_order_flow_with_report_upload(world) -> None:
    s = service(world)
    ent, prov = Api(world.enterprise_member), Api(world.provider_member)
    resp = ent.post(
        "/orders", {"client": world.enterprise.pk, "resource": s.pk, "description": "EMC"}
    )
    assert resp.status_code == 201, resp.json()
    o = resp.json()
    assert o["status"] == "requested" and o["next"] == ["provider"] and o["ref"].startswith("OR")
    oid = o["id"]
    error(ent.post(f"/orders/{oid}/quote", {"amount_fen": 1000}), 403)
    error(prov.post(f"/orders/{oid}/quote", {"amount_fen": -5}), 422, "amount_fen")
    assert prov.post(f"/orders/{oid}/quote", {"amount_fen": 350_000}).json()["next"] == ["client"]
    assert ent.post(f"/orders/{oid}/accept").json()["fee_fen"] == 350_000
    error(prov.post(f"/orders/{oid}/complete"), 403)
    assert prov.post(f"/orders/{oid}/start").json()["status"] == "in_progress"
    bad = SimpleUploadedFile("report.pdf", b"MZ\x90\x00binary")
    error(
        prov.upload(f"/orders/{oid}/deliver", {"report": bad, "service_hours": "2"}), 400, "report"
    )
    good = SimpleUploadedFile("检测报告.pdf", PDF)
    delivered = prov.upload(f"/orders/{oid}/deliver", {"report": good, "service_hours": "2"}).json()
    assert delivered["status"] == "delivered" and delivered["service_hours"] == "2.00"
    download = ent.client.get(delivered["report_url"], headers=ent.headers)
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert "attachment" in download["Content-Disposition"]
    error(Api(world.outsider).get(f"/orders/{oid}/report"), 404)
    assert ent.post(f"/orders/{oid}/complete").json()["completed_at"]
    error(prov.post(f"/orders/{oid}/invoice", {"invoice_no": ""}), 400, "invoice_no")
    assert (
        prov.post(f"/orders/{oid}/invoice", {"invoice_no": "FP-9"}).json()["invoice_no"] == "FP-9"
    )
    error(ent.post(f"/orders/{oid}/rate", {"score": 9}), 422, "score")
    assert (
        ent.post(f"/orders/{oid}/rate", {"score": 5, "comment": "好"}).json()["rating"]["score"]
        == 5
    )
    error(ent.post(f"/orders/{oid}/rate", {"score": 4}), 409, "score")
    assert ent.post(f"/orders/{oid}/close").json()["status"] == "closed"
    other = order_in_api_state(world)
    error(prov.post(f"/orders/{other}/invoice", {"invoice_no": "FP-9"}), 409, "invoice_no")
    usage = Api().get(f"/resources/{s.pk}/usage").json()
    assert usage["rating_count"] == 1 and usage["service_hours"] == "2.0"
    assert Api().get(f"/organisations/{world.provider.pk}/usage").json()["rating_avg"] == 5.0


def order_in_api_state(world) -> int:
    o = order(world)
    for name, who in ROUTE["completed"]:
        step(world, o.pk, name, who)
    return o.pk


def test_order_lists_are_paginated_and_filtered(world) -> None:
    s = service(world)
    for _ in range(3):
        order(world, s)
    done = order(world, s)
    step(world, done.pk, "cancel", "client")
    ent, prov = Api(world.enterprise_member), Api(world.provider_member)
    page = ent.get("/orders", page_size=2).json()
    assert page["total"] == 4 and len(page["items"]) == 2
    assert (
        ent.get("/orders", page=2, page_size=2).json()["items"][0]["id"] != page["items"][0]["id"]
    )
    assert ent.get("/orders", status="open").json()["total"] == 3
    assert ent.get("/orders", status="cancelled").json()["total"] == 1
    assert prov.get("/orders", role="received").json()["total"] == 4
    assert prov.get("/orders").json()["total"] == 0
    error(ent.get("/orders", page_size=1000), 422, "page_size")
    assert Api(world.auditor).get(f"/orders/{done.pk}").status_code == 200
    error(Api(world.admin_zj).get(f"/orders/{done.pk}"), 404)


def test_instrument_order_with_booking(world) -> None:
    r = instrument(world)
    b = book(world, r, at(3, "10:00"), at(3, "11:00"))
    ent = Api(world.enterprise_member)
    resp = ent.post("/orders", {"client": world.enterprise.pk, "resource": r.pk, "booking": b.pk})
    assert resp.status_code == 201 and resp.json()["booking"] == b.pk
    assert ent.get(f"/bookings/{b.pk}").json()["order"] == resp.json()["id"]
    again = ent.post("/orders", {"client": world.enterprise.pk, "resource": r.pk, "booking": b.pk})
    error(again, 409, "booking")


def test_session_needs_the_csrf_header(world) -> None:
    r = instrument(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.enterprise_member)
    body = {
        "organisation": world.enterprise.pk,
        "resource": r.pk,
        "start": at(3, "10:00").isoformat(),
        "end": at(3, "11:00").isoformat(),
    }
    resp = client.post(f"{B}/bookings", body, content_type="application/json")
    assert resp.status_code == 403 and Booking.objects.count() == 0
    client.get("/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    resp = client.post(
        f"{B}/bookings", body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert resp.status_code == 201


def test_every_orders_operation_has_an_openapi_schema() -> None:
    """Checked per operation, so another app's schema problem cannot hide one of ours."""
    from innocommons.api import api

    paths = set()
    for _prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for op in view.operations:
                if op.view_func.__module__ != "innocommons.orders.api":
                    continue
                paths.add(path)
                for model in op.models:
                    assert model.model_json_schema()
                for response in op.response_models.values():
                    if response is not None and hasattr(response, "model_json_schema"):
                        assert response.model_json_schema()
    for p in ("/bookings", "/orders/{order_id}/deliver", "/resources/{resource_id}/free-slots"):
        assert p in paths
