"""Back office: bookings, orders and calendars are read here and changed only through the
services (which check the rules and write the audit log)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from innocommons.orders.models import Blackout, Booking, Calendar, CalendarFeed, Order, Rating


class ReadOnly(admin.ModelAdmin):
    """Viewing only: an edit here would bypass the booking rules and the audit log."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BlackoutInline(admin.TabularInline):
    model = Blackout
    extra = 0
    fields = ("start", "end", "reason")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Calendar)
class CalendarAdmin(ReadOnly):
    list_display = ("resource", "weekdays", "opens_at", "closes_at", "horizon_days")
    search_fields = ("resource__title_zh", "resource__title_en")
    inlines = [BlackoutInline]


@admin.register(Booking)
class BookingAdmin(ReadOnly):
    list_display = ("resource", "organisation", "start", "end", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("resource__title_zh", "organisation__name_zh", "purpose")
    date_hierarchy = "start"
    raw_id_fields = ("resource", "organisation", "created_by")


class RatingInline(admin.StackedInline):
    model = Rating
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnly):
    list_display = ("ref", "client", "provider", "resource", "status", "fee_fen", "created_at")
    list_filter = ("status",)
    search_fields = ("ref", "invoice_no", "client__name_zh", "provider__name_zh")
    date_hierarchy = "created_at"
    raw_id_fields = ("client", "provider", "resource", "booking", "requested_by")
    inlines = [RatingInline]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnly):
    """Shows which organisations have a feed; the secret itself stays out of the list."""

    list_display = ("organisation", "issued_at")
    exclude = ("token",)
