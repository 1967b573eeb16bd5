"""Contracts over the JSON API: the permission table (every endpoint × every role), the
registration flow over real HTTP, uploads, errors and the import endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from innocommons.accounts.services import create_api_token
from innocommons.market.models import TechContract
from innocommons.market.services import contracts as services

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
ROLES = [
    "anonymous",
    "seller",
    "buyer",
    "registrar",
    "other_registrar",
    "operator",
    "auditor",
    "outsider",
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _user(world, role):
    return {
        "seller": world.provider_member,
        "buyer": world.enterprise_member,
        "registrar": world.admin_js,
        "other_registrar": world.admin_zj,
        "operator": world.operator,
        "auditor": world.auditor,
        "outsider": world.outsider,
    }.get(role)


def _input(world, **kw) -> services.ContractInput:
    values = {
        "seller_id": world.provider.pk,
        "title": "技术咨询合同",
        "type": "consulting",
        "buyer_id": world.enterprise.pk,
        "amount_fen": 200_000_00,
        "tech_amount_fen": 150_000_00,
        "field": "electronics",
        "signed_on": timezone.localdate() - timedelta(days=1),
    }
    values.update(kw)
    return services.ContractInput(**values)


@pytest.fixture
def contracts(world):
    pdf = SimpleUploadedFile("c.pdf", PDF)
    world.draft = services.create_contract(
        actor=world.provider_member, data=_input(world), file=pdf
    )
    world.submitted = services.create_contract(
        actor=world.provider_member,
        data=_input(world),
        file=SimpleUploadedFile("c.pdf", PDF),
        submit=True,
    )
    refused = services.create_contract(
        actor=world.provider_member,
        data=_input(world),
        file=SimpleUploadedFile("c.pdf", PDF),
        submit=True,
    )
    world.refused = services.refuse_contract(
        actor=world.admin_js, contract_id=refused.pk, reason="材料不全"
    )
    return world


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Any], str]
    body: Callable[[Any], dict] | None
    allowed: dict[str, int]
    denied: int = 403


def signed_in(status=200):
    return {r: status for r in ROLES if r != "anonymous"}


NEW = lambda w: {  # noqa: E731
    "seller": w.provider.pk,
    "title": "新合同",
    "type": "service",
    "subtype": "training",
    "buyer_name": "Acme GmbH",
    "buyer_region": "DE",
    "amount_fen": 100_00,
    "field": "electronics",
    "signed_on": str(timezone.localdate()),
}

CASES = [
    Case("mine", "GET", lambda w: "/api/v1/contracts/mine", None, signed_in()),
    Case("queue", "GET", lambda w: "/api/v1/contracts/queue", None, signed_in()),
    Case(
        "get submitted",
        "GET",
        lambda w: f"/api/v1/contracts/{w.submitted.pk}",
        None,
        {"seller": 200, "buyer": 200, "registrar": 200, "operator": 200, "auditor": 200},
        404,
    ),
    Case(
        "get draft",
        "GET",
        lambda w: f"/api/v1/contracts/{w.draft.pk}",
        None,
        {"seller": 200, "buyer": 200},
        404,
    ),
    Case(
        "download file",
        "GET",
        lambda w: f"/api/v1/contracts/{w.submitted.pk}/file",
        None,
        {"seller": 200, "buyer": 200, "registrar": 200},
        404,
    ),
    Case("create", "POST", lambda w: "/api/v1/contracts", NEW, {"seller": 201}),
    Case(
        "update draft",
        "PATCH",
        lambda w: f"/api/v1/contracts/{w.draft.pk}",
        lambda w: {"title": "改名"},
        {"seller": 200},
    ),
    Case(
        "submit", "POST", lambda w: f"/api/v1/contracts/{w.draft.pk}/submit", None, {"seller": 200}
    ),
    Case(
        "register",
        "POST",
        lambda w: f"/api/v1/contracts/{w.submitted.pk}/register",
        lambda w: {},
        {"registrar": 200},
    ),
    Case(
        "refuse",
        "POST",
        lambda w: f"/api/v1/contracts/{w.submitted.pk}/refuse",
        lambda w: {"reason": "不属于技术合同"},
        {"registrar": 200},
    ),
    Case(
        "appeal",
        "POST",
        lambda w: f"/api/v1/contracts/{w.refused.pk}/appeal",
        lambda w: {"statement": "请复核"},
        {"seller": 200},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_permission_table(contracts, case: Case) -> None:
    """Each role in turn; the roles allowed to write go last, since they change the state."""
    w = contracts
    order = sorted(
        ROLES, key=lambda r: (case.method != "GET" and r in case.allowed, ROLES.index(r))
    )
    for role in order:
        client = Client()
        user = _user(w, role)
        if user is not None:
            client.force_login(user)
        call = getattr(client, case.method.lower())
        body = case.body(w) if case.body else None
        if case.method == "GET":
            resp = call(case.path(w))
        else:
            resp = call(case.path(w), json.dumps(body or {}), content_type="application/json")
        expected = 401 if role == "anonymous" else case.allowed.get(role, case.denied)
        assert resp.status_code == expected, (case.name, role, resp.status_code, resp.content[:300])
        if resp.status_code >= 400:
            payload = resp.json()
            assert payload["detail"] and isinstance(payload["errors"], list)


def test_lists_are_filtered(contracts) -> None:
    w = contracts
    client = Client()
    client.force_login(w.admin_js)
    queue = client.get("/api/v1/contracts/queue").json()
    assert [i["id"] for i in queue["items"]] == [w.submitted.pk]
    item = queue["items"][0]
    assert item["due_on"] == str(timezone.localdate() + timedelta(days=30))
    assert item["overdue"] is False and item["actions"] == ["register", "refuse"]
    assert client.get("/api/v1/contracts/queue?status=refused").json()["total"] == 1
    client.force_login(w.admin_zj)
    assert client.get("/api/v1/contracts/queue").json()["total"] == 0
    client.force_login(w.enterprise_member)
    mine = client.get("/api/v1/contracts/mine").json()
    assert mine["total"] == 3 and all(i["actions"] == [] for i in mine["items"])
    draft = client.get("/api/v1/contracts/mine?status=draft").json()["items"][0]
    assert draft["file_url"] == f"/api/v1/contracts/{w.draft.pk}/file"


def test_validation_errors_name_the_field(world) -> None:
    client = Client()
    client.force_login(world.provider_member)
    body = {**NEW(world), "tech_amount_fen": 200_00, "subtype": "patent_right"}
    resp = client.post("/api/v1/contracts", body, content_type="application/json")
    assert resp.status_code == 400
    fields = {e["field"] for e in resp.json()["errors"]}
    assert fields == {"tech_amount_fen", "subtype"}
    resp = client.post("/api/v1/contracts", {"seller": "x"}, content_type="application/json")
    assert resp.status_code == 422 and resp.json()["errors"]


def test_upload_checks_the_file(world) -> None:
    client = Client()
    client.force_login(world.provider_member)
    created = client.post("/api/v1/contracts", NEW(world), content_type="application/json").json()
    bad = client.post(
        f"/api/v1/contracts/{created['id']}/file",
        {"file": SimpleUploadedFile("c.pdf", b"#!/bin/sh\nrm -rf /\n")},
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "file"
    ok = client.post(
        f"/api/v1/contracts/{created['id']}/file",
        {"file": SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n....")},
    )
    assert ok.status_code == 200 and ok.json()["has_file"]
    download = client.get(f"/api/v1/contracts/{created['id']}/file")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")


def test_import_endpoint(world) -> None:
    client = Client()
    client.force_login(world.admin_js)
    content = (
        "title,type,seller,seller_region,buyer,buyer_region,amount_yuan,field,signed_on\n"
        "技术服务合同,service,南京某公司,320100,上海某公司,310000,1000,electronics,2023-01-01\n"
        "坏行,service,南京某公司,320100,上海某公司,310000,-5,electronics,2023-01-01\n"
    ).encode()
    resp = client.post("/api/v1/contracts/import", {"file": SimpleUploadedFile("c.csv", content)})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "line 3"
    assert not TechContract.objects.exists()
    resp = client.post(
        "/api/v1/contracts/import",
        {"file": SimpleUploadedFile("c.csv", content), "skip_invalid": "true"},
    )
    assert resp.status_code == 200 and resp.json()["imported"] == 1
    client.force_login(world.enterprise_member)
    resp = client.post("/api/v1/contracts/import", {"file": SimpleUploadedFile("c.csv", content)})
    assert resp.status_code == 403


def _http(method: str, url: str, token: str, body: Any = None, files: dict | None = None):
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if files:
        boundary = uuid.uuid4().hex
        parts = []
        for name, (filename, content) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.mark.django_db(transaction=True)
def test_registration_flow_over_real_http(live_server, world) -> None:
    base = live_server.url + "/api/v1"
    seller = create_api_token(actor=world.provider_member, name="t")[1]
    zj = create_api_token(actor=world.admin_zj, name="t")[1]
    js = create_api_token(actor=world.admin_js, name="t")[1]
    status, created = _http(
        "POST", f"{base}/contracts", seller, {**NEW(world), "buyer": world.enterprise.pk}
    )
    assert status == 201 and created["status"] == "draft" and created["buyer_region"] == "310117"
    cid = created["id"]
    status, err = _http("POST", f"{base}/contracts/{cid}/submit", seller)
    assert status == 400 and err["errors"][0]["field"] == "file"
    status, _ = _http(
        "POST", f"{base}/contracts/{cid}/file", seller, files={"file": ("c.pdf", PDF)}
    )
    assert status == 200
    status, sub = _http("POST", f"{base}/contracts/{cid}/submit", seller)
    assert status == 200 and sub["due_on"] == str(timezone.localdate() + timedelta(days=30))
    status, err = _http("POST", f"{base}/contracts/{cid}/register", zj, {})
    assert status == 403 and err["detail"]
    status, done = _http("POST", f"{base}/contracts/{cid}/register", js, {"tech_amount_fen": 90_00})
    assert status == 200 and done["status"] == "registered"
    assert done["registration_no"].startswith(f"320000{timezone.localdate().year}")
    assert done["registered_tech_amount_fen"] == 90_00
    status, err = _http("POST", f"{base}/contracts/{cid}/register", js, {})
    assert status == 409
