"""Back office for operators: the region tree, region groups, and the read-only audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from innocommons.core.models import AuditEntry, Region, RegionGroup


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "level", "parent", "in_community")
    list_filter = ("level", "in_community")
    search_fields = ("code", "name_zh", "name_en")
    raw_id_fields = ("parent", "province")


@admin.register(RegionGroup)
class RegionGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en")
    filter_horizontal = ("regions",)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Append-only: nobody adds, changes or deletes entries here."""

    list_display = ("at", "actor", "action", "target_type", "target_id", "region")
    list_filter = ("action", "target_type", "region")
    search_fields = ("action", "target_id", "note")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
