"""Demands under concurrency: real threads released together by a barrier, each with its own
database connection (SQLite file with IMMEDIATE transactions, or PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from innocommons.core.errors import DomainError
from innocommons.core.models import AuditEntry
from innocommons.market.models import Demand, Message, Thread
from innocommons.market.services import demands as services
from tests import factories
from tests.market.test_demands_support import make_demand

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6


def race(work: Any, n: int) -> list[tuple[str, Any]]:
    barrier = threading.Barrier(n)
    results: list[tuple[str, Any]] = [("missing", None)] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = ("ok", work(i))
        except DomainError as exc:
            results[i] = ("refused", exc)
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_simultaneous_interest_opens_one_thread(world) -> None:
    d = make_demand(world)
    colleagues = [world.provider_member] + [factories.user() for _ in range(THREADS - 1)]
    for u in colleagues[1:]:
        factories.member(u, world.provider)
    results = race(
        lambda i: (
            services.express_interest(
                actor=colleagues[i],
                demand_id=d.pk,
                organisation_id=world.provider.pk,
                message=f"同事{i}",
            ).pk
        ),
        THREADS,
    )
    assert [r for r, _ in results] == ["ok"] * THREADS, results
    assert len({pk for _, pk in results}) == 1
    assert Thread.objects.filter(demand=d).count() == 1
    assert Message.objects.filter(thread__demand=d).count() == THREADS
    assert AuditEntry.objects.filter(action="market.demand.interest").count() == 1


def test_simultaneous_publish_and_close_make_one_transition_each(world) -> None:
    d = make_demand(world, publish=False)
    results = race(
        lambda i: services.publish_demand(actor=world.enterprise_member, demand_id=d.pk).pk,
        THREADS,
    )
    assert sorted(r for r, _ in results) == ["ok"] + ["refused"] * (THREADS - 1), results
    outcomes = ["solved", "withdrawn"] * (THREADS // 2)
    results = race(
        lambda i: (
            services.close_demand(
                actor=world.enterprise_member, demand_id=d.pk, outcome=outcomes[i]
            ).outcome
        ),
        THREADS,
    )
    assert sorted(r for r, _ in results) == ["ok"] + ["refused"] * (THREADS - 1), results
    d.refresh_from_db()
    assert d.outcome == next(v for r, v in results if r == "ok")
    actions = list(
        AuditEntry.objects.filter(target_type="market.demand", target_id=str(d.pk)).values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == [
        "market.demand.close",
        "market.demand.create",
        "market.demand.publish",
    ]
    assert Demand.objects.get(pk=d.pk).status == "closed"
