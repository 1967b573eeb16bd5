"""Users, organisations, memberships, staff roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from innocommons.core.models import Region


class User(AbstractUser):
    """A person who signs in. Organisation membership and staff roles carry the permissions."""

    display_name = models.CharField(_("Full name"), max_length=100, blank=True)
    phone = models.CharField(_("Phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("User")
        verbose_name_plural = _("Users")

    def __str__(self) -> str:
        return self.display_name or self.username


class Organisation(models.Model):
    """A firm, university, institute, service provider, agency or investor.

    One profile keyed by the credit code serves every region's programmes (DESIGN §9).
    """

    class Type(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise")
        UNIVERSITY = "university", _("University")
        INSTITUTE = "institute", _("Research institute")
        SERVICE_PROVIDER = "service_provider", _("Service provider")
        GOVERNMENT = "government", _("Government agency")
        INVESTOR = "investor", _("Investor")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    name_zh = models.CharField(_("Chinese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    type = models.CharField(_("Organisation type"), max_length=20, choices=Type.choices)
    credit_code = models.CharField(
        _("Unified social credit code"), max_length=18, unique=True, null=True, blank=True
    )
    credit_code_flagged = models.BooleanField(
        _("Check digit in doubt"),
        default=False,
        help_text=_(
            "The check digit does not match and a reviewer must confirm the code "
            "(some codes from early pilot regions are like this)."
        ),
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, verbose_name=_("Located in"))
    status = models.CharField(
        _("Verification status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    status_reason = models.TextField(_("Review comments"), blank=True)
    verified_at = models.DateTimeField(_("Verified at"), null=True, blank=True)
    is_high_tech = models.BooleanField(_("High-tech enterprise"), default=False)
    is_tech_sme = models.BooleanField(_("Tech-based SME"), default=False)
    related = models.ManyToManyField(
        "self",
        blank=True,
        symmetrical=True,
        verbose_name=_("Related parties"),
        help_text=_("Organisations with the same actual controller or otherwise related."),
    )
    website = models.URLField(_("Website"), blank=True)
    contact_email = models.EmailField(_("Contact email"), blank=True)
    contact_phone = models.CharField(_("Contact phone"), max_length=40, blank=True)
    address = models.CharField(_("Address"), max_length=300, blank=True)
    description = models.TextField(_("Description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name_zh"]
        verbose_name = _("Organisation")
        verbose_name_plural = _("Organisations")

    @property
    def name(self) -> str:
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in an organisation: a member, or an admin who manages members."""

    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        ADMIN = "admin", _("Administrator")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("Role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="uniq_membership")
        ]
        verbose_name = _("Membership")
        verbose_name_plural = _("Memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"


class StaffRole(models.Model):
    """A community-level role: regional administrator (of one region), operator or auditor."""

    class Role(models.TextChoices):
        REGIONAL_ADMIN = "regional_admin", _("Regional administrator")
        OPERATOR = "operator", _("Platform operator")
        AUDITOR = "auditor", _("Auditor")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_roles")
    role = models.CharField(_("Role"), max_length=20, choices=Role.choices)
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("Jurisdiction")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "region"], name="uniq_staff_role"),
            models.CheckConstraint(
                condition=Q(role="regional_admin", region__isnull=False)
                | (~Q(role="regional_admin") & Q(region__isnull=True)),
                name="staff_role_region_iff_regional_admin",
            ),
        ]
        verbose_name = _("Staff role")
        verbose_name_plural = _("Staff roles")

    def __str__(self) -> str:
        return f"{self.user}: {self.get_role_display()} {self.region or ''}".strip()


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the raw value is shown once."""

    PREFIX = "ic_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("Name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("Last characters"), max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("Expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("Revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    @classmethod
    def new_raw_key(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash(raw: str) -> str:
        return _hash_token(raw)

    def __str__(self) -> str:
        return f"{self.name} (…{self.hint})"
