"""Measuring the matcher against labelled demands (tests/data/matching_labels.json).

Each labelled demand lists the listings an expert would send it, graded 3 (solves it), 2
(strongly helps) or 1 (partly relevant). The matcher's top ten is scored by nDCG@10 (gain
2^grade − 1, log2 discount) and recall@10, and so is plain catalog search on the same text —
what the enterprise gets by pasting its demand into the search box — and on its title alone
(what it would type), as baselines.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from innocommons.accounts.models import Organisation
from innocommons.catalog import demo
from innocommons.catalog.models import Resource, Term
from innocommons.catalog.search.query import SearchParams, search
from innocommons.core.models import Region
from innocommons.market.matching import matcher
from innocommons.market.models import Demand

K = 10


def load_labels(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def load_catalog(labels: dict[str, Any]) -> int:
    """Load the demo catalog and the labelled set's extra listings (idempotent); the caller
    indexes them. Returns how many listings were created."""
    created, _ = demo.load_demo()
    rows = labels["resources"]
    refs = [r["ref"] for section in rows.values() for r in section]
    have = set(Resource.objects.filter(ref__in=refs).values_list("ref", flat=True))
    new = {name: [r for r in section if r["ref"] not in have] for name, section in rows.items()}
    return created + demo.load_listings(new, demo.demo_organisations())


def demand_of(item: dict[str, Any], orgs: dict[str, Organisation]) -> Demand:
    """An unsaved demand from a labelled item."""
    low, high = item.get("budget_fen") or [None, None]
    return Demand(
        organisation=orgs[item["org"]],
        region=Region.objects.select_related("province").get(code=item["region"]),
        field=Term.objects.get(scheme=Term.Scheme.TECH_FIELD, code=item["field"]),
        title_zh=item["title_zh"],
        title_en=item.get("title_en", ""),
        summary_zh=item["text_zh"],
        summary_en=item.get("text_en", ""),
        keywords=";".join(item.get("keywords", [])),
        budget_min_fen=low,
        budget_max_fen=high,
        min_trl=item.get("min_trl"),
    )


def ndcg(ranked: Sequence[str], grades: dict[str, int], k: int = K) -> float:
    dcg = sum((2 ** grades.get(ref, 0) - 1) / math.log2(i + 2) for i, ref in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: Sequence[str], grades: dict[str, int], k: int = K) -> float:
    relevant = {ref for ref, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


@dataclass
class Scores:
    name: str
    ndcg: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)

    @property
    def mean_ndcg(self) -> float:
        return statistics.fmean(self.ndcg) if self.ndcg else 0.0

    @property
    def mean_recall(self) -> float:
        return statistics.fmean(self.recall) if self.recall else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<34} nDCG@{K}={self.mean_ndcg:.3f}  recall@{K}={self.mean_recall:.3f}  "
            f"(n={len(self.ndcg)})"
        )


def _refs(ids: Sequence[int]) -> list[str]:
    refs = dict(Resource.objects.filter(pk__in=list(ids)).values_list("pk", "ref"))
    return [refs.get(i) or f"#{i}" for i in ids]


def matcher_ranking(demand: Demand) -> list[str]:
    matches = matcher.match_listings(matcher.profile_for(demand), limit=K)
    return [m.listing.ref or f"#{m.listing.id}" for m in matches]


def search_ranking(text: str) -> list[str]:
    return _refs(search(SearchParams(q=text, page_size=K), with_facets=False, hydrate=False).ids)


def evaluate(labels: dict[str, Any]) -> list[Scores]:
    """nDCG@10 and recall@10 per system over the labelled demands (catalog loaded and
    indexed by the caller)."""
    orgs = demo.demo_organisations()
    systems: list[tuple[Scores, Callable[[dict[str, Any], Demand], list[str]]]] = [
        (Scores("matcher"), lambda item, d: matcher_ranking(d)),
        (
            Scores("search: demand text"),
            lambda item, d: search_ranking(f"{item['title_zh']} {item['text_zh']}"),
        ),
        (Scores("search: demand title"), lambda item, d: search_ranking(item["title_zh"])),
    ]
    for item in labels["demands"]:
        grades = {r["ref"]: int(r["grade"]) for r in item["relevant"]}
        demand = demand_of(item, orgs)
        for scores, rank in systems:
            ranked = rank(item, demand)
            scores.ndcg.append(ndcg(ranked, grades))
            scores.recall.append(recall(ranked, grades))
    return [s for s, _ in systems]
