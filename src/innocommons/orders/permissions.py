"""Who may see and act on bookings and orders, by membership of the two parties.

A booking's or order's client side is the booking/ordering organisation, its provider side
the organisation owning the instrument or service. Operators and auditors may read both.
"""

from __future__ import annotations

from typing import Any

from innocommons.accounts import permissions
from innocommons.orders.workflow import CLIENT, PROVIDER


def sides(actor: Any, *, client_id: int, provider_id: int) -> set[str]:
    """The sides of a booking or order the actor may act for."""
    out = set()
    if permissions.is_member(actor, client_id):
        out.add(CLIENT)
    if permissions.is_member(actor, provider_id):
        out.add(PROVIDER)
    return out


def can_view(actor: Any, *, client_id: int, provider_id: int) -> bool:
    """The parties' members, and the platform's operators and auditors (read-only)."""
    return bool(sides(actor, client_id=client_id, provider_id=provider_id)) or (
        permissions.is_operator(actor) or permissions.is_auditor(actor)
    )
