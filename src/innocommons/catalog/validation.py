"""Validation of listing input, shared by the web forms, the API and imports."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from innocommons.catalog.models import Achievement, Kind, Term
from innocommons.core.models import Region

KEYWORD_SPLIT = re.compile(r"[;；,，、\n]+")
MAX_KEYWORDS = 20
MAX_YUAN = Decimal("100000000000")  # 1000 亿 — anything above is a typo


def split_keywords(value: Any, limit: int = MAX_KEYWORDS + 1) -> list[str]:
    """Distinct keywords (case-insensitive), at most `limit` of them: enough to tell that a
    list is too long without reading all of it."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else KEYWORD_SPLIT.split(str(value))
    kept: list[str] = []
    seen: set[str] = set()
    for item in items:
        word = str(item).strip()[:40]
        if word and word.lower() not in seen:
            seen.add(word.lower())
            kept.append(word)
            if len(kept) >= limit:
                break
    return kept


class KeywordsField(forms.Field):
    default_validators = [ProhibitNullCharactersValidator()]

    def to_python(self, value: Any) -> str:
        words = split_keywords(value)
        if len(words) > MAX_KEYWORDS:
            raise forms.ValidationError(_("At most %(n)d keywords.") % {"n": MAX_KEYWORDS})
        joined = ";".join(words)
        if len(joined) > 500:
            raise forms.ValidationError(_("Keywords may not exceed 500 characters in total."))
        return joined


