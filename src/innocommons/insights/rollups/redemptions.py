"""The voucher-redemption rollup: per day (Beijing time), programme, client's region,
provider's region and service or instrument category, the live redemptions and their
amount. The hook recomputes a cell from the raw redemptions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, Model, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from innocommons.core import sql
from innocommons.insights.models import CountedRedemption, RedemptionDay
from innocommons.insights.periods import TZ
from innocommons.insights.rollups import base
from innocommons.vouchers.models import Redemption

# (day, programme, client region, provider region, category)
Key = tuple[date, int, str, str, int]


def _category() -> Coalesce:
    """The order's service or instrument category (0 for none)."""
    return Coalesce(
        F("order__resource__service__category_id"),
        F("order__resource__instrument__category_id"),
        Value(0),
        output_field=IntegerField(),
    )


def counting_redemptions() -> QuerySet[Redemption]:
    """Live redemptions (a reversed one gave its money back and no longer counts)."""
    return Redemption.objects.filter(reversed_at__isnull=True)


def redemptions_changed(redemptions: Iterable[Redemption | int]) -> None:
    ids = sorted({r if isinstance(r, int) else r.pk for r in redemptions if r is not None} - {None})
    if not ids:
        return
    with transaction.atomic():
        now: dict[int, Key | None] = {}
        for row in Redemption.objects.filter(pk__in=ids).values(
            "pk",
            "created_at",
            "reversed_at",
            "programme_id",
            cr=F("client__region_id"),
            pr=F("provider__region_id"),
            cat=_category(),
        ):
            now[row["pk"]] = (
                None
                if row["reversed_at"] is not None
                else (
                    base.local_day(row["created_at"]),
                    row["programme_id"],
                    row["cr"],
                    row["pr"],
                    int(row["cat"]),
                )
            )
        before: dict[int, Key] = {
            m.redemption_id: (m.day, m.programme_id, m.client_region, m.provider_region, m.category)
            for m in CountedRedemption.objects.filter(redemption_id__in=ids)
        }
        keys = {k for k in [*now.values(), *before.values()] if k is not None}
        if not keys:
            return
        base.lock(f"rd:{k}" for k in keys)
        for pk in ids:
            new, old = now.get(pk), before.get(pk)
            if new == old:
                continue
            if new is None:
                CountedRedemption.objects.filter(redemption_id=pk).delete()
            else:
                day, programme_id, client_region, provider_region, category = new
                CountedRedemption.objects.update_or_create(
                    redemption_id=pk,
                    defaults={
                        "day": day,
                        "programme_id": programme_id,
                        "client_region": client_region,
                        "provider_region": provider_region,
                        "category": category,
                    },
                )
        prov = base.provinces({code for k in keys for code in (k[2], k[3])})
        for key in sorted(keys):
            _recount(key, prov)


@dataclass(frozen=True)
class NewRedemption:
    """What the redemption rollup needs of a redemption just written (its service knows it
    all already, so nothing is read back)."""

    redemption_id: int
    created_at: datetime
    programme_id: int
    client_region: str
    provider_region: str
    client_province: str
    provider_province: str
    category: int
    amount_fen: int


_COUNTED = (
    "INSERT INTO insights_countedredemption (redemption_id, day, programme_id, client_region, "
    "provider_region, category) "
)
_ADD = (
    "INSERT INTO insights_redemptionday (day, programme_id, client_region_id, "
    "provider_region_id, category, client_province_id, provider_province_id, redemptions, "
    "amount_fen) {rows} "
    "ON CONFLICT (day, programme_id, client_region_id, provider_region_id, category) "
    "DO UPDATE SET redemptions = insights_redemptionday.redemptions + 1, "
    "amount_fen = insights_redemptionday.amount_fen + EXCLUDED.amount_fen"
)
_COUNT_SQL = _COUNTED + "VALUES (%s, %s, %s, %s, %s, %s)"
_ADD_SQL = _ADD.format(rows="VALUES (%s, %s, %s, %s, %s, %s, %s, 1, %s)")
# PostgreSQL: the cell's shared lock, the counted row and the addition in one statement
# (each part reads the one before, so they run in this order).
_LOCK_COUNT_ADD_SQL = (
    "WITH l AS (SELECT pg_advisory_xact_lock_shared(%s)), "  # noqa: S608 - constants only
    f"c AS ({_COUNTED} SELECT %s, %s, %s, %s, %s, %s FROM l RETURNING 1) "
    + _ADD.format(rows="SELECT %s, %s, %s, %s, %s, %s, %s, 1, %s FROM c")
)


