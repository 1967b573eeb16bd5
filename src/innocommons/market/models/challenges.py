"""Open challenges (揭榜挂帅): the party with the need posts a problem with a reward paid by
milestone; teams submit proposals before the deadline; invited experts score them on the
published criteria; the issuer selects a winner, which stands in public notice; the award
creates a technology-development contract and the milestone plan is paid stage by stage.

DESIGN §6: no limits on the applicant's age, title or years registered — there are
deliberately no fields for such limits, only a free eligibility text.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from innocommons.accounts.models import Organisation
from innocommons.core.models import Region
from innocommons.market.models.contracts import ContractField, TechContract

__all__ = [
    "MAX_REGION_REWARD_FEN",
    "NOTICE_DAYS_DEFAULT",
    "Challenge",
    "ChallengeMilestone",
    "Criterion",
    "Objection",
    "Panelist",
    "Proposal",
    "ProposalAttachment",
    "Score",
    "ScoreSheet",
]

# A winner's selection stands in public notice this many days before the award (configurable
# per challenge).
NOTICE_DAYS_DEFAULT = 5
# Government-issued challenges fund at most 30 million yuan (DESIGN §6).
MAX_REGION_REWARD_FEN = 30_000_000 * 100


class Challenge(models.Model):
    """A problem posted with a reward, milestones, criteria and a deadline.

    The issuer is an enterprise (`issued_by_region` false, acted for by its members) or a
    regional administration (`issued_by_region` true, acted for by the region's
    administrators) — then `issuer_org` is a government organisation of that region, which
    becomes the buyer of the award's contract so the absorption statistics count the region.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        NOTICE = "notice", _("Winner in public notice")
        AWARDED = "awarded", _("Awarded, milestones running")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("Title"), max_length=200)
    problem = models.TextField(_("Problem"), max_length=10_000)
    expected_results = models.TextField(_("Expected results"), max_length=10_000)
    eligibility = models.TextField(_("Who may apply"), max_length=3000, blank=True)
    field = models.CharField(_("Field"), max_length=16, choices=ContractField.choices)
    issuer_org = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="challenges_issued",
        verbose_name=_("Issuer"),
    )
    issued_by_region = models.BooleanField(_("Issued by the regional administration"))
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("Region")
    )
    reward_fen = models.BigIntegerField(_("Reward (fen)"), validators=[MinValueValidator(1)])
    deadline = models.DateTimeField(_("Proposals due by"), db_index=True)
    notice_days = models.PositiveSmallIntegerField(
        _("Public notice (days)"),
        default=NOTICE_DAYS_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
    )
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    selected = models.ForeignKey(
        "Proposal",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Selected proposal"),
    )
    selection_reason = models.TextField(_("Reason for the selection"), blank=True)
    selected_at = models.DateTimeField(_("Selected at"), null=True, blank=True)
    notice_until = models.DateTimeField(_("Public notice ends"), null=True, blank=True)
    awarded_at = models.DateTimeField(_("Awarded at"), null=True, blank=True)
    contract = models.ForeignKey(
        TechContract,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Contract"),
    )
    cancel_reason = models.TextField(_("Reason for cancelling"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(reward_fen__gt=0), name="challenge_reward_gt_0"),
            models.CheckConstraint(
                condition=Q(status__in=["open", "cancelled"]) | Q(selected__isnull=False),
                name="challenge_selected_after_open",
            ),
        ]
        verbose_name = _("Challenge")
        verbose_name_plural = _("Challenges")

    def __str__(self) -> str:
        return self.title

    @property
    def phase(self) -> str:
        """`open` (taking proposals), `evaluation` (deadline passed, no winner yet), or the
        status."""
        if self.status == self.Status.OPEN:
            return "open" if timezone.now() < self.deadline else "evaluation"
        return str(self.status)

    @property
    def phase_label(self) -> str:
        if self.phase == "open":
            return str(_("Open for proposals"))
        if self.phase == "evaluation":
            return str(_("Under evaluation"))
        return str(self.get_status_display())

    @property
    def accepts_proposals(self) -> bool:
        return self.phase == "open"

    @property
    def notice_running(self) -> bool:
        return (
            self.status == self.Status.NOTICE
            and self.notice_until is not None
            and timezone.now() < self.notice_until
        )


