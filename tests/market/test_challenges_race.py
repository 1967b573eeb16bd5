"""A milestone's amount is released once even when the issuer's colleagues accept it at the
same instant: real threads, a barrier, one database connection each."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from innocommons.core.errors import DomainError
from innocommons.core.models import AuditEntry
from innocommons.market.models import Challenge, ChallengeMilestone
from innocommons.market.services import challenges as services
from innocommons.market.services.challenges import ChallengeInput, CriterionInput, MilestoneInput
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def test_concurrent_acceptance_releases_once(world) -> None:
    issuers = [world.enterprise_member]
    for i in range(THREADS - 1):
        u = factories.user(f"colleague{i}")
        factories.member(u, world.enterprise)
        issuers.append(u)
    c = services.create_challenge(
        actor=world.enterprise_member,
        data=ChallengeInput(
            title="并发验收",
            problem="问题",
            expected_results="成果",
            field="electronics",
            reward_fen=90_000_00,
            deadline=timezone.now() + timedelta(days=1),
            milestones=[MilestoneInput("一", 30_000_00), MilestoneInput("二", 60_000_00)],
            criteria=[CriterionInput("方案", 100)],
            issuer_org_id=world.enterprise.pk,
        ),
    )
    expert = factories.user("expert")
    services.invite_panelist(actor=world.enterprise_member, challenge_id=c.pk, username="expert")
    p = services.submit_proposal(
        actor=world.provider_member,
        challenge_id=c.pk,
        lead_org_id=world.provider.pk,
        title="x",
        summary="x",
    )
    Challenge.objects.filter(pk=c.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    services.score_proposal(actor=expert, proposal_id=p.pk, points={c.criteria.get().pk: 70})
    services.select_winner(actor=world.enterprise_member, challenge_id=c.pk, proposal_id=p.pk)
    Challenge.objects.filter(pk=c.pk).update(notice_until=timezone.now() - timedelta(minutes=1))
    services.award_challenge(actor=world.enterprise_member, challenge_id=c.pk)
    first = c.milestones.get(seq=1)

    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = services.accept_milestone(actor=issuers[i], milestone_id=first.pk)
        except DomainError as exc:
            results[i] = exc.status
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    accepted = [r for r in results if isinstance(r, ChallengeMilestone)]
    assert len(accepted) == 1, results
    assert sorted(r for r in results if isinstance(r, int)) == [409] * (THREADS - 1)
    released = ChallengeMilestone.objects.filter(challenge=c).aggregate(s=Sum("released_fen"))["s"]
    assert released == 30_000_00
    assert AuditEntry.objects.filter(action="market.challenge.milestone.accept").count() == 1
