"""The catalog: one `Resource` row per listing plus a detail row for its kind.

Explicit one-to-one detail tables (rather than multi-table inheritance) keep bulk
creation possible for the million-row generator and keep the search hydration to one query.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation
from innocommons.core.models import Bilingual, Region


class Term(Bilingual):
    """One entry of a taxonomy (scheme), loaded as data and editable by operators."""

    class Scheme(models.TextChoices):
        TECH_FIELD = "tech_field", _("Technology field")
        INSTRUMENT_CATEGORY = "instrument_category", _("Instrument category")
        SERVICE_CATEGORY = "service_category", _("Service category")
        MATURITY_STAGE = "maturity_stage", _("Maturity stage")

    scheme = models.CharField(_("Taxonomy"), max_length=30, choices=Scheme.choices)
    code = models.CharField(_("Code"), max_length=20)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    sort = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["scheme", "sort", "code"]
        constraints = [models.UniqueConstraint(fields=["scheme", "code"], name="uniq_term")]
        verbose_name = _("Taxonomy entry")
        verbose_name_plural = _("Taxonomy entries")


class Kind(models.TextChoices):
    INSTRUMENT = "instrument", _("Instrument")
    SERVICE = "service", _("Technical service")
    ACHIEVEMENT = "achievement", _("Technology achievement")
    EXPERT = "expert", _("Expert")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


# Owners whose listings are hidden from the public (search, detail pages) until reinstated.
HIDDEN_OWNER_STATUSES = ("suspended", "rejected")


class Resource(models.Model):
    """A catalog listing of any kind, owned by an organisation and located in a region."""

    kind = models.CharField(_("Type"), max_length=12, choices=Kind.choices, db_index=True)
    owner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="resources",
        verbose_name=_("Owner"),
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, verbose_name=_("Located in"))
    title_zh = models.CharField(_("Chinese title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    summary_zh = models.TextField(_("Chinese summary"), max_length=5000, blank=True)
    summary_en = models.TextField(_("English summary"), max_length=5000, blank=True)
    keywords = models.CharField(
        _("Keywords"), max_length=500, blank=True, help_text=_("Separated by semicolons.")
    )
    field = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"scheme": Term.Scheme.TECH_FIELD},
        verbose_name=_("Technology field"),
    )
    price_fen = models.BigIntegerField(
        _("Price (fen)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Leave empty for a price on request."),
    )
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    ref = models.CharField(
        _("External reference"),
        max_length=64,
        null=True,
        blank=True,
        unique=True,
        help_text=_("A stable identifier from imports or demo data, used to avoid duplicates."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("Created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("Updated at"), auto_now=True)
    published_at = models.DateTimeField(_("Published at"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["owner", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_fen__isnull=True) | models.Q(price_fen__gte=0),
                name="resource_price_non_negative",
            )
        ]
        verbose_name = _("Resource")
        verbose_name_plural = _("Resources")

    @property
    def title(self) -> str:
        if (get_language() or "").startswith("en") and self.title_en:
            return self.title_en
        return self.title_zh

    @property
    def summary(self) -> str:
        if (get_language() or "").startswith("en") and self.summary_en:
            return self.summary_en
        return self.summary_zh

    @property
    def keyword_list(self) -> list[str]:
        return [k for k in self.keywords.split(";") if k]

    @property
    def detail(self) -> models.Model | None:
        """The kind-specific detail row, or None if it has not been created."""
        try:
            return getattr(self, self.kind)  # type: ignore[no-any-return]
        except models.ObjectDoesNotExist:
            return None

    def __str__(self) -> str:
        return self.title


class Instrument(models.Model):
    """A research instrument offered for shared use (大型科研仪器 when valued ≥ 500,000 yuan)."""

    class SharingMode(models.TextChoices):
        OPEN = "open", _("Fully open")
        SCHEDULED = "scheduled", _("Open by booking")
        OPERATOR_ONLY = "operator_only", _("Operated by instrument staff only")

    resource = models.OneToOneField(
        Resource, primary_key=True, on_delete=models.CASCADE, related_name="instrument"
    )
    category = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"scheme": Term.Scheme.INSTRUMENT_CATEGORY},
        verbose_name=_("Instrument category"),
    )
    manufacturer = models.CharField(_("Manufacturer"), max_length=200, blank=True)
    model_name = models.CharField(_("Model"), max_length=120, blank=True)
    origin_country = models.CharField(_("Country of origin"), max_length=60, blank=True)
    original_value_fen = models.BigIntegerField(
        _("Original value (fen)"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    location = models.CharField(_("Location"), max_length=300, blank=True)
    fee_per_hour_fen = models.BigIntegerField(
        _("Fee per hour (fen)"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    fee_per_sample_fen = models.BigIntegerField(
        _("Fee per sample (fen)"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    internal_discount_pct = models.PositiveSmallIntegerField(
        _("Internal discount (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("Discount for the organisation's own users relative to the external price."),
    )
    sharing_mode = models.CharField(
        _("Sharing mode"), max_length=20, choices=SharingMode.choices, default=SharingMode.SCHEDULED
    )
    opening_hours = models.CharField(_("Opening hours"), max_length=200, blank=True)
    min_booking_minutes = models.PositiveIntegerField(_("Minimum booking (minutes)"), default=60)
    max_booking_minutes = models.PositiveIntegerField(_("Maximum booking (minutes)"), default=480)
    lead_time_hours = models.PositiveIntegerField(_("Booking lead time (hours)"), default=24)
    needs_approval = models.BooleanField(_("Requires approval"), default=True)

    class Meta:
        verbose_name = _("Instrument")
        verbose_name_plural = _("Instruments")

    def __str__(self) -> str:
        return str(self.resource)

    @property
    def is_large(self) -> bool:
        """DESIGN §6: "large" means an original value of at least 500,000 yuan."""
        return (self.original_value_fen or 0) >= 500_000 * 100


class Service(models.Model):
    """A testing, R&D, design or consulting service with a price or "on quote"."""

    resource = models.OneToOneField(
        Resource, primary_key=True, on_delete=models.CASCADE, related_name="service"
    )
    category = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"scheme": Term.Scheme.SERVICE_CATEGORY},
        verbose_name=_("Service category"),
    )
    price_unit = models.CharField(_("Pricing unit"), max_length=40, blank=True)
    turnaround_days = models.PositiveIntegerField(_("Turnaround (days)"), null=True, blank=True)
    cma = models.BooleanField(_("CMA certified"), default=False)
    cnas = models.BooleanField(_("CNAS accredited"), default=False)

    class Meta:
        verbose_name = _("Technical service")
        verbose_name_plural = _("Technical services")

    def __str__(self) -> str:
        return str(self.resource)


class Achievement(models.Model):
    """A technology achievement (科技成果) offered for transfer, licence or cooperation."""

    class TransferMode(models.TextChoices):
        TRANSFER = "transfer", _("Transfer")
        LICENCE = "licence", _("Licence")
        EQUITY = "equity", _("Equity contribution")
        JOINT = "joint", _("Joint development")

    resource = models.OneToOneField(
        Resource, primary_key=True, on_delete=models.CASCADE, related_name="achievement"
    )
    trl = models.PositiveSmallIntegerField(
        _("Technology readiness level (TRL)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(9)],
    )
    stage = models.ForeignKey(
        Term,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"scheme": Term.Scheme.MATURITY_STAGE},
        verbose_name=_("Maturity stage"),
    )
    patents = models.CharField(_("Patent numbers"), max_length=500, blank=True)
    transfer_modes = models.CharField(
        _("Transfer modes"), max_length=100, blank=True, help_text=_("Comma-separated codes.")
    )
    problem = models.TextField(_("Problem solved"), max_length=3000, blank=True)
    advantages = models.TextField(_("Advantages"), max_length=3000, blank=True)

    class Meta:
        verbose_name = _("Technology achievement")
        verbose_name_plural = _("Technology achievements")

    def __str__(self) -> str:
        return str(self.resource)

    @property
    def transfer_mode_list(self) -> list[str]:
        return [m for m in self.transfer_modes.split(",") if m]

    def transfer_mode_labels(self) -> list[str]:
        labels = dict(self.TransferMode.choices)
        return [str(labels.get(m, m)) for m in self.transfer_mode_list]


class Expert(models.Model):
    """An expert who can be consulted; the resource's owner is the expert's organisation."""

    resource = models.OneToOneField(
        Resource, primary_key=True, on_delete=models.CASCADE, related_name="expert"
    )
    person_title = models.CharField(_("Professional title"), max_length=100, blank=True)
    email = models.EmailField(_("Email"), blank=True)

    class Meta:
        verbose_name = _("Expert")
        verbose_name_plural = _("Experts")

    def __str__(self) -> str:
        return str(self.resource)


class SearchOutbox(models.Model):
    """A resource whose search document must be refreshed. Written in the same transaction
    as the change. An ordered log shared by every app host: each host's indexer follows it
    with its own cursor; rows are pruned a week after every index has applied them."""

    resource_id = models.BigIntegerField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"outbox #{self.pk}: resource {self.resource_id}"
