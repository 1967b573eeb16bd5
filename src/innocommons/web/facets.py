"""The facet sidebar: labels and links for each facet value of a search result."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation
from innocommons.catalog.models import Kind, Term
from innocommons.catalog.search.query import SearchResult
from innocommons.core.models import Region

FACET_ORDER = ("kind", "field", "region", "org_type")
TITLES = {
    "kind": _("Type"),
    "field": _("Technology field"),
    "region": _("Region"),
    "org_type": _("Organisation type"),
}


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    active: bool
    querystring: str


@dataclass
class FacetGroup:
    name: str
    title: str
    values: list[FacetValue]


def _labels(name: str, values: list[str]) -> dict[str, str]:
    if name == "kind":
        return {k: str(v) for k, v in Kind.choices}
    if name == "org_type":
        return {k: str(v) for k, v in Organisation.Type.choices}
    if name == "field":
        return {
            t.code: t.name
            for t in Term.objects.filter(scheme=Term.Scheme.TECH_FIELD, code__in=values)
        }
    if name == "region":
        return {r.code: r.name for r in Region.objects.filter(code__in=values)}
    return {}


def facet_groups(result: SearchResult, query: QueryDict) -> list[FacetGroup]:
    groups = []
    for name in FACET_ORDER:
        counts = result.facets.get(name)
        if counts is None:
            continue
        labels = _labels(name, list(counts))
        current = query.get(name, "")
        values = []
        for value, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            if value == "none":
                continue
            q = query.copy()
            q.pop("page", None)
            if value == current:
                q.pop(name, None)
            else:
                q[name] = value
            values.append(
                FacetValue(value, labels.get(value, value), count, value == current, q.urlencode())
            )
        groups.append(FacetGroup(name, str(TITLES.get(name, name)), values))
    return groups
