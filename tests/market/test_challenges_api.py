"""Challenges over the JSON API: the permission table for every endpoint and role, and the
whole life of a challenge from issue to the last milestone."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from innocommons.market.models import Challenge, TechContract
from innocommons.market.services import challenges as services
from innocommons.market.services.challenges import ChallengeInput, CriterionInput, MilestoneInput
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "issuer", "team", "panelist", "regional_admin", "auditor", "outsider"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _payload(world) -> dict[str, Any]:
    return {
        "title": "智能网联汽车V2X通信模组",
        "problem": "需要低时延V2X模组。",
        "expected_results": "样机与路测报告。",
        "eligibility": "不限。",
        "field": "transport",
        "reward_fen": 2_000_000_00,
        "deadline": (timezone.now() + timedelta(days=20)).isoformat(),
        "notice_days": 5,
        "milestones": [
            {"title": "方案", "amount_fen": 500_000_00},
            {
                "title": "样机",
                "amount_fen": 1_500_000_00,
                "due_on": str(timezone.localdate() + timedelta(days=200)),
            },
        ],
        "criteria": [{"name": "技术先进性", "weight": 50}, {"name": "可行性", "weight": 50}],
        "issuer_org": world.enterprise.pk,
    }


def _challenge(world) -> Challenge:
    return services.create_challenge(
        actor=world.enterprise_member,
        data=ChallengeInput(
            title="挑战",
            problem="问题",
            expected_results="成果",
            field="electronics",
            reward_fen=100_000_00,
            deadline=timezone.now() + timedelta(days=5),
            milestones=[MilestoneInput("一", 40_000_00), MilestoneInput("二", 60_000_00)],
            criteria=[CriterionInput("方案", 70), CriterionInput("团队", 30)],
            issuer_org_id=world.enterprise.pk,
        ),
    )


@pytest.fixture
def states(world):
    """Challenges in each phase, a proposal by the provider, an expert on each panel."""
    w = world
    w.expert = factories.user("expert")
    w.open = _challenge(w)
    w.closed = _challenge(w)
    w.notice = _challenge(w)
    w.ended = _challenge(w)
    w.awarded = _challenge(w)
    w.scored = _challenge(w)
    w.proposals = {}
    for c in (w.closed, w.scored, w.notice, w.ended, w.awarded):
        services.invite_panelist(actor=w.enterprise_member, challenge_id=c.pk, username="expert")
        w.proposals[c.pk] = services.submit_proposal(
            actor=w.provider_member,
            challenge_id=c.pk,
            lead_org_id=w.provider.pk,
            title="方案",
            summary="内容",
        )
        Challenge.objects.filter(pk=c.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    for c in (w.scored, w.notice, w.ended, w.awarded):
        crit = list(c.criteria.all())
        p = w.proposals[c.pk]
        services.score_proposal(
            actor=w.expert, proposal_id=p.pk, points={crit[0].pk: 80, crit[1].pk: 70}
        )
    for c in (w.notice, w.ended, w.awarded):
        p = w.proposals[c.pk]
        services.select_winner(actor=w.enterprise_member, challenge_id=c.pk, proposal_id=p.pk)
    for c in (w.ended, w.awarded):
        Challenge.objects.filter(pk=c.pk).update(notice_until=timezone.now() - timedelta(minutes=1))
    services.award_challenge(actor=w.enterprise_member, challenge_id=w.awarded.pk)
    w.milestone = w.awarded.milestones.order_by("seq").first()
    w.closed_proposal = w.proposals[w.closed.pk]
    w.criteria = list(w.closed.criteria.all())
    return w


def _user(w, role):
    return {
        "issuer": w.enterprise_member,
        "team": w.provider_member,
        "panelist": w.expert,
        "regional_admin": w.admin_js,
        "auditor": w.auditor,
        "outsider": w.outsider,
    }.get(role)


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Any], str]
    body: Callable[[Any], dict] | None
    allowed: dict[str, int]
    denied: int = 403
    public: bool = False


def signed_in(status=200):
    return {r: status for r in ROLES if r != "anonymous"}


CASES = [
    Case("list", "GET", lambda w: "/api/v1/challenges", None, signed_in(), public=True),
    Case("get", "GET", lambda w: f"/api/v1/challenges/{w.open.pk}", None, signed_in(), public=True),
    Case("create", "POST", lambda w: "/api/v1/challenges", _payload, {"issuer": 201}),
    Case(
        "invite",
        "POST",
        lambda w: f"/api/v1/challenges/{w.open.pk}/panel",
        lambda w: {"username": "nobody"},
        {"issuer": 201},
    ),
    Case(
        "propose",
        "POST",
        lambda w: f"/api/v1/challenges/{w.open.pk}/proposals",
        lambda w: {"lead_org": w.provider.pk, "title": "方案", "summary": "内容"},
        {"team": 201},
    ),
    Case(
        "proposal",
        "GET",
        lambda w: f"/api/v1/challenges/proposals/{w.closed_proposal.pk}",
        None,
        {"issuer": 200, "team": 200, "panelist": 200, "auditor": 200},
        404,
    ),
    Case(
        "ranking",
        "GET",
        lambda w: f"/api/v1/challenges/{w.closed.pk}/ranking",
        None,
        {"issuer": 200, "auditor": 200},
    ),
    Case(
        "review",
        "GET",
        lambda w: f"/api/v1/challenges/{w.closed.pk}/review",
        None,
        {"panelist": 200},
    ),
    Case(
        "score",
        "POST",
        lambda w: f"/api/v1/challenges/proposals/{w.closed_proposal.pk}/score",
        lambda w: {"points": {str(k.pk): 60 for k in w.criteria}},
        {"panelist": 200},
    ),
    Case(
        "select",
        "POST",
        lambda w: f"/api/v1/challenges/{w.scored.pk}/select",
        lambda w: {"proposal": w.proposals[w.scored.pk].pk},
        {"issuer": 200},
    ),
    Case(
        "unselect",
        "POST",
        lambda w: f"/api/v1/challenges/{w.notice.pk}/unselect",
        lambda w: {"reason": "异议成立"},
        {"issuer": 200},
    ),
    Case(
        "object",
        "POST",
        lambda w: f"/api/v1/challenges/{w.notice.pk}/objections",
        lambda w: {"text": "有异议"},
        signed_in(201),
    ),
    Case(
        "award",
        "POST",
        lambda w: f"/api/v1/challenges/{w.ended.pk}/award",
        None,
        {"issuer": 200},
    ),
    Case(
        "accept milestone",
        "POST",
        lambda w: f"/api/v1/challenges/milestones/{w.milestone.pk}/accept",
        lambda w: {"note": "通过"},
        {"issuer": 200},
    ),
    Case(
        "cancel",
        "POST",
        lambda w: f"/api/v1/challenges/{w.open.pk}/cancel",
        lambda w: {"reason": "需求变化"},
        {"issuer": 200},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_permission_table(states, case: Case) -> None:
    w = states
    order = sorted(
        ROLES, key=lambda r: (case.method != "GET" and r in case.allowed, ROLES.index(r))
    )
    for role in order:
        client = Client()
        user = _user(w, role)
        if user is not None:
            client.force_login(user)
        call = getattr(client, case.method.lower())
        if case.method == "GET":
            resp = call(case.path(w))
        else:
            body = case.body(w) if case.body else {}
            resp = call(case.path(w), json.dumps(body), content_type="application/json")
        if role == "anonymous":
            expected = 200 if case.public else 401
        else:
            expected = case.allowed.get(role, case.denied)
        assert resp.status_code == expected, (case.name, role, resp.status_code, resp.content[:300])
        if resp.status_code >= 400:
            assert resp.json()["detail"]


def test_whole_life_over_the_api(world) -> None:
    issuer, team, expert = Client(), Client(), Client()
    issuer.force_login(world.enterprise_member)
    team.force_login(world.provider_member)
    factories.user("expert")
    from innocommons.accounts.models import User

    expert.force_login(User.objects.get(username="expert"))
    bad = issuer.post(
        "/api/v1/challenges",
        {**_payload(world), "milestones": [{"title": "全部", "amount_fen": 1}]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "milestones"
    created = issuer.post("/api/v1/challenges", _payload(world), content_type="application/json")
    assert created.status_code == 201, created.content
    c = created.json()
    assert c["phase"] == "open" and [k["weight"] for k in c["criteria"]] == [50, 50]
    assert sum(m["amount_fen"] for m in c["milestones"]) == c["reward_fen"]
    assert (
        issuer.post(
            f"/api/v1/challenges/{c['id']}/panel",
            {"username": "expert"},
            content_type="application/json",
        ).status_code
        == 201
    )
    prop = team.post(
        f"/api/v1/challenges/{c['id']}/proposals",
        {
            "lead_org": world.provider.pk,
            "title": "V2X模组方案",
            "summary": "……",
            "partners": [world.pending.pk],
        },
        content_type="application/json",
    ).json()
    attach = team.post(
        f"/api/v1/challenges/proposals/{prop['id']}/attachments",
        {"file": SimpleUploadedFile("方案.pdf", b"%PDF-1.4\n%%EOF\n")},
    )
    assert attach.status_code == 201
    assert issuer.get(f"/api/v1/challenges/{c['id']}/proposals").json() == []  # sealed
    assert issuer.get(f"/api/v1/challenges/{c['id']}/ranking").status_code == 403
    Challenge.objects.filter(pk=c["id"]).update(deadline=timezone.now() - timedelta(seconds=1))
    late = team.put(
        f"/api/v1/challenges/proposals/{prop['id']}",
        {"title": "改", "summary": "改"},
        content_type="application/json",
    )
    assert late.status_code == 409
    proposals = issuer.get(f"/api/v1/challenges/{c['id']}/proposals").json()
    assert [p["id"] for p in proposals] == [prop["id"]] and proposals[0]["partners"][0][
        "region"
    ] == "320500"
    download = expert.get(proposals[0]["attachments"][0]["url"])
    assert download.status_code == 200
    scored = expert.post(
        f"/api/v1/challenges/proposals/{prop['id']}/score",
        {
            "points": {str(c["criteria"][0]["id"]): 90, str(c["criteria"][1]["id"]): 70},
            "comment": "好",
        },
        content_type="application/json",
    )
    assert scored.status_code == 200 and scored.json()["weighted"] == "80.00"
    review = expert.get(f"/api/v1/challenges/{c['id']}/review").json()
    assert review[0]["my_sheet"]["weighted"] == "80.00" and review[0]["conflicted"] is False
    ranking = issuer.get(f"/api/v1/challenges/{c['id']}/ranking").json()
    assert ranking[0]["average"] == "80.00" and ranking[0]["rank"] == 1
    selected = issuer.post(
        f"/api/v1/challenges/{c['id']}/select",
        {"proposal": prop["id"]},
        content_type="application/json",
    ).json()
    assert (
        selected["phase"] == "notice" and selected["winner"]["lead_org"]["id"] == world.provider.pk
    )
    public = Client().get(f"/api/v1/challenges/{c['id']}").json()
    assert public["winner"]["title"] == "V2X模组方案"  # the public notice
    assert issuer.post(f"/api/v1/challenges/{c['id']}/award").status_code == 409
    Challenge.objects.filter(pk=c["id"]).update(notice_until=timezone.now() - timedelta(seconds=1))
    awarded = issuer.post(f"/api/v1/challenges/{c['id']}/award").json()
    assert awarded["phase"] == "awarded" and awarded["contract"]
    contract = TechContract.objects.get(pk=awarded["contract"])
    assert contract.source_ref == f"challenge:{c['id']}" and contract.seller == world.provider
    mine = team.get("/api/v1/contracts/mine?status=draft").json()
    assert mine["items"][0]["actions"] == ["update", "upload", "submit"]
    for m in awarded["milestones"]:
        accepted = issuer.post(
            f"/api/v1/challenges/milestones/{m['id']}/accept",
            {"note": "ok"},
            content_type="application/json",
        )
        assert accepted.status_code == 200 and accepted.json()["released_fen"] == m["amount_fen"]
    again = issuer.post(
        f"/api/v1/challenges/milestones/{awarded['milestones'][0]['id']}/accept",
        {},
        content_type="application/json",
    )
    assert again.status_code == 409
    final = issuer.get(f"/api/v1/challenges/{c['id']}").json()
    assert final["phase"] == "completed" and final["released_fen"] == final["reward_fen"]
    listed = Client().get("/api/v1/challenges?phase=completed").json()
    assert [i["id"] for i in listed["items"]] == [c["id"]]
