"""Shared data: the region tree, region groups and the append-only audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Bilingual(models.Model):
    """Mixin for rows with Chinese and English names; `name` follows the active language."""

    name_zh = models.CharField(_("Chinese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        lang = get_language() or "zh-hans"
        if lang.startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh

    def __str__(self) -> str:
        return self.name


class Region(Bilingual):
    """A node of the region tree: a country, a province-level region, or a city/district.

    Chinese regions use GB/T 2260 codes ("310000", "320500"); countries use ISO 3166
    alpha-2 codes ("CN", "DE"). `province` points at the province-level ancestor (itself for
    a province, the country for foreign regions) so facets and statistics need no recursion.
    """

    class Level(models.TextChoices):
        COUNTRY = "country", _("Country")
        PROVINCE = "province", _("Province-level")
        CITY = "city", _("City")
        DISTRICT = "district", _("District/county")

    code = models.CharField(_("Code"), max_length=12, primary_key=True)
    level = models.CharField(_("Level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    province = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    in_community = models.BooleanField(_("Part of the community"), default=False)
    sort = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort", "code"]
        verbose_name = _("Region")
        verbose_name_plural = _("Regions")

    def is_within(self, ancestor: Region) -> bool:
        """True when this region is `ancestor` or lies below it in the tree."""
        node: Region | None = self
        while node is not None:
            if node.code == ancestor.code:
                return True
            node = node.parent
        return False


class RegionGroup(Bilingual):
    """A named set of regions, e.g. the G60 corridor's nine cities or the whole community."""

    code = models.SlugField(_("Code"), max_length=40, primary_key=True)
    regions = models.ManyToManyField(Region, related_name="groups")
    description = models.TextField(_("Note"), blank=True)

    class Meta:
        verbose_name = _("Region group")
        verbose_name_plural = _("Region groups")


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: object) -> int:  # pragma: no cover - guarded invariant
        raise PermissionError("audit entries are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:  # pragma: no cover - guarded invariant
        raise PermissionError("audit entries are append-only")


class AuditEntry(models.Model):
    """Who did what to which record, when, with the state before and after. Append-only."""

    at = models.DateTimeField(_("Time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Actor"),
    )
    action = models.CharField(_("Action"), max_length=80, db_index=True)
    target_type = models.CharField(_("Target type"), max_length=80)
    target_id = models.CharField(_("Target ID"), max_length=64)
    region = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("Region"),
    )
    before = models.JSONField(_("Before"), null=True, blank=True)
    after = models.JSONField(_("After"), null=True, blank=True)
    note = models.TextField(_("Note"), blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]
        verbose_name = _("Audit entry")
        verbose_name_plural = _("Audit entries")

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit entries are append-only")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"


class Notification(models.Model):
    """A message in a user's in-app inbox (also sent by e-mail when the user has one)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("Kind"), max_length=40)
    title = models.CharField(_("Title"), max_length=200)
    body = models.TextField(_("Message"), max_length=5000, blank=True)
    link = models.CharField(_("Link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("Time"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("Read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]
        verbose_name = _("Notification")
        verbose_name_plural = _("Notifications")

    def __str__(self) -> str:
        return self.title
