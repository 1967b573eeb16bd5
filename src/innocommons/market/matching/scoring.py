"""The score of a (demand, listing) pair and the reasons that produced it.

score = Σ weight × value over five factors, each value in [0, 1]:

- text (0.60): the share of the demand's key-term weight the listing contains — a term in
  the listing's title or keywords counts fully, one only in its description 70% — reaching
  1 at TEXT_FULL of the weight (no listing says everything a demand says);
- field (0.15): the same technology sub-field 1, one inside the other 0.8, the same field
  0.6, another field 0, not stated 0.5;
- maturity (0.10, achievements): TRL (or the stage's TRL) at least what the demand needs 1,
  less a quarter per level short; what it needs is the demand's own TRL if it states one,
  else TRL 6 for a budget of a million yuan or more (money for use near production, DESIGN
  §6 "通过中试"), else nothing in particular (0.5); other kinds 0.5;
- price (0.10): asking price within the budget 1, up to a quarter above 0.6, up to twice
  0.25, beyond 0; price on request or no budget 0.5;
- region (0.05): a listing in the demand's own province 1, elsewhere 0 — a small bonus,
  never a filter: resources flowing across regions is the point of the community.

Neutral values (0.5) keep kinds without a factor comparable with those that have it. The
same function scores both directions (listings for a demand, demands for a listing).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from innocommons.catalog.models import Kind
from innocommons.core.money import format_yuan
from innocommons.market.matching.keyterms import KeyTerm, tokens_of

WEIGHTS = {"text": 0.60, "field": 0.15, "maturity": 0.10, "price": 0.10, "region": 0.05}
TEXT_FULL = 0.5
BODY_ONLY = 0.7  # a term only in a listing's description, not its title or keywords
NEUTRAL = 0.5
# DESIGN §6: the market's maturity stages, as the lowest TRL each implies.
STAGE_TRL = {"rnd": 3, "sample": 4, "lab": 5, "pilot": 6, "mass": 8}
NEAR_PRODUCTION_BUDGET_FEN = 1_000_000 * 100
NEAR_PRODUCTION_TRL = 6
# A provider whose listings match at least this well is alerted when the demand is published.
ALERT_THRESHOLD = 0.55


@dataclass(frozen=True)
class DemandProfile:
    """What matching needs to know about a demand."""

    terms: tuple[KeyTerm, ...]
    field_code: str = ""
    field_name: str = ""
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    min_trl: int | None = None
    province: str = ""
    province_name: str = ""
    organisation_id: int | None = None

    def wanted_trl(self) -> tuple[int | None, str]:
        """The TRL the demand needs, and why: ("stated" | "budget" | "")."""
        if self.min_trl:
            return self.min_trl, "stated"
        if (self.budget_max_fen or 0) >= NEAR_PRODUCTION_BUDGET_FEN:
            return NEAR_PRODUCTION_TRL, "budget"
        return None, ""


@dataclass
class Listing:
    """What matching needs to know about a catalog listing.

    Its text is kept as two normalised, lower-case strings — the title with the keywords
    (and an instrument's maker and model), and the descriptions — in which a key term is
    looked up directly: Chinese terms as substrings (jieba's search mode indexes the parts
    of words too), Latin terms and numbers at a word start (a stem such as "microscop"
    finds "microscopes"). That is a hundred times cheaper than segmenting every candidate.
    """

    id: int
    kind: str
    title: str
    owner_id: int
    owner_name: str
    strong_text: str = ""
    body_text: str = ""
    field_code: str = ""
    field_name: str = ""
    price_fen: int | None = None
    province: str = ""
    province_name: str = ""
    trl: int | None = None
    stage: str = ""
    ref: str | None = None
    summary: str = ""

    def __post_init__(self) -> None:
        self.strong_text = normalise(self.strong_text)
        self.body_text = normalise(self.body_text)

    @property
    def url(self) -> str:
        return f"/resources/{self.id}/"

    @property
    def kind_label(self) -> str:
        return str(dict(Kind.choices).get(self.kind, self.kind))

    def effective_trl(self) -> int | None:
        return self.trl or STAGE_TRL.get(self.stage)

    def place(self, token: str) -> float:
        """1 when the token is in the title or keywords, BODY_ONLY when only in the
        descriptions, else 0."""
        if token.isascii():
            pattern = _word_start(token)
            if pattern.search(self.strong_text):
                return 1.0
            return BODY_ONLY if pattern.search(self.body_text) else 0.0
        if token in self.strong_text:
            return 1.0
        return BODY_ONLY if token in self.body_text else 0.0

    def tokens(self) -> set[str]:
        """Every content token of the listing, as the index has them."""
        return tokens_of(f"{self.strong_text} {self.body_text}")


def normalise(text: str) -> str:
    if text and not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.lower()


@functools.lru_cache(maxsize=4096)
def _word_start(token: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(token))


class Reason:
    """One factor of a score: its value in [0, 1], its points (value × weight) and a
    sentence saying why, in the active language — written only when read, since most
    candidates are scored and dropped without anyone reading why."""

    __slots__ = ("_label", "factor", "points", "terms", "value")

    def __init__(
        self,
        factor: str,
        value: float,
        label: str | Callable[[], str],
        terms: list[str] | None = None,
    ) -> None:
        self.factor = factor
        self.value = value
        self.points = value * WEIGHTS[factor]
        self._label = label
        self.terms = terms or []

    @property
    def label(self) -> str:
        if callable(self._label):
            self._label = self._label()
        return self._label

    def as_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "value": round(self.value, 3),
            "points": round(self.points, 3),
            "label": self.label,
            "terms": self.terms,
        }


@dataclass
class Scored:
    score: float
    reasons: list[Reason]
    matched_terms: list[str]
    coverage: float


def _money(fen: int) -> str:
    text = format_yuan(fen)
    return text[:-3] if text.endswith(".00") else text


def text_value(terms: tuple[KeyTerm, ...], listing: Listing) -> tuple[float, list[str], float]:
    """(value, labels of the matched terms, coverage of the demand's key-term weight)."""
    total = got = 0.0
    matched: list[str] = []
    for t in terms:
        total += t.weight
        place = listing.place(t.token)
        if place:
            got += t.weight * place
            matched.append(t.label)
    coverage = got / total if total else 0.0
    return min(1.0, coverage / TEXT_FULL), matched, coverage


def text_reason(terms: tuple[KeyTerm, ...], listing: Listing) -> tuple[Reason, list[str], float]:
    value, matched, coverage = text_value(terms, listing)

    def label() -> str:
        if not matched:
            return _("No key term of the demand in common")
        return _(
            "Matches %(n)d of %(total)d key terms (%(share)d%% of their weight): %(terms)s"
        ) % {
            "n": len(matched),
            "total": len(terms),
            "share": round(coverage * 100),
            "terms": "、".join(matched),
        }

    return _reason("text", value, label, matched), matched, coverage


def field_reason(profile: DemandProfile, listing: Listing) -> Reason:
    a, b = profile.field_code, listing.field_code
    if not a or not b:
        return _reason("field", NEUTRAL, lambda: _("Field not stated"))

    def names() -> dict[str, str]:
        return {"demand": profile.field_name or a, "listing": listing.field_name or b}

    if a == b:
        return _reason("field", 1.0, lambda: _("Same field: %(demand)s") % names())
    if a.startswith(b) or b.startswith(a):
        return _reason("field", 0.8, lambda: _("Field within the demand's: %(listing)s") % names())
    if a[:2] == b[:2]:
        return _reason(
            "field", 0.6, lambda: _("Related field: %(listing)s (demand: %(demand)s)") % names()
        )
    return _reason(
        "field", 0.0, lambda: _("Other field: %(listing)s (demand: %(demand)s)") % names()
    )


def maturity_reason(profile: DemandProfile, listing: Listing) -> Reason:
    if listing.kind != "achievement":
        return _reason("maturity", NEUTRAL, lambda: _("Maturity: not applicable to this kind"))
    wanted, why = profile.wanted_trl()
    trl = listing.effective_trl()
    if wanted is None:
        if trl is None:
            return _reason(
                "maturity", NEUTRAL, lambda: _("No maturity needed; maturity not stated")
            )
        return _reason(
            "maturity", NEUTRAL, lambda: _("No maturity needed; TRL %(trl)d") % {"trl": trl}
        )

    def need() -> str:
        if why == "stated":
            return _("TRL ≥ %(n)d needed") % {"n": wanted}
        return _("TRL ≥ %(n)d expected for a budget of a million yuan or more") % {"n": wanted}

    if trl is None:
        return _reason(
            "maturity", 0.25, lambda: _("Maturity not stated (%(need)s)") % {"need": need()}
        )
    if trl >= wanted:
        return _reason(
            "maturity",
            1.0,
            lambda: _("TRL %(trl)d: fits (%(need)s)") % {"trl": trl, "need": need()},
        )
    return _reason(
        "maturity",
        max(0.0, 1.0 - (wanted - trl) / 4),
        lambda: _("TRL %(trl)d: below (%(need)s)") % {"trl": trl, "need": need()},
    )


def price_reason(profile: DemandProfile, listing: Listing) -> Reason:
    low, high, price = profile.budget_min_fen, profile.budget_max_fen, listing.price_fen
    if low is None and high is None:
        return _reason("price", NEUTRAL, lambda: _("No budget stated"))
    if price is None:
        return _reason("price", NEUTRAL, lambda: _("Price on request or negotiable"))

    def values() -> dict[str, str]:
        return {"price": _money(price), "budget": _money(high) if high is not None else ""}

    if high is None or price <= high:
        return _reason("price", 1.0, lambda: _("Asking %(price)s: within the budget") % values())
    if price <= high * 1.25:
        return _reason(
            "price",
            0.6,
            lambda: (
                _("Asking %(price)s: up to a quarter above the budget of %(budget)s") % values()
            ),
        )
    if price <= high * 2:
        return _reason(
            "price",
            0.25,
            lambda: _("Asking %(price)s: above the budget of %(budget)s") % values(),
        )
    return _reason(
        "price", 0.0, lambda: _("Asking %(price)s: far above the budget of %(budget)s") % values()
    )


def region_reason(profile: DemandProfile, listing: Listing) -> Reason:
    if profile.province and profile.province == listing.province:
        return _reason(
            "region",
            1.0,
            lambda: _("Same region: %(region)s") % {"region": listing.province_name},
        )
    return _reason(
        "region",
        0.0,
        lambda: (
            _("Across regions: %(region)s") % {"region": listing.province_name or listing.province}
        ),
    )


def _reason(
    factor: str, value: float, label: str | Callable[[], str], terms: list[str] | None = None
) -> Reason:
    return Reason(factor, value, label, terms)


def score(profile: DemandProfile, listing: Listing) -> Scored:
    """The score of `listing` for the demand `profile`, with one reason per factor."""
    text, matched, coverage = text_reason(profile.terms, listing)
    reasons = [
        text,
        field_reason(profile, listing),
        maturity_reason(profile, listing),
        price_reason(profile, listing),
        region_reason(profile, listing),
    ]
    return Scored(
        score=round(sum(r.points for r in reasons), 4),
        reasons=reasons,
        matched_terms=matched,
        coverage=coverage,
    )
