"""Challenges (揭榜挂帅): issuing rules, the deadline, the panel and its conflicts, weighted
scoring, selection with public notice, the award's contract and milestone payments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from innocommons.core.errors import DomainError, ValidationFailed
from innocommons.core.models import AuditEntry
from innocommons.market.models import Challenge, ChallengeMilestone, TechContract
from innocommons.market.selectors import challenges as selectors
from innocommons.market.services import challenges as services
from innocommons.market.services.challenges import ChallengeInput, CriterionInput, MilestoneInput
from tests import factories

pytestmark = pytest.mark.django_db

Y = 100  # fen per yuan


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def challenge_input(world, **overrides) -> ChallengeInput:
    values = {
        "title": "车规级毫米波雷达芯片国产化",
        "problem": "需要77GHz雷达芯片，满足AEC-Q100。",
        "expected_results": "流片样品及测试报告。",
        "field": "electronics",
        "reward_fen": 1_000_000 * Y,
        "deadline": timezone.now() + timedelta(days=10),
        "milestones": [
            MilestoneInput("方案设计评审", 300_000 * Y),
            MilestoneInput("样片通过测试", 700_000 * Y),
        ],
        "criteria": [CriterionInput("技术方案", 60), CriterionInput("团队能力", 40)],
        "eligibility": "具备芯片设计能力的团队。",
        "issuer_org_id": world.enterprise.pk,
    }
    values.update(overrides)
    return ChallengeInput(**values)


def issue(world, **overrides) -> Challenge:
    return services.create_challenge(
        actor=world.enterprise_member, data=challenge_input(world, **overrides)
    )


class Teams:
    """The provider (Nanjing) leads with a Zhejiang partner; a Hefei institute leads alone."""

    def __init__(self, world) -> None:
        self.zj = factories.org(name="杭州合作企业", region="330100")
        self.ah = factories.org(name="合肥研究院", type="institute", region="340100")
        self.ah_member = factories.user("ah_member")
        factories.member(self.ah_member, self.ah)


def propose(world, challenge, teams):
    p1 = services.submit_proposal(
        actor=world.provider_member,
        challenge_id=challenge.pk,
        lead_org_id=world.provider.pk,
        title="基于SiGe工艺的雷达芯片",
        summary="方案……",
        partner_ids=[teams.zj.pk],
    )
    p2 = services.submit_proposal(
        actor=teams.ah_member,
        challenge_id=challenge.pk,
        lead_org_id=teams.ah.pk,
        title="CMOS雷达芯片",
        summary="方案……",
    )
    return p1, p2


def close_proposals(challenge) -> None:
    Challenge.objects.filter(pk=challenge.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    challenge.refresh_from_db()


def end_notice(challenge) -> None:
    Challenge.objects.filter(pk=challenge.pk).update(
        notice_until=timezone.now() - timedelta(minutes=1)
    )
    challenge.refresh_from_db()


def panelist(world, challenge, name: str):
    user = factories.user(name)
    services.invite_panelist(
        actor=world.enterprise_member, challenge_id=challenge.pk, username=name
    )
    return user


@pytest.fixture
def evaluated(world):
    """A challenge after the deadline with two proposals and two panelists' scores."""
    teams = Teams(world)
    c = issue(world)
    p1, p2 = propose(world, c, teams)
    e1, e2 = panelist(world, c, "expert1"), panelist(world, c, "expert2")
    close_proposals(c)
    crit = list(c.criteria.all())
    services.score_proposal(actor=e1, proposal_id=p1.pk, points={crit[0].pk: 90, crit[1].pk: 80})
    services.score_proposal(actor=e2, proposal_id=p1.pk, points={crit[0].pk: 70, crit[1].pk: 60})
    services.score_proposal(actor=e1, proposal_id=p2.pk, points={crit[0].pk: 60, crit[1].pk: 90})
    return c, p1, p2, e1, e2, teams


# --- issuing --------------------------------------------------------------------------------


