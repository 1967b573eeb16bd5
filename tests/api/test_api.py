"""The HTTP API: token auth over real HTTP, error format, search, resources."""

import json
import urllib.error
import urllib.request

import pytest

from innocommons.catalog.search import indexer
from tests import factories

pytestmark = pytest.mark.django_db


def http(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.mark.django_db(transaction=True)
def test_token_flow_and_crud_over_real_http(live_server, world, settings) -> None:
    base = live_server.url + "/api/v1"
    status, body = http("POST", f"{base}/auth/token", {"username": "prov", "password": "wrong"})
    assert status == 401 and body["detail"] and body["errors"][0]["field"] == "password"
    status, body = http("POST", f"{base}/auth/token", {"username": "prov", "password": "pw-prov"})
    assert status == 201
    token = body["token"]
    status, me = http("GET", f"{base}/me", token=token)
    assert status == 200 and me["memberships"][0]["organisation"] == world.provider.pk

    status, created = http(
        "POST",
        f"{base}/resources",
        {
            "kind": "service",
            "owner": world.provider.pk,
            "title_zh": "电磁兼容检测",
            "title_en": "EMC testing",
            "price_yuan": "3000",
            "cma": True,
            "publish": True,
            "keywords": ["EMC", "电磁兼容"],
        },
        token=token,
    )
    assert status == 201, created
    assert created["status"] == "published" and created["price_fen"] == 300_000
    assert created["detail"]["cma"] is True

    status, err = http(
        "PATCH", f"{base}/resources/{created['id']}", {"trl": 3, "price_yuan": "-1"}, token=token
    )
    assert status == 400 and err["errors"][0]["field"] == "price_yuan"

    indexer.apply_outbox()
    status, found = http("GET", f"{base}/search?q=%E7%94%B5%E7%A3%81%E5%85%BC%E5%AE%B9")
    assert status == 200 and found["total"] == 1
    item = found["items"][0]
    assert {"id", "kind", "title", "summary", "region", "owner", "url", "score"} <= set(item)
    assert found["facets"]["kind"] == {"service": 1}

    status, _ = http("GET", f"{base}/me", token="ic_not-a-token")
    assert status == 401
    status, tokens = http("GET", f"{base}/auth/tokens", token=token)
    http("DELETE", f"{base}/auth/tokens/{tokens[0]['id']}", token=token)
    status, _ = http("GET", f"{base}/me", token=token)
    assert status == 401


def test_openapi_and_docs_are_served(client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/search" in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.parametrize("q", ['"', "title:x AND", "*", "\x00", "🧪" * 3000, "x" * 10_000])
def test_search_endpoint_takes_hostile_input(client, q) -> None:
    resp = client.get("/api/v1/search", {"q": q, "page_size": 5})
    assert resp.status_code == 200


def test_validation_errors_use_the_error_format(client) -> None:
    resp = client.get("/api/v1/search", {"page": "abc"})
    assert resp.status_code == 422
    body = resp.json()
    assert body["detail"] and body["errors"][0]["field"] == "page"
    assert client.get("/api/v1/search", {"page_size": 1000}).status_code == 422


def test_regions_groups_and_taxonomies(client) -> None:
    provinces = client.get("/api/v1/regions", {"level": "province"}).json()
    community = {r["code"] for r in provinces if r["in_community"]}
    assert community == {"310000", "320000", "330000", "340000"}
    g60 = next(g for g in client.get("/api/v1/region-groups").json() if g["code"] == "g60")
    assert len(g60["regions"]) == 9
    fields = client.get("/api/v1/taxonomies/tech_field").json()
    assert len([f for f in fields if f["parent"] is None]) == 8
    cats = client.get("/api/v1/taxonomies/instrument_category").json()
    assert len([c for c in cats if c["parent"] is None]) == 13
    assert client.get("/api/v1/taxonomies/nope").status_code == 404


def test_private_fields_only_for_those_allowed(client, world) -> None:
    url = f"/api/v1/organisations/{world.pending.pk}"
    assert client.get(url).status_code == 404  # pending: not public
    client.force_login(world.admin_js)
    body = client.get(url).json()
    assert body["credit_code"] == world.pending.credit_code
    client.force_login(world.admin_zj)
    assert client.get(url).status_code == 404
    public = client.get(f"/api/v1/organisations/{world.provider.pk}").json()
    assert "credit_code" not in public


def test_apply_and_verify_via_api(client, world) -> None:
    client.force_login(world.outsider)
    resp = client.post(
        "/api/v1/organisations",
        {
            "name_zh": "芜湖新能源科技",
            "type": "enterprise",
            "credit_code": factories.credit_code("340200"),
            "region": "340200",
        },
        content_type="application/json",
    )
    assert resp.status_code == 201, resp.json()
    org_id = resp.json()["id"]
    client.force_login(world.admin_js)
    resp = client.post(
        f"/api/v1/organisations/{org_id}/verify", {}, content_type="application/json"
    )
    assert resp.status_code == 403
    assert resp.json()["detail"]


def test_login_throttling_locks_out_after_repeated_failures(client, world, settings) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        resp = client.post(
            "/api/v1/auth/token",
            {"username": "prov", "password": "bad"},
            content_type="application/json",
        )
        assert resp.status_code in (401, 429)
    resp = client.post(
        "/api/v1/auth/token",
        {"username": "prov", "password": "pw-prov"},
        content_type="application/json",
    )
    assert resp.status_code == 429
    assert resp.json()["detail"]


def test_login_throttling_counts_clients_behind_a_proxy_separately(client, world, settings) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    settings.AXES_LOCKOUT_PARAMETERS = ["ip_address"]
    for _ in range(2):
        client.post(
            "/api/v1/auth/token",
            {"username": "prov", "password": "bad"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1",
        )
    locked = client.post(
        "/api/v1/auth/token",
        {"username": "prov", "password": "pw-prov"},
        content_type="application/json",
        HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1",
    )
    assert locked.status_code == 429
    other = client.post(
        "/api/v1/auth/token",
        {"username": "prov", "password": "pw-prov"},
        content_type="application/json",
        HTTP_X_FORWARDED_FOR="198.51.100.9, 10.0.0.1",
    )
    assert other.status_code == 201


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/auth/token", {"username": "a\x00b", "password": "x"}),
        (
            "post",
            "/api/v1/organisations",
            {"name_zh": "x\x00", "type": "enterprise", "credit_code": "x", "region": "310000"},
        ),
    ],
)
def test_nul_characters_in_bodies_are_refused_with_400(client, world, method, url, body) -> None:
    client.force_login(world.outsider)
    resp = getattr(client, method)(url, body, content_type="application/json")
    assert resp.status_code == 400 and resp.json()["detail"]


def test_nul_characters_in_query_strings_are_dropped(client, world) -> None:
    assert client.get("/api/v1/organisations", {"q": "a\x00b", "type": "\x00"}).status_code == 200
    assert client.get("/api/v1/regions", {"level": "province\x00"}).status_code == 200


def test_contacts_are_public_and_usernames_are_not_revealed(client, world) -> None:
    world.provider.contact_email = "lab@nju.example"
    world.provider.save()
    body = client.get(f"/api/v1/organisations/{world.provider.pk}").json()
    assert body["contact_email"] == "lab@nju.example" and "credit_code" not in body
    client.force_login(world.provider_member)  # a member, not an admin
    for username in ("nobody", "no-such-user"):
        resp = client.post(
            f"/api/v1/organisations/{world.provider.pk}/members",
            {"username": username},
            content_type="application/json",
        )
        assert resp.status_code == 403
