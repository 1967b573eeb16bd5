"""JSON API: auctions."""

from ninja import Router

router = Router(tags=["auctions"])
