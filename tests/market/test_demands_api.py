"""Demands over the JSON API: the permission table (every endpoint × every role), the
confidential details, matches with reasons, threads, the inbox, errors, and the whole flow
over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from innocommons.accounts.services import create_api_token
from innocommons.market.models import Demand, Thread
from innocommons.market.services import demands as services
from tests.market.test_demands_support import WAN, make_demand, sodium_catalog

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "poster", "provider", "outsider", "operator", "auditor"]


def _user(world, role):
    return {
        "poster": world.enterprise_member,
        "provider": world.provider_member,
        "outsider": world.outsider,
        "operator": world.operator,
        "auditor": world.auditor,
    }.get(role)


def NEW(world) -> dict[str, Any]:
    return {
        "organisation": world.enterprise.pk,
        "title_zh": "钠离子电池正极材料技术许可",
        "summary_zh": "需要不含镍钴的层状氧化物正极材料制备技术。",
        "details_zh": "规划产能两万吨。",
        "keywords": ["钠离子电池", "正极材料"],
        "field": "0603",
        "deadline": str(timezone.localdate() + timedelta(days=30)),
        "budget_min_fen": 500 * WAN,
        "budget_max_fen": 1000 * WAN,
    }


@pytest.fixture
def state(world):
    sodium_catalog(world)
    world.draft = make_demand(world, publish=False)
    world.live = make_demand(world)
    world.thread = services.express_interest(
        actor=world.provider_member,
        demand_id=world.live.pk,
        organisation_id=world.provider.pk,
        message="我们有吨级中试数据。",
    )
    return world


@dataclass
class Case:
    method: str
    url: str
    expected: dict[str, int]
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


CASES = [
    Case("GET", "/api/v1/demands", dict.fromkeys(ROLES, 200)),
    Case(
        "GET",
        "/api/v1/demands/{draft}",
        {
            "anonymous": 404,
            "poster": 200,
            "provider": 404,
            "outsider": 404,
            "operator": 200,
            "auditor": 200,
        },
    ),
    Case("GET", "/api/v1/demands/{live}", dict.fromkeys(ROLES, 200)),
    Case("GET", "/api/v1/demands/{live}/matches", dict.fromkeys(ROLES, 200)),
    Case("GET", "/api/v1/demands/mine", {**dict.fromkeys(ROLES, 200), "anonymous": 401}),
    Case(
        "POST",
        "/api/v1/demands",
        {
            "anonymous": 401,
            "poster": 201,
            "provider": 403,
            "outsider": 403,
            "operator": 403,
            "auditor": 403,
        },
        body="new",
    ),
    Case(
        "PATCH",
        "/api/v1/demands/{live}",
        {
            "anonymous": 401,
            "poster": 200,
            "provider": 403,
            "outsider": 403,
            "operator": 403,
            "auditor": 403,
        },
        body={"title_en": "Sodium-ion cathodes"},
    ),
    Case(
        "POST",
        "/api/v1/demands/{draft}/publish",
        {
            "anonymous": 401,
            "poster": 200,
            "provider": 403,
            "outsider": 403,
            "operator": 403,
            "auditor": 403,
        },
    ),
    Case(
        "POST",
        "/api/v1/demands/{live}/close",
        {
            "anonymous": 401,
            "poster": 200,
            "provider": 403,
            "outsider": 403,
            "operator": 403,
            "auditor": 403,
        },
        body={"outcome": "solved"},
    ),
    Case(
        "POST",
        "/api/v1/demands/{live}/interest",
        # the poster answering itself: 400; not a member of the organisation named: 403
        {
            "anonymous": 401,
            "poster": 400,
            "provider": 201,
            "outsider": 403,
            "operator": 403,
            "auditor": 403,
        },
        body="interest",
    ),
    Case(
        "GET",
        "/api/v1/threads/{thread}",
        {
            "anonymous": 401,
            "poster": 200,
            "provider": 200,
            "outsider": 404,
            "operator": 404,
            "auditor": 200,  # reads everything (DESIGN §2)
        },
    ),
    Case(
        "POST",
        "/api/v1/threads/{thread}/messages",
        {
            "anonymous": 401,
            "poster": 201,
            "provider": 201,
            "outsider": 404,
            "operator": 404,
            "auditor": 403,  # and writes nothing
        },
        body={"body": "你好"},
    ),
    Case("GET", "/api/v1/threads", {**dict.fromkeys(ROLES, 200), "anonymous": 401}),
    Case("GET", "/api/v1/notifications", {**dict.fromkeys(ROLES, 200), "anonymous": 401}),
    Case(
        "POST",
        "/api/v1/notifications/read",
        {**dict.fromkeys(ROLES, 200), "anonymous": 401},
        body={},
    ),
]


def _call(client: Client, method: str, url: str, token: str | None, body: Any = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = json.dumps(body) if body is not None else None
    fn = getattr(client, method.lower())
    if data is None:
        return fn(url, **headers)
    return fn(url, data=data, content_type="application/json", **headers)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_table(state, case: Case) -> None:
    for role in ROLES:
        user = _user(state, role)
        token = create_api_token(actor=user, name="t")[1] if user else None
        url = case.url.format(draft=state.draft.pk, live=state.live.pk, thread=state.thread.pk)
        body = case.body
        if body == "new":
            body = NEW(state)
        elif body == "interest":
            org = state.enterprise if role == "poster" else state.provider
            body = {"organisation": org.pk, "message": "可以合作"}
        demands = Demand.objects.filter(pk__in=[state.draft.pk, state.live.pk])
        snapshot = list(demands.values_list("pk", "status", "title_en"))
        response = _call(Client(), case.method, url, token, body)
        assert response.status_code == case.expected[role], (role, response.content[:300])
        # Put the state back for the next role (writes that succeeded).
        for pk, status, title_en in snapshot:
            Demand.objects.filter(pk=pk).update(
                status=status, title_en=title_en, outcome="", closed_at=None
            )


def test_details_are_null_for_readers_outside_verified_organisations(state) -> None:
    anon = Client().get(f"/api/v1/demands/{state.live.pk}").json()
    assert anon["details_hidden"] is True and anon["details_zh"] is None
    assert anon["summary_zh"].startswith("计划建设钠离子电池产线")
    token = create_api_token(actor=state.provider_member, name="t")[1]
    seen = _call(Client(), "GET", f"/api/v1/demands/{state.live.pk}", token).json()
    assert (
        seen["details_hidden"] is False
        and seen["details_zh"] == "年产能规划两万吨，需提供工艺包与吨级中试数据。"
    )
    assert seen["actions"] == ["interest"]
    listed = Client().get("/api/v1/demands").json()
    assert [d["id"] for d in listed["items"]] == [state.live.pk]
    assert listed["items"][0]["details_zh"] is None


def test_matches_come_with_reasons(state) -> None:
    body = Client().get(f"/api/v1/demands/{state.live.pk}/matches").json()
    assert body["terms"] and body["terms"][0]["weight"] >= body["terms"][-1]["weight"]
    top = body["items"][0]
    assert top["title"] == "钠离子电池层状氧化物正极材料" and top["region_name"] == "江苏省"
    assert {r["factor"] for r in top["reasons"]} == {"text", "field", "maturity", "price", "region"}
    text = next(r for r in top["reasons"] if r["factor"] == "text")
    assert "钠离子" in text["terms"] and text["terms"] == top["matched_terms"]
    assert sum(r["points"] for r in top["reasons"]) == pytest.approx(top["score"], abs=0.01)
    assert body["providers"][0]["organisation"] == state.provider.pk
    assert body["providers"][0]["listings"][0]["id"] == top["id"]
    experts = Client().get(f"/api/v1/demands/{state.live.pk}/matches?kind=expert").json()
    assert all(i["kind"] == "expert" for i in experts["items"])
    # …and the other way round: the open demands a listing answers.
    rd = Client().get(f"/api/v1/resources/{top['id']}/demands").json()
    assert rd["items"][0]["id"] == state.live.pk and rd["items"][0]["reasons"]
    assert Client().get(f"/api/v1/demands/{state.draft.pk}/matches").status_code == 404


def test_errors_name_the_field(state) -> None:
    token = create_api_token(actor=state.enterprise_member, name="t")[1]
    bad = {**NEW(state), "deadline": str(timezone.localdate() - timedelta(days=3))}
    r = _call(Client(), "POST", "/api/v1/demands", token, bad)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "deadline"
    r = _call(Client(), "POST", "/api/v1/demands", token, {**NEW(state), "budget_max_fen": "lots"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "budget_max_fen"
    r = _call(Client(), "PATCH", f"/api/v1/demands/{state.live.pk}", token, {"title_zh": None})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "title_zh"
    r = _call(
        Client(), "POST", f"/api/v1/demands/{state.live.pk}/close", token, {"outcome": "expired"}
    )
    assert r.status_code == 422


def test_inbox_counts_and_marks_read(state) -> None:
    token = create_api_token(actor=state.enterprise_member, name="t")[1]
    inbox = _call(Client(), "GET", "/api/v1/notifications", token).json()
    assert inbox["unread"] == 1 and inbox["items"][0]["kind"] == "market.demand.interest"
    assert inbox["items"][0]["link"] == f"/market/threads/{state.thread.pk}/"
    done = _call(
        Client(), "POST", "/api/v1/notifications/read", token, {"ids": [inbox["items"][0]["id"]]}
    )
    assert done.json() == {"marked": 1, "unread": 0}
    # Another user's notification ids are not theirs to mark.
    other = create_api_token(actor=state.provider_member, name="t")[1]
    services.post_message(actor=state.enterprise_member, thread_id=state.thread.pk, body="收到")
    theirs = _call(Client(), "GET", "/api/v1/notifications?unread=true", other).json()["items"][0][
        "id"
    ]
    assert (
        _call(Client(), "POST", "/api/v1/notifications/read", token, {"ids": [theirs]}).json()[
            "marked"
        ]
        == 0
    )
    assert _call(Client(), "GET", "/api/v1/notifications", other).json()["unread"] == 1


def _http(method: str, url: str, token: str | None = None, body: Any = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.mark.django_db(transaction=True)
def test_flow_over_real_http(live_server, world) -> None:
    base = live_server.url + "/api/v1"
    sodium_catalog(world)  # with SEARCH_SYNC, committed listings are indexed on commit
    poster = create_api_token(actor=world.enterprise_member, name="t")[1]
    provider = create_api_token(actor=world.provider_member, name="t")[1]

    status, created = _http("POST", f"{base}/demands", poster, NEW(world))
    assert (
        status == 201
        and created["status"] == "draft"
        and created["actions"] == ["update", "publish"]
    )
    did = created["id"]
    status, published = _http("POST", f"{base}/demands/{did}/publish", poster)
    assert status == 200 and published["status"] == "published"
    # Publishing alerted the matching provider (after the commit).
    status, inbox = _http("GET", f"{base}/notifications", provider)
    assert status == 200 and inbox["unread"] == 1
    assert inbox["items"][0]["kind"] == "market.demand.match" and inbox["items"][0][
        "link"
    ].endswith(f"/{did}/")

    status, matches = _http("GET", f"{base}/demands/{did}/matches?limit=5")
    assert status == 200 and matches["items"][0]["owner"] == world.provider.pk
    offer = matches["items"][0]["id"]
    status, thread = _http(
        "POST",
        f"{base}/demands/{did}/interest",
        provider,
        {"organisation": world.provider.pk, "message": "可提供吨级中试样品", "resource": offer},
    )
    assert status == 201 and thread["resource"] == offer and len(thread["messages"]) == 1
    status, again = _http(
        "POST",
        f"{base}/demands/{did}/interest",
        provider,
        {"organisation": world.provider.pk, "message": "补充资料"},
    )
    assert status == 201 and again["id"] == thread["id"] and len(again["messages"]) == 2
    status, _ = _http(
        "POST", f"{base}/threads/{thread['id']}/messages", poster, {"body": "请寄样品"}
    )
    assert status == 201
    status, mine = _http("GET", f"{base}/threads", provider)
    assert [t["id"] for t in mine] == [thread["id"]]
    status, closed = _http("POST", f"{base}/demands/{did}/close", poster, {"outcome": "solved"})
    assert status == 200 and closed["outcome"] == "solved"
    status, err = _http(
        "POST",
        f"{base}/demands/{did}/interest",
        provider,
        {"organisation": world.provider.pk, "message": "晚了"},
    )
    assert status == 409 and err["detail"]
    assert Thread.objects.count() == 1
