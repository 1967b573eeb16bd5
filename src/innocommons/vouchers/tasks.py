"""Jobs the worker (`innocommons indexer`, also run by `serve`) runs periodically; see
settings.PERIODIC_JOBS."""

from __future__ import annotations

import logging

from innocommons.vouchers.services import expire_vouchers

log = logging.getLogger(__name__)


def expire() -> None:
    """End vouchers past their validity; unspent balances return to the budgets."""
    count, returned = expire_vouchers()
    if count:
        log.info("vouchers: expired %d, returned %d fen to budgets", count, returned)
