"""万元 / 亿元 formatting and period parsing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from innocommons.core.errors import DomainError
from innocommons.insights import formatting as fmt
from innocommons.insights import periods


def test_units_are_exact() -> None:
    assert fmt.in_unit(1, "wan") == Decimal("0.000001")
    assert fmt.in_unit(18_634_500_000_000, "yi") == Decimal("1863.45")
    assert fmt.rounded(12_345, "wan") == Decimal("0.01")
    assert fmt.rounded(5_000, "wan") == Decimal("0.01")  # half up
    assert fmt.rounded(4_999, "wan") == Decimal("0.00")
    assert fmt.rounded(-5_000, "wan") == Decimal("-0.01")


def test_amounts_as_numbers() -> None:
    assert fmt.amount(186_345_000_000_00, "yi") == "1,863.45"
    assert fmt.amount(1_500 * 1_000_000, "wan") == "1,500.00"
    assert fmt.amount(-4_000, "wan") == "0.00"  # never "-0.00"
    assert fmt.number(Decimal("1234.5"), 1) == "1,234.5"
    assert fmt.number(3.0, 1) == "3.0"
    assert fmt.number(7, 0) == "7"


def test_auto_unit() -> None:
    assert fmt.auto_unit(99_999_999_99) == "wan"
    assert fmt.auto_unit(100_000_000_00) == "yi"


@pytest.mark.parametrize(
    ("lang", "wan", "yi"),
    [
        ("en", "10k yuan", "100 million yuan"),
    ],
)
def test_unit_labels(lang, wan, yi) -> None:
    with translation.override(lang):
        assert fmt.unit_label("wan") == wan
        assert fmt.unit_label("yi") == yi
        assert fmt.amount_with_unit(186_345_000_000_00) == "1,863.45 hundred million yuan"
        assert fmt.amount_with_unit(1_500_000_000) == "1,500.00 ten thousand yuan"


def test_percentages() -> None:
    assert fmt.percent(1_396, 10_000) == "13.96%"
    assert fmt.percent(1, 3) == "33.33%"
    assert fmt.percent(1, 0) == "–"
    assert fmt.change(150, 100) == "+50.0%"
    assert fmt.change(50, 100) == "-50.0%"
    assert fmt.change(5, 0) == "–"
    assert fmt.share(1, 8) == Decimal("12.5")


@pytest.mark.parametrize(
    ("text", "start", "end", "kind"),
    [
        ("2025", date(2025, 1, 1), date(2025, 12, 31), "year"),
        ("2025-Q2", date(2025, 4, 1), date(2025, 6, 30), "quarter"),
        ("2025q4", date(2025, 10, 1), date(2025, 12, 31), "quarter"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "month"),
        ("2025-1", date(2025, 1, 1), date(2025, 1, 31), "month"),
        ("2025-01-15..2025-06-30", date(2025, 1, 15), date(2025, 6, 30), "range"),
        ("2025-01-15/2025-01-15", date(2025, 1, 15), date(2025, 1, 15), "range"),
    ],
)
def test_periods(text, start, end, kind) -> None:
    p = periods.parse(text)
    assert (p.start, p.end, p.kind) == (start, end, kind)
    assert periods.parse(p.code) == p


@pytest.mark.parametrize(
    "text",
    [
        "",
        "last year",
        "2025-13",
        "2025-Q5",
        "1800",
        "2025-02-30..2025-03-01",
        "2025-06-01..2025-01-01",
        "2000-01-01..2020-01-01",
        "'; drop table",
        "2025" * 20,
    ],
)
def test_bad_periods(text) -> None:
    if not text:
        assert periods.parse(text) == periods.current_year()
        return
    with pytest.raises(DomainError) as err:
        periods.parse(text)
    assert err.value.field == "period"


def test_period_split_into_months_and_edges() -> None:
    months, edges = periods.parse("2025-01-15..2025-04-10").split()
    assert months == [date(2025, 2, 1), date(2025, 3, 1)]
    assert edges == [(date(2025, 1, 15), date(2025, 1, 31)), (date(2025, 4, 1), date(2025, 4, 10))]
    assert periods.parse("2025").split() == ([date(2025, m, 1) for m in range(1, 13)], [])


def test_shifted_years() -> None:
    assert periods.parse("2024-02").shifted_years(1) == periods.parse("2025-02")
    p = periods.parse("2024-02-29..2024-03-01").shifted_years(-1)
    assert (p.start, p.end) == (date(2023, 2, 28), date(2023, 3, 1))