class YuanField(forms.DecimalField):
    """A yuan amount entered by a person, returned as integer fen (or None)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", Decimal(0))
        kwargs.setdefault("max_value", MAX_YUAN)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("max_digits", 14)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace(",", "").replace("，", "").replace("¥", "").strip()
        return super().to_python(value)

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        amount = super().clean(value)
        if amount is None:
            return None
        return int((amount * 100).to_integral_value())


class RegionCodeField(forms.CharField):
    def clean(self, value: Any) -> Region | None:  # type: ignore[override]
        code = super().clean(value)
        if not code:
            return None
        region = (
            Region.objects.filter(code=code).first() or Region.objects.filter(name_zh=code).first()
        )
        if region is None:
            raise forms.ValidationError(_("Unknown region: %(v)s") % {"v": str(code)[:20]})
        return region


class TermCodeField(forms.CharField):
    def __init__(self, scheme: str, **kwargs: Any) -> None:
        self.scheme = scheme
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Term | None:  # type: ignore[override]
        code = super().clean(value)
        if not code:
            return None
        term = (
            Term.objects.filter(scheme=self.scheme, code=code).first()
            or Term.objects.filter(scheme=self.scheme, name_zh=code).first()
        )
        if term is None:
            raise forms.ValidationError(_("Unknown taxonomy code: %(v)s") % {"v": str(code)[:20]})
        return term


class ResourceInputForm(forms.Form):
    """Fields common to every kind."""

    title_zh = forms.CharField(label=_("Chinese title"), max_length=200)
    title_en = forms.CharField(label=_("English title"), max_length=200, required=False)
    summary_zh = forms.CharField(label=_("Chinese summary"), max_length=5000, required=False)
    summary_en = forms.CharField(label=_("English summary"), max_length=5000, required=False)
    keywords = KeywordsField(label=_("Keywords"), required=False)
    field = TermCodeField(Term.Scheme.TECH_FIELD, label=_("Technology field"))
    region = RegionCodeField(label=_("Located in"), required=False, max_length=40)
    price_yuan = YuanField(label=_("Price (yuan)"))


class InstrumentInputForm(ResourceInputForm):
    category = TermCodeField(Term.Scheme.INSTRUMENT_CATEGORY, label=_("Instrument category"))
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=200, required=False)
    model_name = forms.CharField(label=_("Model"), max_length=120, required=False)
    origin_country = forms.CharField(label=_("Country of origin"), max_length=60, required=False)
    original_value_yuan = YuanField(label=_("Original value (yuan)"))
    location = forms.CharField(label=_("Location"), max_length=300, required=False)
    fee_per_hour_yuan = YuanField(label=_("Fee per hour (yuan)"))
    fee_per_sample_yuan = YuanField(label=_("Fee per sample (yuan)"))
    opening_hours = forms.CharField(label=_("Opening hours"), max_length=200, required=False)
    sharing_mode = forms.ChoiceField(
        label=_("Sharing mode"),
        required=False,
        choices=[
            ("", "—"),
            ("open", _("Fully open")),
            ("scheduled", _("Open by booking")),
            ("operator_only", _("Operated by instrument staff only")),
        ],
    )
    min_booking_minutes = forms.IntegerField(
        label=_("Minimum booking (minutes)"), required=False, min_value=1, max_value=100_000
    )
    max_booking_minutes = forms.IntegerField(
        label=_("Maximum booking (minutes)"), required=False, min_value=1, max_value=100_000
    )
    lead_time_hours = forms.IntegerField(
        label=_("Booking lead time (hours)"), required=False, min_value=0, max_value=10_000
    )
    needs_approval = forms.NullBooleanField(label=_("Requires approval"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lo, hi = data.get("min_booking_minutes"), data.get("max_booking_minutes")
        if lo and hi and lo > hi:
            self.add_error(
                "max_booking_minutes",
                _("The maximum booking time cannot be shorter than the minimum."),
            )
        return data


class ServiceInputForm(ResourceInputForm):
    category = TermCodeField(Term.Scheme.SERVICE_CATEGORY, label=_("Service category"))
    price_unit = forms.CharField(label=_("Pricing unit"), max_length=40, required=False)
    turnaround_days = forms.IntegerField(
        label=_("Turnaround (days)"), required=False, min_value=0, max_value=3650
    )
    cma = forms.NullBooleanField(label=_("CMA certified"), required=False)
    cnas = forms.NullBooleanField(label=_("CNAS accredited"), required=False)


class TransferModesField(forms.Field):
    default_validators = [ProhibitNullCharactersValidator()]

    def to_python(self, value: Any) -> str:
        items = split_keywords(value)
        labels: dict[str, str] = {}
        for lang in ("zh-hans", "en"):  # accept the label in either language, or the code
            with translation.override(lang):
                labels.update(
                    {str(label).lower(): code for code, label in Achievement.TransferMode.choices}
                )
        codes = []
        for item in items:
            code = labels.get(item.lower(), item.lower())
            if code not in Achievement.TransferMode.values:
                raise forms.ValidationError(_("Unknown transfer mode: %(v)s") % {"v": item[:20]})
            if code not in codes:
                codes.append(code)
        return ",".join(codes)


class AchievementInputForm(ResourceInputForm):
    trl = forms.IntegerField(
        label=_("Technology readiness level (TRL)"),
        required=False,
        validators=[MinValueValidator(1), MaxValueValidator(9)],
    )
    stage = TermCodeField(Term.Scheme.MATURITY_STAGE, label=_("Maturity stage"))
    patents = forms.CharField(label=_("Patent numbers"), max_length=500, required=False)
    transfer_modes = TransferModesField(label=_("Transfer modes"), required=False)
    problem = forms.CharField(label=_("Problem solved"), max_length=3000, required=False)
    advantages = forms.CharField(label=_("Advantages"), max_length=3000, required=False)


class ExpertInputForm(ResourceInputForm):
    person_title = forms.CharField(label=_("Professional title"), max_length=100, required=False)
    email = forms.EmailField(label=_("Email"), required=False, max_length=254)


INPUT_FORMS: dict[str, type[ResourceInputForm]] = {
    Kind.INSTRUMENT: InstrumentInputForm,
    Kind.SERVICE: ServiceInputForm,
    Kind.ACHIEVEMENT: AchievementInputForm,
    Kind.EXPERT: ExpertInputForm,
}

COMMON_FIELDS = ("title_zh", "title_en", "summary_zh", "summary_en", "keywords", "field")
# Form field → model attribute on the detail row, per kind (yuan fields become *_fen).
DETAIL_FIELDS: dict[str, dict[str, str]] = {
    Kind.INSTRUMENT: {
        "category": "category",
        "manufacturer": "manufacturer",
        "model_name": "model_name",
        "origin_country": "origin_country",
        "original_value_yuan": "original_value_fen",
        "location": "location",
        "fee_per_hour_yuan": "fee_per_hour_fen",
        "fee_per_sample_yuan": "fee_per_sample_fen",
        "opening_hours": "opening_hours",
        "sharing_mode": "sharing_mode",
        "min_booking_minutes": "min_booking_minutes",
        "max_booking_minutes": "max_booking_minutes",
        "lead_time_hours": "lead_time_hours",
        "needs_approval": "needs_approval",
    },
    Kind.SERVICE: {
        "category": "category",
        "price_unit": "price_unit",
        "turnaround_days": "turnaround_days",
        "cma": "cma",
        "cnas": "cnas",
    },
    Kind.ACHIEVEMENT: {
        "trl": "trl",
        "stage": "stage",
        "patents": "patents",
        "transfer_modes": "transfer_modes",
        "problem": "problem",
        "advantages": "advantages",
    },
    Kind.EXPERT: {"person_title": "person_title", "email": "email"},
}
