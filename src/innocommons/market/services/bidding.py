"""Bidding at technology auctions: the bid rules and `place_bid`.

Rules (DESIGN §6, Auction Law): only members of a registered, verified organisation whose
recorded deposit covers the lot's bid; neither the seller (its members, or an organisation
declared related to it) nor the auctioneer (operators; auditors are read-only) bids; a bid
is the current high bid (the starting price for the first bid) plus a whole positive
multiple of the increment (the first bid: k ≥ 0) and cannot be withdrawn; a bid in the
last N minutes moves the end to now + N minutes, never past the hard end.

Concurrency: a bid is written by one conditional UPDATE of the lot (`high_bid_fen`,
`bid_count` as read, status open, inside the bidding window); if another bid got there
first the lot is read again and the bid re-decided (still above the new price: retried;
not: 409 with the current price). `(lot, seq)` and `(lot, amount_fen)` are unique on bids
as the last line of defence.

Why hand-written SQL: a lot's last minutes bring many bids a second, and on the
project's standard machine (docs/performance.md) the ORM spends about 0.7 ms of Python
building each query, several times what the database needs to run it. So a bid is four
hand-written statements through `core.sql.cursor()` (Django's cursor; on PostgreSQL each
statement is prepared once per connection) where it was nine ORM queries:

- one read of what the rules need: the lot's state and terms, its seller's region (for
  the audit entry), whether the actor is an operator or an auditor, and each of the
  actor's organisations with whether it is verified, whether it is declared related to
  the seller, and its registration and deposit in the session;
- in one transaction, the conditional UPDATE of the lot, the INSERT of the bid and the
  audit entry (`core.audit.record`, itself one INSERT).

The rules stay plain Python, in the same order with the same messages. The staff and
membership facts come with the read rather than from `accounts.permissions`, whose two
ORM queries took half the Python time of a bid; the verdict is the one `staff_problem`
gives (tests/market/test_bidding.py checks both agree for every role, and pins the
statements of one bid).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation, StaffRole
from innocommons.core import audit, sql
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.core.money import format_yuan
from innocommons.market.models import AuctionLot, AuctionRegistration, Bid

# Tests switch this off to show that the race it prevents really happens (CONVENTIONS
# habit 8): without it a bid is written on the state read before the transaction. Never
# change it anywhere else.
CONDITIONAL = True

MAX_FEN = 10**13  # 1000 亿 yuan: anything above is a typo
# A decision made on a state another writer changed is made again on the new state this
# often (a bid, closing a lot).
RETRIES = 8
_MAX_ID = 2**63 - 1  # the largest primary key: a larger one cannot name a lot

Status = AuctionLot.Status
Deposit = AuctionRegistration.Deposit
OPERATOR, AUDITOR = StaffRole.Role.OPERATOR.value, StaffRole.Role.AUDITOR.value


def is_amount(value: Any) -> bool:
    """An integer (not a bool): amounts and ids as forms and JSON deliver them."""
    return isinstance(value, int) and not isinstance(value, bool)


def local_minute(value: datetime) -> str:
    """A moment as messages show it: local time, to the minute."""
    return date_format(timezone.localtime(value), "Y-m-d H:i")


def staff_problem(user: Any) -> str | None:
    """Why the user may not bid (nor register to) as the auctioneer's staff, if so."""
    return _staff_refusal(operator=perms.is_operator(user), auditor=perms.is_auditor(user))


def _staff_refusal(*, operator: bool, auditor: bool) -> str | None:
    if operator:
        return _("The auctioneer's staff (platform operators) cannot bid.")
    if auditor:
        return _("Auditors have read-only access and cannot bid.")
    return None


def outbid_message(lot: AuctionLot) -> str:
    return _(
        "Another bid came first: the current price is %(price)s; the next valid bid is %(next)s."
    ) % {"price": format_yuan(lot.current_price_fen), "next": format_yuan(lot.next_bid_fen)}


# --- what a bid needs to know: one statement --------------------------------------------

