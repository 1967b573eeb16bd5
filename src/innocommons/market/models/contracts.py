"""Technology contracts (技术合同) and their registration (认定登记) by the seller's region.

DESIGN §6: types and sub-types from the Civil Code arts. 843–887; payment methods; the
statistics fields; output counts by the seller's region, absorption by the buyer's.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation
from innocommons.core.models import Region

__all__ = [
    "REVIEW_DAYS",
    "SUBTYPES",
    "ContractField",
    "ContractType",
    "PaymentMethod",
    "RegistrationSequence",
    "TechContract",
]

# The registrar decides within 30 days of submission (DESIGN §6).
REVIEW_DAYS = 30


class ContractType(models.TextChoices):
    DEVELOPMENT = "development", _("Technology development")
    TRANSFER = "transfer", _("Technology transfer")
    LICENCE = "licence", _("Technology licence")
    CONSULTING = "consulting", _("Technology consulting")
    SERVICE = "service", _("Technology service")


# Sub-types per type (DESIGN §6). The first is the default.
SUBTYPES: dict[str, list[tuple[str, object]]] = {
    ContractType.DEVELOPMENT: [
        ("commissioned", _("Commissioned development")),
        ("cooperative", _("Cooperative development")),
    ],
    ContractType.TRANSFER: [
        ("patent_right", _("Patent right transfer")),
        ("patent_application", _("Patent application right transfer")),
        ("technical_secret", _("Technical secret transfer")),
    ],
    ContractType.LICENCE: [
        ("patent_licence", _("Patent licence")),
        ("secret_licence", _("Technical secret licence")),
    ],
    ContractType.CONSULTING: [("consulting", _("Technology consulting"))],
    ContractType.SERVICE: [
        ("service", _("Technology service")),
        ("training", _("Technology training")),
        ("brokerage", _("Technology brokerage")),
    ],
}


class PaymentMethod(models.TextChoices):
    LUMP_SUM = "lump_sum", _("Lump sum, paid at once")
    INSTALMENTS = "instalments", _("Lump sum, paid in instalments")
    ROYALTIES = "royalties", _("Royalties")
    ROYALTIES_ENTRY_FEE = "royalties_entry_fee", _("Royalties plus an entry fee")


class ContractField(models.TextChoices):
    """The statistics fields of technology contracts (not the catalog's eight fields)."""

    ELECTRONICS = "electronics", _("Electronic information")
    AEROSPACE = "aerospace", _("Aerospace")
    MANUFACTURING = "manufacturing", _("Advanced manufacturing")
    BIOMEDICINE = "biomedicine", _("Biology, medicine and medical devices")
    MATERIALS = "materials", _("New materials and their applications")
    ENERGY = "energy", _("New energy and energy efficiency")
    ENVIRONMENT = "environment", _("Environmental protection and resource use")
    NUCLEAR = "nuclear", _("Nuclear applications")
    AGRICULTURE = "agriculture", _("Agriculture")
    TRANSPORT = "transport", _("Modern transport")
    URBAN = "urban", _("Urban construction and social development")


class TechContract(models.Model):
    """A technology contract and its registration by the seller's region.

    draft → submitted → registered (with a registration number and the confirmed
    technology-transaction amount) or refused (with reasons) → submitted again on appeal;
    a draft whose auction sale defaulted becomes void.
    Parties are organisations where known; their names and regions are copied at
    submission so the statistics stay right if an organisation moves, and so historical
    imports can name parties that have no profile here.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Awaiting registration")
        REGISTERED = "registered", _("Registered")
        REFUSED = "refused", _("Refused")
        # A draft that will never be submitted: its auction sale defaulted (kept, as every
        # record of a sale is, with the reason in `decision_reason`).
        VOID = "void", _("Void")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by the seller")
        AUCTION = "auction", _("Auction")
        CHALLENGE = "challenge", _("Open challenge")
        IMPORT = "import", _("Imported")

    ref = models.CharField(_("Contract number"), max_length=40, unique=True)
    title = models.CharField(_("Contract title"), max_length=300)
    type = models.CharField(_("Contract type"), max_length=12, choices=ContractType.choices)
    subtype = models.CharField(_("Sub-type"), max_length=24)
    seller = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts_sold",
        verbose_name=_("Seller"),
    )
    seller_name = models.CharField(_("Seller"), max_length=200)
    seller_region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("Seller's region")
    )
    buyer = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts_bought",
        verbose_name=_("Buyer"),
    )
    buyer_name = models.CharField(_("Buyer"), max_length=200)
    buyer_region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("Buyer's region")
    )
    amount_fen = models.BigIntegerField(
        _("Contract amount (fen)"), validators=[MinValueValidator(0)]
    )
    tech_amount_fen = models.BigIntegerField(
        _("Technology-transaction amount claimed (fen)"), validators=[MinValueValidator(0)]
    )
    registered_tech_amount_fen = models.BigIntegerField(
        _("Technology-transaction amount registered (fen)"), null=True, blank=True
    )
    payment_method = models.CharField(
        _("Payment method"),
        max_length=20,
        choices=PaymentMethod.choices,
        default=PaymentMethod.LUMP_SUM,
    )
    field = models.CharField(_("Field"), max_length=16, choices=ContractField.choices)
    signed_on = models.DateField(_("Signed on"), db_index=True)
    file = models.FileField(_("Contract file"), upload_to="contracts/%Y/%m/", blank=True)
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    source = models.CharField(
        _("Source"), max_length=10, choices=Source.choices, default=Source.MANUAL
    )
    source_ref = models.CharField(_("Source reference"), max_length=60, blank=True)
    submitted_at = models.DateTimeField(_("Submitted at"), null=True, blank=True)
    due_on = models.DateField(_("Decision due"), null=True, blank=True)
    registration_no = models.CharField(
        _("Registration number"), max_length=40, null=True, blank=True, unique=True
    )
    registered_on = models.DateField(_("Registered on"), null=True, blank=True, db_index=True)
    decision_reason = models.TextField(_("Reasons"), max_length=3000, blank=True)
    decided_at = models.DateTimeField(_("Decided at"), null=True, blank=True)
    appeal_statement = models.TextField(_("Appeal statement"), max_length=3000, blank=True)
    appeals = models.PositiveSmallIntegerField(_("Appeals"), default=0)
    file_name = models.CharField(_("File name"), max_length=120, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signed_on", "-id"]
        indexes = [
            models.Index(fields=["status", "registered_on"], name="contract_registered"),
            models.Index(fields=["seller_region", "buyer_region"], name="contract_flow"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(tech_amount_fen__lte=F("amount_fen")), name="contract_tech_le_amount"
            ),
            models.CheckConstraint(
                condition=Q(registered_tech_amount_fen__isnull=True)
                | Q(registered_tech_amount_fen__lte=F("amount_fen")),
                name="contract_registered_le_amount",
            ),
            models.CheckConstraint(
                condition=~Q(status="registered")
                | Q(
                    registration_no__isnull=False,
                    registered_tech_amount_fen__isnull=False,
                    registered_on__isnull=False,
                ),
                name="contract_registered_has_number",
            ),
        ]
        verbose_name = _("Technology contract")
        verbose_name_plural = _("Technology contracts")

    def __str__(self) -> str:
        return f"{self.ref} {self.title}"

    @property
    def subtype_label(self) -> str:
        return str(dict(SUBTYPES.get(self.type, [])).get(self.subtype, self.subtype))

    @property
    def is_overdue(self) -> bool:
        """Waiting for the registrar past its due date."""
        return (
            self.status == self.Status.SUBMITTED
            and self.due_on is not None
            and timezone.localdate() > self.due_on
        )

    @property
    def days_left(self) -> int | None:
        if self.status != self.Status.SUBMITTED or self.due_on is None:
            return None
        return (self.due_on - timezone.localdate()).days


class RegistrationSequence(models.Model):
    """The last registration number issued per province-level region and year.

    Registrations take the next number with a conditional `UPDATE … SET last = last + n`,
    which the database serialises per row, so two registrars never get the same number;
    the unique `registration_no` on the contract is the last line of defence.
    """

    province = models.CharField(_("Province-level region"), max_length=12)
    year = models.PositiveIntegerField(_("Year"))
    last = models.PositiveIntegerField(_("Last number issued"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["province", "year"], name="uniq_registration_seq")
        ]
        verbose_name = _("Registration number sequence")
        verbose_name_plural = _("Registration number sequences")

    def __str__(self) -> str:
        return f"{self.province}/{self.year}: {self.last}"
