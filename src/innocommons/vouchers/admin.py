"""Back office: voucher data is read-only here. Every change of money, approval or claim goes
through the services (permission-checked, audited, posted to the ledger); ledger rows are
append-only and can never be edited or deleted, not even by a superuser."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from innocommons.vouchers.models import (
    Account,
    Application,
    Claim,
    JournalEntry,
    Posting,
    Programme,
    Redemption,
    SettlementBatch,
    Voucher,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and detail pages to read; no add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Programme)
class ProgrammeAdmin(ReadOnlyAdmin):
    list_display = (
        "name_zh",
        "region",
        "status",
        "budget_fen",
        "coverage_bp",
        "scope",
        "opens_on",
        "closes_on",
    )
    list_filter = ("status", "scope", "settlement_period", "region")
    search_fields = ("name_zh", "name_en", "agency")
    list_select_related = ("region",)


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("pk", "programme", "organisation", "amount_fen", "approved_fen", "status")
    list_filter = ("status",)
    search_fields = ("organisation__name_zh", "organisation__credit_code", "purpose")
    list_select_related = ("programme", "organisation")
    date_hierarchy = "created_at"


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdmin):
    list_display = ("code", "programme", "organisation", "face_value_fen", "balance_fen", "status")
    list_filter = ("status",)
    search_fields = ("code", "organisation__name_zh")
    list_select_related = ("programme", "organisation")


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ("pk", "voucher", "order", "provider", "amount_fen", "claim", "reversed_at")
    search_fields = ("order__ref", "voucher__code")
    list_select_related = ("voucher", "order", "provider")
    date_hierarchy = "created_at"


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ("pk", "programme", "provider", "amount_fen", "status", "batch", "paid_at")
    list_filter = ("status",)
    search_fields = ("provider__name_zh", "provider__credit_code")
    list_select_related = ("programme", "provider", "batch")


@admin.register(SettlementBatch)
class SettlementBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "programme",
        "period_start",
        "period_end",
        "status",
        "total_fen",
        "payment_reference",
    )
    list_filter = ("status",)
    list_select_related = ("programme",)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "programme", "balance_fen")
    list_filter = ("kind",)
    search_fields = ("code",)
    list_select_related = ("programme",)


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = ("account", "amount_fen")
    readonly_fields = ("account", "amount_fen")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("pk", "at", "kind", "programme", "memo", "actor")
    list_filter = ("kind",)
    search_fields = ("memo",)
    list_select_related = ("programme", "actor")
    date_hierarchy = "at"
    inlines = [PostingInline]
