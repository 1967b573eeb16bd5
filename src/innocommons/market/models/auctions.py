"""Online technology auctions (技术拍卖会): sessions, lots (achievements), bidders'
registrations with their deposits, and bids.

DESIGN §6 (Auction Law): a confidential reserve, below which the lot is withdrawn unsold;
announcement at least 7 days before and viewing of at least 2 days; each raise a whole
multiple of the increment above the current high bid; soft close up to a hard end; neither
the seller nor the auctioneer bids; bidders register and lodge a deposit first; the hammer
produces a sale confirmation (成交确认书) and a draft contract; a defaulting buyer loses the
deposit and the lot can be re-offered.

The lot row carries the current high bid and the number of bids: a bid is accepted by a
conditional `UPDATE … WHERE high_bid_fen = :seen AND bid_count = :seen_count AND status =
'open' AND ends_at > now`, so of two bids decided on the same state exactly one is written;
`(lot, seq)` and `(lot, amount_fen)` are unique on bids as the last line of defence.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation
from innocommons.catalog.models import Resource
from innocommons.market.models.contracts import ContractField, TechContract

__all__ = [
    "ANNOUNCE_DAYS",
    "CATALOG_TO_CONTRACT_FIELD",
    "SIGN_DAYS_DEFAULT",
    "SOFT_CLOSE_DEFAULT",
    "VIEWING_DAYS",
    "ZHEJIANG_PREMIUM_PCT",
    "AuctionLot",
    "AuctionRegistration",
    "AuctionSession",
    "Bid",
]

# Auction Law (DESIGN §6): announce at least 7 days before the auction, view at least 2 days.
ANNOUNCE_DAYS = 7
VIEWING_DAYS = 2
# Days the winner has to sign the sale confirmation, unless the session says otherwise.
SIGN_DAYS_DEFAULT = 10
SOFT_CLOSE_DEFAULT = 5  # minutes
# Zhejiang's online technology auctions since 2012: 1,539 achievements, 2.556 bn yuan,
# average premium 35.6 % over the starting price (DESIGN §6) — the yardstick on results.
ZHEJIANG_PREMIUM_PCT = Decimal("35.6")

# The catalog's eight high-tech fields (top-level codes) → the contract statistics field a
# sold lot's draft contract is filed under, when the seller does not choose one.
# High-tech services (05) span several statistics fields: the seller chooses.
CATALOG_TO_CONTRACT_FIELD: dict[str, str] = {
    "01": ContractField.ELECTRONICS,
    "02": ContractField.BIOMEDICINE,
    "03": ContractField.AEROSPACE,
    "04": ContractField.MATERIALS,
    "06": ContractField.ENERGY,
    "07": ContractField.ENVIRONMENT,
    "08": ContractField.MANUFACTURING,
}


class AuctionSession(models.Model):
    """An auction session (拍卖会) run by the platform operator: an announcement, a viewing
    period before it opens, and the lots offered in it.

    Its phase follows the clock and its lots: announced → viewing → live → closed.
    """

    title = models.CharField(_("Title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    announcement = models.TextField(_("Announcement"), max_length=10_000)
    viewing_place = models.CharField(
        _("Viewing"),
        max_length=300,
        blank=True,
        help_text=_("Where and how the lots can be inspected (a venue, or online documents)."),
    )
    announced_at = models.DateTimeField(_("Announced at"))
    viewing_starts_at = models.DateTimeField(_("Viewing from"))
    viewing_ends_at = models.DateTimeField(_("Viewing until"))
    starts_at = models.DateTimeField(_("Opens at"), db_index=True)
    sign_days = models.PositiveSmallIntegerField(
        _("Days to sign the sale confirmation"), default=SIGN_DAYS_DEFAULT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(announced_at__lte=F("viewing_starts_at"))
                & Q(viewing_starts_at__lt=F("viewing_ends_at"))
                & Q(viewing_ends_at__lte=F("starts_at")),
                name="auction_session_timeline",
            ),
            models.CheckConstraint(
                condition=Q(sign_days__gte=1) & Q(sign_days__lte=90),
                name="auction_session_sign_days",
            ),
        ]
        verbose_name = _("Auction session")
        verbose_name_plural = _("Auction sessions")

    def __str__(self) -> str:
        return self.title

    @property
    def display_title(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.title_en:
            return self.title_en
        return self.title


class AuctionLot(models.Model):
    """One achievement offered in a session by the organisation that owns it.

    pending (awaiting the operator) → open (approved; bids between `starts_at` and
    `ends_at`) → sold (high bid ≥ reserve) or unsold; sold → defaulted when the winner
    does not sign in time. `rejected` if the operator refuses it. `ends_at` starts at
    `scheduled_end_at` and moves with late bids (soft close), never past `hard_end_at`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        REJECTED = "rejected", _("Rejected")
        OPEN = "open", _("Approved")
        SOLD = "sold", _("Sold")
        UNSOLD = "unsold", _("Unsold")
        DEFAULTED = "defaulted", _("Buyer defaulted")

    LIVE = (Status.PENDING, Status.OPEN)

    session = models.ForeignKey(
        AuctionSession, on_delete=models.PROTECT, related_name="lots", verbose_name=_("Session")
    )
    number = models.PositiveSmallIntegerField(_("Lot number"))
    resource = models.ForeignKey(
        Resource,
        on_delete=models.PROTECT,
        related_name="auction_lots",
        verbose_name=_("Achievement"),
    )
    seller = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="lots_offered",
        verbose_name=_("Seller"),
    )
    title = models.CharField(_("Title"), max_length=200)
    field = models.CharField(_("Contract field"), max_length=16, choices=ContractField.choices)
    terms = models.TextField(
        _("Terms of the sale"),
        max_length=3000,
        blank=True,
        help_text=_("What the buyer gets: the patents, the licence scope, know-how, support."),
    )
    starting_price_fen = models.BigIntegerField(_("Starting price (fen)"))
    increment_fen = models.BigIntegerField(_("Increment (fen)"))
    reserve_fen = models.BigIntegerField(
        _("Reserve price (fen)"),
        null=True,
        blank=True,
        help_text=_("Confidential: below it the lot is withdrawn unsold."),
    )
    deposit_fen = models.BigIntegerField(_("Deposit required (fen)"), default=0)
    starts_at = models.DateTimeField(_("Bidding opens"))
    scheduled_end_at = models.DateTimeField(_("Scheduled end"))
    ends_at = models.DateTimeField(_("Ends"), db_index=True)
    hard_end_at = models.DateTimeField(_("Hard end"))
    soft_close_minutes = models.PositiveSmallIntegerField(
        _("Soft close (minutes)"), default=SOFT_CLOSE_DEFAULT
    )
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    high_bid_fen = models.BigIntegerField(_("Current high bid (fen)"), default=0)
    bid_count = models.PositiveIntegerField(_("Bids"), default=0)
    high_bidder = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("Closed at"), null=True, blank=True)
    winner = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lots_won",
        verbose_name=_("Winner"),
    )
    hammer_fen = models.BigIntegerField(_("Hammer price (fen)"), null=True, blank=True)
    sign_by = models.DateTimeField(_("Sign by"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("Confirmation signed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    defaulted_at = models.DateTimeField(_("Defaulted at"), null=True, blank=True)
    contract = models.OneToOneField(
        TechContract,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="auction_lot",
        verbose_name=_("Draft contract"),
    )
    reoffer_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reoffered_as",
        verbose_name=_("Re-offer of"),
    )
    decision_reason = models.TextField(_("Reason"), max_length=3000, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(_("Approved at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session_id", "number"]
        indexes = [models.Index(fields=["status", "ends_at"], name="auction_lot_due")]
        constraints = [
            models.UniqueConstraint(fields=["session", "number"], name="auction_lot_number"),
            models.UniqueConstraint(
                fields=["resource"],
                condition=Q(status__in=["pending", "open"]),
                name="auction_lot_one_live_per_resource",
            ),
            models.CheckConstraint(
                condition=Q(starting_price_fen__gt=0)
                & Q(increment_fen__gt=0)
                & Q(deposit_fen__gte=0)
                & (Q(reserve_fen__isnull=True) | Q(reserve_fen__gte=0)),
                name="auction_lot_prices",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("scheduled_end_at"))
                & Q(scheduled_end_at__lte=F("ends_at"))
                & Q(ends_at__lte=F("hard_end_at")),
                name="auction_lot_timeline",
            ),
            models.CheckConstraint(
                condition=Q(bid_count=0, high_bid_fen=0, high_bidder__isnull=True)
                | Q(
                    bid_count__gt=0,
                    high_bid_fen__gte=F("starting_price_fen"),
                    high_bidder__isnull=False,
                ),
                name="auction_lot_high_bid",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["sold", "defaulted"])
                | Q(winner__isnull=False, hammer_fen__isnull=False, sign_by__isnull=False),
                name="auction_lot_sold_has_winner",
            ),
        ]
        verbose_name = _("Auction lot")
        verbose_name_plural = _("Auction lots")

    def __str__(self) -> str:
        return f"{self.session_id}-{self.number} {self.title}"

    @property
    def current_price_fen(self) -> int:
        """The high bid, or the starting price before the first bid."""
        return self.high_bid_fen if self.bid_count else self.starting_price_fen

    @property
    def next_bid_fen(self) -> int:
        """The smallest valid bid now."""
        return self.high_bid_fen + self.increment_fen if self.bid_count else self.starting_price_fen

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.SOLD, self.Status.UNSOLD, self.Status.DEFAULTED)

    def phase(self, now: Any) -> str:
        """pending | rejected | upcoming | live | ending (closing, not yet closed) | sold |
        unsold | defaulted."""
        if self.status != self.Status.OPEN:
            return str(self.status)
        if now < self.starts_at:
            return "upcoming"
        if now < self.ends_at:
            return "live"
        return "ending"


class AuctionRegistration(models.Model):
    """An organisation registered to bid in a session, with its bidder number (shown to
    the public as "Bidder 3") and the deposit the operator recorded.

    Deposit: none → held (recorded by the operator) → refund due (the session is over and
    it won nothing) → refunded; held → applied (it won and signed every confirmation) or
    forfeited (it did not sign in time).
    """

    class Deposit(models.TextChoices):
        NONE = "none", _("Not yet lodged")
        HELD = "held", _("Held")
        REFUND_DUE = "refund_due", _("To be refunded")
        REFUNDED = "refunded", _("Refunded")
        APPLIED = "applied", _("Applied to the price")
        FORFEITED = "forfeited", _("Forfeited")

    session = models.ForeignKey(
        AuctionSession,
        on_delete=models.PROTECT,
        related_name="registrations",
        verbose_name=_("Session"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="auction_registrations",
        verbose_name=_("Bidder"),
    )
    number = models.PositiveIntegerField(_("Bidder number"))
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_at = models.DateTimeField(_("Registered at"))
    deposit_status = models.CharField(
        _("Deposit"), max_length=12, choices=Deposit.choices, default=Deposit.NONE, db_index=True
    )
    deposit_fen = models.BigIntegerField(_("Deposit (fen)"), default=0)
    deposit_reference = models.CharField(_("Payment reference"), max_length=100, blank=True)
    deposit_recorded_at = models.DateTimeField(_("Deposit recorded at"), null=True, blank=True)
    deposit_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    settled_at = models.DateTimeField(_("Deposit settled at"), null=True, blank=True)

    class Meta:
        ordering = ["session_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "organisation"], name="auction_registration_once"
            ),
            models.UniqueConstraint(fields=["session", "number"], name="auction_bidder_number"),
            models.CheckConstraint(
                condition=Q(deposit_status="none", deposit_fen=0)
                | (~Q(deposit_status="none") & Q(deposit_fen__gt=0)),
                name="auction_registration_deposit",
            ),
        ]
        verbose_name = _("Bidder registration")
        verbose_name_plural = _("Bidder registrations")

    def __str__(self) -> str:
        return f"{self.session_id} #{self.number} {self.organisation_id}"


class BidQuerySet(models.QuerySet["Bid"]):
    """Bids are irrevocable (Auction Law): rows are appended, never changed or removed."""

    def update(self, **kwargs: Any) -> int:  # pragma: no cover - guarded invariant
        raise PermissionError("bids are irrevocable")

    def delete(self) -> tuple[int, dict[str, int]]:  # pragma: no cover - guarded invariant
        raise PermissionError("bids are irrevocable")


class Bid(models.Model):
    """One accepted bid: the lot's `seq`-th, strictly above the one before it."""

    lot = models.ForeignKey(
        AuctionLot, on_delete=models.PROTECT, related_name="bids", verbose_name=_("Lot")
    )
    seq = models.PositiveIntegerField(_("Number"))
    amount_fen = models.BigIntegerField(_("Amount (fen)"))
    bidder = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("Bidder")
    )
    bidder_no = models.PositiveIntegerField(_("Bidder number"))
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    placed_at = models.DateTimeField(_("Placed at"))

    objects = BidQuerySet.as_manager()

    class Meta:
        ordering = ["lot_id", "-seq"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "seq"], name="bid_unique_seq"),
            models.UniqueConstraint(fields=["lot", "amount_fen"], name="bid_unique_amount"),
            models.CheckConstraint(
                condition=Q(seq__gte=1) & Q(amount_fen__gt=0), name="bid_positive"
            ),
        ]
        verbose_name = _("Bid")
        verbose_name_plural = _("Bids")

    def __str__(self) -> str:
        return f"{self.lot_id}#{self.seq} {self.amount_fen}"
