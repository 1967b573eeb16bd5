"""Matching quality on the labelled set (tests/data/matching_labels.json): the demo catalog
plus the labelled achievements, indexed; 48 demands with 136 graded relevant listings.
The matcher must beat plain catalog search on the same demands by nDCG@10 — on the demand's
text and on its title alone — and keep its own level (a floor to catch regressions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from innocommons.catalog.search import indexer
from innocommons.market.matching import evaluation

LABELS = Path(__file__).resolve().parent.parent / "data" / "matching_labels.json"

pytestmark = pytest.mark.django_db


def test_the_labelled_set_is_large_enough_and_well_formed() -> None:
    labels = evaluation.load_labels(LABELS)
    pairs = [(d["id"], r["ref"]) for d in labels["demands"] for r in d["relevant"]]
    assert len(pairs) >= 100 and len(set(pairs)) == len(pairs)
    assert all(r["grade"] in (1, 2, 3) for d in labels["demands"] for r in d["relevant"])
    assert all(d["text_zh"] and d["field"] for d in labels["demands"])


def test_matcher_beats_plain_search(capsys) -> None:
    labels = evaluation.load_labels(LABELS)
    evaluation.load_catalog(labels)
    indexer.reindex()
    matcher, search_text, search_title = evaluation.evaluate(labels)
    with capsys.disabled():
        print()
        for scores in (matcher, search_text, search_title):
            print(scores.line())
    assert len(matcher.ndcg) == len(labels["demands"])
    assert matcher.mean_ndcg > search_text.mean_ndcg
    assert matcher.mean_ndcg > search_title.mean_ndcg
    assert matcher.mean_recall > search_title.mean_recall
    assert matcher.mean_ndcg >= 0.85 and matcher.mean_recall >= 0.75
