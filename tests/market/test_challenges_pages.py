"""Challenge pages through Django's test client: issuing with the milestone and criteria
lines, proposing, the panel's page, ranking, selection, award and milestones, each decision
behind its confirmation step, and who may open which page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from innocommons.market.models import Challenge, Proposal, ScoreSheet
from innocommons.market.services import challenges as services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def form(world, **kw):
    data = {
        "issuer": f"org:{world.enterprise.pk}",
        "title": "工业质检大模型",
        "problem": "面板缺陷检测漏检率高。",
        "expected_results": "漏检率低于0.1%的检测系统。",
        "eligibility": "有视觉算法落地经验。",
        "field": "electronics",
        "reward": "500,000",
        "deadline": (timezone.localtime() + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M"),
        "notice_days": "5",
        "milestones": "算法验证 | 200000 | \n产线部署｜300,000｜"
        + str(timezone.localdate() + timedelta(days=120)),
        "criteria": "技术方案 | 60\n落地经验 | 40%",
    }
    data.update(kw)
    return data


def test_issue_through_the_form(client, world) -> None:
    client.force_login(world.enterprise_member)
    page = client.get(reverse("market:challenge_new")).content.decode()
    assert "age" in page and "years since registration" in page  # the eligibility help
    bad = client.post(
        reverse("market:challenge_new"), form(world, criteria="技术方案 | 60\n落地经验 | 30")
    )
    assert bad.status_code == 200 and "criteria" in bad.context["form"].errors
    bad = client.post(reverse("market:challenge_new"), form(world, milestones="全部 | 400000"))
    assert "milestones" in bad.context["form"].errors
    bad = client.post(reverse("market:challenge_new"), form(world, milestones="缺金额"))
    assert "milestones" in bad.context["form"].errors
    assert not Challenge.objects.exists()
    resp = client.post(reverse("market:challenge_new"), form(world))
    c = Challenge.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse(
        "market:challenge_detail", args=[c.pk]
    )
    assert c.reward_fen == 500_000_00 and [m.amount_fen for m in c.milestones.all()] == [
        200_000_00,
        300_000_00,
    ]
    assert [(k.name, k.weight) for k in c.criteria.all()] == [("技术方案", 60), ("落地经验", 40)]
    html = client.get(resp["Location"]).content.decode()
    assert "工业质检大模型" in html and 'data-testid="issuer-tools"' in html
    client.logout()
    public = client.get(resp["Location"]).content.decode()
    assert "技术方案 — 60%" in public and 'data-testid="issuer-tools"' not in public
    assert f"challenge-{c.pk}" in client.get(reverse("market:challenge_list")).content.decode()


def test_region_issues_for_its_agency(client, world) -> None:
    agency = factories.org(name="江苏省科学技术厅", type="government", region="320000")
    client.force_login(world.admin_js)
    resp = client.post(
        reverse("market:challenge_new"), form(world, issuer="region:320000", issuer_org="")
    )
    c = Challenge.objects.get()
    assert resp.status_code == 302 and c.issuer_org == agency and c.issued_by_region
    client.force_login(world.admin_zj)
    page = client.get(reverse("market:challenge_new")).content.decode()
    assert "region:330000" in page and "region:320000" not in page
    client.force_login(world.outsider)
    assert client.get(reverse("market:challenge_new")).status_code == 302  # told who may issue


def test_team_proposes_attaches_changes_and_withdraws(client, world) -> None:
    client.force_login(world.enterprise_member)
    client.post(reverse("market:challenge_new"), form(world))
    c = Challenge.objects.get()
    partner = factories.org(name="嘉兴合作企业", region="330400")
    client.force_login(world.provider_member)
    assert (
        'data-testid="propose"'
        in client.get(reverse("market:challenge_detail", args=[c.pk])).content.decode()
    )
    resp = client.post(
        reverse("market:challenge_propose", args=[c.pk]),
        {
            "lead_org": world.provider.pk,
            "title": "缺陷检测方案",
            "summary": "……",
            "team": "",
            "partners": partner.credit_code,
        },
    )
    p = Proposal.objects.get()
    assert resp.status_code == 302 and list(p.partners.all()) == [partner]
    url = reverse("market:challenge_proposal", args=[p.pk])
    client.post(
        reverse("market:challenge_attach", args=[p.pk]),
        {"file": SimpleUploadedFile("方案.pdf", b"%PDF-1.4\n")},
    )
    assert p.attachments.count() == 1
    client.post(
        reverse("market:challenge_attach", args=[p.pk]),
        {"file": SimpleUploadedFile("x.pdf", b"nope")},
    )
    assert p.attachments.count() == 1
    att = p.attachments.get()
    assert (
        client.get(reverse("market:challenge_attachment", args=[p.pk, att.pk])).status_code == 200
    )
    client.post(
        reverse("market:challenge_proposal_edit", args=[p.pk]),
        {"title": "改进的方案", "summary": "……", "team": "张三等5人", "partners": ""},
    )
    p.refresh_from_db()
    assert p.title == "改进的方案" and p.partners.count() == 0
    # The issuer cannot read it before the deadline.
    client.force_login(world.enterprise_member)
    assert client.get(url).status_code == 404
    client.force_login(world.provider_member)
    client.post(reverse("market:challenge_proposal_withdraw", args=[p.pk]))
    p.refresh_from_db()
    assert p.status == "withdrawn"


def _evaluation(world):
    client_data = {}
    c = services.create_challenge(
        actor=world.enterprise_member,
        data=services.ChallengeInput(
            title="挑战",
            problem="问题",
            expected_results="成果",
            field="electronics",
            reward_fen=100_000_00,
            deadline=timezone.now() + timedelta(days=3),
            milestones=[services.MilestoneInput("一", 100_000_00)],
            criteria=[services.CriterionInput("方案", 70), services.CriterionInput("团队", 30)],
            issuer_org_id=world.enterprise.pk,
        ),
    )
    ah = factories.org(name="合肥团队", type="institute", region="340100")
    ah_user = factories.user("ah")
    factories.member(ah_user, ah)
    p1 = services.submit_proposal(
        actor=world.provider_member,
        challenge_id=c.pk,
        lead_org_id=world.provider.pk,
        title="方案甲",
        summary="x",
    )
    p2 = services.submit_proposal(
        actor=ah_user, challenge_id=c.pk, lead_org_id=ah.pk, title="方案乙", summary="x"
    )
    client_data.update(c=c, p1=p1, p2=p2)
    return client_data


def test_panel_scores_on_its_page(client, world) -> None:
    d = _evaluation(world)
    c, p1, _p2 = d["c"], d["p1"], d["p2"]
    expert = factories.user("expert")
    client.force_login(world.enterprise_member)
    client.post(reverse("market:challenge_panel", args=[c.pk]), {"username": "expert"})
    client.post(
        reverse("market:challenge_panel", args=[c.pk]), {"username": "prov"}
    )  # a team member
    assert c.panelists.count() == 2
    client.force_login(expert)
    review = client.get(reverse("market:challenge_review", args=[c.pk])).content.decode()
    assert "sealed" in review and "方案甲" not in review
    Challenge.objects.filter(pk=c.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    review = client.get(reverse("market:challenge_review", args=[c.pk])).content.decode()
    assert "方案甲" in review and "方案乙" in review
    crit = list(c.criteria.all())
    client.post(
        reverse("market:challenge_score", args=[p1.pk]),
        {f"c{crit[0].pk}": "90", f"c{crit[1].pk}": "60", "comment": "扎实"},
    )
    assert ScoreSheet.objects.get().weighted == 81
    # The team member on the panel is excluded from its own proposal, and sees no scores.
    client = Client()
    client.force_login(world.provider_member)
    review = client.get(reverse("market:challenge_review", args=[c.pk])).content.decode()
    assert "conflict of interest" in review and "81" not in review
    page = client.get(reverse("market:challenge_proposal", args=[p1.pk])).content.decode()
    assert 'data-testid="conflicted"' in page and 'data-testid="score-form"' not in page
    client.post(
        reverse("market:challenge_score", args=[p1.pk]),
        {f"c{crit[0].pk}": "100", f"c{crit[1].pk}": "100"},
    )
    assert ScoreSheet.objects.count() == 1
    # Panelists cannot read the ranking; the issuer can.
    assert client.get(reverse("market:challenge_ranking", args=[c.pk])).status_code == 403
    client.force_login(world.enterprise_member)
    ranking = client.get(reverse("market:challenge_ranking", args=[c.pk])).content.decode()
    assert f"rank-{p1.pk}" in ranking and "81.00" in ranking and "扎实" in ranking


def test_select_award_and_accept_with_confirmations(client, world) -> None:
    d = _evaluation(world)
    c, p1, p2 = d["c"], d["p1"], d["p2"]
    expert = factories.user("expert")
    services.invite_panelist(actor=world.enterprise_member, challenge_id=c.pk, username="expert")
    Challenge.objects.filter(pk=c.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    crit = list(c.criteria.all())
    services.score_proposal(
        actor=expert, proposal_id=p1.pk, points={crit[0].pk: 60, crit[1].pk: 60}
    )
    services.score_proposal(
        actor=expert, proposal_id=p2.pk, points={crit[0].pk: 80, crit[1].pk: 80}
    )
    client.force_login(world.enterprise_member)
    url = reverse("market:challenge_select", args=[c.pk])
    confirm = client.post(url, {"proposal": p1.pk}).content.decode()
    assert 'data-testid="confirmation"' in confirm and "best-scored" in confirm
    c.refresh_from_db()
    assert c.status == "open"
    client.post(url, {"proposal": p1.pk, "confirm": "1"})  # no reason given: refused
    c.refresh_from_db()
    assert c.status == "open"
    client.post(url, {"proposal": p1.pk, "confirm": "1", "reason": "产业化条件更好"})
    c.refresh_from_db()
    assert c.status == "notice" and c.selected == p1
    client.force_login(world.outsider)
    detail = client.get(reverse("market:challenge_detail", args=[c.pk])).content.decode()
    assert 'data-testid="winner"' in detail and "方案甲" in detail and "object-form" in detail
    client.post(reverse("market:challenge_object", args=[c.pk]), {"text": "评分存疑"})
    assert c.objections.count() == 1
    client.force_login(world.enterprise_member)
    assert (
        "评分存疑" in client.get(reverse("market:challenge_detail", args=[c.pk])).content.decode()
    )
    Challenge.objects.filter(pk=c.pk).update(notice_until=timezone.now() - timedelta(minutes=1))
    award = reverse("market:challenge_award", args=[c.pk])
    assert 'data-testid="confirmation"' in client.post(award).content.decode()
    client.post(award, {"confirm": "1"})
    c.refresh_from_db()
    assert c.status == "awarded" and c.contract.seller == world.provider
    m = c.milestones.get()
    accept = reverse("market:challenge_milestone_accept", args=[m.pk])
    assert "¥100,000.00" in client.post(accept).content.decode()
    client.post(accept, {"confirm": "1", "note": "验收通过"})
    m.refresh_from_db()
    c.refresh_from_db()
    assert m.status == "accepted" and m.acceptance_note == "验收通过" and c.status == "completed"
    client.force_login(world.provider_member)
    mine = client.get(reverse("market:challenge_mine")).content.decode()
    assert "方案甲" in mine
    contracts = client.get(reverse("market:contract_mine")).content.decode()
    assert f"complete-{c.contract_id}" in contracts


def test_page_access(client, world) -> None:
    d = _evaluation(world)
    c, p1 = d["c"], d["p1"]
    pages = {
        "list": reverse("market:challenge_list"),
        "detail": reverse("market:challenge_detail", args=[c.pk]),
        "proposal": reverse("market:challenge_proposal", args=[p1.pk]),
        "review": reverse("market:challenge_review", args=[c.pk]),
        "ranking": reverse("market:challenge_ranking", args=[c.pk]),
    }
    Challenge.objects.filter(pk=c.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    expected = {
        None: {"list": 200, "detail": 200, "proposal": 302, "review": 302, "ranking": 302},
        world.enterprise_member: {
            "list": 200,
            "detail": 200,
            "proposal": 200,
            "review": 403,
            "ranking": 200,
        },
        world.provider_member: {
            "list": 200,
            "detail": 200,
            "proposal": 200,
            "review": 403,
            "ranking": 403,
        },
        world.outsider: {
            "list": 200,
            "detail": 200,
            "proposal": 404,
            "review": 403,
            "ranking": 403,
        },
        world.auditor: {"list": 200, "detail": 200, "proposal": 200, "review": 403, "ranking": 200},
    }
    for user, statuses in expected.items():
        client.logout()
        if user is not None:
            client.force_login(user)
        got = {name: client.get(url).status_code for name, url in pages.items()}
        assert got == statuses, (user, got)


@pytest.fixture(autouse=True)
def _messages_in_english(english: None) -> None:
    """These tests assert the English wording of messages."""
