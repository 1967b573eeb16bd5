"""Turn published resources into Tantivy documents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import tantivy
from django.db.models import QuerySet

from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Resource, Status, Term
from innocommons.catalog.search.segment import index_tokens
from innocommons.core.models import Region


@dataclass
class Lookups:
    """Region and taxonomy paths, loaded once per indexing run (a few hundred rows)."""

    region_parent: dict[str, str | None]
    region_province: dict[str, str]
    term_code: dict[int, str]
    term_parent: dict[int, int | None]
    org_tokens: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Lookups:
        regions = list(Region.objects.values_list("code", "parent_id", "province_id"))
        terms = list(Term.objects.values_list("id", "code", "parent_id"))
        return cls(
            region_parent={c: p for c, p, _ in regions},
            region_province={c: (prov or c) for c, _, prov in regions},
            term_code={i: c for i, c, _ in terms},
            term_parent={i: p for i, _, p in terms},
        )

    def region_path(self, code: str) -> list[str]:
        path: list[str] = []
        node: str | None = code
        while node and node not in path:
            path.append(node)
            node = self.region_parent.get(node)
        return path

    def field_path(self, term_id: int | None) -> list[str]:
        path: list[str] = []
        node = term_id
        while node is not None and len(path) < 5:
            path.append(self.term_code[node])
            node = self.term_parent.get(node)
        return path


# Columns read for indexing: plain values, not model instances (several times faster).
COLUMNS = (
    "id",
    "kind",
    "title_zh",
    "title_en",
    "summary_zh",
    "summary_en",
    "keywords",
    "field_id",
    "region_id",
    "owner_id",
    "owner__type",
    "owner__name_zh",
    "owner__name_en",
    "published_at",
    "created_at",
    "price_fen",
    "instrument__manufacturer",
    "instrument__model_name",
    "instrument__origin_country",
    "instrument__location",
    "achievement__problem",
    "achievement__advantages",
    "achievement__patents",
    "expert__person_title",
)


def rows_for_index(ids: Iterable[int] | None = None) -> QuerySet[Resource, dict[str, Any]]:
    """Published resources as dicts of COLUMNS, optionally limited to `ids`."""
    qs = Resource.objects.filter(status=Status.PUBLISHED).exclude(
        owner__status__in=HIDDEN_OWNER_STATUSES
    )
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.values(*COLUMNS)


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def build_document(row: dict[str, Any], lookups: Lookups) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_integer("id", row["id"])
    owner_id = row["owner_id"]
    org = lookups.org_tokens.get(owner_id)
    if org is None:
        org = " ".join(index_tokens(_join(row["owner__name_zh"], row["owner__name_en"])))
        lookups.org_tokens[owner_id] = org
    title = index_tokens(_join(row["title_zh"], row["title_en"]))
    # Maker and model are what people type for instruments: weight them like keywords.
    keywords = index_tokens(
        _join(
            row["keywords"].replace(";", " "),
            row["instrument__manufacturer"],
            row["instrument__model_name"],
        )
    )
    summary = index_tokens(
        _join(
            row["summary_zh"],
            row["summary_en"],
            row["instrument__origin_country"],
            row["instrument__location"],
            row["achievement__problem"],
            row["achievement__advantages"],
            row["achievement__patents"],
            row["expert__person_title"],
        )
    )
    if title:
        doc.add_text("title", " ".join(title))
    if keywords:
        doc.add_text("keywords", " ".join(keywords))
    if org:
        doc.add_text("org", org)
    if summary:
        doc.add_text("summary", " ".join(summary))
    doc.add_text("kind", row["kind"])
    field_path = lookups.field_path(row["field_id"])
    doc.add_text("field", field_path[-1] if field_path else "none")
    for code in field_path:
        doc.add_text("field_path", code)
    region = row["region_id"]
    doc.add_text("region", lookups.region_province.get(region, region))
    for code in lookups.region_path(region):
        doc.add_text("region_path", code)
    doc.add_text("org_type", row["owner__type"])
    doc.add_integer("owner", owner_id)
    published = row["published_at"] or row["created_at"]
    doc.add_integer("published", int(published.timestamp()))
    price = row["price_fen"]
    doc.add_integer("price", price if price is not None else -1)
    return doc
