"""Rollup tables the statistics read, kept equal to the raw records by `rollups`.

Each raw record that counts (a registered technology contract, a live voucher redemption)
is summed into one cell of a per-day rollup; a `Counted…` row remembers which cell, so that
when the record changes (a date, a region, its status) the hook can take it out of the old
cell as well. Coarser province-level contract cells — per month, per year and province
pair, per year by type and field, per month and side — are sums of the daily cells; each
answers a family of questions by reading a few thousand rows at most, whatever the number
of contracts. `innocommons stats check` proves every table against a fresh aggregation of
the raw records.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from innocommons.core.models import Region
from innocommons.vouchers.models import Programme


def _region(name: Any) -> models.ForeignKey[Region, Region]:
    return models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=name
    )


class ContractDay(models.Model):
    """Registered technology contracts of one registration day between two regions, of one
    type and statistics field. Provinces are copied from the region tree for grouping."""

    day = models.DateField(_("Registered on"))
    seller_region = _region(_("Seller's region"))
    buyer_region = _region(_("Buyer's region"))
    seller_province = _region(_("Seller's province"))
    buyer_province = _region(_("Buyer's province"))
    type = models.CharField(_("Contract type"), max_length=12)
    field = models.CharField(_("Field"), max_length=16)
    contracts = models.PositiveIntegerField(_("Contracts"))
    amount_fen = models.BigIntegerField(_("Contract amount (fen)"))
    tech_amount_fen = models.BigIntegerField(_("Technology-transaction amount (fen)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "seller_region", "buyer_region", "type", "field"],
                name="contractday_key",
            ),
            models.CheckConstraint(condition=models.Q(contracts__gt=0), name="contractday_nonzero"),
        ]
        indexes = [
            # A province's cities (drill-down) on either side of its contracts.
            models.Index(fields=["seller_province", "day"], name="contractday_seller"),
            models.Index(fields=["buyer_province", "day"], name="contractday_buyer"),
        ]
        verbose_name = _("Contract rollup (day)")
        verbose_name_plural = _("Contract rollups (day)")

    def __str__(self) -> str:
        return f"{self.day} {self.seller_region_id}→{self.buyer_region_id} {self.type}/{self.field}"


class Measures(models.Model):
    """Contracts and their amounts (fen), summed over the daily cells of a coarser cell."""

    contracts = models.IntegerField(_("Contracts"))
    amount_fen = models.BigIntegerField(_("Contract amount (fen)"))
    tech_amount_fen = models.BigIntegerField(_("Technology-transaction amount (fen)"))

    class Meta:
        abstract = True


class Side(models.TextChoices):
    OUTPUT = "output", _("Output (seller's region)")
    ABSORPTION = "absorption", _("Absorption (buyer's region)")


class ContractMonth(Measures):
    """Per month, province pair, type and field: any filtered or partial-year question."""

    month = models.DateField(_("Month"), help_text=_("The first day of the month."))
    seller_province = _region(_("Seller's province"))
    buyer_province = _region(_("Buyer's province"))
    type = models.CharField(_("Contract type"), max_length=12)
    field = models.CharField(_("Field"), max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "seller_province", "buyer_province", "type", "field"],
                name="contractmonth_key",
            ),
        ]
        indexes = [
            models.Index(fields=["type", "month"], name="contractmonth_type"),
            models.Index(fields=["field", "month"], name="contractmonth_field"),
        ]
        verbose_name = _("Contract rollup (month)")
        verbose_name_plural = _("Contract rollups (month)")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.seller_province_id}→{self.buyer_province_id}"


class ContractYear(Measures):
    """Per year and province pair: the flow matrix and the per-region summary of a year."""

    year = models.PositiveSmallIntegerField(_("Year"))
    seller_province = _region(_("Seller's province"))
    buyer_province = _region(_("Buyer's province"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["year", "seller_province", "buyer_province"], name="contractyear_key"
            ),
        ]
        verbose_name = _("Contract rollup (year)")
        verbose_name_plural = _("Contract rollups (year)")

    def __str__(self) -> str:
        return f"{self.year} {self.seller_province_id}→{self.buyer_province_id}"


class ContractMix(Measures):
    """Per year, side, province, type and field: a year's output or absorption by type or
    field, of one province or (summed) of all."""

    year = models.PositiveSmallIntegerField(_("Year"))
    side = models.CharField(_("Side"), max_length=10, choices=Side.choices)
    province = _region(_("Province-level region"))
    type = models.CharField(_("Contract type"), max_length=12)
    field = models.CharField(_("Field"), max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["year", "side", "province", "type", "field"], name="contractmix_key"
            ),
        ]
        verbose_name = _("Contract rollup (year, type and field)")
        verbose_name_plural = _("Contract rollups (year, type and field)")

    def __str__(self) -> str:
        return f"{self.year} {self.side} {self.province_id} {self.type}/{self.field}"


class ContractTrend(Measures):
    """Per month, side and province: month-by-month output or absorption."""

    month = models.DateField(_("Month"), help_text=_("The first day of the month."))
    side = models.CharField(_("Side"), max_length=10, choices=Side.choices)
    province = _region(_("Province-level region"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "side", "province"], name="contracttrend_key"),
        ]
        verbose_name = _("Contract rollup (month and side)")
        verbose_name_plural = _("Contract rollups (month and side)")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.side} {self.province_id}"


class CountedContract(models.Model):
    """The daily cell a registered contract is counted in (no row: not counted)."""

    contract_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    seller_region = models.CharField(max_length=12)
    buyer_region = models.CharField(max_length=12)
    type = models.CharField(max_length=12)
    field = models.CharField(max_length=16)

    class Meta:
        verbose_name = _("Counted contract")
        verbose_name_plural = _("Counted contracts")

    def __str__(self) -> str:
        return f"contract {self.contract_id} @ {self.day}"


class RedemptionDay(models.Model):
    """Live voucher redemptions of one day under one programme, between the client's and
    the provider's regions, for one service or instrument category (0: none)."""

    day = models.DateField(_("Redeemed on"))
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    client_region = _region(_("Client's region"))
    provider_region = _region(_("Provider's region"))
    client_province = _region(_("Client's province"))
    provider_province = _region(_("Provider's province"))
    category = models.BigIntegerField(
        _("Category"), default=0, help_text=_("Taxonomy entry id; 0 when the listing has none.")
    )
    redemptions = models.PositiveIntegerField(_("Redemptions"))
    amount_fen = models.BigIntegerField(_("Amount (fen)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "programme", "client_region", "provider_region", "category"],
                name="redemptionday_key",
            ),
            models.CheckConstraint(
                condition=models.Q(redemptions__gt=0), name="redemptionday_nonzero"
            ),
        ]
        indexes = [models.Index(fields=["programme", "day"], name="redemptionday_programme")]
        verbose_name = _("Redemption rollup (day)")
        verbose_name_plural = _("Redemption rollups (day)")

    def __str__(self) -> str:
        return f"{self.day} P{self.programme_id} {self.provider_region_id}→{self.client_region_id}"


class CountedRedemption(models.Model):
    """The daily cell a live redemption is counted in (no row: not counted)."""

    redemption_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    programme_id = models.BigIntegerField()
    client_region = models.CharField(max_length=12)
    provider_region = models.CharField(max_length=12)
    category = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("Counted redemption")
        verbose_name_plural = _("Counted redemptions")

    def __str__(self) -> str:
        return f"redemption {self.redemption_id} @ {self.day}"
