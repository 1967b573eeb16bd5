"""Every orders endpoint × every role (CONVENTIONS habit 7)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from innocommons.accounts.services import create_api_token
from tests.orders.factories import ROUTE, at, book, instrument, order, service, step

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "enterprise_member",
    "provider_member",
    "org_admin",
    "admin_same_region",
    "admin_other_region",
    "operator",
    "auditor",
]
PARTIES = ("enterprise_member", "provider_member", "org_admin")
PROVIDER = ("provider_member", "org_admin")
READERS = (*PARTIES, "operator", "auditor")


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Any], str]
    body: Callable[[Any], dict] | None
    allowed: dict[str, int]
    denied: int = 403


def only(roles, status=200, **others: int) -> dict[str, int]:
    return {**dict.fromkeys(roles, status), "anonymous": 401, **others}


def everyone(status=200) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def _booking(w, pending=False):
    r = w.instrument_pending if pending else w.instrument
    return book(w, r, at(3, "10:00"), at(3, "11:00"))


def _order(w, status="requested"):
    o = order(w, w.service)
    for name, who in ROUTE[status]:
        step(w, o.pk, name, who)
    return o


def _body_booking(w):
    return {
        "organisation": w.enterprise.pk,
        "resource": w.instrument.pk,
        "start": at(4, "10:00").isoformat(),
        "end": at(4, "11:00").isoformat(),
    }


CALENDAR = {
    "weekdays": "12345",
    "opens_at": "09:00",
    "closes_at": "17:00",
    "horizon_days": 30,
    "max_future_per_org": 5,
    "cancel_notice_hours": 24,
}
HIDDEN = {"admin_same_region": 404, "admin_other_region": 404}

CASES = [
    Case("list bookings", "GET", lambda w: "/api/v1/bookings", None, only(ROLES[1:])),
    Case(
        "book",
        "POST",
        lambda w: "/api/v1/bookings",
        _body_booking,
        only(["enterprise_member"], 201),
    ),
    Case(
        "get booking",
        "GET",
        lambda w: f"/api/v1/bookings/{_booking(w).pk}",
        None,
        only(READERS),
        404,
    ),
    Case(
        "approve booking",
        "POST",
        lambda w: f"/api/v1/bookings/{_booking(w, pending=True).pk}/approve",
        lambda w: {},
        only(PROVIDER, **HIDDEN),
    ),
    Case(
        "reject booking",
        "POST",
        lambda w: f"/api/v1/bookings/{_booking(w, pending=True).pk}/reject",
        lambda w: {"reason": "维护"},
        only(PROVIDER, **HIDDEN),
    ),
    Case(
        "cancel booking",
        "POST",
        lambda w: f"/api/v1/bookings/{_booking(w).pk}/cancel",
        lambda w: {"reason": "变更"},
        only(PARTIES, **HIDDEN),
    ),
    Case(
        "calendar",
        "GET",
        lambda w: f"/api/v1/resources/{w.instrument.pk}/calendar",
        None,
        everyone(),
    ),
    Case(
        "set calendar",
        "PUT",
        lambda w: f"/api/v1/resources/{w.instrument.pk}/calendar",
        lambda w: CALENDAR,
        only(PROVIDER),
    ),
    Case(
        "blackouts",
        "GET",
        lambda w: f"/api/v1/resources/{w.instrument.pk}/blackouts",
        None,
        everyone(),
    ),
    Case(
        "add blackout",
        "POST",
        lambda w: f"/api/v1/resources/{w.instrument.pk}/blackouts",
        lambda w: {"start": at(9, "09:00").isoformat(), "end": at(9, "12:00").isoformat()},
        only(PROVIDER, 201),
    ),
    Case(
        "free slots",
        "GET",
        lambda w: f"/api/v1/resources/{w.instrument.pk}/free-slots",
        None,
        everyone(),
    ),
    Case("usage", "GET", lambda w: f"/api/v1/resources/{w.service.pk}/usage", None, everyone()),
    Case(
        "org usage",
        "GET",
        lambda w: f"/api/v1/organisations/{w.provider.pk}/usage",
        None,
        everyone(),
    ),
    Case("list orders", "GET", lambda w: "/api/v1/orders", None, only(ROLES[1:])),
    Case(
        "request order",
        "POST",
        lambda w: "/api/v1/orders",
        lambda w: {"client": w.enterprise.pk, "resource": w.service.pk, "description": "检测"},
        only(["enterprise_member"], 201),
    ),
    Case("get order", "GET", lambda w: f"/api/v1/orders/{_order(w).pk}", None, only(READERS), 404),
    Case(
        "quote",
        "POST",
        lambda w: f"/api/v1/orders/{_order(w).pk}/quote",
        lambda w: {"amount_fen": 100},
        only(PROVIDER, **HIDDEN),
    ),
    Case(
        "accept",
        "POST",
        lambda w: f"/api/v1/orders/{_order(w, 'quoted').pk}/accept",
        lambda w: {},
        only(["enterprise_member"], **HIDDEN),
    ),
    Case(
        "start",
        "POST",
        lambda w: f"/api/v1/orders/{_order(w, 'accepted').pk}/start",
        lambda w: {},
        only(PROVIDER, **HIDDEN),
    ),
    Case(
        "complete",
        "POST",
        lambda w: f"/api/v1/orders/{_order(w, 'delivered').pk}/complete",
        lambda w: {},
        only(["enterprise_member"], **HIDDEN),
    ),
    Case(
        "close",
        "POST",
        lambda w: f"/api/v1/orders/{_order(w, 'completed').pk}/close",
        lambda w: {},
        only(PARTIES, **HIDDEN),
    ),
    Case(
        "cancel order",
        "POST",
        lambda w: f"/api/v1/orders/{_order(w).pk}/cancel",
        lambda w: {"reason": "变更"},
        only(PARTIES, **HIDDEN),
    ),
    Case(
        "invoice",
        "POST",
        lambda w: f"/api/v1/orders/{_order(w, 'completed').pk}/invoice",
        lambda w: {"invoice_no": "FP-1"},
        only(PROVIDER, **HIDDEN),
    ),
    Case(
        "rate",
        "POST",
        lambda w: f"/api/v1/orders/{_order(w, 'completed').pk}/rate",
        lambda w: {"score": 5},
        only(["enterprise_member"], **HIDDEN),
    ),
]


def _user(w, role):
    return {
        "enterprise_member": w.enterprise_member,
        "provider_member": w.provider_member,
        "org_admin": w.org_admin,
        "admin_same_region": w.admin_js,
        "admin_other_region": w.admin_zj,
        "operator": w.operator,
        "auditor": w.auditor,
    }.get(role)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_permission_table(world, case: Case, role: str) -> None:
    world.instrument = instrument(world)
    world.instrument_pending = instrument(world, needs_approval=True, title_zh="核磁共振波谱仪")
    world.service = service(world)
    headers = {}
    user = _user(world, role)
    if user is not None:
        _token, raw = create_api_token(actor=user, name="perm")
        headers["Authorization"] = f"Bearer {raw}"
    path = case.path(world)
    client = Client()
    if case.method == "GET":
        resp = client.get(path, headers=headers)
    else:
        resp = client.generic(
            case.method,
            path,
            data=json.dumps(case.body(world) if case.body else {}),
            content_type="application/json",
            headers=headers,
        )
    expected = case.allowed.get(role, case.denied)
    assert resp.status_code == expected, (
        f"{case.name} as {role}: {resp.status_code} {resp.content[:300]!r}"
    )
