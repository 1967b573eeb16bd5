"""A statistics table as pages, exports and the annual report show it: typed columns, raw
values (amounts in fen), and the chart drawn beside it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from innocommons.insights import formatting
from innocommons.insights.formatting import FEN_PER_YI
from innocommons.insights.query import StatsQuery

# Column kinds: text, int, amount (fen, shown in `unit`), percent (Decimal, 0–100),
# decimal (one place), days (one place).
KINDS = ("text", "int", "amount", "percent", "decimal", "days")


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"
    unit: str = ""  # amounts: "wan" or "yi"

    @property
    def header(self) -> str:
        if self.kind == "amount":
            return _("%(label)s (%(unit)s)") % {
                "label": self.label,
                "unit": formatting.unit_label(self.unit),
            }
        if self.kind == "percent":
            return _("%(label)s (%%)") % {"label": self.label}
        if self.kind == "days":
            return _("%(label)s (days)") % {"label": self.label}
        return self.label

    @property
    def numeric(self) -> bool:
        return self.kind != "text"

    def show(self, value: Any) -> str:
        if value is None or value == "":
            return "–" if self.numeric else ""
        if self.kind == "int":
            return f"{int(value):,}"
        if self.kind == "amount":
            return formatting.amount(int(value), self.unit)
        if self.kind == "percent":
            return formatting.number(Decimal(value), 2)
        if self.kind in ("decimal", "days"):
            return formatting.number(Decimal(str(value)), 1)
        return str(value)

    def export(self, value: Any) -> Any:
        """The value in a CSV or XLSX cell: numbers stay numbers, in the column's unit."""
        if value is None or value == "":
            return None if self.numeric else ""
        if self.kind == "int":
            return int(value)
        if self.kind == "amount":
            return formatting.rounded(int(value), self.unit, 2)
        if self.kind == "percent":
            return formatting.rounded_decimal(Decimal(value), 2)
        if self.kind in ("decimal", "days"):
            return formatting.rounded_decimal(Decimal(str(value)), 1)
        return str(value)


@dataclass
class Table:
    """Rows of raw values under typed columns; `total` is an optional last row."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    chart: dict[str, Any] | None = None
    note: str = ""
    private: bool = False
    total: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def shown(self, row: list[Any]) -> list[str]:
        return [c.show(v) for c, v in zip(self.columns, row, strict=True)]

    def _cells(self, row: list[Any]) -> list[tuple[str, bool]]:
        return [(c.show(v), c.numeric) for c, v in zip(self.columns, row, strict=True)]

    @property
    def display_rows(self) -> list[list[str]]:
        return [self.shown(r) for r in self.rows]

    @property
    def cells(self) -> list[list[tuple[str, bool]]]:
        """Rows of (text, numeric) for templates."""
        return [self._cells(r) for r in self.rows]

    @property
    def total_cells(self) -> list[tuple[str, bool]] | None:
        return self._cells(self.total) if self.total else None

    def export_rows(self) -> list[list[Any]]:
        rows = [*self.rows, *([self.total] if self.total else [])]
        return [[c.export(v) for c, v in zip(self.columns, r, strict=True)] for r in rows]


def unit_for(amounts: Iterable[int]) -> str:
    """亿元 when the largest amount reaches 100 million yuan, else 万元."""
    largest = max((abs(int(a or 0)) for a in amounts), default=0)
    return "yi" if largest >= FEN_PER_YI else "wan"


def chart_value(fen: int, unit: str) -> float:
    # Chart geometry only; tables and exports keep the exact Decimal.
    return float(formatting.rounded(int(fen), unit, 2))


def sankey(
    nodes: list[tuple[str, str]], links: list[tuple[str, str, float]], unit: str, **extra: Any
) -> dict[str, Any]:
    """nodes: (id, label); links: (source id, target id, value)."""
    return {
        "type": "sankey",
        "nodes": [{"id": i, "label": label} for i, label in nodes],
        "links": [{"source": s, "target": t, "value": v} for s, t, v in links if v > 0],
        "unit": formatting.unit_label(unit),
        **extra,
    }


def series_chart(
    kind: str,
    categories: list[str],
    series: list[tuple[str, list[float | int | None]]],
    *,
    unit: str = "",
    stack: bool = False,
    horizontal: bool = False,
) -> dict[str, Any]:
    """A bar or line chart: one value per category per series."""
    return {
        "type": kind,
        "categories": categories,
        "series": [{"name": n, "data": d} for n, d in series],
        "unit": unit,
        "stack": stack,
        "horizontal": horizontal,
    }


def pie(data: list[tuple[str, float]], unit: str = "") -> dict[str, Any]:
    return {"type": "pie", "data": [{"name": n, "value": v} for n, v in data if v], "unit": unit}


@dataclass(frozen=True)
class Spec:
    """How to build one table. Private builders receive the region whose private figures
    the caller may read ("" for all)."""

    key: str
    section: str
    build: Callable[[StatsQuery, str], Table]
    private: bool = False
