"""Back office for technology contracts and challenges: read-only. Registration, refusal,
awards and milestone payments go through the services (permission-checked and audited),
never through the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from innocommons.market.models import (
    Challenge,
    ChallengeMilestone,
    Criterion,
    Objection,
    Panelist,
    Proposal,
    RegistrationSequence,
    TechContract,
)


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TechContract)
class TechContractAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = (
        "ref",
        "title",
        "type",
        "seller_name",
        "seller_region",
        "buyer_name",
        "buyer_region",
        "amount_fen",
        "status",
        "due_on",
        "registration_no",
    )
    list_filter = ("status", "type", "source", "field")
    search_fields = ("ref", "title", "seller_name", "buyer_name", "registration_no")
    date_hierarchy = "signed_on"
    list_select_related = ("seller_region", "buyer_region")


@admin.register(RegistrationSequence)
class RegistrationSequenceAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("province", "year", "last")


class CriterionInline(_ReadOnly, admin.TabularInline):
    model = Criterion
    extra = 0


class MilestoneInline(_ReadOnly, admin.TabularInline):
    model = ChallengeMilestone
    extra = 0


class PanelistInline(_ReadOnly, admin.TabularInline):
    model = Panelist
    fk_name = "challenge"
    extra = 0


class ObjectionInline(_ReadOnly, admin.TabularInline):
    model = Objection
    extra = 0


@admin.register(Challenge)
class ChallengeAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("title", "issuer_org", "region", "reward_fen", "deadline", "status")
    list_filter = ("status", "issued_by_region", "field")
    search_fields = ("title",)
    list_select_related = ("issuer_org", "region")
    inlines = [CriterionInline, MilestoneInline, PanelistInline, ObjectionInline]


@admin.register(Proposal)
class ProposalAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("title", "challenge", "lead_org", "status", "submitted_at")
    list_filter = ("status",)
    search_fields = ("title", "lead_org__name_zh")
    list_select_related = ("challenge", "lead_org")
