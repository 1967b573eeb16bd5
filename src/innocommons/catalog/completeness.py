"""A listing's completeness score (0–100) and what is missing: it nudges providers towards
listings that sell (DESIGN §9: problem solved, advantages, maturity, IP status, price)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from innocommons.catalog.models import Kind, Resource

Check = tuple[Promise, Callable[[Resource, Any], bool]]

COMMON: list[Check] = [
    (_("English title"), lambda r, d: bool(r.title_en)),
    (_("Chinese description of at least 30 characters"), lambda r, d: len(r.summary_zh) >= 30),
    (_("English description"), lambda r, d: bool(r.summary_en)),
    (_("At least three keywords"), lambda r, d: len(r.keyword_list) >= 3),
    (_("Technology field"), lambda r, d: r.field_id is not None),
]
BY_KIND: dict[str, list[Check]] = {
    Kind.INSTRUMENT: [
        (_("Instrument category"), lambda r, d: d.category_id is not None),
        (_("Manufacturer and model"), lambda r, d: bool(d.manufacturer and d.model_name)),
        (
            _("Fee per hour or per sample"),
            lambda r, d: d.fee_per_hour_fen is not None or d.fee_per_sample_fen is not None,
        ),
        (_("Opening hours"), lambda r, d: bool(d.opening_hours)),
        (_("Location"), lambda r, d: bool(d.location)),
    ],
    Kind.SERVICE: [
        (_("Service category"), lambda r, d: d.category_id is not None),
        (_("Price"), lambda r, d: r.price_fen is not None),
        (_("Turnaround time"), lambda r, d: d.turnaround_days is not None),
    ],
    Kind.ACHIEVEMENT: [
        (_("Problem solved"), lambda r, d: bool(d.problem)),
        (_("Advantages over alternatives"), lambda r, d: bool(d.advantages)),
        (_("Maturity (TRL or stage)"), lambda r, d: d.trl is not None or d.stage_id is not None),
        (_("Patents or IP status"), lambda r, d: bool(d.patents)),
        (_("Transfer modes"), lambda r, d: bool(d.transfer_modes)),
        (_("Asking price"), lambda r, d: r.price_fen is not None),
    ],
    Kind.EXPERT: [
        (_("Professional title"), lambda r, d: bool(d.person_title)),
    ],
}


@dataclass
class Completeness:
    score: int
    missing: list[str]


def completeness(resource: Resource) -> Completeness:
    detail = resource.detail
    checks = COMMON + (BY_KIND.get(resource.kind, []) if detail is not None else [])
    missing = [str(label) for label, ok in checks if not ok(resource, detail)]
    score = round(100 * (len(checks) - len(missing)) / len(checks)) if checks else 100
    return Completeness(score=score, missing=missing)
