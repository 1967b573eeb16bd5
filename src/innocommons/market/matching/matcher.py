"""Listings for a demand, providers for a demand, and open demands for a listing.

Listings for a demand: the demand's key terms (keyterms.py) become one Tantivy query — a
disjunction of term queries on the index's "all" field, each boosted by the term's weight,
optionally limited to some kinds — whose top CANDIDATES hits are loaded from the database
(published rows only, as search does) and re-ranked by `scoring.score`. A term found in more than
COMMON_SHARE of a large catalog only counts in the score, it does not retrieve: long posting
lists never drive the query. The demand's own organisation's listings are left out.

Demands for a listing: every open demand stores its key terms (`DemandTerm`), so the
demands sharing at least one token with the listing come from one indexed query; each is
scored with the same function, so a pair scores the same whichever side looks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import tantivy
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Kind, Resource, Status
from innocommons.catalog.search import engine
from innocommons.market.matching import keyterms, scoring
from innocommons.market.matching.keyterms import KeyTerm
from innocommons.market.matching.scoring import DemandProfile, Listing, Scored
from innocommons.market.models import Demand, DemandTerm

KINDS = (Kind.ACHIEVEMENT, Kind.SERVICE, Kind.INSTRUMENT, Kind.EXPERT)
CANDIDATES = 200
COMMON_SHARE = 0.05
COMMON_MIN_DOCS = 1000  # in a small catalog every term retrieves
MAX_DEMAND_CANDIDATES = 2000
# How much more a provider scores for each further matching listing (capped).
PROVIDER_BREADTH_BONUS = 0.03
PROVIDER_BREADTH_CAP = 0.09

TITLE_WEIGHT = 3.0  # a word in the title or keywords counts this many times


@dataclass
class ResourceMatch:
    listing: Listing
    scored: Scored

    @property
    def score(self) -> float:
        return self.scored.score


@dataclass
class ProviderMatch:
    """An organisation whose listings match: its best listing's score plus a little for
    each further matching listing."""

    organisation_id: int
    name: str
    province_name: str
    score: float
    matches: list[ResourceMatch]

    @property
    def best(self) -> ResourceMatch:
        return self.matches[0]


@dataclass
class DemandMatch:
    demand: Demand
    scored: Scored

    @property
    def score(self) -> float:
        return self.scored.score


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _pick(row: dict[str, Any], zh: str, en: str) -> str:
    value: str = (row.get(en) if _english() else None) or row.get(zh) or ""
    return value


# --- demands ---------------------------------------------------------------------------


def demand_parts(
    *, title_zh: str, title_en: str = "", keywords: str = "", summary_zh: str, summary_en: str = ""
) -> list[tuple[str, float]]:
    """The public text of a demand with its weights. Confidential details never take part:
    the matched terms are shown to everyone, and must not reveal them."""
    return [
        (title_zh, TITLE_WEIGHT),
        (title_en, TITLE_WEIGHT),
        (keywords.replace(";", " "), TITLE_WEIGHT),
        (summary_zh, 1.0),
        (summary_en, 1.0),
    ]


def key_terms(demand: Demand, searcher: tantivy.Searcher | None = None) -> list[KeyTerm]:
    """The demand's key terms weighted against the live catalog index."""
    parts = demand_parts(
        title_zh=demand.title_zh,
        title_en=demand.title_en,
        keywords=demand.keywords,
        summary_zh=demand.summary_zh,
        summary_en=demand.summary_en,
    )
    return keyterms.extract(parts, searcher or engine.reader.searcher())


def profile_for(demand: Demand, terms: Sequence[KeyTerm] | None = None) -> DemandProfile:
    """The matching profile of a demand (saved or not); `terms` default to fresh ones."""
    field = demand.field
    region = demand.region
    province = region.province if region.province_id else region
    return DemandProfile(
        terms=tuple(terms if terms is not None else key_terms(demand)),
        field_code=field.code if field else "",
        field_name=field.name if field else "",
        budget_min_fen=demand.budget_min_fen,
        budget_max_fen=demand.budget_max_fen,
        min_trl=demand.min_trl,
        province=province.code if province else "",
        province_name=province.name if province else "",
        organisation_id=demand.organisation_id,
    )


