"""Text → search tokens, the same way at index and at query time.

Chinese is segmented by rjieba (index: `cut_for_search`, which also emits the shorter words
inside long ones; query: the precise `cut`). Everything is NFKC-normalised (full-width
letters become ASCII) and lower-cased; tokens without a letter or digit are dropped, so
quotes, operators and emoji never reach the engine. English plurals are folded by a light
suffix rule that is applied identically on both sides.
"""

from __future__ import annotations

import re
import unicodedata

import rjieba

MAX_TOKEN_CHARS = 40
MAX_QUERY_TOKENS = 24
MAX_QUERY_CHARS = 500


def _fold(token: str) -> str:
    """A deliberately small English normaliser: plural "s"/"es"/"ies" endings."""
    if len(token) < 4 or not token.isascii() or not token.isalpha():
        return token
    if token.endswith("ies"):
        return token[:-3] + "y"
    if token.endswith(("sses", "shes", "ches", "xes")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _clean(token: str) -> str | None:
    """A token's searchable form, or None for punctuation, spaces and over-long tokens."""
    if not token.isalnum():
        # Rare: a token mixing letters with symbols; keep its letters and digits.
        token = "".join(ch for ch in token if ch.isalnum())
        if not token:
            return None
    if len(token) > MAX_TOKEN_CHARS:
        return None
    return _fold(token)


# Control and format characters become spaces so they can never glue tokens together.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def _normalise(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _CONTROLS.sub(" ", text).lower()


def index_tokens(text: str) -> list[str]:
    """Tokens to index for `text` (recall-oriented segmentation)."""
    if not text:
        return []
    tokens = []
    for raw in rjieba.cut_for_search(_normalise(text)):
        token = _clean(raw)
        if token:
            tokens.append(token)
    return tokens


def query_tokens(text: str) -> list[str]:
    """Distinct tokens of a user's query, in order, bounded in number and length."""
    if not text:
        return []
    text = _normalise(text[:MAX_QUERY_CHARS])
    seen: dict[str, None] = {}
    for raw in rjieba.cut(text):
        token = _clean(raw)
        if token and token not in seen:
            seen[token] = None
            if len(seen) >= MAX_QUERY_TOKENS:
                break
    return list(seen)
