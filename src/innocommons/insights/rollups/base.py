"""Plumbing shared by the rollups: cell locks, upserts, bulk INSERT … SELECT, comparisons."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import F, Model, QuerySet

from innocommons.core.models import Region
from innocommons.insights import regions
from innocommons.insights.periods import TZ

Progress = Callable[[int], Any] | None

# Tests switch this off to show that the race it prevents really happens (CONVENTIONS
# habit 8). Never change it anywhere else.
LOCKING = True

MEASURES = ("contracts", "amount_fen", "tech_amount_fen")


def lock_id(name: str) -> int:
    """The advisory lock key of a named cell."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


def lock(names: Iterable[str], *, shared: bool = False) -> None:
    """Advisory locks on the named cells until the transaction ends, in a global order, so
    that two transactions touching the same cells queue instead of deadlocking.

    A recount takes them exclusive. An addition (`n = n + 1` by an atomic upsert) takes
    them shared: additions to one cell go ahead together, but never while a recount of it
    is between its aggregate and its write."""
    if connection.vendor != "postgresql" or not LOCKING:
        return  # SQLite serialises write transactions (BEGIN IMMEDIATE)
    sql = f"SELECT pg_advisory_xact_lock{'_shared' if shared else ''}(%s)"
    with connection.cursor() as cur:
        for key in sorted({lock_id(n) for n in names}):
            cur.execute(sql, [key])


def provinces(codes: Iterable[str]) -> dict[str, str]:
    """Province-level ancestor of each region code (reference data; one query if needed)."""
    idx = regions.index()
    out, missing = {}, []
    for code in codes:
        info = idx.by_code.get(code)
        if info is None:
            missing.append(code)
        else:
            out[code] = info.province
    if missing:
        for code, prov in Region.objects.filter(code__in=missing).values_list(
            "code", "province_id"
        ):
            out[code] = prov or code
    return out


def local_day(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), TZ)
    return start, start + timedelta(days=1)


def save_cell(model: type[Model], key: dict[str, Any], values: dict[str, Any], n: int) -> None:
    """Write a recomputed cell: update or insert it, or delete it when nothing is counted
    in it. Called under the cell's lock."""
    rows = model._default_manager.filter(**key)
    if not n:
        rows.delete()
    elif not rows.update(**values):
        model._default_manager.create(**key, **values)


def add_to_cell(model: type[Model], key: dict[str, Any], delta: tuple[int, ...]) -> None:
    """Move a coarser cell by a daily cell's change: `n = n + Δ` (CONVENTIONS habit 5).

    A positive count upserts (INSERT … ON CONFLICT DO UPDATE, so two first registrations
    in a new cell cannot collide); otherwise the row is updated in place and removed when
    its count reaches zero."""
    if not any(delta):
        return
    if delta[0] > 0:
        _upsert_add(model, key, delta)
        return
    rows = model._default_manager.filter(**key)
    rows.update(**{m: F(m) + d for m, d in zip(MEASURES, delta, strict=True)})
    if delta[0] < 0:
        rows.filter(contracts__lte=0).delete()


def _upsert_add(model: type[Model], key: dict[str, Any], delta: tuple[int, ...]) -> None:
    opts = model._meta
    qn = connection.ops.quote_name
    table = qn(opts.db_table)
    fields = [opts.get_field(k) for k in key]
    key_cols = [qn(str(f.column)) for f in fields]  # type: ignore[union-attr]
    values = [
        f.get_db_prep_value(v, connection)  # type: ignore[union-attr]
        for f, v in zip(fields, key.values(), strict=True)
    ]
    measures = [qn(m) for m in MEASURES]
    cols = ", ".join(key_cols + measures)
    marks = ", ".join(["%s"] * (len(key_cols) + len(measures)))
    updates = ", ".join(f"{m} = {table}.{m} + EXCLUDED.{m}" for m in measures)
    sql = (
        f"INSERT INTO {table} ({cols}) VALUES ({marks}) "  # noqa: S608 - quoted identifiers
        f"ON CONFLICT ({', '.join(key_cols)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*values, *delta])


def insert_select(model: type[Model], columns: list[str], select: QuerySet[Any]) -> int:
    """INSERT INTO model (columns) <select>: a rollup rebuilt inside the database."""
    sql, params = select.query.sql_with_params()
    fields = {f.attname: f.column for f in model._meta.concrete_fields}
    qn = connection.ops.quote_name
    quoted = ", ".join(qn(str(fields[c])) for c in columns)
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {qn(model._meta.db_table)} ({quoted}) {sql}", params)
        return int(cur.rowcount or 0)


@contextmanager
def exclusive(*models: type[Model]) -> Iterator[None]:
    """Hold writers of the rollup tables off until the transaction ends (PostgreSQL; SQLite
    has one writer at a time anyway). Readers go on reading the old rows."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for model in models:
                table = connection.ops.quote_name(model._meta.db_table)
                cur.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    yield


def analyze(*models: type[Model]) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for model in models:
                cur.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


@dataclass
class CheckReport:
    """What `check()` compared and every difference found (empty: consistent)."""

    rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    differences: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _plain(values: Iterable[Any]) -> tuple[Any, ...]:
    # PostgreSQL sums bigints as numeric: show 5, not Decimal('5').
    return tuple(int(v) if isinstance(v, Decimal) else v for v in values)


def compare(
    report: CheckReport,
    name: str,
    stored: QuerySet[Any],
    fresh: QuerySet[Any],
    key_len: int,
    limit: int,
) -> None:
    """List the rows in which `stored` and `fresh` (same columns, key first) differ."""
    missing = list(fresh.difference(stored))
    extra = list(stored.difference(fresh))
    report.rows[name] = report.rows.get(name, 0) + stored.count()
    want = {tuple(r[:key_len]): _plain(r[key_len:]) for r in missing}
    have = {tuple(r[:key_len]): _plain(r[key_len:]) for r in extra}
    keys = sorted(set(want) | set(have), key=lambda k: tuple(str(p) for p in k))
    report.differences += len(keys)
    for key in keys[:limit]:
        shown = " ".join(str(p) for p in key)
        if key not in have:
            report.problems.append(f"{name} {shown}: missing, the records give {want[key]}")
        elif key not in want:
            report.problems.append(f"{name} {shown}: holds {have[key]}, the records give nothing")
        else:
            report.problems.append(
                f"{name} {shown}: holds {have[key]}, the records give {want[key]}"
            )
    if len(keys) > limit:
        report.problems.append(f"{name}: … and {len(keys) - limit} more difference(s)")
