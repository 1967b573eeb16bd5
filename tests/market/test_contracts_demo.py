"""The demo contracts and challenges: plausible, varied, and loaded only once."""

from __future__ import annotations

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from innocommons.catalog import demo
from innocommons.market.demo_contracts import load_challenge_demo, load_contract_demo
from innocommons.market.models import Challenge, ChallengeMilestone, TechContract

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    data = demo._read("demo.json")
    organisations = demo.load_organisations(data)
    demo.load_accounts(organisations)
    return organisations


def test_contract_demo_covers_regions_years_and_review_states(orgs) -> None:
    made = load_contract_demo(orgs)
    assert made >= 300
    registered = TechContract.objects.filter(status="registered")
    provinces = {c[:2] for c in registered.values_list("seller_region_id", flat=True)}
    assert provinces == {"31", "32", "33", "34"}
    years = set(registered.values_list("registered_on__year", flat=True))
    assert years == {timezone.localdate().year - i for i in range(3)}
    abroad = registered.filter(buyer_region__level="country").count()
    assert abroad > 0
    cross_province = sum(
        1
        for s, b in registered.values_list("seller_region_id", "buyer_region_id")
        if b[:2] != s[:2]
    )
    assert 0 < cross_province < registered.count()
    assert registered.filter(buyer__isnull=True, buyer_region__level="city").exists()
    assert len(set(registered.values_list("registration_no", flat=True))) == registered.count()
    assert all(c.registered_tech_amount_fen <= c.amount_fen for c in registered)
    states = dict(
        TechContract.objects.values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    assert states["submitted"] >= 4 and states["refused"] >= 1
    overdue = [c for c in TechContract.objects.filter(status="submitted") if c.is_overdue]
    assert len(overdue) >= 2
    assert TechContract.objects.filter(Q(appeals__gt=0), status="submitted").exists()
    assert load_contract_demo(orgs) == 0
    assert TechContract.objects.count() == made


def test_challenge_demo_has_every_phase(orgs) -> None:
    made = load_challenge_demo(orgs)
    assert made == 6
    phases = sorted(c.phase for c in Challenge.objects.all())
    assert phases == ["awarded", "completed", "evaluation", "notice", "open", "open"]
    awarded = Challenge.objects.get(status="awarded")
    assert awarded.contract.source == "challenge" and awarded.contract.status == "draft"
    assert ChallengeMilestone.objects.filter(challenge=awarded, status="accepted").count() == 1
    region = Challenge.objects.filter(issued_by_region=True, status="completed").get()
    assert region.contract.buyer.type == "government"
    assert load_challenge_demo(orgs) == 0
