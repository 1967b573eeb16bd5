"""The filters every statistic takes, parsed once from a query string or an API call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext as _

from innocommons.core.errors import DomainError
from innocommons.insights import periods, regions
from innocommons.insights.periods import Period
from innocommons.market.models import ContractField, ContractType

SIDES = ("output", "absorption")


@dataclass(frozen=True)
class StatsQuery:
    """period: any `periods.parse` spelling. level: bloc (the four regions, the rest of
    China, abroad), province or city; `focus` (a province-level code) details one
    province's cities. `region` restricts breakdowns, trends and the voucher and sharing
    figures to a region and the regions below it. `type` and `field` filter contracts."""

    period: Period
    level: str = "bloc"
    focus: str = ""
    region: str = ""
    type: str = ""
    field: str = ""
    side: str = "output"

    def validate(self) -> StatsQuery:
        idx = regions.index()
        if self.level not in regions.LEVELS:
            raise DomainError(_("Choose the level bloc, province or city."), field="level")
        if self.focus and (self.focus not in idx.by_code or idx.province(self.focus) != self.focus):
            raise DomainError(_("Choose a province-level region to drill into."), field="focus")
        if self.region and self.region not in idx.by_code:
            raise DomainError(_("No such region."), field="region")
        if self.type and self.type not in ContractType.values:
            raise DomainError(_("No such contract type."), field="type")
        if self.field and self.field not in ContractField.values:
            raise DomainError(_("No such field."), field="field")
        if self.side not in SIDES:
            raise DomainError(_("Choose output or absorption."), field="side")
        return self

    def with_(self, **changes: Any) -> StatsQuery:
        return replace(self, **changes)

    def params(self) -> dict[str, str]:
        """The query string that reproduces this query (empty values left out)."""
        values = {
            "period": self.period.code,
            "level": self.level if self.level != "bloc" else "",
            "focus": self.focus,
            "region": self.region,
            "type": self.type,
            "field": self.field,
            "side": self.side if self.side != "output" else "",
        }
        return {k: v for k, v in values.items() if v}


def _clean(value: Any, limit: int = 40) -> str:
    return str(value or "").strip()[:limit]


def from_params(data: Mapping[str, Any], default_period: Period | None = None) -> StatsQuery:
    """Parse and validate; raises DomainError naming the offending field."""
    level = _clean(data.get("level")) or "bloc"
    focus = _clean(data.get("focus"))
    if focus:
        level = "city"  # drilling into a province shows its cities
    return StatsQuery(
        period=periods.parse(_clean(data.get("period"), 60), default_period),
        level=level,
        focus=focus,
        region=_clean(data.get("region")),
        type=_clean(data.get("type")),
        field=_clean(data.get("field")),
        side=_clean(data.get("side")) or "output",
    ).validate()
