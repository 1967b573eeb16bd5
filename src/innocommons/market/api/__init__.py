"""The market's JSON API: one router per sub-domain, mounted under /api/v1/."""

from ninja import Router

from innocommons.market.api import auctions, challenges, contracts, demands

router = Router()
router.add_router("", demands.router)
router.add_router("", challenges.router)
router.add_router("", auctions.router)
router.add_router("", contracts.router)
