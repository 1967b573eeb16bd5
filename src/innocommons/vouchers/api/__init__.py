"""JSON API of the vouchers app (mounted under /api/v1/).

Amounts are integer fen (`*_fen`). Writes call one service each (which checks the
permission); reads go through `vouchers.selectors`, which filter by what the user may see:
another region's applications, vouchers, claims, batches and ledger are 404 (or 403 for a
public programme's private figures). Lists are paginated: `page`, `page_size` (≤ 100).

`router` mounts one sub-router per sub-domain (programmes, applications, vouchers, claims,
settlement); shared schemas live in `schemas`, the router class and pagination in `common`.
"""

from ninja import Router

from innocommons.vouchers.api import applications, claims, programmes, settlement, vouchers

router = Router(tags=["vouchers"])
router.add_router("", programmes.router)
router.add_router("", applications.router)
router.add_router("", vouchers.router)
router.add_router("", claims.router)
router.add_router("", settlement.router)