# --- listings ----------------------------------------------------------------------------

COLUMNS = (
    "id",
    "kind",
    "ref",
    "title_zh",
    "title_en",
    "summary_zh",
    "summary_en",
    "keywords",
    "owner_id",
    "owner__name_zh",
    "owner__name_en",
    "field__code",
    "field__name_zh",
    "field__name_en",
    "price_fen",
    "region__province_id",
    "region__province__name_zh",
    "region__province__name_en",
    "achievement__trl",
    "achievement__stage__code",
    "achievement__problem",
    "achievement__advantages",
    "instrument__manufacturer",
    "instrument__model_name",
    "expert__person_title",
)


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _listing(row: dict[str, Any]) -> Listing:
    return Listing(
        id=row["id"],
        kind=row["kind"],
        ref=row["ref"],
        title=_pick(row, "title_zh", "title_en"),
        summary=_pick(row, "summary_zh", "summary_en"),
        owner_id=row["owner_id"],
        owner_name=_pick(row, "owner__name_zh", "owner__name_en"),
        strong_text=_join(
            row["title_zh"],
            row["title_en"],
            row["keywords"].replace(";", " "),
            row["instrument__manufacturer"],
            row["instrument__model_name"],
        ),
        body_text=_join(
            row["summary_zh"],
            row["summary_en"],
            row["achievement__problem"],
            row["achievement__advantages"],
            row["expert__person_title"],
        ),
        field_code=row["field__code"] or "",
        field_name=_pick(row, "field__name_zh", "field__name_en"),
        price_fen=row["price_fen"],
        province=row["region__province_id"] or "",
        province_name=_pick(row, "region__province__name_zh", "region__province__name_en"),
        trl=row["achievement__trl"],
        stage=row["achievement__stage__code"] or "",
    )


def load_listings(ids: Iterable[int], *, published_only: bool = True) -> dict[int, Listing]:
    """Listings by id, read as plain rows (hydration as in search: only public rows)."""
    qs = Resource.objects.filter(pk__in=list(ids))
    if published_only:
        qs = qs.filter(status=Status.PUBLISHED).exclude(owner__status__in=HIDDEN_OWNER_STATUSES)
    return {row["id"]: _listing(row) for row in qs.order_by().values(*COLUMNS)}


def _term(name: str, value: str) -> tantivy.Query:
    return tantivy.Query.term_query(engine.SCHEMA, name, value)


def retrieval_query(
    terms: Sequence[KeyTerm],
    searcher: tantivy.Searcher,
    *,
    kinds: Sequence[str] = (),
    exclude_owner: int | None = None,
) -> tantivy.Query | None:
    """Listings containing any retrieving key term, ranked by BM25 with the terms' weights."""
    if not terms:
        return None
    limit = max(COMMON_MIN_DOCS, COMMON_SHARE * searcher.num_docs)
    retrieving = [t for t in terms if searcher.doc_freq("all", t.token) <= limit] or list(terms)
    top = max(t.weight for t in retrieving) or 1.0
    text = tantivy.Query.boolean_query(
        [
            (
                tantivy.Occur.Should,
                tantivy.Query.boost_query(_term("all", t.token), max(0.05, t.weight / top)),
            )
            for t in retrieving
        ]
    )
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = [(tantivy.Occur.Must, text)]
    if kinds and set(kinds) != set(KINDS):
        which = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, _term("kind", k)) for k in kinds]
        )
        clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(which, 0.0)))
    if exclude_owner is not None:
        owner = tantivy.Query.range_query(
            engine.SCHEMA, "owner", tantivy.FieldType.Integer, exclude_owner, exclude_owner
        )
        clauses.append((tantivy.Occur.MustNot, owner))
    return tantivy.Query.boolean_query(clauses)