class Criterion(models.Model):
    """A published evaluation criterion with its weight in percent (weights sum to 100)."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="criteria")
    seq = models.PositiveSmallIntegerField()
    name = models.CharField(_("Criterion"), max_length=200)
    weight = models.PositiveSmallIntegerField(
        _("Weight (%)"), validators=[MinValueValidator(1), MaxValueValidator(100)]
    )

    class Meta:
        ordering = ["challenge", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "seq"], name="uniq_criterion_seq")
        ]
        verbose_name = _("Evaluation criterion")
        verbose_name_plural = _("Evaluation criteria")

    def __str__(self) -> str:
        return f"{self.name} ({self.weight}%)"


class ChallengeMilestone(models.Model):
    """One stage of the reward. The amounts sum to the reward. After the award each is
    pending until the issuer accepts the stage, which releases its amount exactly once."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        PENDING = "pending", _("Awaiting acceptance")
        ACCEPTED = "accepted", _("Accepted, amount released")

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="milestones")
    seq = models.PositiveSmallIntegerField()
    title = models.CharField(_("Milestone"), max_length=200)
    amount_fen = models.BigIntegerField(_("Amount (fen)"), validators=[MinValueValidator(1)])
    due_on = models.DateField(_("Due on"), null=True, blank=True)
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    released_fen = models.BigIntegerField(_("Released (fen)"), default=0)
    accepted_at = models.DateTimeField(_("Accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acceptance_note = models.TextField(_("Acceptance note"), blank=True)

    class Meta:
        ordering = ["challenge", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "seq"], name="uniq_milestone_seq"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="milestone_amount_gt_0"),
            # Released exactly the milestone's amount, and only once accepted.
            models.CheckConstraint(
                condition=(Q(status="accepted") & Q(released_fen=models.F("amount_fen")))
                | (~Q(status="accepted") & Q(released_fen=0)),
                name="milestone_released_iff_accepted",
            ),
        ]
        verbose_name = _("Milestone")
        verbose_name_plural = _("Milestones")

    def __str__(self) -> str:
        return f"{self.seq}. {self.title}"


class Proposal(models.Model):
    """A team's proposal: a lead organisation (the contract's seller if it wins) and
    partner organisations, possibly from several regions."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="proposals")
    lead_org = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="challenge_proposals",
        verbose_name=_("Lead organisation"),
    )
    partners = models.ManyToManyField(
        Organisation, blank=True, related_name="+", verbose_name=_("Partner organisations")
    )
    title = models.CharField(_("Title"), max_length=200)
    summary = models.TextField(_("Approach"), max_length=10_000)
    team = models.TextField(_("Team"), max_length=3000, blank=True)
    status = models.CharField(
        _("Status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(_("Submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("Updated at"), auto_now=True)

    class Meta:
        ordering = ["challenge", "submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["challenge", "lead_org"], name="uniq_proposal_per_lead_org"
            )
        ]
        verbose_name = _("Proposal")
        verbose_name_plural = _("Proposals")

    def __str__(self) -> str:
        return self.title

    def party_ids(self) -> set[int]:
        """The lead and partner organisations' ids."""
        return {self.lead_org_id, *(o.pk for o in self.partners.all())}


class ProposalAttachment(models.Model):
    """A document of a proposal (type checked by its content, at most 20 MiB)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("File"), upload_to="challenges/%Y/%m/")
    name = models.CharField(_("File name"), max_length=120)
    size = models.PositiveIntegerField(_("Size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "uploaded_at", "id"]
        verbose_name = _("Proposal attachment")
        verbose_name_plural = _("Proposal attachments")

    def __str__(self) -> str:
        return self.name


class Panelist(models.Model):
    """An expert invited to the challenge's evaluation panel."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="panelists")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="panel_seats"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge", "invited_at", "id"]
        constraints = [models.UniqueConstraint(fields=["challenge", "user"], name="uniq_panelist")]
        verbose_name = _("Panelist")
        verbose_name_plural = _("Panelists")

    def __str__(self) -> str:
        return str(self.user)


class ScoreSheet(models.Model):
    """One panelist's scores for one proposal; `weighted` = Σ points × weight / 100."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="sheets")
    panelist = models.ForeignKey(Panelist, on_delete=models.CASCADE, related_name="sheets")
    weighted = models.DecimalField(_("Weighted score"), max_digits=6, decimal_places=2)
    comment = models.TextField(_("Comment"), max_length=3000, blank=True)
    scored_at = models.DateTimeField(_("Scored at"), auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "panelist"], name="uniq_score_sheet")
        ]
        verbose_name = _("Score sheet")
        verbose_name_plural = _("Score sheets")

    def __str__(self) -> str:
        return f"{self.panelist} → {self.proposal}: {self.weighted}"


class Score(models.Model):
    """Points (0–100) for one criterion on a score sheet."""

    sheet = models.ForeignKey(ScoreSheet, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="+")
    points = models.PositiveSmallIntegerField(
        _("Points"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sheet", "criterion"], name="uniq_score"),
            models.CheckConstraint(condition=Q(points__lte=100), name="score_points_le_100"),
        ]
        verbose_name = _("Score")
        verbose_name_plural = _("Scores")

    def __str__(self) -> str:
        return f"{self.criterion_id}: {self.points}"


class Objection(models.Model):
    """An objection raised during the public notice of a selection (free text)."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="objections")
    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="objections", null=True
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("Objection"), max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["challenge", "created_at", "id"]
        verbose_name = _("Objection")
        verbose_name_plural = _("Objections")

    def __str__(self) -> str:
        return f"{self.challenge_id}: {self.text[:40]}"