def test_milestones_must_add_up_to_the_reward(world) -> None:
    with pytest.raises(ValidationFailed) as exc:
        issue(
            world, milestones=[MilestoneInput("一", 300_000 * Y), MilestoneInput("二", 600_000 * Y)]
        )
    assert {e["field"] for e in exc.value.errors()} == {"milestones"}
    assert "1,000,000.00" in exc.value.errors()[0]["message"]
    assert not Challenge.objects.exists()
    c = issue(world)
    assert sum(m.amount_fen for m in c.milestones.all()) == c.reward_fen
    assert [m.status for m in c.milestones.all()] == ["planned", "planned"]


def test_criteria_weights_add_up_to_100_and_deadline_is_future(world) -> None:
    with pytest.raises(ValidationFailed) as exc:
        issue(
            world,
            criteria=[CriterionInput("技术方案", 60), CriterionInput("团队能力", 30)],
            deadline=timezone.now() - timedelta(hours=1),
        )
    assert {e["field"] for e in exc.value.errors()} == {"criteria", "deadline"}
    with pytest.raises(ValidationFailed):
        issue(world, criteria=[CriterionInput("重复", 50), CriterionInput("重复", 50)])


def test_no_fields_limit_age_title_or_years(world) -> None:
    names = {f.name for f in Challenge._meta.get_fields()}
    assert not {n for n in names if any(w in n for w in ("age", "title_", "years", "founded"))}
    from innocommons.market.views.challenges import ChallengeForm

    help_text = str(ChallengeForm.base_fields["eligibility"].help_text)
    assert "age" in help_text and "years since registration" in help_text


def test_region_challenge_needs_a_government_organisation(world) -> None:
    with pytest.raises(DomainError) as exc:
        services.create_challenge(
            actor=world.admin_js, data=challenge_input(world, issuer_org_id=None, region="320000")
        )
    assert exc.value.status == 409 and exc.value.field == "issuer_org"
    city_agency = factories.org(name="南京市科学技术局", type="government", region="320100")
    agency = factories.org(name="江苏省科学技术厅", type="government", region="320000")
    c = services.create_challenge(
        actor=world.admin_js, data=challenge_input(world, issuer_org_id=None, region="320000")
    )
    assert c.issued_by_region and c.issuer_org == agency and c.region_id == "320000"
    # An explicit choice of a government organisation within the region is kept.
    c2 = services.create_challenge(
        actor=world.admin_js,
        data=challenge_input(world, issuer_org_id=city_agency.pk, region="320000"),
    )
    assert c2.issuer_org == city_agency
    with pytest.raises(DomainError) as exc:
        services.create_challenge(
            actor=world.admin_js,
            data=challenge_input(world, issuer_org_id=world.provider.pk, region="320000"),
        )
    assert exc.value.field == "issuer_org"
    with pytest.raises(DomainError) as exc:
        services.create_challenge(
            actor=world.admin_zj, data=challenge_input(world, issuer_org_id=None, region="320000")
        )
    assert exc.value.status == 403
    with pytest.raises(ValidationFailed) as exc:
        services.create_challenge(
            actor=world.admin_js,
            data=challenge_input(
                world,
                issuer_org_id=None,
                region="320000",
                reward_fen=30_000_001 * Y,
                milestones=[MilestoneInput("一", 30_000_001 * Y)],
            ),
        )
    assert exc.value.errors()[0]["field"] == "reward_fen"


def test_only_verified_enterprise_members_issue(world) -> None:
    for actor, org in (
        (world.provider_member, world.provider),  # a university
        (world.org_admin, world.pending),  # not verified
        (world.outsider, world.enterprise),  # not a member
    ):
        with pytest.raises(DomainError) as exc:
            services.create_challenge(
                actor=actor, data=challenge_input(world, issuer_org_id=org.pk)
            )
        assert exc.value.status == 403


# --- proposals --------------------------------------------------------------------------------


