"""Forms of the open-challenge pages: they parse and check what a person typed; the
rules live in `services.challenges`."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.catalog.validation import YuanField
from innocommons.core.money import yuan_to_fen
from innocommons.market.models import (
    NOTICE_DAYS_DEFAULT,
    ContractField,
)
from innocommons.market.selectors import challenges as selectors
from innocommons.market.selectors.contracts import find_organisation, regions_below
from innocommons.market.services import challenges as services

SPLIT = re.compile(r"\s*[|｜]\s*")
LIST_SPLIT = re.compile(r"[\n;；,，、]+")


def _choices(form: forms.Form, name: str, choices: Any) -> None:
    """Set a choice field's options at run time (they depend on the user)."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class ChallengeForm(forms.Form):
    issuer = forms.ChoiceField(
        label=gettext_lazy("Issued by"),
        help_text=gettext_lazy("Your enterprise, or a region you administer."),
    )
    issuer_org = forms.TypedChoiceField(
        label=gettext_lazy("Government organisation paying the award (region's challenges)"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=gettext_lazy(
            "It becomes the buyer of the award's contract. Empty: the one of the region itself."
        ),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    problem = forms.CharField(
        label=gettext_lazy("The problem"), max_length=10_000, widget=forms.Textarea
    )
    expected_results = forms.CharField(
        label=gettext_lazy("Expected results"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    eligibility = forms.CharField(
        label=gettext_lazy("Who may apply"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Describe the capabilities needed. Challenges set no limits on the applicants' "
            "age, professional title or years since registration (揭榜挂帅: 不设年龄、职称、"
            "注册年限门槛)."
        ),
    )
    field = forms.ChoiceField(label=gettext_lazy("Field"), choices=ContractField.choices)
    reward = YuanField(
        label=gettext_lazy("Reward (yuan)"),
        required=True,
        help_text=gettext_lazy("A region's challenge funds at most 30 million yuan."),
    )
    deadline = forms.DateTimeField(
        label=gettext_lazy("Proposals due by"),
        widget=DateTimeInput(format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    notice_days = forms.IntegerField(
        label=gettext_lazy("Public notice of the winner (days)"),
        min_value=1,
        max_value=30,
        initial=NOTICE_DAYS_DEFAULT,
    )
    milestones = forms.CharField(
        label=gettext_lazy("Milestones"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "One per line: title | amount in yuan | due date (optional), e.g. "
            "“样机通过测试 | 300000 | 2026-12-31”. The amounts must add up to the reward."
        ),
    )
    criteria = forms.CharField(
        label=gettext_lazy("Evaluation criteria"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "One per line: criterion | weight in percent, e.g. “技术方案 | 40”. Published with "
            "the challenge; the weights must add up to 100."
        ),
    )

    def __init__(
        self,
        *args: Any,
        issuers: list[tuple[str, str]],
        agencies: list[tuple[int, str]],
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        _choices(self, "issuer", issuers)
        _choices(self, "issuer_org", [("", _("automatic")), *agencies])
        if not agencies:
            del self.fields["issuer_org"]

    def clean_milestones(self) -> list[services.MilestoneInput]:
        out = []
        for n, line in enumerate(self.cleaned_data["milestones"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = SPLIT.split(line.strip())
            if len(parts) not in (2, 3):
                raise forms.ValidationError(
                    _("Line %(n)d: write “title | amount | due date”.") % {"n": n}
                )
            try:
                amount = yuan_to_fen(parts[1])
            except ValueError:
                raise forms.ValidationError(
                    _("Line %(n)d: the amount is not a number of yuan.") % {"n": n}
                ) from None
            due = None
            if len(parts) == 3 and parts[2]:
                try:
                    due = date.fromisoformat(parts[2])
                except ValueError:
                    raise forms.ValidationError(
                        _("Line %(n)d: write the date as YYYY-MM-DD.") % {"n": n}
                    ) from None
            out.append(services.MilestoneInput(parts[0][:200], amount, due))
        return out

    def clean_criteria(self) -> list[services.CriterionInput]:
        out = []
        for n, line in enumerate(self.cleaned_data["criteria"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = SPLIT.split(line.strip())
            if len(parts) != 2 or not parts[1].strip().rstrip("%").isdigit():
                raise forms.ValidationError(_("Line %(n)d: write “criterion | weight”.") % {"n": n})
            out.append(services.CriterionInput(parts[0][:200], int(parts[1].strip().rstrip("%"))))
        return out

    def to_input(self) -> services.ChallengeInput:
        d = self.cleaned_data
        kind, _sep, value = d["issuer"].partition(":")
        return services.ChallengeInput(
            title=d["title"],
            problem=d["problem"],
            expected_results=d["expected_results"],
            eligibility=d["eligibility"],
            field=d["field"],
            reward_fen=d["reward"],
            deadline=d["deadline"],
            notice_days=d["notice_days"],
            milestones=d["milestones"],
            criteria=d["criteria"],
            issuer_org_id=int(value) if kind == "org" else d.get("issuer_org"),
            region=value if kind == "region" else "",
        )


class ProposalForm(forms.Form):
    lead_org = forms.TypedChoiceField(label=gettext_lazy("Lead organisation"), coerce=int)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    summary = forms.CharField(
        label=gettext_lazy("Approach"), max_length=10_000, widget=forms.Textarea
    )
    team = forms.CharField(
        label=gettext_lazy("Team"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    partners = forms.CharField(
        label=gettext_lazy("Partner organisations"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Credit codes or exact names of organisations on the platform, one per line; "
            "from any region."
        ),
    )

    def __init__(self, *args: Any, leads: list[Organisation], **kwargs: Any):
        super().__init__(*args, **kwargs)
        _choices(self, "lead_org", [(o.pk, o.name) for o in leads])

    def clean_partners(self) -> list[int]:
        ids = []
        for item in LIST_SPLIT.split(self.cleaned_data["partners"]):
            if not item.strip():
                continue
            org = find_organisation(item)
            if org is None:
                raise forms.ValidationError(
                    _("No organisation on the platform matches “%(v)s”.") % {"v": item[:40]}
                )
            ids.append(org.pk)
        return ids


class FileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Attachment"),
        help_text=gettext_lazy("PDF, Word, Excel, PNG, JPEG or ZIP; at most 20 MiB."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=3000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ObjectionForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Objection"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


def issuer_choices(user: Any) -> list[tuple[str, str]]:
    choices = [(f"org:{o.pk}", o.name) for o in selectors.issuer_enterprises(user)]
    choices += [
        (f"region:{r.code}", _("Regional administration: %(r)s") % {"r": r.name})
        for r in selectors.issuer_regions(user)
    ]
    return choices


def agency_choices(user: Any) -> list[tuple[int, str]]:
    regions = perms.admin_regions(user)
    if not regions:
        return []
    return [
        (o.pk, f"{o.name} ({o.region.name})")
        for o in Organisation.objects.filter(
            type=Organisation.Type.GOVERNMENT, region_id__in=regions_below(regions)
        )
        .select_related("region")
        .order_by("region_id", "name_zh")
    ]
