"""Back office for auctions: read-only. Sessions, lots, deposits and bids change only
through the services (permission-checked and audited), never through the admin; bids are
irrevocable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from innocommons.market.models import AuctionLot, AuctionRegistration, AuctionSession, Bid


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuctionSession)
class AuctionSessionAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("title", "announced_at", "viewing_starts_at", "viewing_ends_at", "starts_at")
    search_fields = ("title", "title_en")
    date_hierarchy = "starts_at"


@admin.register(AuctionLot)
class AuctionLotAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = (
        "session",
        "number",
        "title",
        "seller",
        "status",
        "starting_price_fen",
        "high_bid_fen",
        "bid_count",
        "ends_at",
        "hammer_fen",
        "winner",
    )
    list_filter = ("status", "field")
    search_fields = ("title", "seller__name_zh")
    list_select_related = ("session", "seller", "winner")
    raw_id_fields = ("resource", "seller", "winner", "high_bidder", "contract", "reoffer_of")


@admin.register(AuctionRegistration)
class AuctionRegistrationAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("session", "number", "organisation", "deposit_status", "deposit_fen")
    list_filter = ("deposit_status",)
    search_fields = ("organisation__name_zh",)
    list_select_related = ("session", "organisation")


@admin.register(Bid)
class BidAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("lot", "seq", "amount_fen", "bidder", "bidder_no", "placed_at")
    search_fields = ("bidder__name_zh",)
    list_select_related = ("lot", "bidder")
    raw_id_fields = ("lot", "bidder", "placed_by")
