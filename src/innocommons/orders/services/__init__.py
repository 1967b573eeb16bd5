"""Every write of the orders app, one function per use case (CONVENTIONS habit 1).

`bookings` holds calendars, blackouts, bookings and the calendar feed; `orders` the
service-order workflow. Import from here; the race switch is `bookings.LOCKING`.
"""

from innocommons.orders.services.bookings import (
    add_blackout,
    approve_booking,
    book_instrument,
    calendar_feed,
    cancel_booking,
    reject_booking,
    remove_blackout,
    reset_calendar_feed,
    set_calendar,
)
from innocommons.orders.services.orders import (
    accept_quote,
    cancel_order,
    close_order,
    complete_order,
    decline_order,
    deliver_order,
    quote_order,
    rate_order,
    request_order,
    set_invoice_number,
    start_order,
)

__all__ = [
    "accept_quote",
    "add_blackout",
    "approve_booking",
    "book_instrument",
    "calendar_feed",
    "cancel_booking",
    "cancel_order",
    "close_order",
    "complete_order",
    "decline_order",
    "deliver_order",
    "quote_order",
    "rate_order",
    "reject_booking",
    "remove_blackout",
    "request_order",
    "reset_calendar_feed",
    "set_calendar",
    "set_invoice_number",
    "start_order",
]
