"""Web forms. Listing forms reuse the catalog's validation forms field for field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation, User


class LoginForm(AuthenticationForm):
    """Django's login form; django-axes counts its failures."""


class SignupForm(UserCreationForm):
    email = forms.EmailField(label=_("Email"), required=True, max_length=254)
    display_name = forms.CharField(label=_("Name"), max_length=100, required=False)

    class Meta:
        model = User
        fields = ("username", "email", "display_name")


class OrganisationApplyForm(forms.Form):
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=Organisation.Type.choices)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=40,
        help_text=_("18 characters, as printed on the business licence."),
    )
    region = forms.ChoiceField(label=_("Region"))
    is_high_tech = forms.BooleanField(label=_("High-tech enterprise"), required=False)
    is_tech_sme = forms.BooleanField(label=_("Tech SME"), required=False)
    website = forms.URLField(
        label=_("Website"), required=False, assume_scheme="https", max_length=200
    )
    contact_email = forms.EmailField(label=_("Contact email"), required=False, max_length=254)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    description = forms.CharField(
        label=_("Description"), max_length=5000, required=False, widget=forms.Textarea
    )

    def __init__(self, *args: Any, region_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices  # type: ignore[attr-defined]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("verify", _("Verify")), ("reject", _("Reject"))], widget=forms.HiddenInput
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)
