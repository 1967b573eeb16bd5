"""Technology-flow figures of the hand-built scenario (tests/insights/conftest.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from innocommons.insights import periods, rollups
from innocommons.insights.query import StatsQuery, from_params
from innocommons.insights.selectors import flows
from tests.insights.conftest import W

pytestmark = pytest.mark.django_db

Y2025 = StatsQuery(period=periods.year(2025))


def m(contracts: int, amount_wan: int, tech_wan: int) -> flows.Measure:
    return flows.Measure(contracts, amount_wan * W, tech_wan * W)


def links(q: StatsQuery) -> dict[tuple[str, str], flows.Measure]:
    return {(x.seller, x.buyer): x.measure for x in flows.flows(q).links}


def test_bloc_matrix(contracts) -> None:
    assert links(Y2025) == {
        ("310000", "abroad"): m(1, 200, 200),
        ("320000", "310000"): m(1, 1000, 800),
        ("320000", "320000"): m(1, 300, 200),
        ("320000", "330000"): m(1, 500, 500),
        ("340000", "rest"): m(1, 400, 300),
        ("rest", "330000"): m(1, 600, 600),
        ("abroad", "340000"): m(1, 100, 100),
    }
    assert flows.flows(Y2025).total == m(7, 3100, 2700)
    assert flows.flows(Y2025).nodes == ["310000", "320000", "330000", "340000", "rest", "abroad"]


def test_province_matrix_names_every_region(contracts) -> None:
    got = links(Y2025.with_(level="province"))
    assert got[("340000", "110000")] == m(1, 400, 300)
    assert got[("110000", "330000")] == m(1, 600, 600)
    assert got[("310000", "DE")] == m(1, 200, 200)
    assert got[("US", "340000")] == m(1, 100, 100)
    assert len(got) == 7


def test_city_drill_down_into_jiangsu(contracts) -> None:
    assert links(Y2025.with_(level="city", focus="320000")) == {
        # Wujin district counts under its city, Changzhou
        ("320400", "320100"): m(1, 300, 200),
        ("320100", "310000"): m(1, 1000, 800),
        ("320500", "330000"): m(1, 500, 500),
    }


def test_city_level_everywhere(contracts) -> None:
    got = links(Y2025.with_(level="city"))
    # Shanghai's districts are its city-level units; foreign regions stay countries.
    assert got[("320100", "310115")] == m(1, 1000, 800)
    assert got[("310104", "DE")] == m(1, 200, 200)
    assert sum(x.contracts for x in got.values()) == 7


def test_per_region_summary(contracts) -> None:
    s = flows.summary(Y2025)
    rows = {r.code: r for r in s.regions}
    js = rows["320000"]
    assert js.output == m(3, 1800, 1500)
    assert js.absorption == m(1, 300, 200)
    assert js.net == m(2, 1500, 1300)
    assert js.to_community == m(2, 1500, 1300)
    assert rows["310000"].net.amount_fen == -800 * W
    assert rows["330000"].absorption == m(2, 1100, 1100)
    assert rows["330000"].output == m(0, 0, 0)
    assert rows["340000"].output == m(1, 400, 300)
    assert rows["rest"].absorption == m(1, 400, 300)
    assert rows["abroad"].output == m(1, 100, 100)


def test_community_headline(contracts) -> None:
    c = flows.summary(Y2025).community
    assert c.output == m(5, 2400, 2000)
    assert c.between == m(2, 1500, 1300)
    assert c.within_province == m(1, 300, 200)
    assert c.to_rest == m(1, 400, 300)
    assert c.abroad == m(1, 200, 200)
    assert c.from_rest == m(1, 600, 600)
    assert c.from_abroad == m(1, 100, 100)
    assert c.total == m(7, 3100, 2700)
    # "… between the four regions, 62.5% of their total output"
    assert Decimal(c.between.amount_fen) / c.output.amount_fen == Decimal("0.625")


def test_any_period_total(contracts) -> None:
    cases = [
        ("2025", 7, 3100),
        ("2025-Q1", 3, 1400),
        ("2025-03", 1, 1000),
        ("2024", 1, 250),
        ("2026", 1, 50),
        ("2025-06-15..2025-07-20", 2, 900),
        ("2025-06-30..2025-09-01", 3, 1500),
        ("2024-12-31..2025-01-01", 1, 300),
        ("2025-04", 0, 0),
    ]
    for text, n, amount in cases:
        q = from_params({"period": text})
        total = flows.flows(q).total
        assert (total.contracts, total.amount_fen) == (n, amount * W), text
        by_city = flows.flows(q.with_(level="city")).total
        assert by_city == total, text


def test_by_type_and_field(contracts) -> None:
    by_type = flows.breakdown(Y2025, "type")
    assert [(code, x.amount_fen // W) for code, x in by_type] == [
        ("transfer", 1600),
        ("development", 500),
        ("consulting", 400),
        ("licence", 300),
        ("service", 300),
    ]
    by_field = dict(flows.breakdown(Y2025, "field"))
    assert by_field["electronics"] == m(3, 1400, 1100)
    assert by_field["nuclear"] == m(0, 0, 0)


def test_breakdown_of_one_region(contracts) -> None:
    js = dict(flows.breakdown(Y2025.with_(region="320000"), "type"))
    assert js["transfer"] == m(1, 1000, 800)
    assert js["service"] == m(1, 300, 200)
    nanjing_out = dict(flows.breakdown(Y2025.with_(region="320100"), "type"))
    assert sum(x.amount_fen for x in nanjing_out.values()) == 1000 * W
    nanjing_in = dict(flows.breakdown(Y2025.with_(region="320100", side="absorption"), "type"))
    assert nanjing_in["service"] == m(1, 300, 200)
    changzhou = dict(flows.breakdown(Y2025.with_(region="320400"), "type"))
    assert changzhou["service"] == m(1, 300, 200)  # Wujin lies below Changzhou


def test_trend_year_on_year(contracts) -> None:
    points = {p.month.month: p for p in flows.trend(Y2025)}
    assert len(points) == 12
    assert points[3].current == m(1, 1000, 800)
    assert points[3].previous == m(1, 250, 250)
    assert points[4].current == m(0, 0, 0)
    assert sum(p.current.amount_fen for p in points.values()) == 3100 * W
    jiangsu_in = {
        p.month.month: p for p in flows.trend(Y2025.with_(region="320000", side="absorption"))
    }
    assert jiangsu_in[1].current == m(1, 300, 200)


def test_years(contracts) -> None:
    got = dict(flows.years(Y2025, 2023, 2026))
    assert got[2023] == m(0, 0, 0)
    assert got[2024] == m(1, 250, 250)
    assert got[2025] == m(7, 3100, 2700)
    assert got[2026] == m(1, 50, 50)


def test_filters_by_type_and_field(contracts) -> None:
    q = Y2025.with_(type="transfer")
    assert flows.flows(q).total == m(2, 1600, 1400)
    q = Y2025.with_(field="electronics", level="province")
    assert links(q) == {
        ("320000", "310000"): m(1, 1000, 800),
        ("320000", "320000"): m(1, 300, 200),
        ("US", "340000"): m(1, 100, 100),
    }


def test_refused_submitted_and_drafts_never_count(contracts) -> None:
    everything = from_params({"period": "2020-01-01..2029-12-31"})
    assert flows.flows(everything).total == m(9, 3400, 3000)
    assert rollups.check().ok


def test_top_sellers_are_from_the_raw_contracts(contracts) -> None:
    sellers = flows.top_sellers(Y2025, "320000")
    assert [p.measure.amount_fen // W for p in sellers] == [1000, 500, 300]
    assert flows.top_sellers(Y2025, "330000") == []


@pytest.mark.parametrize(
    ("dims", "side"),
    [
        (["seller", "buyer"], {}),
        (["seller", "buyer"], {"seller": "320000"}),
        (["type"], {}),
        (["field"], {"buyer": "330000"}),
        (["type", "field"], {"seller": "340000"}),
        (["month"], {}),
        (["month"], {"buyer": "310000"}),
    ],
)
def test_every_rollup_gives_the_same_figures(contracts, dims, side) -> None:
    """A year from the yearly cells = the sum of its months (monthly and trend cells) = the
    daily cells grouped by province = the sum of its days."""

    def total(q: StatsQuery, **kw) -> dict:
        out: dict = {}
        for key, x in flows.aggregate(q, dims, **side, **kw):
            if "month" in dims:
                key = (key[0].replace(day=1),)
            acc = out.setdefault(key, flows.Measure())
            acc.add(x.contracts, x.amount_fen, x.tech_amount_fen)
        return out

    year = total(Y2025)
    months: dict = {}
    for month in range(1, 13):
        for key, x in total(from_params({"period": f"2025-{month:02d}"})).items():
            months.setdefault(key, flows.Measure()).add(
                x.contracts, x.amount_fen, x.tech_amount_fen
            )
    days = total(from_params({"period": "2025-01-01..2025-12-30"}))
    days_last = total(from_params({"period": "2025-12-31..2025-12-31"}))
    for key, x in days_last.items():
        days.setdefault(key, flows.Measure()).add(x.contracts, x.amount_fen, x.tech_amount_fen)
    assert year == months == days
    assert year, "the scenario has contracts in every case"
