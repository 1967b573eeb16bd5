"""Text → search terms, the same way at index and at query time.

Chinese is segmented by rjieba (index: `cut_for_search`, which also emits the shorter words
inside long ones; query: the precise `cut`), and the words are joined by spaces. Tantivy's
own analyzer (ANALYZER, registered on every index as "zh_en") then does the per-token work
in Rust: split on anything that is not a letter or digit, drop over-long tokens, lower-case,
and stem English ("microscopes" → "microscop"). Text is NFKC-normalised first (full-width
letters become ASCII) and control characters become spaces, so quotes, operators, emoji and
control characters never reach a query as syntax.
"""

from __future__ import annotations

import re
import unicodedata

import rjieba
import tantivy

MAX_QUERY_TOKENS = 24
MAX_QUERY_CHARS = 500
ANALYZER_NAME = "zh_en"
ANALYZER = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.remove_long(40))
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)

_CONTROLS = re.compile(
    "[\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff]"
)


def _normalise(text: str) -> str:
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return _CONTROLS.sub(" ", text)


def segment_for_index(text: str) -> str:
    """`text` with its words separated by spaces, ready for the "zh_en" analyzer."""
    if not text:
        return ""
    return " ".join(rjieba.cut_for_search(_normalise(text)))


def index_tokens(text: str) -> list[str]:
    """The terms the index holds for `text` (for tests and diagnostics)."""
    return list(ANALYZER.analyze(segment_for_index(text)))


def query_tokens(text: str) -> list[str]:
    """Distinct terms of a user's query, in order, bounded in number and length."""
    if not text:
        return []
    words = " ".join(rjieba.cut(_normalise(text[:MAX_QUERY_CHARS])))
    seen: dict[str, None] = {}
    for token in ANALYZER.analyze(words):
        if token not in seen:
            seen[token] = None
            if len(seen) >= MAX_QUERY_TOKENS:
                break
    tokens = list(seen)
    # A lone Chinese character ("的", "仪", "高") matches a large part of the catalog and adds
    # little: drop such tokens when the query has real words besides them.
    words_only = [t for t in tokens if len(t) > 1 or t.isascii()]
    return words_only or tokens