def redemption_added(new: NewRedemption) -> None:
    """Count a redemption written in the current transaction. It cannot have been counted
    before (its CountedRedemption row is inserted, not upserted: a second call fails), so
    its cell moves by one and its amount instead of being recomputed — the voucher
    redemption is the busiest write of the platform (bench/redeem)."""
    day = base.local_day(new.created_at)
    key: Key = (day, new.programme_id, new.client_region, new.provider_region, new.category)
    db_day = connection.ops.adapt_datefield_value(day)
    counted = [new.redemption_id, db_day, *key[1:]]
    added = [db_day, *key[1:], new.client_province, new.provider_province, new.amount_fen]
    with sql.cursor() as cur:
        if connection.vendor == "postgresql" and base.LOCKING:
            cur.execute(_LOCK_COUNT_ADD_SQL, [base.lock_id(f"rd:{key}"), *counted, *added])
        else:  # SQLite serialises write transactions (BEGIN IMMEDIATE)
            cur.execute(_COUNT_SQL, counted)
            cur.execute(_ADD_SQL, added)


def _recount(key: Key, prov: dict[str, str]) -> None:
    day, programme_id, client_region, provider_region, category = key
    start, end = base.day_bounds(day)
    agg = (
        counting_redemptions()
        .filter(
            programme_id=programme_id,
            created_at__gte=start,
            created_at__lt=end,
            client__region_id=client_region,
            provider__region_id=provider_region,
        )
        .annotate(cat=_category())
        .filter(cat=category)
        .aggregate(n=Count("pk"), amount=Sum("amount_fen"))
    )
    base.save_cell(
        RedemptionDay,
        {
            "day": day,
            "programme_id": programme_id,
            "client_region_id": client_region,
            "provider_region_id": provider_region,
            "category": category,
        },
        {
            "client_province_id": prov[client_region],
            "provider_province_id": prov[provider_region],
            "redemptions": agg["n"],
            "amount_fen": agg["amount"] or 0,
        },
        agg["n"],
    )


DAY_COLUMNS = [
    "day",
    "programme_id",
    "client_region_id",
    "provider_region_id",
    "client_province_id",
    "provider_province_id",
    "category",
    "redemptions",
    "amount_fen",
]
COUNTED_COLUMNS = [
    "redemption_id",
    "day",
    "programme_id",
    "client_region",
    "provider_region",
    "category",
]
TABLES: tuple[type[Model], ...] = (CountedRedemption, RedemptionDay)


def _keyed() -> QuerySet[Redemption]:
    return counting_redemptions().annotate(
        k_day=TruncDate("created_at", tzinfo=TZ),
        k_client=F("client__region_id"),
        k_provider=F("provider__region_id"),
        k_client_province=F("client__region__province_id"),
        k_provider_province=F("provider__region__province_id"),
        k_category=_category(),
    )


def fresh_days() -> QuerySet[Any]:
    keys = [
        "k_day",
        "programme_id",
        "k_client",
        "k_provider",
        "k_client_province",
        "k_provider_province",
        "k_category",
    ]
    return (
        _keyed()
        .values(*keys)  # type: ignore[misc]  # annotations, not fields
        .annotate(n=Count("pk"), a=Sum("amount_fen"))
        .values_list(*keys, "n", "a")
        .order_by()
    )


def fresh_counted() -> QuerySet[Any]:
    return (
        _keyed()
        .values_list(  # type: ignore[misc]  # annotations, not fields
            "pk", "k_day", "programme_id", "k_client", "k_provider", "k_category"
        )
        .order_by()
    )


def rebuild() -> dict[str, int]:
    """Both tables from the raw redemptions (inside the caller's exclusive transaction)."""
    for model in TABLES:
        model._default_manager.all().delete()
    return {
        "redemptions": base.insert_select(CountedRedemption, COUNTED_COLUMNS, fresh_counted()),
        "days": base.insert_select(RedemptionDay, DAY_COLUMNS, fresh_days()),
    }


def check(report: base.CheckReport, limit: int) -> None:
    base.compare(
        report,
        "counted redemption",
        CountedRedemption.objects.values_list(*COUNTED_COLUMNS).order_by(),
        fresh_counted(),
        1,
        limit,
    )
    base.compare(
        report,
        "redemption day",
        RedemptionDay.objects.values_list(*DAY_COLUMNS).order_by(),
        fresh_days(),
        7,
        limit,
    )
