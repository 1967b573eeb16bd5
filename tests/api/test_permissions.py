"""Every endpoint × every role: who may do what (CONVENTIONS habit 7)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from innocommons.accounts.models import ApiToken
from innocommons.accounts.services import create_api_token
from tests import factories

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


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Any], str]
    body: Callable[[Any], dict] | None
    allowed: dict[str, int]  # role → expected status; roles not listed get `denied`
    denied: int = 403


def _user(world, role):
    return {
        "enterprise_member": world.enterprise_member,
        "provider_member": world.provider_member,
        "org_admin": world.org_admin,
        "admin_same_region": world.admin_js,
        "admin_other_region": world.admin_zj,
        "operator": world.operator,
        "auditor": world.auditor,
    }.get(role)


def everyone(status=200):
    return dict.fromkeys(ROLES, status)


def signed_in(status=200):
    return {r: status for r in ROLES if r != "anonymous"}


CASES = [
    Case("search", "GET", lambda w: "/api/v1/search?q=x", None, everyone()),
    Case("regions", "GET", lambda w: "/api/v1/regions", None, everyone()),
    Case("region", "GET", lambda w: "/api/v1/regions/310000", None, everyone()),
    Case("groups", "GET", lambda w: "/api/v1/region-groups", None, everyone()),
    Case("taxonomy", "GET", lambda w: "/api/v1/taxonomies/tech_field", None, everyone()),
    Case("organisations", "GET", lambda w: "/api/v1/organisations", None, everyone()),
    Case(
        "verified org", "GET", lambda w: f"/api/v1/organisations/{w.provider.pk}", None, everyone()
    ),
    Case(
        "pending org",
        "GET",
        lambda w: f"/api/v1/organisations/{w.pending.pk}",
        None,
        {"org_admin": 200, "admin_same_region": 200, "operator": 200, "auditor": 200},
        404,
    ),
    Case(
        "published resource",
        "GET",
        lambda w: f"/api/v1/resources/{w.published.pk}",
        None,
        everyone(),
    ),
    Case(
        "draft resource",
        "GET",
        lambda w: f"/api/v1/resources/{w.draft.pk}",
        None,
        {"provider_member": 200, "org_admin": 200, "operator": 200, "auditor": 200},
        404,
    ),
    Case(
        "org resources",
        "GET",
        lambda w: f"/api/v1/organisations/{w.provider.pk}/resources",
        None,
        everyone(),
    ),
    Case("me", "GET", lambda w: "/api/v1/me", None, signed_in(), 401),
    Case("tokens", "GET", lambda w: "/api/v1/auth/tokens", None, signed_in(), 401),
    Case(
        "create resource",
        "POST",
        lambda w: "/api/v1/resources",
        lambda w: {"kind": "service", "owner": w.provider.pk, "title_zh": "新服务"},
        {"provider_member": 201, "org_admin": 201, "anonymous": 401},
    ),
    Case(
        "update resource",
        "PATCH",
        lambda w: f"/api/v1/resources/{w.draft.pk}",
        lambda w: {"summary_zh": "改"},
        {"provider_member": 200, "org_admin": 200, "anonymous": 401},
    ),
    Case(
        "publish resource",
        "POST",
        lambda w: f"/api/v1/resources/{w.draft.pk}/status",
        lambda w: {"status": "published"},
        {"provider_member": 200, "org_admin": 200, "anonymous": 401},
    ),
    Case(
        "apply organisation",
        "POST",
        lambda w: "/api/v1/organisations",
        lambda w: {
            "name_zh": "新机构",
            "type": "enterprise",
            "credit_code": factories.credit_code("310000"),
            "region": "310000",
        },
        {**signed_in(201), "anonymous": 401},
    ),
    Case(
        "verify organisation",
        "POST",
        lambda w: f"/api/v1/organisations/{w.pending.pk}/verify",
        lambda w: {},
        {"admin_same_region": 200, "anonymous": 401},
    ),
    Case(
        "list members",
        "GET",
        lambda w: f"/api/v1/organisations/{w.provider.pk}/members",
        None,
        {
            "provider_member": 200,
            "org_admin": 200,
            "operator": 200,
            "auditor": 200,
            "anonymous": 401,
        },
    ),
    Case(
        "add member",
        "POST",
        lambda w: f"/api/v1/organisations/{w.provider.pk}/members",
        lambda w: {"username": "nobody", "role": "member"},
        {"org_admin": 200, "operator": 200, "anonymous": 401},
    ),
    Case(
        "remove member",
        "DELETE",
        lambda w: f"/api/v1/organisations/{w.provider.pk}/members/{w.provider_member.pk}",
        None,
        {"org_admin": 200, "operator": 200, "anonymous": 401},
    ),
    Case(
        "suspend organisation",
        "POST",
        lambda w: f"/api/v1/organisations/{w.provider.pk}/suspend",
        lambda w: {"reason": "核查中"},
        {"admin_same_region": 200, "anonymous": 401},
    ),
    Case(
        "reject organisation",
        "POST",
        lambda w: f"/api/v1/organisations/{w.pending.pk}/reject",
        lambda w: {"reason": "材料不全"},
        {"admin_same_region": 200, "anonymous": 401},
    ),
]


@pytest.fixture
def table_world(world):
    world.published = factories.resource(world.provider, actor=world.provider_member)
    world.draft = factories.resource(world.provider, actor=world.provider_member, publish=False)
    world.tokens = {}
    for role in ROLES:
        user = _user(world, role)
        if user is not None:
            world.tokens[role] = create_api_token(actor=user, name="perm")[1]
    return world


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_permission_table(table_world, case: Case, role: str) -> None:
    w = table_world
    client = Client()
    headers = {}
    if role != "anonymous":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {w.tokens[role]}"
    body = case.body(w) if case.body else None
    call = getattr(client, case.method.lower())
    if body is None:
        resp = call(case.path(w), **headers)
    else:
        resp = call(case.path(w), body, content_type="application/json", **headers)
    expected = case.allowed.get(role, case.denied)
    assert resp.status_code == expected, (case.name, role, resp.status_code, resp.content[:300])
    if resp.status_code >= 400:
        payload = resp.json()
        assert payload["detail"] and isinstance(payload["errors"], list)


def test_session_auth_requires_csrf_for_writes(world) -> None:
    client = Client(enforce_csrf_checks=True)
    anonymous = client.post("/api/v1/resources", {}, content_type="application/json")
    assert anonymous.status_code == 401  # not signed in, rather than a CSRF error
    bad_token = client.post(
        "/api/v1/resources",
        {},
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer ic_wrong",
    )
    assert bad_token.status_code == 401
    client.force_login(world.provider_member)
    resp = client.post(
        "/api/v1/resources",
        {"kind": "service", "owner": world.provider.pk, "title_zh": "x"},
        content_type="application/json",
    )
    assert resp.status_code == 403 and "CSRF" in resp.json()["detail"]
    assert ApiToken.objects.count() == 0