# The lot's columns the rules and the write need, in the model's field order (as `from_db`
# takes them).
_LOT_FIELDS = [
    f
    for f in AuctionLot._meta.concrete_fields
    if f.attname
    in {
        *("id", "session_id", "seller_id", "status", "high_bidder_id"),
        *("starts_at", "ends_at", "hard_end_at", "soft_close_minutes"),
        *("starting_price_fen", "increment_fen", "deposit_fen", "high_bid_fen", "bid_count"),
    }
]
_LOT_ATTNAMES = [f.attname for f in _LOT_FIELDS]
_DATETIMES = [i for i, f in enumerate(_LOT_FIELDS) if f.get_internal_type() == "DateTimeField"]
# The lot, its seller's region (for the audit entry), whether the actor is an operator or
# an auditor, and one row per organisation the actor is a member of (none: one row of
# NULLs): whether it is verified, whether it is declared related to the seller (the
# relation is symmetrical: stored in both directions), its registration in the session.
_READ = (
    f"SELECT {', '.join(f'l.{f.column}' for f in _LOT_FIELDS)}, s.region_id, "  # noqa: S608
    "EXISTS (SELECT 1 FROM accounts_staffrole x WHERE x.user_id = %s AND x.role = %s), "
    "EXISTS (SELECT 1 FROM accounts_staffrole x WHERE x.user_id = %s AND x.role = %s), "
    "m.organisation_id, o.status, "
    "EXISTS (SELECT 1 FROM accounts_organisation_related x "
    "WHERE x.from_organisation_id = m.organisation_id AND x.to_organisation_id = l.seller_id), "
    "r.number, r.deposit_status, r.deposit_fen "
    "FROM market_auctionlot l JOIN accounts_organisation s ON s.id = l.seller_id "
    "LEFT JOIN accounts_membership m ON m.user_id = %s "
    "LEFT JOIN accounts_organisation o ON o.id = m.organisation_id "
    "LEFT JOIN market_auctionregistration r "
    "ON r.organisation_id = m.organisation_id AND r.session_id = l.session_id "
    "WHERE l.id = %s"
)


class _Membership(NamedTuple):
    """One of the actor's organisations, as a bid on the lot needs it."""

    organisation_id: int
    verified: bool
    seller_related: bool
    number: int | None  # the bidder number in the lot's session; None: not registered
    deposit_status: str | None
    deposit_fen: int | None


class _Facts(NamedTuple):
    """What a bid needs to know about the lot and the actor."""

    lot: AuctionLot  # only the columns above are loaded; others are read on access
    seller_region_id: str
    staff_problem: str | None  # as `staff_problem(actor)` words it
    memberships: dict[int, _Membership]  # by organisation id


def _aware(value: datetime) -> datetime:
    """A timestamp as the database returned it (SQLite: naive, in the connection's zone)."""
    return value if timezone.is_aware(value) else timezone.make_aware(value, connection.timezone)


def _read(lot_id: Any, actor: Any) -> _Facts:
    """Everything a bid on the lot needs to know, in one statement: this is on every bid's
    path, and again after another bid came first."""
    try:
        pk = int(lot_id)  # as the ORM would take it: "12" is lot 12
    except (TypeError, ValueError):
        raise NotFound(_("No such lot.")) from None
    rows = []
    if 0 < pk <= _MAX_ID:
        user = actor.pk if getattr(actor, "is_authenticated", False) else None
        with sql.cursor() as cur:
            cur.execute(_READ, [user, OPERATOR, user, AUDITOR, user, pk])
            rows = cur.fetchall()
    if not rows:
        raise NotFound(_("No such lot."))
    n = len(_LOT_FIELDS)
    values = list(rows[0][:n])
    for i in _DATETIMES:
        values[i] = _aware(values[i])
    region_id, operator, auditor = rows[0][n : n + 3]
    memberships = {
        org: _Membership(org, status == Organisation.Status.VERIFIED, bool(related), *registration)
        for org, status, related, *registration in (row[n + 3 :] for row in rows)
        if org is not None
    }
    return _Facts(
        AuctionLot.from_db(connection.alias, _LOT_ATTNAMES, values),
        region_id,
        # As accounts.permissions decides: superusers are operators too.
        _staff_refusal(
            operator=getattr(actor, "is_superuser", False) or bool(operator),
            auditor=bool(auditor),
        ),
        memberships,
    )


