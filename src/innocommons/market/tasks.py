"""Jobs the worker (`innocommons indexer`, also run by `serve`) runs periodically; see
settings.PERIODIC_JOBS."""

from __future__ import annotations

import logging

from innocommons.market.services import auctions
from innocommons.market.services import demands as demand_services

log = logging.getLogger(__name__)


def close_due_lots() -> None:
    """Close the auction lots whose end has passed (pages also close them when read)."""
    closed = auctions.close_due_lots()
    if closed:
        log.info("auctions: closed %d lot(s)", closed)


def mark_auction_defaults() -> None:
    """Winners who did not sign the sale confirmation in time default: deposit forfeited."""
    defaulted = auctions.mark_defaults()
    if defaulted:
        log.info("auctions: %d winner(s) defaulted", defaulted)


def expire_demands() -> None:
    """Close the published technology demands whose deadline has passed, as expired."""
    expired = demand_services.expire_demands()
    if expired:
        log.info("demands: %d expired", expired)


def alert_demand_matches() -> None:
    """Alert the matching providers of published demands whose after-commit alert did not
    run (the process stopped between the commit and the alert)."""
    alerted = demand_services.alert_pending()
    if alerted:
        log.info("demands: alerted %d provider organisation(s) late", alerted)