def test_deadline_is_enforced_for_proposals(world) -> None:
    teams = Teams(world)
    c = issue(world)
    p1, _p2 = propose(world, c, teams)
    services.update_proposal(
        actor=world.provider_member, proposal_id=p1.pk, title="新标题", summary="新方案"
    )
    services.add_attachment(
        actor=world.provider_member,
        proposal_id=p1.pk,
        file=SimpleUploadedFile("plan.pdf", b"%PDF-1.4\n%%EOF\n"),
    )
    close_proposals(c)
    late = factories.org(name="迟到的团队", region="310000")
    late_user = factories.user("late")
    factories.member(late_user, late)
    attempts = [
        lambda: services.submit_proposal(
            actor=late_user, challenge_id=c.pk, lead_org_id=late.pk, title="迟到", summary="x"
        ),
        lambda: services.update_proposal(
            actor=world.provider_member, proposal_id=p1.pk, title="改", summary="改"
        ),
        lambda: services.withdraw_proposal(actor=world.provider_member, proposal_id=p1.pk),
        lambda: services.add_attachment(
            actor=world.provider_member,
            proposal_id=p1.pk,
            file=SimpleUploadedFile("late.pdf", b"%PDF-1.4\n%%EOF\n"),
        ),
    ]
    for attempt in attempts:
        with pytest.raises(DomainError) as exc:
            attempt()
        assert exc.value.status == 409 and "deadline" in str(exc.value.message)
    p1.refresh_from_db()
    assert p1.title == "新标题" and p1.attachments.count() == 1


def test_proposal_rules(world) -> None:
    teams = Teams(world)
    c = issue(world)
    p1, _p2 = propose(world, c, teams)
    assert {o.region_id for o in p1.partners.all()} == {"330100"}  # a cross-region team
    with pytest.raises(DomainError) as exc:  # one per lead organisation
        services.submit_proposal(
            actor=world.org_admin,
            challenge_id=c.pk,
            lead_org_id=world.provider.pk,
            title="再来",
            summary="x",
        )
    assert exc.value.status == 409
    with pytest.raises(DomainError) as exc:  # the issuer cannot answer itself
        services.submit_proposal(
            actor=world.enterprise_member,
            challenge_id=c.pk,
            lead_org_id=world.enterprise.pk,
            title="x",
            summary="x",
        )
    assert exc.value.field == "lead_org"
    with pytest.raises(DomainError) as exc:  # only for one's own organisation
        services.submit_proposal(
            actor=teams.ah_member,
            challenge_id=c.pk,
            lead_org_id=world.provider.pk,
            title="x",
            summary="x",
        )
    assert exc.value.status == 403
    with pytest.raises(DomainError) as exc:  # the lead must be verified
        services.submit_proposal(
            actor=world.org_admin,
            challenge_id=c.pk,
            lead_org_id=world.pending.pk,
            title="x",
            summary="x",
        )
    assert exc.value.status == 403
    with pytest.raises(DomainError) as exc:
        services.add_attachment(
            actor=world.provider_member,
            proposal_id=p1.pk,
            file=SimpleUploadedFile("run.exe", b"MZ\x90\x00"),
        )
    assert exc.value.field == "file"


def test_proposals_are_sealed_until_the_deadline(world) -> None:
    teams = Teams(world)
    c = issue(world)
    p1, p2 = propose(world, c, teams)
    expert = panelist(world, c, "expert1")
    assert selectors.visible_proposals(world.enterprise_member, c) == []
    assert selectors.visible_proposals(expert, c) == []
    assert selectors.visible_proposals(world.provider_member, c) == [p1]
    partner_member = factories.user("zj_member")
    factories.member(partner_member, teams.zj)
    assert selectors.visible_proposals(partner_member, c) == [p1]
    with pytest.raises(DomainError):
        selectors.get_proposal(world.enterprise_member, p1.pk)
    close_proposals(c)
    for user in (world.enterprise_member, expert, world.auditor):
        assert selectors.visible_proposals(user, c) == [p1, p2]
    assert selectors.visible_proposals(world.admin_zj, c) == []
    assert selectors.visible_proposals(teams.ah_member, c) == [p2]


# --- panel and scoring ------------------------------------------------------------------------