def _bidder(
    mine: dict[int, _Membership], lot: AuctionLot, organisation_id: int | None
) -> _Membership:
    """The organisation the actor bids for: the one named, or its only registered one."""
    if lot.seller_id in mine:
        raise PermissionDenied(_("The seller cannot bid on its own lot."))
    candidates = list(mine.values())
    if organisation_id is not None:
        if organisation_id not in mine:
            raise PermissionDenied(
                _("Bid for an organisation you are a member of."), field="organisation"
            )
        candidates = [mine[organisation_id]]
    registered = [m for m in candidates if m.number is not None]
    if not registered:
        raise PermissionDenied(
            _("Register for this auction session and lodge the deposit before bidding."),
            field="organisation",
        )
    if len(registered) > 1:
        raise DomainError(
            _("Several of your organisations are registered: choose which one bids."),
            field="organisation",
        )
    return registered[0]


# --- the rules ------------------------------------------------------------------------------


def _raise_bid_problem(lot: AuctionLot, amount: int, bidder_id: int | None, now: datetime) -> None:
    """Refuse the bid if it is invalid on this state of the lot (a lot found past its end
    is closed on the way)."""
    error = _bid_problem(lot, amount, bidder_id, now)
    if error is not None:
        if lot.status == Status.OPEN and now >= lot.ends_at:
            # The hammer lives with the rest of the auction (which imports this module).
            from innocommons.market.services.auctions import close_lot

            close_lot(lot_id=lot.pk, via="bid")
        raise error


def _bid_problem(
    lot: AuctionLot, amount: int, bidder_id: int | None, now: datetime
) -> DomainError | None:
    """What makes the bid invalid on this state of the lot, if anything (with the bidder
    known, also a raise over its own high bid)."""
    if lot.status != Status.OPEN:
        if lot.is_closed:
            return DomainError(_("Bidding on this lot has closed."), status=409)
        return DomainError(_("This lot is not open for bidding."), status=409)
    if now < lot.starts_at:
        return DomainError(
            _("Bidding on this lot opens at %(when)s.") % {"when": local_minute(lot.starts_at)},
            status=409,
        )
    if now >= lot.ends_at:
        return DomainError(_("Bidding on this lot has closed."), status=409)
    if amount < lot.starting_price_fen or (amount - lot.starting_price_fen) % lot.increment_fen:
        return DomainError(
            _(
                "A bid is the current price plus a whole number of increments of %(inc)s; "
                "the next valid bid is %(next)s."
            )
            % {"inc": format_yuan(lot.increment_fen), "next": format_yuan(lot.next_bid_fen)},
            field="amount_fen",
        )
    if bidder_id is not None and lot.bid_count and lot.high_bidder_id == bidder_id:
        return DomainError(
            _("You already hold the highest bid (%(price)s).")
            % {"price": format_yuan(lot.high_bid_fen)},
            field="amount_fen",
            status=409,
        )
    if lot.bid_count and amount <= lot.high_bid_fen:
        return DomainError(outbid_message(lot), field="amount_fen", status=409)
    return None


# --- the write ------------------------------------------------------------------------------

