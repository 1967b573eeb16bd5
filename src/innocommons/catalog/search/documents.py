"""Turn published resources into Tantivy documents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import tantivy
from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Resource, Status, Term
from innocommons.catalog.search.segment import segment_for_index
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
    "stamp",
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
    # One datetime per row (publication, else creation): converting them is not free.
    return qs.annotate(stamp=Coalesce("published_at", "created_at")).values(*COLUMNS)


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


# A document's content as plain values, cheap to send between processes:
# (id, title, keywords, org, all words, kind, field_path, region, region_path, org_type,
#  owner, published timestamp, price)
Prepared = tuple[int, str, str, str, str, str, list[str], str, list[str], str, int, int, int]


def prepare(row: dict[str, Any], lookups: Lookups) -> Prepared:
    """Segment a row's text into index tokens (the expensive part of indexing)."""
    owner_id = row["owner_id"]
    org = lookups.org_tokens.get(owner_id)
    if org is None:
        org = segment_for_index(_join(row["owner__name_zh"], row["owner__name_en"]))
        lookups.org_tokens[owner_id] = org
    title = segment_for_index(_join(row["title_zh"], row["title_en"]))
    # Maker and model are what people type for instruments: weight them like keywords.
    keywords = segment_for_index(
        _join(
            row["keywords"].replace(";", " "),
            row["instrument__manufacturer"],
            row["instrument__model_name"],
        )
    )
    summary = segment_for_index(
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
    region = row["region_id"]
    published = row["stamp"]
    price = row["price_fen"]
    return (
        row["id"],
        title,
        keywords,
        org,
        f"{title} {keywords} {org} {summary}",
        row["kind"],
        lookups.field_path(row["field_id"]),
        lookups.region_province.get(region, region),
        lookups.region_path(region),
        row["owner__type"],
        owner_id,
        int(published.timestamp()),
        price if price is not None else -1,
    )


def to_document(p: Prepared) -> tantivy.Document:
    (
        rid,
        title,
        keywords,
        org,
        text,
        kind,
        field_path,
        province,
        region_path,
        org_type,
        owner_id,
        published,
        price,
    ) = p
    doc = tantivy.Document()
    doc.add_integer("id", rid)
    for name, value in (
        ("title", title),
        ("keywords", keywords),
        ("org", org),
        ("all", text),
    ):
        if value:
            doc.add_text(name, value)
    doc.add_text("kind", kind)
    doc.add_text("field", field_path[-1] if field_path else "none")
    for code in field_path:
        doc.add_text("field_path", code)
    doc.add_text("region", province)
    for code in region_path:
        doc.add_text("region_path", code)
    doc.add_text("org_type", org_type)
    doc.add_integer("owner", owner_id)
    doc.add_integer("published", published)
    doc.add_integer("price", price)
    return doc


def build_document(row: dict[str, Any], lookups: Lookups) -> tantivy.Document:
    return to_document(prepare(row, lookups))
