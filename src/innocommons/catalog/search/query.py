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
from django.utils.translation import get_language

from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Resource, Status
from innocommons.catalog.search import engine
from innocommons.catalog.search.segment import query_tokens

# Extra BM25 weight on top of the match in "all": title above keywords above the
# organisation's name above the rest of the text.
WEIGHTS = {"title": 2.0, "keywords": 1.0, "org": 0.5}
# A token in more than this share of the catalog only ranks, it does not filter.
COMMON_SHARE = 0.05
COMMON_MIN_DOCS = 1000  # in a small catalog every token filters
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
    ids: list[int] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(min(self.total, MAX_OFFSET) / self.params.page_size))


def _term(name: str, value: str) -> tantivy.Query:
    return tantivy.Query.term_query(engine.SCHEMA, name, value)


def text_query(
    tokens: list[str], searcher: tantivy.Searcher | None = None, *, relaxed: bool = False
) -> tantivy.Query:
    """Which listings match, and how they rank.

    Matching happens on "all" (every word of a listing): each distinctive token must occur
    (`relaxed`: three in four of them). Tokens found in more than COMMON_SHARE of a large
    catalog ("技术", "system") do not decide what matches, they only add weight, so long
    posting lists never drive the search. Matches in the title, keywords or organisation
    name add weight on top; those clauses are only read for candidate documents.
    """
    if not tokens:
        return tantivy.Query.all_query()
    rare, common = tokens, []
    if searcher is not None and len(tokens) > 1:
        limit = max(COMMON_MIN_DOCS, COMMON_SHARE * searcher.num_docs)
        rare = [t for t in tokens if searcher.doc_freq("all", t) <= limit]
        common = [t for t in tokens if t not in rare]
        if not rare:
            rare, common = tokens, []
    core = [_term("all", t) for t in rare]
    if len(core) == 1:
        match = core[0]
    elif relaxed and len(core) >= 3:
        match = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, q) for q in core],
            minimum_number_should_match=math.ceil(len(core) * 0.75),
        )
    else:
        match = tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in core])
    boosts = [
        (tantivy.Occur.Should, tantivy.Query.boost_query(_term(name, token), weight))
        for token in tokens
        for name, weight in WEIGHTS.items()
    ]
    boosts += [(tantivy.Occur.Should, _term("all", t)) for t in common]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, match), *boosts])


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


def search(params: SearchParams, *, with_facets: bool = True, hydrate: bool = True) -> SearchResult:
    """Run a search. Never raises for any user text. Without `hydrate`, `hits` stays empty
    and the caller loads `ids` itself (the API reads plain rows: see `hit_rows`)."""
    params.clamp()
    tokens = query_tokens(params.q)
    searcher = engine.reader.searcher()
    base = text_query(tokens, searcher)
    offset = (params.page - 1) * params.page_size
    facets: dict[str, dict[str, int]] = {}
    total: int | None = None
    if with_facets:
        facets, total = _facets(searcher, base, params)
        if total == 0 and len(tokens) >= 3:
            # Nothing has every word: accept listings with most of them.
            base = text_query(tokens, searcher, relaxed=True)
            facets, total = _facets(searcher, base, params)
    elif (
        len(tokens) >= 3
        and not searcher.search(_combine(base, params.filters, params.owner), 1, count=False).hits
    ):
        base = text_query(tokens, searcher, relaxed=True)
    query = _combine(base, params.filters, params.owner)
    # With the total known from the aggregation, the top hits need no full count, which lets
    # Tantivy skip blocks that cannot reach the top (block-max WAND).
    by_date = params.sort == "newest" or not tokens
    kwargs: dict[str, Any] = {"count": total is None, "offset": offset}
    if by_date:
        kwargs.update(order_by_field="published", order=tantivy.Order.Desc)
    result = searcher.search(query, params.page_size, **kwargs)
    if total is None:
        total = int(getattr(result, "count", 0) or 0)
    addresses = [addr for _, addr in result.hits]
    ids = [int(i or 0) for i in searcher.fast_field_values("id", addresses)] if addresses else []
    # Sorted by date, Tantivy's "score" is the timestamp: report no relevance score instead.
    scores = [None if by_date else float(score) for score, _ in result.hits]
    return SearchResult(
        params=params,
        total=total,
        hits=_hydrate(ids, scores, tokens) if hydrate else [],
        facets=facets,
        tokens=tokens,
        ids=ids,
        scores=scores,
    )


def _facets(
    searcher: tantivy.Searcher, base: tantivy.Query, params: SearchParams
) -> tuple[dict[str, dict[str, int]], int]:
    """Counts per facet value, and the number of matches. A facet that is itself filtered is
    counted without its own filter, so the sidebar still offers its other values."""
    filters = params.filters
    spec = _facet_spec(engine.FACET_FIELDS)
    agg = searcher.aggregate(_combine(base, filters, params.owner), spec)
    facets = {name: _buckets(agg, name) for name in engine.FACET_FIELDS}
    # Every document has exactly one org_type, so its buckets add up to the total.
    org_types = agg.get("org_type", {})
    total = sum(facets["org_type"].values()) + int(org_types.get("sum_other_doc_count", 0))
    for name in engine.FACET_FIELDS:
        if name in filters:
            others = {k: v for k, v in filters.items() if k != name}
            agg = searcher.aggregate(_combine(base, others, params.owner), _facet_spec((name,)))
            facets[name] = _buckets(agg, name)
    return facets, total


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


HIT_COLUMNS = (
    "id",
    "kind",
    "title_zh",
    "title_en",
    "summary_zh",
    "summary_en",
    "region_id",
    "region__name_zh",
    "region__name_en",
    "owner_id",
    "owner__name_zh",
    "owner__name_en",
    "field__code",
    "price_fen",
    "published_at",
)


def hit_rows(result: SearchResult) -> list[dict[str, Any]]:
    """The result's hits as plain rows in the active language (about ten times cheaper than
    model instances); rows no longer public are dropped, as in `_hydrate`."""
    if not result.ids:
        return []
    rows = {
        r["id"]: r
        for r in Resource.objects.filter(pk__in=result.ids, status=Status.PUBLISHED)
        .exclude(owner__status__in=HIDDEN_OWNER_STATUSES)
        .order_by()
        .values(*HIT_COLUMNS)
    }
    english = (get_language() or "").startswith("en")

    def pick(row: dict[str, Any], name: str) -> str:
        value: str = row[f"{name}_en"] if english and row[f"{name}_en"] else row[f"{name}_zh"]
        return value

    out = []
    for rid, score in zip(result.ids, result.scores, strict=True):
        row = rows.get(rid)
        if row is None:
            continue
        summary = pick(row, "summary")
        out.append(
            {
                "id": rid,
                "kind": row["kind"],
                "title": pick(row, "title"),
                "summary": summary,
                "snippet": snippet(summary, result.tokens),
                "region": row["region_id"],
                "region_name": pick(row, "region__name"),
                "owner": row["owner_id"],
                "owner_name": pick(row, "owner__name"),
                "field": row["field__code"],
                "price_fen": row["price_fen"],
                "url": f"/resources/{rid}/",
                "score": score,
                "published_at": row["published_at"],
            }
        )
    return out


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
