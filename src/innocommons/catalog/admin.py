"""Back office for operators: taxonomies and a view of every listing."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from innocommons.catalog.models import Achievement, Expert, Instrument, Resource, Service, Term
from innocommons.catalog.search.outbox import enqueue
from innocommons.core import audit


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ("scheme", "code", "name_zh", "name_en", "parent")
    list_filter = ("scheme",)
    search_fields = ("code", "name_zh", "name_en")
    raw_id_fields = ("parent",)


class _DetailInline(admin.StackedInline):
    extra = 0
    max_num = 1
    can_delete = False


class InstrumentInline(_DetailInline):
    model = Instrument


class ServiceInline(_DetailInline):
    model = Service


class AchievementInline(_DetailInline):
    model = Achievement


class ExpertInline(_DetailInline):
    model = Expert


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ("title_zh", "kind", "owner", "region", "status", "updated_at")
    list_filter = ("kind", "status")
    search_fields = ("title_zh", "title_en", "ref")
    raw_id_fields = ("owner", "region", "field", "created_by")
    # Publishing goes through the owner's members (verified owners only, audited).
    readonly_fields = ("status", "created_at", "updated_at", "published_at")
    inlines = [InstrumentInline, ServiceInline, AchievementInline, ExpertInline]

    def save_model(self, request: HttpRequest, obj: Resource, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                actor=request.user,
                action="resource.admin_edit",
                target=obj,
                region=obj.region,
                after={"fields": sorted(form.changed_data)},
            )
            enqueue([obj.pk])  # keep the search index in step with admin edits

    def delete_model(self, request: HttpRequest, obj: Resource) -> None:
        with transaction.atomic():
            pk = obj.pk
            audit.record(
                actor=request.user,
                action="resource.admin_delete",
                target=obj,
                region=obj.region,
                before={"title": obj.title_zh, "status": obj.status},
            )
            super().delete_model(request, obj)
            enqueue([pk])

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
