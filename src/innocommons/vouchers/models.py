"""Innovation voucher programmes, applications, vouchers, redemptions, claims, settlement
batches and the double-entry ledger that records every movement of their money.

Money is integer fen. Each cached amount here (voucher balance, account balance) is a
convenience for reading and locking; the ledger's postings are the truth, and
`innocommons ledger check` proves the two agree.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation
from innocommons.catalog.models import Term
from innocommons.core.models import Bilingual, Region, RegionGroup
from innocommons.orders.models import Order


class Programme(Bilingual):
    """A region's voucher scheme: budget, coverage, caps, eligibility and acceptance scope."""

    class Scope(models.TextChoices):
        OWN_REGION = "own_region", _("Providers in the issuing region")
        GROUP = "group", _("Providers in a region group")
        COMMUNITY = "community", _("Providers anywhere in the community")

    class Period(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        QUARTERLY = "quarterly", _("Quarterly")
        YEARLY = "yearly", _("Yearly")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open for applications")
        CLOSED = "closed", _("Closed")

    region = models.ForeignKey(Region, on_delete=models.PROTECT, verbose_name=_("Issuing region"))
    agency = models.CharField(_("Issuing agency"), max_length=200, blank=True)
    description = models.TextField(_("Description"), max_length=5000, blank=True)
    budget_fen = models.BigIntegerField(
        _("Budget (fen)"), validators=[MinValueValidator(0)], default=0
    )
    coverage_bp = models.PositiveIntegerField(
        _("Coverage (basis points)"),
        default=5000,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text=_("Share of an order's fee a voucher may pay, in 1/10,000 (5000 = 50%)."),
    )
    max_per_voucher_fen = models.BigIntegerField(
        _("Cap per voucher (fen)"), validators=[MinValueValidator(1)]
    )
    max_per_enterprise_year_fen = models.BigIntegerField(
        _("Cap per enterprise and calendar year (fen)"),
        validators=[MinValueValidator(1)],
        help_text=_("Shared by organisations declared as related (same actual controller)."),
    )
    eligible_categories = models.ManyToManyField(
        Term,
        blank=True,
        related_name="+",
        verbose_name=_("Eligible service categories"),
        help_text=_("Empty means every category."),
    )
    opens_on = models.DateField(_("Applications from"))
    closes_on = models.DateField(_("Applications until"))
    voucher_valid_days = models.PositiveIntegerField(
        _("Voucher validity (days)"), default=365, validators=[MinValueValidator(1)]
    )
    require_tech_sme = models.BooleanField(_("Only tech-based SMEs"), default=False)
    require_high_tech = models.BooleanField(_("Only high-tech enterprises"), default=False)
    scope = models.CharField(
        _("Acceptance scope"), max_length=12, choices=Scope.choices, default=Scope.COMMUNITY
    )
    scope_group = models.ForeignKey(
        RegionGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("Accepting region group"),
    )
    settlement_period = models.CharField(
        _("Settlement period"), max_length=10, choices=Period.choices, default=Period.QUARTERLY
    )
    status = models.CharField(
        _("Status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["region_id", "-opens_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_on__gte=F("opens_on")), name="programme_window"
            ),
            models.CheckConstraint(
                condition=~Q(scope="group") | Q(scope_group__isnull=False),
                name="programme_scope_group",
            ),
        ]
        verbose_name = _("Voucher programme")
        verbose_name_plural = _("Voucher programmes")


class Application(models.Model):
    """A verified enterprise's request for a voucher of some amount, for a purpose."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting decision")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="applications")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="voucher_applications"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount_fen = models.BigIntegerField(_("Amount applied for (fen)"))
    approved_fen = models.BigIntegerField(_("Amount approved (fen)"), null=True, blank=True)
    purpose = models.TextField(_("Purpose"), max_length=3000)
    status = models.CharField(
        _("Status"),
        max_length=10,
        choices=Status.choices,
        default=Status.SUBMITTED,
        db_index=True,
    )
    decision_reason = models.TextField(_("Reason"), max_length=2000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("Applied at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("Decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="application_amount"),
            models.UniqueConstraint(
                fields=["programme", "organisation"],
                condition=Q(status="submitted"),
                name="one_waiting_application",
            ),
            models.CheckConstraint(
                condition=Q(approved_fen__isnull=True)
                | (Q(approved_fen__gt=0) & Q(approved_fen__lte=F("amount_fen"))),
                name="application_approved_amount",
            ),
        ]
        verbose_name = _("Voucher application")
        verbose_name_plural = _("Voucher applications")

    def __str__(self) -> str:
        return f"A{self.pk} {self.organisation_id}→P{self.programme_id}"


class Voucher(models.Model):
    """A voucher issued on approval. `balance_fen` mirrors its ledger account."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXHAUSTED = "exhausted", _("Used up")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    code = models.CharField(_("Voucher code"), max_length=24, unique=True)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="vouchers")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("Holder")
    )
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="voucher"
    )
    face_value_fen = models.BigIntegerField(_("Face value (fen)"))
    balance_fen = models.BigIntegerField(_("Balance (fen)"))
    valid_from = models.DateTimeField(_("Valid from"))
    valid_until = models.DateTimeField(_("Valid until"), db_index=True)
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    status_reason = models.CharField(_("Reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_fen__gte=0) & Q(balance_fen__lte=F("face_value_fen")),
                name="voucher_balance_range",
            ),
        ]
        verbose_name = _("Voucher")
        verbose_name_plural = _("Vouchers")

    def __str__(self) -> str:
        return self.code


