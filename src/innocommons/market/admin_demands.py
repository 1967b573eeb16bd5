"""Back office for technology demands: read-only. Demands change through the services
(permission-checked and audited). Conversations are private to their two organisations, so
only their existence is shown here, never the messages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from innocommons.market.models import Demand, DemandAlert, Thread


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AlertInline(_ReadOnly, admin.TabularInline):
    model = DemandAlert
    fields = ("organisation", "resource", "score", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(Demand)
class DemandAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = (
        "title_zh",
        "organisation",
        "region",
        "field",
        "budget_max_fen",
        "deadline",
        "status",
        "outcome",
    )
    list_filter = ("status", "outcome", "confidentiality")
    search_fields = ("title_zh", "title_en", "organisation__name_zh", "ref")
    date_hierarchy = "deadline"
    list_select_related = ("organisation", "region", "field")
    inlines = [AlertInline]


@admin.register(Thread)
class ThreadAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("demand", "provider", "created_at", "last_message_at")
    search_fields = ("demand__title_zh", "provider__name_zh")
    list_select_related = ("demand", "provider")