_RAISE = (
    "UPDATE market_auctionlot SET high_bid_fen = %s, bid_count = bid_count + 1, "
    "high_bidder_id = %s, ends_at = %s WHERE id = %s"
)
# Of bids decided on the same state of the lot, exactly one matches.
_ON_STATE = (
    " AND status = %s AND high_bid_fen = %s AND bid_count = %s AND starts_at <= %s AND ends_at > %s"
)
_INSERT_BID = (
    "INSERT INTO market_bid (lot_id, seq, amount_fen, bidder_id, bidder_no, placed_by_id, "
    "placed_at) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
_BID_ATTNAMES = [f.attname for f in Bid._meta.concrete_fields]


def _write_bid(
    actor: Any, facts: _Facts, bidder: _Membership, amount: int, now: datetime
) -> Bid | None:
    """Write the bid if the lot is still in the state it was decided on; None if not."""
    lot = facts.lot
    ends_at = lot.ends_at
    window = timedelta(minutes=lot.soft_close_minutes)
    if ends_at - now < window:  # soft close: a late bid extends, up to the hard end
        ends_at = max(lot.ends_at, min(now + window, lot.hard_end_at))
    bidder_id = bidder.organisation_id
    ts = connection.ops.adapt_datetimefield_value
    at = ts(now)
    params: list[Any] = [amount, bidder_id, ts(ends_at), lot.pk]
    raise_lot = _RAISE
    if CONDITIONAL:
        raise_lot += _ON_STATE
        params += [Status.OPEN.value, lot.high_bid_fen, lot.bid_count, at, at]
    seq = lot.bid_count + 1
    with transaction.atomic(durable=True), sql.cursor() as cur:
        cur.execute(raise_lot, params)
        if cur.rowcount != 1:
            return None  # the lot changed since it was read: the caller re-reads it
        cur.execute(_INSERT_BID, [lot.pk, seq, amount, bidder_id, bidder.number, actor.pk, at])
        bid_id = cur.fetchone()[0]
        audit.record(
            actor=actor,
            action="market.auction.bid",
            target=lot,
            after={
                "seq": seq,
                "amount_fen": amount,
                "bidder": bidder_id,
                "bidder_no": bidder.number,
                "ends_at": ends_at.isoformat(),
            },
            region=facts.seller_region_id,
        )
    lot.high_bid_fen, lot.bid_count, lot.ends_at = amount, seq, ends_at
    lot.high_bidder_id = bidder_id
    row = {
        "id": bid_id,
        "lot_id": lot.pk,
        "seq": seq,
        "amount_fen": amount,
        "bidder_id": bidder_id,
        "bidder_no": bidder.number,
        "placed_by_id": actor.pk,
        "placed_at": now,
    }
    bid = Bid.from_db(connection.alias, _BID_ATTNAMES, [row[name] for name in _BID_ATTNAMES])
    bid.lot, bid.placed_by = lot, actor  # as `create` would have them, without a query
    return bid


def place_bid(
    *, actor: Any, lot_id: int, amount_fen: int, organisation_id: int | None = None
) -> Bid:
    """A registered bidder with its deposit recorded bids on an open lot. Irrevocable.

    Of bids decided on the same state of the lot one is written; the others are decided
    again on the new state: still a valid raise, they are retried; otherwise they are
    refused with 409 and the current price.
    """
    if not is_amount(amount_fen) or amount_fen <= 0 or amount_fen > MAX_FEN:
        raise DomainError(_("Give the amount of the bid in fen."), field="amount_fen")
    # The lot's state is public, so it is checked first: most refused bids are overtaken
    # ones, answered after this one read.
    facts = _read(lot_id, actor)
    lot = facts.lot
    _raise_bid_problem(lot, amount_fen, None, timezone.now())
    if facts.staff_problem:
        raise PermissionDenied(facts.staff_problem)
    bidder = _bidder(facts.memberships, lot, organisation_id)
    if not bidder.verified:
        raise PermissionDenied(_("Only verified organisations may bid at auction."))
    if bidder.seller_related:
        raise PermissionDenied(_("An organisation related to the seller cannot bid on its lot."))
    if bidder.deposit_status != Deposit.HELD:
        raise PermissionDenied(
            _("Your deposit has not been recorded yet; bids are accepted once it is.")
        )
    assert bidder.deposit_fen is not None  # a held deposit has its amount (constraint)
    if bidder.deposit_fen < lot.deposit_fen:
        raise PermissionDenied(
            _("This lot needs a deposit of %(need)s; yours is %(have)s.")
            % {"need": format_yuan(lot.deposit_fen), "have": format_yuan(bidder.deposit_fen)}
        )
    for _attempt in range(RETRIES):
        now = timezone.now()
        _raise_bid_problem(facts.lot, amount_fen, bidder.organisation_id, now)
        bid = _write_bid(actor, facts, bidder, amount_fen, now)
        if bid is not None:
            return bid
        facts = _read(lot.pk, actor)  # another bid came first: decide again on the new state
    raise DomainError(_("The lot is very busy; please bid again."), status=409)
