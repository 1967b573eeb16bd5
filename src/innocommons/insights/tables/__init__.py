"""Every statistics table by its key: what the pages show, the exports download and the
annual report prints. Private tables are built only for callers who may read them."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from innocommons.core.errors import NotFound
from innocommons.insights import permissions
from innocommons.insights.query import StatsQuery
from innocommons.insights.tables import flows, market, sharing, vouchers
from innocommons.insights.tables.base import Column, Spec, Table

__all__ = ["SPECS", "Column", "Spec", "Table", "build", "section_tables", "sections"]

SPECS: dict[str, Spec] = {
    s.key: s for s in [*flows.SPECS, *vouchers.SPECS, *sharing.SPECS, *market.SPECS]
}


def sections() -> list[tuple[str, str]]:
    return [
        ("flows", _("Technology flows")),
        ("vouchers", _("Innovation vouchers")),
        ("sharing", _("Catalog and shared use")),
        ("market", _("Technology market")),
    ]


def build(key: str, q: StatsQuery, user: Any) -> Table:
    """The table `key` for `q`; a private one for the region `q.region` (or the user's
    own) only if the user may read it — otherwise NotFound / PermissionDenied."""
    spec = SPECS.get(key)
    if spec is None:
        raise NotFound(_("No such table."))
    scope = permissions.dashboard_region(user, q.region) if spec.private else ""
    return spec.build(q, scope)


def section_tables(section: str, q: StatsQuery) -> list[Table]:
    """The public tables of one section of the statistics page."""
    return [s.build(q, "") for s in SPECS.values() if s.section == section and not s.private]
