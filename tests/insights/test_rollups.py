"""The rollups follow the raw records through every change, `stats check` proves it and
finds any corruption, `stats rebuild` repairs it."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from innocommons.insights import rollups
from innocommons.insights.models import (
    ContractDay,
    ContractMix,
    ContractMonth,
    ContractTrend,
    ContractYear,
    CountedContract,
)
from innocommons.market.models import TechContract
from tests.insights import factories as cf
from tests.insights.conftest import W

pytestmark = pytest.mark.django_db


def cells() -> set[tuple]:
    return set(
        ContractDay.objects.values_list(
            "day", "seller_region_id", "buyer_region_id", "type", "field", "contracts", "amount_fen"
        )
    )


def test_registration_counts_refusal_does_not() -> None:
    c = cf.contract("320100", "310115", amount_fen=100 * W, status="submitted")
    assert not ContractDay.objects.exists()
    cf.register(c, on=date(2025, 5, 6))
    assert cells() == {
        (date(2025, 5, 6), "320100", "310115", "transfer", "electronics", 1, 100 * W)
    }
    other = cf.contract("320100", "310115", amount_fen=50 * W, status="submitted")
    cf.refuse(other)
    assert ContractDay.objects.get().contracts == 1
    assert rollups.check().ok


def test_hook_is_idempotent() -> None:
    c = cf.contract("320100", "310115", amount_fen=100 * W)
    before = cells()
    for _ in range(3):
        rollups.contract_changed(c)
    rollups.contracts_changed([c, c.pk, c])
    assert cells() == before
    assert ContractMonth.objects.get().contracts == 1


def test_a_changed_contract_leaves_its_old_cell() -> None:
    a = cf.contract("320100", "310115", amount_fen=100 * W, on=date(2025, 5, 6))
    cf.contract("320100", "310115", amount_fen=10 * W, on=date(2025, 5, 6))
    # corrected region and date: both the old and the new cell are recounted
    TechContract.objects.filter(pk=a.pk).update(
        buyer_region_id="330100", registered_on=date(2025, 6, 1)
    )
    rollups.contract_changed(a)
    assert cells() == {
        (date(2025, 5, 6), "320100", "310115", "transfer", "electronics", 1, 10 * W),
        (date(2025, 6, 1), "320100", "330100", "transfer", "electronics", 1, 100 * W),
    }
    assert set(ContractMonth.objects.values_list("month", "buyer_province_id", "contracts")) == {
        (date(2025, 5, 1), "310000", 1),
        (date(2025, 6, 1), "330000", 1),
    }
    # a registration withdrawn: out of every table
    TechContract.objects.filter(pk=a.pk).update(status="refused")
    rollups.contract_changed(a)
    assert not CountedContract.objects.filter(contract_id=a.pk).exists()
    assert not ContractMonth.objects.filter(month=date(2025, 6, 1)).exists()
    assert rollups.check().ok


def test_a_deleted_contract_is_taken_out() -> None:
    a = cf.contract("320100", "310115", amount_fen=100 * W)
    pk = a.pk
    TechContract.objects.filter(pk=pk)._raw_delete(using="default")  # no cascades
    rollups.contract_changed(pk)
    assert not ContractDay.objects.exists()
    assert not CountedContract.objects.exists()
    assert rollups.check().ok


def test_amount_corrected_on_registration() -> None:
    c = cf.contract("320100", "310115", amount_fen=100 * W, tech_fen=90 * W, status="submitted")
    cf.register(c, tech_fen=60 * W)
    assert ContractDay.objects.get().tech_amount_fen == 60 * W


@pytest.mark.parametrize(
    "corrupt",
    [
        "day amount",
        "day deleted",
        "day extra",
        "month count",
        "month deleted",
        "year amount",
        "mix deleted",
        "trend count",
        "counted moved",
        "counted deleted",
    ],
)
def test_check_finds_corruption(contracts, corrupt: str) -> None:
    assert rollups.check().ok
    day = ContractDay.objects.filter(seller_region_id="320100").first()
    assert day is not None
    if corrupt == "day amount":
        ContractDay.objects.filter(pk=day.pk).update(amount_fen=day.amount_fen + 1)
    elif corrupt == "day deleted":
        ContractDay.objects.filter(pk=day.pk).delete()
    elif corrupt == "day extra":
        ContractDay.objects.create(
            day=date(2025, 4, 1),
            seller_region_id="330100",
            buyer_region_id="340100",
            seller_province_id="330000",
            buyer_province_id="340000",
            type="transfer",
            field="energy",
            contracts=1,
            amount_fen=1,
            tech_amount_fen=1,
        )
    elif corrupt == "month count":
        ContractMonth.objects.filter(month=date(2025, 3, 1)).update(contracts=5)
    elif corrupt == "month deleted":
        ContractMonth.objects.filter(month=date(2025, 9, 1)).delete()
    elif corrupt == "year amount":
        ContractYear.objects.filter(year=2025, seller_province_id="320000").update(
            tech_amount_fen=F("tech_amount_fen") - 1
        )
    elif corrupt == "mix deleted":
        ContractMix.objects.filter(year=2025, side="absorption", province_id="330000").delete()
    elif corrupt == "trend count":
        ContractTrend.objects.filter(month=date(2025, 9, 1), side="output").update(contracts=9)
    elif corrupt == "counted moved":
        CountedContract.objects.filter(contract_id=contracts.registered[0].pk).update(
            day=date(2025, 3, 11)
        )
    else:
        CountedContract.objects.filter(contract_id=contracts.registered[0].pk).delete()
    report = rollups.check()
    assert not report.ok
    assert report.differences >= 1
    err = StringIO()
    with pytest.raises(CommandError, match="difference"):
        call_command("stats", "check", stderr=err, stdout=StringIO())
    assert err.getvalue().strip(), "each difference is listed"
    rollups.rebuild()
    assert rollups.check().ok


def test_check_names_the_cell_and_both_values(contracts) -> None:
    ContractDay.objects.filter(seller_region_id="320500").update(contracts=4)
    report = rollups.check()
    assert any(
        "2025-06-30 320500 330100" in p and "holds (4," in p and "records give (1," in p
        for p in report.problems
    ), report.problems


def test_rebuild_equals_the_hooks(contracts) -> None:
    before = cells()
    months = set(ContractMonth.objects.values_list())
    out = StringIO()
    call_command("stats", "rebuild", stdout=out, verbosity=0)
    assert "9 contracts" in out.getvalue()
    assert cells() == before
    assert {r[1:] for r in ContractMonth.objects.values_list()} == {r[1:] for r in months}
    out = StringIO()
    call_command("stats", "check", stdout=out)
    assert "consistent" in out.getvalue()


def test_rebuild_from_nothing() -> None:
    for i in range(5):
        cf.contract(
            "320100",
            "330100",
            amount_fen=(i + 1) * W,
            on=date(2024, 12, 30) + timedelta(days=i),
            hook=False,
        )
    assert not rollups.check().ok
    report = rollups.rebuild()
    assert (report.contracts, report.contract_days, report.contract_months) == (5, 5, 2)
    assert rollups.check().ok


REGIONS = ["320100", "320412", "310115", "330100", "340100", "110000", "DE", "US"]
Op = st.tuples(
    st.sampled_from(["create", "register", "refuse", "move", "create_registered"]),
    st.integers(0, 30),
    st.sampled_from(REGIONS),
    st.sampled_from(REGIONS),
    st.integers(1, 5_000),
    st.integers(0, 40),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(Op, min_size=1, max_size=25))
def test_random_operations_keep_the_rollups_exact(ops) -> None:
    cf.wipe_contracts()
    rollups.rebuild()
    made: list[TechContract] = []
    base = date(2025, 1, 20)
    for action, pick, seller, buyer, wan, days in ops:
        on = base + timedelta(days=days)
        target = made[pick % len(made)] if made else None
        if action == "create" or target is None:
            made.append(cf.contract(seller, buyer, amount_fen=wan * W, on=on, status="submitted"))
        elif action == "create_registered":
            made.append(cf.contract(seller, buyer, amount_fen=wan * W, on=on, type="licence"))
        elif action == "register" and target.status == "submitted":
            cf.register(target, on=on, tech_fen=min(target.amount_fen, wan * W // 2))
        elif action == "refuse" and target.status == "submitted":
            cf.refuse(target)
        elif action == "move":
            target.seller_region_id = seller
            target.buyer_region_id = buyer
            if target.status == "registered":
                target.registered_on = on
            target.save()
            rollups.contract_changed(target)
        report = rollups.check()
        assert report.ok, (action, report.problems)
