"""Back office for operators. Verification and role changes go through the services so
they are permission-checked and audited exactly as in the web UI and API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db import models, transaction
from django.http import HttpRequest

from innocommons.accounts import services
from innocommons.accounts.models import ApiToken, Membership, Organisation, StaffRole, User
from innocommons.core import audit
from innocommons.core.errors import DomainError


@admin.register(User)
class InnoUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "email", "is_active", "is_staff", "last_login")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("InnoCommons", {"fields": ("display_name", "phone")}),
    )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("user", "role", "created_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name_zh", "type", "region", "status", "credit_code", "credit_code_flagged")
    list_filter = ("status", "type", "credit_code_flagged", "is_high_tech", "is_tech_sme")
    search_fields = ("name_zh", "name_en", "credit_code")
    raw_id_fields = ("region",)
    filter_horizontal = ("related",)
    # Verification state changes only through the region's administrators (audited).
    readonly_fields = (
        "credit_code",
        "region",
        "status",
        "status_reason",
        "verified_at",
        "credit_code_flagged",
        "created_at",
    )
    inlines = [MembershipInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request: HttpRequest, obj: Organisation, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                actor=request.user,
                action="organisation.admin_edit",
                target=obj,
                region=obj.region,
                after={"fields": sorted(form.changed_data)},
            )
            services.reindex_listings(obj)  # names and type are indexed with each listing


@admin.register(StaffRole)
class StaffRoleAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "region", "created_at")
    list_filter = ("role", "region")
    raw_id_fields = ("user", "region")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke and grant instead, so both steps are audited

    def save_model(self, request: HttpRequest, obj: StaffRole, form: Any, change: bool) -> None:
        try:
            staff = services.grant_staff_role(
                actor=request.user,  # type: ignore[arg-type]
                user_id=obj.user_id,
                role=obj.role,
                region_code=obj.region_id,
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return
        obj.pk = staff.pk

    def delete_model(self, request: HttpRequest, obj: StaffRole) -> None:
        services.revoke_staff_role(actor=request.user, staff_role_id=obj.pk)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "role", "created_at")
    list_filter = ("role",)
    raw_id_fields = ("user", "organisation")

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action="membership.role",
            target=obj.organisation,
            region=obj.organisation.region,
            after={"user": obj.user_id, "role": obj.role, "via": "admin"},
        )

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        audit.record(
            actor=request.user,
            action="membership.role",
            target=obj.organisation,
            region=obj.organisation.region,
            before={"user": obj.user_id, "role": obj.role},
            after={"user": obj.user_id, "role": None, "via": "admin"},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "hint", "created_at", "last_used_at", "revoked_at")
    readonly_fields = (
        "user",
        "name",
        "hint",
        "key_hash",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
