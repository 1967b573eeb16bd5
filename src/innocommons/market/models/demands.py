"""Technology demands (技术需求) posted by enterprises, the providers alerted about them,
and the conversation threads that an expression of interest opens.

draft → published → closed, with the outcome solved, expired (the deadline passed; see
`market.tasks.expire_demands`) or withdrawn. The title and summary are public; the details
are shown to verified organisations only unless the poster makes them public.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation
from innocommons.catalog.models import Resource, Term
from innocommons.core.models import Region

__all__ = [
    "Demand",
    "DemandAlert",
    "DemandTerm",
    "Message",
    "Thread",
]


class Demand(models.Model):
    """A problem an enterprise wants solved, with a field, a budget range and a deadline."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        SOLVED = "solved", _("Solved")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Confidentiality(models.TextChoices):
        VERIFIED = "verified", _("Details for verified organisations only")
        PUBLIC = "public", _("Everything public")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="demands",
        verbose_name=_("Posted by"),
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("Region")
    )
    title_zh = models.CharField(_("Chinese title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200, blank=True)
    summary_zh = models.TextField(_("Problem statement (Chinese, public)"), max_length=3000)
    summary_en = models.TextField(
        _("Problem statement (English, public)"), max_length=3000, blank=True
    )
    details_zh = models.TextField(_("Details (Chinese)"), max_length=10_000, blank=True)
    details_en = models.TextField(_("Details (English)"), max_length=10_000, blank=True)
    keywords = models.CharField(
        _("Keywords"), max_length=500, blank=True, help_text=_("Separated by semicolons.")
    )
    field = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"scheme": Term.Scheme.TECH_FIELD},
        verbose_name=_("Technology field"),
    )
    budget_min_fen = models.BigIntegerField(
        _("Budget from (fen)"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    budget_max_fen = models.BigIntegerField(
        _("Budget up to (fen)"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    min_trl = models.PositiveSmallIntegerField(
        _("Maturity needed (TRL at least)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(9)],
    )
    deadline = models.DateField(_("Deadline"), db_index=True)
    confidentiality = models.CharField(
        _("Confidentiality"),
        max_length=10,
        choices=Confidentiality.choices,
        default=Confidentiality.VERIFIED,
    )
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    outcome = models.CharField(_("Outcome"), max_length=10, choices=Outcome.choices, blank=True)
    ref = models.CharField(
        _("External reference"), max_length=64, null=True, blank=True, unique=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("Created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("Updated at"), auto_now=True)
    published_at = models.DateTimeField(_("Published at"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("Closed at"), null=True, blank=True)
    # Set once the providers whose listings match have been alerted (idempotency).
    alerts_sent_at = models.DateTimeField(_("Providers alerted at"), null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["status", "deadline"], name="demand_open")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="closed") & ~Q(outcome=""))
                | (~Q(status="closed") & Q(outcome="")),
                name="demand_outcome_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(budget_min_fen__isnull=True)
                | Q(budget_max_fen__isnull=True)
                | Q(budget_min_fen__lte=models.F("budget_max_fen")),
                name="demand_budget_range",
            ),
            models.CheckConstraint(
                condition=(Q(budget_min_fen__isnull=True) | Q(budget_min_fen__gte=0))
                & (Q(budget_max_fen__isnull=True) | Q(budget_max_fen__gte=0)),
                name="demand_budget_non_negative",
            ),
        ]
        verbose_name = _("Technology demand")
        verbose_name_plural = _("Technology demands")

    def __str__(self) -> str:
        return self.title

    @property
    def _english(self) -> bool:
        return (get_language() or "").startswith("en")

    @property
    def title(self) -> str:
        return self.title_en if self._english and self.title_en else self.title_zh

    @property
    def summary(self) -> str:
        return self.summary_en if self._english and self.summary_en else self.summary_zh

    @property
    def details(self) -> str:
        return self.details_en if self._english and self.details_en else self.details_zh

    @property
    def keyword_list(self) -> list[str]:
        return [k for k in self.keywords.split(";") if k]

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PUBLISHED


class DemandTerm(models.Model):
    """One key term of a demand with its weight: the reverse index that finds the open
    demands an achievement answers (written on every save of the demand)."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="terms")
    token = models.CharField(max_length=40, db_index=True)
    label = models.CharField(max_length=60)
    weight = models.FloatField()

    class Meta:
        ordering = ["-weight", "token"]
        constraints = [models.UniqueConstraint(fields=["demand", "token"], name="uniq_demand_term")]

    def __str__(self) -> str:
        return f"{self.token} ({self.weight:.2f})"


class DemandAlert(models.Model):
    """A provider organisation alerted about a published demand its listing matches."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="alerts")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, null=True, on_delete=models.SET_NULL, related_name="+")
    score = models.FloatField(_("Match score"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["demand", "organisation"], name="uniq_demand_alert")
        ]
        verbose_name = _("Demand alert")
        verbose_name_plural = _("Demand alerts")

    def __str__(self) -> str:
        return f"{self.demand_id} → {self.organisation_id} ({self.score:.2f})"


class Thread(models.Model):
    """The conversation a provider opens by expressing interest in a demand: one per
    (demand, provider organisation), readable by the members of those two only."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="threads")
    provider = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="demand_threads",
        verbose_name=_("Provider"),
    )
    resource = models.ForeignKey(
        Resource,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Listing offered"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("Opened at"), auto_now_add=True)
    last_message_at = models.DateTimeField(_("Last message"), db_index=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["demand", "provider"], name="uniq_demand_thread")
        ]
        verbose_name = _("Conversation")
        verbose_name_plural = _("Conversations")

    def __str__(self) -> str:
        return f"{self.demand} ↔ {self.provider}"


class Message(models.Model):
    """One message of a thread, written by a member of one of its two organisations."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("Sent for")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("Message"), max_length=5000)
    created_at = models.DateTimeField(_("Sent at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("Message")
        verbose_name_plural = _("Messages")

    def __str__(self) -> str:
        return self.body[:60]