class Claim(models.Model):
    """A provider's claim for the voucher amounts redeemed on its orders under one programme."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting review")
        APPROVED = "approved", _("Approved, awaiting payment")
        REJECTED = "rejected", _("Rejected")
        PAID = "paid", _("Paid")

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="claims")
    provider = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="voucher_claims"
    )
    amount_fen = models.BigIntegerField(_("Amount claimed (fen)"))
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED, db_index=True
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField(_("Reason"), max_length=2000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    batch = models.ForeignKey(
        "SettlementBatch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims",
    )
    created_at = models.DateTimeField(_("Claimed at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("Decided at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("Paid at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="claim_amount"),
        ]
        verbose_name = _("Claim")
        verbose_name_plural = _("Claims")

    def __str__(self) -> str:
        return f"C{self.pk} P{self.programme_id}"


class Redemption(models.Model):
    """A voucher applied to a completed order. One live redemption per order.

    `reversed_at` is set when the claim containing it is rejected and the amount went back.
    """

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="redemptions")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="redemptions")
    client = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField(_("Amount (fen)"))
    year = models.PositiveSmallIntegerField(_("Calendar year"))
    idempotency_key = models.CharField(max_length=64, blank=True)
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("Redeemed at"), auto_now_add=True)
    reversed_at = models.DateTimeField(_("Reversed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["programme", "client", "year"], name="redemption_cap")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="redemption_amount"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(reversed_at__isnull=True), name="one_live_redemption"
            ),
        ]
        verbose_name = _("Redemption")
        verbose_name_plural = _("Redemptions")

    def __str__(self) -> str:
        return f"R{self.pk} V{self.voucher_id} O{self.order_id}"


class SettlementBatch(models.Model):
    """The approved claims of one programme paid together for one period.

    Paying runs claim by claim, each in its own transaction, so a batch interrupted half-way
    is resumed by paying it again (status stays `paying` until every claim is paid).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Prepared")
        PAYING = "paying", _("Payment in progress")
        PAID = "paid", _("Paid")

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="batches")
    period_start = models.DateField(_("Period from"))
    period_end = models.DateField(_("Period until"))
    status = models.CharField(
        _("Status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    total_fen = models.BigIntegerField(_("Total (fen)"), default=0)
    payment_reference = models.CharField(_("Payment reference"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(_("Paid at"), null=True, blank=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "period_start", "period_end"], name="one_batch_per_period"
            )
        ]
        verbose_name = _("Settlement batch")
        verbose_name_plural = _("Settlement batches")

    def __str__(self) -> str:
        return f"P{self.programme_id} {self.period_start}–{self.period_end}"


class Account(models.Model):
    """A ledger account. `balance_fen` is a cache of the sum of its postings (debit +).

    Kinds per programme: funding (where the budget came from, negative), budget (not yet
    committed), voucher (one per voucher: issued, unspent), redeemed (spent, not yet
    approved in a claim), payable (approved claims owed to providers) and paid.
    """

    class Kind(models.TextChoices):
        FUNDING = "funding", _("Funding")
        BUDGET = "budget", _("Available budget")
        VOUCHER = "voucher", _("Voucher balance")
        REDEEMED = "redeemed", _("Redeemed, unclaimed")
        PAYABLE = "payable", _("Claims payable")
        PAID = "paid", _("Paid out")

    code = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="accounts")
    voucher = models.OneToOneField(
        Voucher, null=True, blank=True, on_delete=models.PROTECT, related_name="account"
    )
    balance_fen = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["code"]
        constraints = [
            # The last line of defence behind ledger.post's conditional updates.
            models.CheckConstraint(
                condition=Q(kind="funding") | Q(balance_fen__gte=0), name="account_not_negative"
            )
        ]
        verbose_name = _("Ledger account")
        verbose_name_plural = _("Ledger accounts")

    def __str__(self) -> str:
        return self.code


class AppendOnlyQuerySet(models.QuerySet):  # type: ignore[type-arg]
    def update(self, **kwargs: object) -> int:  # pragma: no cover - guarded invariant
        raise PermissionError("ledger rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:  # pragma: no cover - guarded invariant
        raise PermissionError("ledger rows are append-only")


class JournalEntry(models.Model):
    """One balanced movement of money: its postings sum to zero. Append-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=20)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="entries")
    memo = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("Journal entry")
        verbose_name_plural = _("Journal entries")

    def __str__(self) -> str:
        return f"J{self.pk} {self.kind}"


class Posting(models.Model):
    """One line of a journal entry: an amount in fen on one account (debit +, credit −)."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount_fen = models.BigIntegerField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="posting_nonzero")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount_fen:+d}"
