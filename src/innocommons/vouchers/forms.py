"""Web forms of the vouchers app. People type yuan; the services take fen.

The forms check only the shape of the input (a number, a date, a choice); the rules
(caps, budget, eligibility, state) live in the services, whose `DomainError` the views put
back on the form field it names (`SERVICE_FIELDS` maps the service's names to ours).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from innocommons.core.errors import DomainError
from innocommons.core.money import fen_to_yuan, yuan_to_fen
from innocommons.vouchers.models import Programme
from innocommons.vouchers.services import ProgrammeInput

# service field name → form field name
SERVICE_FIELDS = {
    "budget_fen": "budget",
    "max_per_voucher_fen": "max_per_voucher",
    "max_per_enterprise_year_fen": "max_per_enterprise_year",
    "coverage_bp": "coverage_percent",
    "amount_fen": "amount",
    "day": "period",
}


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's error on the field it names, or on the form as a whole."""
    for err in exc.errors():
        name = SERVICE_FIELDS.get(err["field"], err["field"])
        form.add_error(name if name in form.fields else None, err["message"])


class YuanField(forms.Field):
    """An amount typed in yuan ("12,345.50", "¥800") cleaned to integer fen."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "maxlength": "20"})
    default_error_messages = {
        "invalid": _("Enter an amount in yuan, for example 12,345.50."),
        "negative": _("The amount cannot be negative."),
        "zero": _("The amount must be greater than zero."),
    }

    def __init__(self, *, allow_zero: bool = False, **kwargs: Any):
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{fen_to_yuan(value)}"
        return value

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()[:30]
        cleaned = text.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
        try:
            exponent = Decimal(cleaned).as_tuple().exponent
            fen = yuan_to_fen(text)
        except (ValueError, InvalidOperation):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not isinstance(exponent, int) or exponent < -2:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if fen < 0:
            raise ValidationError(self.error_messages["negative"], code="negative")
        if fen == 0 and not self.allow_zero:
            raise ValidationError(self.error_messages["zero"], code="zero")
        return fen


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any):
        super().__init__(format="%Y-%m-%d", **kwargs)


class ProgrammeForm(forms.Form):
    region = forms.ChoiceField(label=_("Issuing region"))
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    agency = forms.CharField(label=_("Issuing agency"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    budget = YuanField(label=_("Budget (yuan)"), allow_zero=True, required=False)
    coverage_percent = forms.DecimalField(
        label=_("Coverage of the fee (%)"),
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        decimal_places=2,
        initial=Decimal("50"),
        help_text=_("The share of an order's fee a voucher pays, e.g. 50."),
    )
    max_per_voucher = YuanField(label=_("Cap per voucher (yuan)"))
    max_per_enterprise_year = YuanField(
        label=_("Cap per enterprise and year (yuan)"),
        help_text=_("Shared by related organisations (same actual controller)."),
    )
    opens_on = forms.DateField(label=_("Applications from"), widget=DateInput())
    closes_on = forms.DateField(label=_("Applications until"), widget=DateInput())
    voucher_valid_days = forms.IntegerField(
        label=_("Voucher validity (days)"), min_value=1, max_value=3660, initial=365
    )
    require_tech_sme = forms.BooleanField(label=_("Only tech-based SMEs"), required=False)
    require_high_tech = forms.BooleanField(label=_("Only high-tech enterprises"), required=False)
    scope = forms.ChoiceField(
        label=_("Acceptance scope"),
        choices=Programme.Scope.choices,
        initial=Programme.Scope.COMMUNITY,
    )
    scope_group = forms.ChoiceField(
        label=_("Accepting region group"),
        required=False,
        help_text=_("Only for the scope “a region group”."),
    )
    settlement_period = forms.ChoiceField(
        label=_("Settlement period"),
        choices=Programme.Period.choices,
        initial=Programme.Period.QUARTERLY,
    )
    eligible_categories = forms.MultipleChoiceField(
        label=_("Eligible service categories"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("None selected means every category."),
    )

    def __init__(
        self,
        *args: Any,
        region_choices: list[tuple[str, str]],
        group_choices: list[tuple[str, str]],
        category_choices: list[tuple[str, str]],
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices  # type: ignore[attr-defined]
        self.fields["scope_group"].choices = [("", "—"), *group_choices]  # type: ignore[attr-defined]
        self.fields["eligible_categories"].choices = category_choices  # type: ignore[attr-defined]

    def to_input(self) -> ProgrammeInput:
        d = self.cleaned_data
        return ProgrammeInput(
            region=d["region"],
            name_zh=d["name_zh"],
            name_en=d["name_en"],
            agency=d["agency"],
            description=d["description"],
            budget_fen=d["budget"] or 0,
            coverage_bp=int(d["coverage_percent"] * 100),
            max_per_voucher_fen=d["max_per_voucher"],
            max_per_enterprise_year_fen=d["max_per_enterprise_year"],
            opens_on=d["opens_on"],
            closes_on=d["closes_on"],
            voucher_valid_days=d["voucher_valid_days"],
            require_tech_sme=d["require_tech_sme"],
            require_high_tech=d["require_high_tech"],
            scope=d["scope"],
            scope_group=d["scope_group"] or "",
            settlement_period=d["settlement_period"],
            eligible_categories=list(d["eligible_categories"]),
        )


class ApplyForm(forms.Form):
    organisation = forms.TypedChoiceField(label=_("Applying organisation"), coerce=int)
    amount = YuanField(label=_("Amount (yuan)"))
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Which services you plan to use and why."),
    )

    def __init__(self, *args: Any, organisation_choices: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = organisation_choices  # type: ignore[attr-defined]


class ApplicationDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.HiddenInput
    )
    amount = YuanField(
        label=_("Amount to approve (yuan)"),
        required=False,
        help_text=_("Leave empty to approve the amount applied for, or enter a smaller one."),
    )
    reason = forms.CharField(
        label=_("Reason or note"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when rejecting; the applicant sees it."),
    )


class ClaimDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.HiddenInput
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when rejecting; the provider sees it."),
    )


class BudgetForm(forms.Form):
    amount = YuanField(label=_("Add to the budget (yuan)"))


class ProgrammeStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Programme.Status.choices)


class BatchForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Settlement period"),
        choices=[("current", _("Current period")), ("previous", _("Previous period"))],
    )


class PayForm(forms.Form):
    payment_reference = forms.CharField(
        label=_("Payment reference"),
        max_length=100,
        help_text=_("The bank's or treasury's reference of the transfer."),
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
