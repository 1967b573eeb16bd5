"""Demo data and the synthetic generator on whichever database the run uses."""

import pytest

from innocommons.accounts.creditcode import check
from innocommons.accounts.models import Organisation
from innocommons.catalog import demo
from innocommons.catalog.models import Resource
from innocommons.catalog.search import indexer
from innocommons.catalog.search.query import SearchParams, search
from tests import factories

pytestmark = pytest.mark.django_db


def test_demo_loads_once_with_valid_credit_codes() -> None:
    created, accounts = demo.load_demo()
    assert created >= 100 and len(accounts) == 9
    again, _ = demo.load_demo()
    assert again == 0
    verified = Organisation.objects.filter(status="verified")
    assert all(check(o.credit_code).check_ok for o in verified)
    assert Organisation.objects.filter(status="pending", credit_code_flagged=True).exists()


def test_synthetic_listings_are_deterministic_and_keep_the_id_sequence_usable(world) -> None:
    synth = demo.Synthesizer()
    assert synth.generate(60) == 60
    first = list(
        Resource.objects.filter(ref__startswith="syn-")
        .order_by("ref")
        .values_list("ref", "title_zh")
    )
    assert synth.generate(60) == 0  # idempotent
    # The same listing comes out of a fresh generator (deterministic).
    again = demo.Synthesizer().listing(7, synth.organisations(20))[0]
    assert dict(first)["syn-7"] == again["title_zh"]
    # Explicit ids did not break the id sequence for ordinary inserts (PostgreSQL).
    r = factories.resource(world.provider, actor=world.provider_member, title_zh="序列检查")
    assert r.pk > max(Resource.objects.filter(ref__startswith="syn-").values_list("id", flat=True))
    indexer.reindex()
    assert search(SearchParams()).total == 61
