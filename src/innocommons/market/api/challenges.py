"""JSON API: challenges."""

from ninja import Router

router = Router(tags=["challenges"])