def candidate_ids(
    profile: DemandProfile,
    *,
    kinds: Sequence[str] = KINDS,
    limit: int = CANDIDATES,
    searcher: tantivy.Searcher | None = None,
) -> list[int]:
    """The ids of the `limit` listings of `kinds` the search index ranks highest."""
    searcher = searcher or engine.reader.searcher()
    query = retrieval_query(
        profile.terms, searcher, kinds=kinds, exclude_owner=profile.organisation_id
    )
    if query is None:
        return []
    addresses = [addr for _, addr in searcher.search(query, limit, count=False).hits]
    if not addresses:
        return []
    return [int(i or 0) for i in searcher.fast_field_values("id", addresses)]


def match_listings(
    profile: DemandProfile,
    *,
    kinds: Sequence[str] = KINDS,
    limit: int = 20,
    candidates: int = CANDIDATES,
) -> list[ResourceMatch]:
    """The best `limit` listings of `kinds` for the demand, best first."""
    listings = load_listings(candidate_ids(profile, kinds=kinds, limit=candidates))
    matches = []
    for listing in listings.values():
        if listing.owner_id == profile.organisation_id:
            continue
        scored = scoring.score(profile, listing)
        if scored.matched_terms:
            matches.append(ResourceMatch(listing=listing, scored=scored))
    matches.sort(key=lambda m: (-m.score, m.listing.id))
    return matches[:limit]


def providers(matches: Iterable[ResourceMatch], *, limit: int = 10) -> list[ProviderMatch]:
    """The organisations behind `matches`, ranked."""
    by_owner: dict[int, list[ResourceMatch]] = {}
    for m in matches:
        by_owner.setdefault(m.listing.owner_id, []).append(m)
    out = []
    for owner_id, ms in by_owner.items():
        ms.sort(key=lambda m: (-m.score, m.listing.id))
        bonus = min(PROVIDER_BREADTH_CAP, PROVIDER_BREADTH_BONUS * (len(ms) - 1))
        out.append(
            ProviderMatch(
                organisation_id=owner_id,
                name=ms[0].listing.owner_name,
                province_name=ms[0].listing.province_name,
                score=round(min(1.0, ms[0].score + bonus), 4),
                matches=ms,
            )
        )
    out.sort(key=lambda p: (-p.score, p.organisation_id))
    return out[:limit]


# --- demands for a listing ---------------------------------------------------------------


def open_demands() -> QuerySet[Demand]:
    """Published demands whose deadline has not passed."""
    return Demand.objects.filter(status=Demand.Status.PUBLISHED, deadline__gte=timezone.localdate())


def match_demands(resource_id: int, *, limit: int = 10) -> list[DemandMatch]:
    """The open demands a listing answers best, best first (its owner's own left out)."""
    listing = load_listings([resource_id], published_only=False).get(resource_id)
    if listing is None:
        return []
    tokens = listing.tokens()
    if not tokens:
        return []
    candidates = list(
        DemandTerm.objects.filter(token__in=sorted(tokens))
        .filter(demand__in=open_demands())
        .exclude(demand__organisation_id=listing.owner_id)
        .values_list("demand_id", flat=True)
        .distinct()[:MAX_DEMAND_CANDIDATES]
    )
    if not candidates:
        return []
    demands = Demand.objects.filter(pk__in=candidates).select_related(
        "organisation", "field", "region__province"
    )
    terms: dict[int, list[KeyTerm]] = {}
    for demand_id, token, label, weight in DemandTerm.objects.filter(
        demand_id__in=candidates
    ).values_list("demand_id", "token", "label", "weight"):
        terms.setdefault(demand_id, []).append(KeyTerm(token, label, weight))
    out = [
        DemandMatch(demand=d, scored=scoring.score(profile_for(d, terms.get(d.pk, [])), listing))
        for d in demands
    ]
    out = [m for m in out if m.scored.matched_terms]
    out.sort(key=lambda m: (-m.score, -m.demand.pk))
    return out[:limit]
