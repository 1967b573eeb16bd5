"""Shared use: instrument calendars and bookings, service orders and their ratings.

Times are stored in UTC (USE_TZ) and shown in Asia/Shanghai. Overlapping active bookings of
one instrument are impossible: on PostgreSQL an exclusion constraint on the time range
(migration 0002), on SQLite the check inside the serialised write transaction
(`services.book_instrument`).
"""

from __future__ import annotations

import secrets
from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation
from innocommons.catalog.models import Resource, Term


class Calendar(models.Model):
    """Opening hours and booking rules of one instrument, beyond those on `Instrument`.

    Minimum/maximum duration, lead time and whether approval is needed stay on
    `catalog.Instrument` (the provider edits them with the listing); this adds what only the
    booking calendar needs.
    """

    resource = models.OneToOneField(
        Resource, primary_key=True, on_delete=models.CASCADE, related_name="calendar"
    )
    weekdays = models.CharField(
        _("Open weekdays"),
        max_length=7,
        default="12345",
        help_text=_("ISO weekday numbers the instrument is open on, 1 = Monday … 7 = Sunday."),
    )
    opens_at = models.TimeField(_("Opens at (Beijing time)"), default=time(8, 30))
    closes_at = models.TimeField(
        _("Closes at (Beijing time)"),
        default=time(17, 30),
        help_text=_("00:00 means midnight at the end of the day."),
    )
    horizon_days = models.PositiveIntegerField(
        _("Bookable days ahead"), default=60, validators=[MinValueValidator(1)]
    )
    max_future_per_org = models.PositiveIntegerField(
        _("Future bookings per organisation"), default=5, validators=[MinValueValidator(1)]
    )
    cancel_notice_hours = models.PositiveIntegerField(
        _("Cancellation notice (hours)"),
        default=24,
        help_text=_("Until this many hours before the start, the booker may cancel."),
    )

    class Meta:
        verbose_name = _("Booking calendar")
        verbose_name_plural = _("Booking calendars")

    def __str__(self) -> str:
        return str(self.resource)


class Blackout(models.Model):
    """A period an instrument cannot be booked: maintenance, calibration, holidays."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="blackouts")
    start = models.DateTimeField(_("From"))
    end = models.DateTimeField(_("Until"))
    reason = models.CharField(_("Reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="blackout_order")
        ]
        verbose_name = _("Blackout period")
        verbose_name_plural = _("Blackout periods")

    def __str__(self) -> str:
        return f"{self.calendar} {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"


class Booking(models.Model):
    """An organisation's use of an instrument for a time range."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE = (Status.PENDING, Status.CONFIRMED)

    resource = models.ForeignKey(
        Resource, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("Instrument")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="bookings",
        verbose_name=_("Booked by"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    start = models.DateTimeField(_("Start"), db_index=True)
    end = models.DateTimeField(_("End"))
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    purpose = models.CharField(_("Purpose"), max_length=500, blank=True)
    status_reason = models.CharField(_("Reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["resource", "start"], name="booking_resource_start"),
            # An organisation's upcoming bookings of one instrument: the quota check on
            # every booking (bench/booking).
            models.Index(fields=["resource", "organisation", "start"], name="booking_quota"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="booking_order")
        ]
        verbose_name = _("Booking")
        verbose_name_plural = _("Bookings")

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    def __str__(self) -> str:
        return f"{self.resource} {self.start:%Y-%m-%d %H:%M}"


class Order(models.Model):
    """An enterprise's order of a service (or of a booked instrument use) from a provider.

    requested → quoted → accepted → in_progress → delivered → completed → closed, or
    declined / cancelled on the way. The fee is fixed by the accepted quote.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        QUOTED = "quoted", _("Quoted")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        IN_PROGRESS = "in_progress", _("In progress")
        DELIVERED = "delivered", _("Delivered")
        COMPLETED = "completed", _("Completed")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    ref = models.CharField(_("Order number"), max_length=20, unique=True)
    client = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="orders_placed",
        verbose_name=_("Client"),
    )
    provider = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="orders_received",
        verbose_name=_("Provider"),
    )
    resource = models.ForeignKey(
        Resource, on_delete=models.PROTECT, related_name="orders", verbose_name=_("Service")
    )
    booking = models.OneToOneField(
        Booking,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order",
        verbose_name=_("Booking"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = models.TextField(_("What is needed"), max_length=5000, blank=True)
    status = models.CharField(
        _("Status"),
        max_length=12,
        choices=Status.choices,
        default=Status.REQUESTED,
        db_index=True,
    )
    quote_fen = models.BigIntegerField(
        _("Quoted fee (fen)"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    fee_fen = models.BigIntegerField(
        _("Agreed fee (fen)"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    # NULL rather than "" while there is none: the per-provider unique constraint skips NULLs.
    invoice_no = models.CharField(  # noqa: DJ001
        _("Invoice number"), max_length=40, null=True, blank=True
    )
    report = models.FileField(_("Report"), upload_to="reports/%Y/%m/", blank=True)
    service_hours = models.DecimalField(
        _("Service hours"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    status_reason = models.CharField(_("Reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("Requested at"), auto_now_add=True)
    status_changed_at = models.DateTimeField(_("Status since"), auto_now_add=True)
    completed_at = models.DateTimeField(_("Completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "invoice_no"],
                condition=Q(invoice_no__isnull=False),
                name="uniq_invoice_per_provider",
            ),
            models.CheckConstraint(
                condition=~Q(client=models.F("provider")), name="order_not_to_self"
            ),
        ]
        verbose_name = _("Order")
        verbose_name_plural = _("Orders")

    @property
    def category(self) -> Term | None:
        """The service or instrument category vouchers check their eligibility against."""
        detail = self.resource.detail
        return getattr(detail, "category", None)

    def __str__(self) -> str:
        return self.ref


class Rating(models.Model):
    """The client's rating of a completed order (DESIGN §6: satisfaction is recorded)."""

    order = models.OneToOneField(Order, primary_key=True, on_delete=models.CASCADE)
    score = models.PositiveSmallIntegerField(
        _("Score"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("Comment"), max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="rating_score_range"
            )
        ]
        verbose_name = _("Rating")
        verbose_name_plural = _("Ratings")

    def __str__(self) -> str:
        return f"{self.order} ★{self.score}"


class CalendarFeed(models.Model):
    """The secret address of an organisation's iCalendar feed of bookings.

    Calendar programs cannot sign in, so the feed is also reachable by an unguessable token
    in its URL (like the "secret address" of other calendar services). Members may reset it,
    which invalidates the old address.
    """

    organisation = models.OneToOneField(
        Organisation, primary_key=True, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Calendar feed")
        verbose_name_plural = _("Calendar feeds")

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def __str__(self) -> str:
        return str(self.organisation)