def test_scoring_is_weighted_and_averaged(evaluated) -> None:
    c, p1, p2, _e1, e2, _teams = evaluated
    rows = services.rank_proposals(c)
    # p1: e1 90×.6+80×.4 = 86; e2 70×.6+60×.4 = 66 → 76.00. p2: e1 60×.6+90×.4 = 72.
    assert [(r.proposal.pk, r.average, r.sheets, r.rank) for r in rows] == [
        (p1.pk, Decimal("76.00"), 2, 1),
        (p2.pk, Decimal("72.00"), 1, 2),
    ]
    # Scoring again replaces the sheet.
    crit = list(c.criteria.all())
    services.score_proposal(actor=e2, proposal_id=p2.pk, points={crit[0].pk: 100, crit[1].pk: 100})
    services.score_proposal(actor=e2, proposal_id=p1.pk, points={crit[0].pk: 0, crit[1].pk: 0})
    rows = services.rank_proposals(c)
    assert [(r.proposal.pk, r.average) for r in rows] == [
        (p2.pk, Decimal("86.00")),
        (p1.pk, Decimal("43.00")),
    ]


def test_scoring_rules(world, evaluated) -> None:
    c, p1, _p2, e1, _e2, _teams = evaluated
    crit = list(c.criteria.all())
    with pytest.raises(DomainError) as exc:
        services.score_proposal(
            actor=world.outsider, proposal_id=p1.pk, points={crit[0].pk: 1, crit[1].pk: 1}
        )
    assert exc.value.status == 403
    with pytest.raises(DomainError) as exc:
        services.score_proposal(actor=e1, proposal_id=p1.pk, points={crit[0].pk: 90})
    assert exc.value.field == "points"
    with pytest.raises(DomainError) as exc:
        services.score_proposal(
            actor=e1, proposal_id=p1.pk, points={crit[0].pk: 101, crit[1].pk: 0}
        )
    assert exc.value.field == "points"
    fresh = issue(world)
    early_expert = panelist(world, fresh, "early")
    p = services.submit_proposal(
        actor=world.provider_member,
        challenge_id=fresh.pk,
        lead_org_id=world.provider.pk,
        title="x",
        summary="x",
    )
    fc = list(fresh.criteria.all())
    with pytest.raises(DomainError) as exc:  # before the deadline
        services.score_proposal(
            actor=early_expert, proposal_id=p.pk, points={fc[0].pk: 1, fc[1].pk: 1}
        )
    assert exc.value.status == 409


def test_conflicted_panelist_is_excluded(world) -> None:
    teams = Teams(world)
    c = issue(world)
    p1, p2 = propose(world, c, teams)
    # A member of the proposal's partner organisation sits on the panel.
    insider = factories.user("insider")
    factories.member(insider, teams.zj)
    services.invite_panelist(actor=world.enterprise_member, challenge_id=c.pk, username="insider")
    close_proposals(c)
    crit = list(c.criteria.all())
    with pytest.raises(DomainError) as exc:
        services.score_proposal(
            actor=insider, proposal_id=p1.pk, points={crit[0].pk: 100, crit[1].pk: 100}
        )
    assert exc.value.status == 403
    services.score_proposal(
        actor=insider, proposal_id=p2.pk, points={crit[0].pk: 50, crit[1].pk: 50}
    )
    items = {i.proposal.pk: i for i in selectors.panel_items(insider, c)}
    assert items[p1.pk].conflicted and not items[p2.pk].conflicted
    # A panelist who joins a proposing organisation after scoring no longer counts.
    expert = panelist(world, c, "expert1")
    services.score_proposal(
        actor=expert, proposal_id=p2.pk, points={crit[0].pk: 90, crit[1].pk: 90}
    )
    factories.member(expert, teams.ah)
    row = next(r for r in services.rank_proposals(c) if r.proposal.pk == p2.pk)
    assert (row.average, row.sheets, row.excluded) == (Decimal("50.00"), 1, 1)


def test_panelist_sees_proposals_but_not_other_panelists_scores(evaluated, world) -> None:
    c, p1, p2, _e1, e2, _teams = evaluated
    items = selectors.panel_items(e2, c)
    assert [i.proposal.pk for i in items] == [p1.pk, p2.pk]
    assert items[0].sheet is not None and items[0].sheet.weighted == Decimal("66.00")
    assert items[1].sheet is None  # e1 scored p2, e2 did not: nothing of e1's shows
    assert all(i.sheet is None or i.sheet.panelist.user == e2 for i in items)
    with pytest.raises(DomainError) as exc:
        selectors.ranking(e2, c)
    assert exc.value.status == 403
    with pytest.raises(DomainError):
        selectors.panel_items(world.provider_member, c)
    assert len(selectors.ranking(world.enterprise_member, c)) == 2


