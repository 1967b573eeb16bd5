"""The demo demands: every state, interest threads with replies, real alerts; idempotent."""

from __future__ import annotations

import pytest

from innocommons.catalog import demo
from innocommons.catalog.search import indexer
from innocommons.market.demo_demands import DEMANDS, load_demand_demo
from innocommons.market.models import Demand, DemandAlert, Message, Thread

pytestmark = pytest.mark.django_db


def test_demo_demands_load_once_in_every_state(django_capture_on_commit_callbacks) -> None:
    demo.load_demo()
    indexer.reindex()
    orgs = demo.demo_organisations()
    with django_capture_on_commit_callbacks(execute=True):
        assert load_demand_demo(orgs) == len(DEMANDS) >= 12
    states = {(d.status, d.outcome) for d in Demand.objects.all()}
    assert states == {
        ("draft", ""),
        ("published", ""),
        ("closed", "solved"),
        ("closed", "withdrawn"),
        ("closed", "expired"),
    }
    assert Thread.objects.count() >= 5
    replies = Message.objects.exclude(organisation_id__in=provider_ids())
    assert replies.exists()  # the enterprises answered some of them
    assert DemandAlert.objects.exists()  # providers whose listings match were alerted
    # The demo accounts see their side: the enterprise its demands, the provider a thread.
    enterprise = Demand.objects.filter(organisation__memberships__user__username="enterprise")
    assert (
        enterprise.filter(status="published").exists()
        and enterprise.filter(status="draft").exists()
    )
    assert Thread.objects.filter(provider__memberships__user__username="provider").exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert load_demand_demo(orgs) == 0
    assert Demand.objects.count() == len(DEMANDS)


def provider_ids() -> list[int]:
    return list(Thread.objects.values_list("provider_id", flat=True))
