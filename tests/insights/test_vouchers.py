"""Voucher figures of the hand-built scenario (tests/insights/conftest.py)."""

from __future__ import annotations

import pytest

from innocommons.insights import periods, rollups
from innocommons.insights.selectors import vouchers
from innocommons.vouchers import ledger
from tests.insights.conftest import YUAN

pytestmark = pytest.mark.django_db


def this_year() -> periods.Period:
    return periods.current_year()


def test_programme_money(voucher_world) -> None:
    (f,) = vouchers.programme_figures(this_year())
    assert f.programme == voucher_world.programme
    assert f.budget_fen == 1_000_000 * YUAN
    assert (f.vouchers, f.committed_fen) == (2, 120_000 * YUAN)
    # R1 50,000 + R3 8,000 + R4 2,000; R2 was reversed with its rejected claim
    assert (f.redemptions, f.redeemed_fen) == (3, 60_000 * YUAN)
    assert f.claimed_fen == 50_000 * YUAN  # the rejected claim does not count
    assert f.settled_fen == 50_000 * YUAN
    # V1 expired half-spent: the unspent half went back to the budget
    assert f.expired_fen == 50_000 * YUAN
    assert f.revoked_fen == 0
    assert ledger.check().ok


def test_programme_money_by_region_and_period(voucher_world) -> None:
    assert len(vouchers.programme_figures(this_year(), "310000")) == 1
    assert vouchers.programme_figures(this_year(), "320000") == []
    (last_year,) = vouchers.programme_figures(this_year().shifted_years(-1))
    assert last_year.budget_fen == 0
    assert last_year.committed_fen == last_year.redeemed_fen == last_year.expired_fen == 0


def test_cross_region_share(voucher_world) -> None:
    data = vouchers.cross_region(this_year(), "province")
    got = {(x.provider, x.client): (x.redemptions, x.amount_fen) for x in data.flows}
    assert got == {
        ("320000", "310000"): (1, 50_000 * YUAN),
        ("330000", "310000"): (1, 8_000 * YUAN),
        ("310000", "310000"): (1, 2_000 * YUAN),
    }
    assert (data.total_fen, data.cross_fen) == (60_000 * YUAN, 58_000 * YUAN)
    assert (data.total_redemptions, data.cross_redemptions) == (3, 2)
    city = vouchers.cross_region(this_year(), "city")
    assert {(x.provider, x.client) for x in city.flows} == {
        ("320100", "310117"),
        ("330100", "310115"),
        ("310104", "310115"),
    }


def test_top_categories(voucher_world) -> None:
    cats = vouchers.top_categories(this_year())
    assert [(c.code, c.redemptions, c.amount_fen) for c in cats] == [
        ("service_category:testing", 1, 50_000 * YUAN),
        ("service_category:rnd", 1, 8_000 * YUAN),
        ("", 1, 2_000 * YUAN),
    ]


def test_days_to_approval_and_payment(voucher_world) -> None:
    rows = vouchers.timing(this_year())
    shanghai, everyone = rows
    assert shanghai.region == "310000" and everyone.region == ""
    assert (shanghai.approval.cases, shanghai.approval.median_days) == (2, 3.0)
    assert shanghai.approval.p90_days == 4.0
    assert (shanghai.payment.cases, shanghai.payment.median_days) == (1, 10.0)


def test_books_are_the_private_details(voucher_world) -> None:
    (b,) = vouchers.books([voucher_world.programme.pk], this_year())
    assert b.applications["approved"] == (2, 120_000 * YUAN)
    assert b.applications["rejected"] == (1, 150_000 * YUAN)
    assert b.applications["submitted"] == (1, 10_000 * YUAN)
    assert b.waiting == 1
    assert b.claims["paid"] == (1, 50_000 * YUAN)
    assert b.claims["rejected"] == (1, 5_000 * YUAN)
    claims = vouchers.provider_claims([voucher_world.programme.pk], this_year())
    assert [(c.provider, c.claimed_fen, c.paid_fen) for c in claims] == [
        ("南京测试大学", 50_000 * YUAN, 50_000 * YUAN)
    ]


def test_redemption_rollup_is_exact(voucher_world) -> None:
    assert rollups.check().ok
    rollups.rebuild()
    assert rollups.check().ok
    for r in voucher_world.redemptions:
        rollups.redemption_changed(r)
    assert rollups.check().ok


def test_programmes_by_issuing_region(voucher_world) -> None:
    from innocommons.insights.query import StatsQuery
    from innocommons.insights.tables.vouchers import voucher_regions_table

    table = voucher_regions_table(StatsQuery(period=this_year()))
    (row,) = table.rows
    assert row[1:] == [
        1,
        1_000_000 * YUAN,
        120_000 * YUAN,
        60_000 * YUAN,
        50_000 * YUAN,
        50_000 * YUAN,
        50_000 * YUAN,
    ]
