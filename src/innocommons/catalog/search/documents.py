"""Turn published resources into Tantivy documents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import tantivy
from django.db.models import QuerySet

from innocommons.catalog.models import Resource, Status, Term
from innocommons.catalog.search.segment import index_tokens
from innocommons.core.models import Region

DETAILS = ("instrument", "service", "achievement", "expert")


@dataclass
class Lookups:
    """Region and taxonomy paths, loaded once per indexing run (a few hundred rows)."""

    region_parent: dict[str, str | None]
    region_province: dict[str, str]
    term_code: dict[int, str]
    term_parent: dict[int, int | None]

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


def resources_for_index(ids: Iterable[int] | None = None) -> QuerySet[Resource]:
    qs = Resource.objects.filter(status=Status.PUBLISHED).select_related("owner", *DETAILS)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs


def _detail_text(resource: Resource) -> str:
    parts: list[str] = []
    detail = resource.detail
    if resource.kind == "instrument" and detail is not None:
        parts += [detail.manufacturer, detail.model_name, detail.origin_country, detail.location]  # type: ignore[attr-defined]
    elif resource.kind == "achievement" and detail is not None:
        parts += [detail.problem, detail.advantages, detail.patents]  # type: ignore[attr-defined]
    elif resource.kind == "expert" and detail is not None:
        parts += [detail.person_title]  # type: ignore[attr-defined]
    return " ".join(p for p in parts if p)


def build_document(resource: Resource, lookups: Lookups) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_integer("id", resource.pk)
    title = index_tokens(f"{resource.title_zh} {resource.title_en}")
    detail = resource.detail
    # Maker and model are what people type for instruments: weight them like keywords.
    extra_keywords = ""
    if resource.kind == "instrument" and detail is not None:
        extra_keywords = f" {detail.manufacturer} {detail.model_name}"  # type: ignore[attr-defined]
    keywords = index_tokens(resource.keywords.replace(";", " ") + extra_keywords)
    org = index_tokens(f"{resource.owner.name_zh} {resource.owner.name_en}")
    summary = index_tokens(f"{resource.summary_zh} {resource.summary_en} {_detail_text(resource)}")
    for name, tokens in (
        ("title", title),
        ("keywords", keywords),
        ("org", org),
        ("summary", summary),
    ):
        if tokens:
            doc.add_text(name, " ".join(tokens))
    doc.add_text("kind", resource.kind)
    field_path = lookups.field_path(resource.field_id)
    doc.add_text("field", field_path[-1] if field_path else "none")
    for code in field_path:
        doc.add_text("field_path", code)
    doc.add_text("region", lookups.region_province.get(resource.region_id, resource.region_id))
    for code in lookups.region_path(resource.region_id):
        doc.add_text("region_path", code)
    doc.add_text("org_type", resource.owner.type)
    doc.add_integer("owner", resource.owner_id)
    published = resource.published_at or resource.created_at
    doc.add_integer("published", int(published.timestamp()))
    doc.add_integer("price", resource.price_fen if resource.price_fen is not None else -1)
    return doc
