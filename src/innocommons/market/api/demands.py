"""JSON API: demands."""

from ninja import Router

router = Router(tags=["demands"])