# --- selection, notice, award -------------------------------------------------------------------


def test_selection_opens_a_public_notice(world, evaluated) -> None:
    c, p1, p2, e1, _e2, _teams = evaluated
    with pytest.raises(DomainError) as exc:  # not the best-scored: a reason is needed
        services.select_winner(actor=world.enterprise_member, challenge_id=c.pk, proposal_id=p2.pk)
    assert exc.value.field == "reason"
    with pytest.raises(DomainError) as exc:
        services.select_winner(actor=e1, challenge_id=c.pk, proposal_id=p1.pk)
    assert exc.value.status == 403
    before = timezone.now()
    c = services.select_winner(actor=world.enterprise_member, challenge_id=c.pk, proposal_id=p1.pk)
    assert c.status == "notice" and c.selected == p1 and c.phase == "notice"
    assert before + timedelta(days=5) <= c.notice_until <= timezone.now() + timedelta(days=5)
    # Scoring is closed once selected.
    crit = list(c.criteria.all())
    with pytest.raises(DomainError) as exc:
        services.score_proposal(actor=e1, proposal_id=p2.pk, points={crit[0].pk: 1, crit[1].pk: 1})
    assert exc.value.status == 409
    # Objections during the notice; no award until it ends.
    services.object_to_selection(
        actor=world.outsider, challenge_id=c.pk, text="该团队曾有违约记录。"
    )
    with pytest.raises(DomainError) as exc:
        services.award_challenge(actor=world.enterprise_member, challenge_id=c.pk)
    assert exc.value.status == 409
    assert [o.text for o in selectors.objections(world.enterprise_member, c)] == [
        "该团队曾有违约记录。"
    ]
    assert selectors.objections(world.provider_member, c) == []
    # The issuer upholds the objection: back to evaluation, then selects the other.
    services.withdraw_selection(actor=world.enterprise_member, challenge_id=c.pk, reason="异议成立")
    c.refresh_from_db()
    assert c.status == "open" and c.phase == "evaluation" and c.selected is None
    c = services.select_winner(
        actor=world.enterprise_member,
        challenge_id=c.pk,
        proposal_id=p2.pk,
        reason="异议成立，改选第二名",
    )
    end_notice(c)
    with pytest.raises(DomainError) as exc:
        services.object_to_selection(actor=world.outsider, challenge_id=c.pk, text="太晚了")
    assert exc.value.status == 409


def test_notice_days_are_configurable(world, evaluated) -> None:
    c, p1, *_ = evaluated
    Challenge.objects.filter(pk=c.pk).update(notice_days=12)
    c = services.select_winner(actor=world.enterprise_member, challenge_id=c.pk, proposal_id=p1.pk)
    assert c.notice_until - c.selected_at == timedelta(days=12)


def test_award_creates_the_draft_contract_and_opens_the_milestones(world, evaluated) -> None:
    c, p1, *_ = evaluated
    services.select_winner(actor=world.enterprise_member, challenge_id=c.pk, proposal_id=p1.pk)
    c.refresh_from_db()
    end_notice(c)
    contract = services.award_challenge(actor=world.enterprise_member, challenge_id=c.pk)
    assert contract.status == TechContract.Status.DRAFT
    assert (contract.seller, contract.buyer) == (world.provider, world.enterprise)
    assert (contract.seller_region_id, contract.buyer_region_id) == ("320100", "310117")
    assert contract.amount_fen == c.reward_fen and contract.type == "development"
    assert contract.source == "challenge" and contract.source_ref == f"challenge:{c.pk}"
    c.refresh_from_db()
    assert c.status == "awarded" and c.contract == contract
    assert [m.status for m in c.milestones.all()] == ["pending", "pending"]
    with pytest.raises(DomainError) as exc:
        services.award_challenge(actor=world.enterprise_member, challenge_id=c.pk)
    assert exc.value.status == 409
    assert AuditEntry.objects.filter(action="market.challenge.award", target_id=str(c.pk)).exists()
    assert AuditEntry.objects.filter(
        action="market.contract.draft", target_id=str(contract.pk)
    ).exists()


