"""Search: user text → tokens → Tantivy query objects → hits hydrated from the database.

User text is never parsed as a query language: it is segmented into tokens and each token
becomes term queries, so quotes, operators, field prefixes and 10 kB strings are all safe.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Any

import tantivy

from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Kind, Resource, Status
from innocommons.catalog.search import engine
from innocommons.catalog.search.segment import query_tokens

# BM25 field weights: title above keywords above the organisation name above the summary.
WEIGHTS = {"title": 3.0, "keywords": 2.0, "org": 1.5, "summary": 1.0}
MAX_PAGE_SIZE = 100
MAX_OFFSET = 10_000
SORTS = ("relevance", "newest")


@dataclass
class SearchParams:
    q: str = ""
    kind: str = ""
    field: str = ""
    region: str = ""
    org_type: str = ""
    owner: int | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 20

    def clamp(self) -> SearchParams:
        self.page_size = max(1, min(int(self.page_size or 20), MAX_PAGE_SIZE))
        self.page = max(1, int(self.page or 1))
        if (self.page - 1) * self.page_size > MAX_OFFSET:
            self.page = MAX_OFFSET // self.page_size + 1
        if self.sort not in SORTS:
            self.sort = "relevance"
        for name in ("kind", "field", "region", "org_type"):
            value = (getattr(self, name) or "").strip()
            setattr(self, name, value[:40])
        return self

    @property
    def filters(self) -> dict[str, str]:
        return {
            name: getattr(self, name)
            for name in ("kind", "field", "region", "org_type")
            if getattr(self, name)
        }


@dataclass
class Hit:
    resource: Resource
    score: float | None
    snippet: str


@dataclass
class SearchResult:
    params: SearchParams
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    tokens: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(min(self.total, MAX_OFFSET) / self.params.page_size))


def _term(name: str, value: str) -> tantivy.Query:
    return tantivy.Query.term_query(engine.SCHEMA, name, value)


def text_query(tokens: list[str]) -> tantivy.Query:
    """Each token may match any weighted field; most tokens must match."""
    if not tokens:
        return tantivy.Query.all_query()
    per_token = []
    for token in tokens:
        alternatives = [
            tantivy.Query.boost_query(_term(name, token), weight)
            for name, weight in WEIGHTS.items()
        ]
        per_token.append(tantivy.Query.disjunction_max_query(alternatives, tie_breaker=0.2))
    if len(per_token) == 1:
        return per_token[0]
    # All of 2 tokens; one may be missing from 3 or more (segmentation is never perfect).
    need = len(per_token) if len(per_token) <= 2 else max(2, math.ceil(len(per_token) * 0.75))
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, q) for q in per_token], minimum_number_should_match=need
    )


def _filter_query(name: str, value: str) -> tantivy.Query:
    if name == "field":
        return _term("field_path", value)
    if name == "region":
        return _term("region_path", value)
    return _term(name, value)


def _combine(base: tantivy.Query, filters: dict[str, str], owner: int | None) -> tantivy.Query:
    clauses = [(tantivy.Occur.Must, base)]
    for name, value in filters.items():
        clauses.append(
            (tantivy.Occur.Must, tantivy.Query.const_score_query(_filter_query(name, value), 0.0))
        )
    if owner is not None:
        owner_q = tantivy.Query.range_query(
            engine.SCHEMA, "owner", tantivy.FieldType.Integer, owner, owner
        )
        clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(owner_q, 0.0)))
    if len(clauses) == 1:
        return base
    return tantivy.Query.boolean_query(clauses)


def _facet_spec(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: {"terms": {"field": name, "size": 50}} for name in names}


def _buckets(agg: dict[str, Any], name: str) -> dict[str, int]:
    return {str(b["key"]): int(b["doc_count"]) for b in agg.get(name, {}).get("buckets", [])}


def search(params: SearchParams, *, with_facets: bool = True) -> SearchResult:
    """Run a search. Never raises for any user text."""
    params.clamp()
    tokens = query_tokens(params.q)
    base = text_query(tokens)
    searcher = engine.reader.searcher()
    query = _combine(base, params.filters, params.owner)
    offset = (params.page - 1) * params.page_size
    if params.sort == "newest" or not tokens:
        result = searcher.search(
            query,
            params.page_size,
            count=True,
            order_by_field="published",
            order=tantivy.Order.Desc,
            offset=offset,
        )
    else:
        result = searcher.search(query, params.page_size, count=True, offset=offset)
    addresses = [addr for _, addr in result.hits]
    ids = [int(i or 0) for i in searcher.fast_field_values("id", addresses)] if addresses else []
    by_date = params.sort == "newest" or not tokens
    # Sorted by date, Tantivy's "score" is the timestamp: report no relevance score instead.
    scores = [None if by_date else float(score) for score, _ in result.hits]
    facets: dict[str, dict[str, int]] = {}
    if with_facets:
        facets = _facets(searcher, base, params)
    return SearchResult(
        params=params,
        total=int(getattr(result, "count", 0) or 0),
        hits=_hydrate(ids, scores, tokens),
        facets=facets,
        tokens=tokens,
    )


def _facets(
    searcher: tantivy.Searcher, base: tantivy.Query, params: SearchParams
) -> dict[str, dict[str, int]]:
    """Counts per facet value. A facet that is itself filtered is counted without its own
    filter, so the sidebar still offers its other values (multi-select style)."""
    filters = params.filters
    plain = tuple(n for n in engine.FACET_FIELDS if n not in filters)
    facets: dict[str, dict[str, int]] = {}
    if plain:
        agg = searcher.aggregate(_combine(base, filters, params.owner), _facet_spec(plain))
        for name in plain:
            facets[name] = _buckets(agg, name)
    for name in engine.FACET_FIELDS:
        if name in filters:
            others = {k: v for k, v in filters.items() if k != name}
            agg = searcher.aggregate(_combine(base, others, params.owner), _facet_spec((name,)))
            facets[name] = _buckets(agg, name)
    return facets


def _hydrate(ids: list[int], scores: list[float | None], tokens: list[str]) -> list[Hit]:
    """Load hits from the database; rows no longer published are dropped, never shown."""
    if not ids:
        return []
    rows = (
        Resource.objects.filter(pk__in=ids, status=Status.PUBLISHED)
        .exclude(owner__status__in=HIDDEN_OWNER_STATUSES)
        .select_related("owner", "region", "field")
    )
    by_id = {r.pk: r for r in rows}
    return [
        Hit(resource=by_id[rid], score=score, snippet=snippet(by_id[rid].summary, tokens))
        for rid, score in zip(ids, scores, strict=True)
        if rid in by_id
    ]


def snippet(text: str, tokens: list[str], width: int = 160) -> str:
    """An HTML-escaped excerpt around the first match, with matches in <mark>."""
    if not text:
        return ""
    # Terms are stemmed ("microscop"): let an English term highlight the rest of its word.
    parts = [
        re.escape(t) + (r"[a-z]*" if t.isascii() else "")
        for t in sorted(tokens, key=len, reverse=True)
    ]
    pattern = re.compile("|".join(parts), re.I) if parts else None
    start = 0
    if pattern:
        m = pattern.search(text)
        if m:
            start = max(0, m.start() - width // 4)
    excerpt = text[start : start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    if not pattern:
        return html.escape(prefix + excerpt + suffix)
    out, pos = [], 0
    for m in pattern.finditer(excerpt):
        out.append(html.escape(excerpt[pos : m.start()]))
        out.append(f"<mark>{html.escape(m.group(0))}</mark>")
        pos = m.end()
    out.append(html.escape(excerpt[pos:]))
    return html.escape(prefix) + "".join(out) + html.escape(suffix)


KIND_VALUES = set(Kind.values)