def test_region_award_buys_for_the_government_organisation(world) -> None:
    agency = factories.org(name="江苏省科学技术厅", type="government", region="320000")
    teams = Teams(world)
    c = services.create_challenge(
        actor=world.admin_js, data=challenge_input(world, issuer_org_id=None, region="320000")
    )
    _p1, p2 = propose(world, c, teams)
    expert = factories.user("expert")
    services.invite_panelist(actor=world.admin_js, challenge_id=c.pk, username="expert")
    close_proposals(c)
    crit = list(c.criteria.all())
    services.score_proposal(
        actor=expert, proposal_id=p2.pk, points={crit[0].pk: 80, crit[1].pk: 80}
    )
    services.select_winner(actor=world.admin_js, challenge_id=c.pk, proposal_id=p2.pk)
    c.refresh_from_db()
    end_notice(c)
    contract = services.award_challenge(actor=world.admin_js, challenge_id=c.pk)
    assert contract.buyer == agency and contract.buyer_region_id == "320000"
    assert contract.seller == teams.ah and contract.seller_region_id == "340100"


def test_milestone_acceptance_releases_its_amount_once(world, evaluated) -> None:
    c, p1, *_ = evaluated
    services.select_winner(actor=world.enterprise_member, challenge_id=c.pk, proposal_id=p1.pk)
    c.refresh_from_db()
    end_notice(c)
    services.award_challenge(actor=world.enterprise_member, challenge_id=c.pk)
    first, second = c.milestones.order_by("seq")
    with pytest.raises(DomainError) as exc:  # in order
        services.accept_milestone(actor=world.enterprise_member, milestone_id=second.pk)
    assert exc.value.status == 409
    with pytest.raises(DomainError) as exc:  # only the issuer
        services.accept_milestone(actor=world.provider_member, milestone_id=first.pk)
    assert exc.value.status == 403
    done = services.accept_milestone(
        actor=world.enterprise_member, milestone_id=first.pk, note="评审通过"
    )
    assert done.status == "accepted" and done.released_fen == 300_000 * Y
    with pytest.raises(DomainError) as exc:
        services.accept_milestone(actor=world.enterprise_member, milestone_id=first.pk)
    assert exc.value.status == 409
    assert selectors.milestones(c)[1] == 300_000 * Y
    services.accept_milestone(actor=world.enterprise_member, milestone_id=second.pk)
    c.refresh_from_db()
    assert c.status == "completed" and selectors.milestones(c)[1] == c.reward_fen
    entries = AuditEntry.objects.filter(action="market.challenge.milestone.accept")
    assert sorted(e.after["released_fen"] for e in entries) == [300_000 * Y, 700_000 * Y]


def test_milestones_cannot_be_accepted_before_the_award(world) -> None:
    c = issue(world)
    with pytest.raises(DomainError) as exc:
        services.accept_milestone(
            actor=world.enterprise_member, milestone_id=c.milestones.first().pk
        )
    assert exc.value.status == 409
    assert ChallengeMilestone.objects.filter(released_fen__gt=0).count() == 0


def test_cancel_before_the_award(world) -> None:
    c = issue(world)
    with pytest.raises(DomainError) as exc:
        services.cancel_challenge(actor=world.enterprise_member, challenge_id=c.pk, reason="")
    assert exc.value.field == "reason"
    with pytest.raises(DomainError) as exc:
        services.cancel_challenge(actor=world.provider_member, challenge_id=c.pk, reason="x")
    assert exc.value.status == 403
    c = services.cancel_challenge(
        actor=world.enterprise_member, challenge_id=c.pk, reason="需求变更"
    )
    assert c.status == "cancelled" and c.phase == "cancelled"


@pytest.fixture(autouse=True)
def _messages_in_english(english: None) -> None:
    """These tests assert the English wording of messages."""
