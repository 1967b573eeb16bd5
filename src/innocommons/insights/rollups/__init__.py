"""Keeping the rollup tables equal to the raw records (CONVENTIONS habit 5).

The services that change a counted record call a hook in the same transaction:

- `contract_changed(contract)` after a technology contract is registered, refused,
  imported, corrected or deleted (`contracts_changed(contracts)` for a batch, e.g. an
  import: its cells are then locked once, in order);
- `redemption_added(new)` after a voucher redemption is made: an addition, not a recount
  (see below); `redemption_changed(redemption)` after one is reversed
  (`redemptions_changed(redemptions)` for all the redemptions of a rejected claim).

A hook reads the record's current state from the database (not from the instance it was
given, which may be stale), finds the daily cell the record is counted in now and the one
it was counted in before (`Counted…`), and recomputes both from the raw rows with one
indexed aggregate each — upserting the cell, or deleting it when nothing is left. The
coarser contract cells then move by the daily cell's change. Recomputing from the raw rows
makes a hook idempotent: calling it twice, or for a record that did not change, changes
nothing.

Concurrency: on PostgreSQL a hook first takes transaction-scoped advisory locks on the
daily cells it will recompute, in ascending order, so two registrations in one cell queue
instead of each writing a count that misses the other (tests/insights/test_races.py shows
that race with the locks off); the coarser cells move by atomic `n = n + Δ` upserts. A new
redemption is added to its cell the same way, `n = n + 1`, under a shared lock on the cell:
additions go ahead together, and never in the middle of a recount. SQLite
runs one write transaction at a time (BEGIN IMMEDIATE), which serialises hooks by itself.

`rebuild()` recomputes every table from the raw records with INSERT … SELECT inside the
database; `check()` compares every table with a fresh aggregation of the raw records and
lists each difference (`innocommons stats rebuild` / `innocommons stats check`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from innocommons.insights.rollups import base, contracts, redemptions
from innocommons.insights.rollups.base import CheckReport, Progress
from innocommons.insights.rollups.contracts import contracts_changed, counting_contracts
from innocommons.insights.rollups.redemptions import (
    NewRedemption,
    counting_redemptions,
    redemption_added,
    redemptions_changed,
)
from innocommons.market.models import TechContract
from innocommons.vouchers.models import Redemption

__all__ = [
    "CheckReport",
    "NewRedemption",
    "RebuildReport",
    "check",
    "contract_changed",
    "contracts_changed",
    "counting_contracts",
    "counting_redemptions",
    "rebuild",
    "redemption_added",
    "redemption_changed",
    "redemptions_changed",
]


def contract_changed(contract: TechContract) -> None:
    """Recount one technology contract after any change. Call inside the transaction that
    changed it (after the change is saved)."""
    contracts_changed([contract])


def redemption_changed(redemption: Redemption) -> None:
    """Recount one voucher redemption after it was made or reversed. Call inside the
    transaction that changed it (after the change is saved)."""
    redemptions_changed([redemption])


@dataclass
class RebuildReport:
    contracts: int = 0
    contract_days: int = 0
    contract_months: int = 0
    contract_years: int = 0
    redemptions: int = 0
    redemption_days: int = 0


def rebuild(progress: Progress = None) -> RebuildReport:
    """Recompute every rollup table from the raw records, in one transaction that holds
    the hooks off meanwhile. `progress(n)` is called with the contracts done per year."""
    tables = (*contracts.TABLES, *redemptions.TABLES)
    with transaction.atomic(), base.exclusive(*tables):
        c = contracts.rebuild(progress)
        r = redemptions.rebuild()
        base.analyze(*tables)
    return RebuildReport(
        contracts=c["contracts"],
        contract_days=c["days"],
        contract_months=c["ContractMonth"],
        contract_years=c["ContractYear"],
        redemptions=r["redemptions"],
        redemption_days=r["days"],
    )


def check(limit: int = 50) -> CheckReport:
    """Compare every rollup table with a fresh aggregation of the raw records, listing at
    most `limit` differences per table."""
    report = CheckReport()
    if connection.vendor != "postgresql":
        # SQLite write transactions begin IMMEDIATE: a transaction here would hold every
        # writer off for the whole check, so each comparison reads its own WAL snapshot.
        contracts.check(report, limit)
        redemptions.check(report, limit)
        return report
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            # One snapshot for every comparison, so that registrations committing meanwhile
            # cannot show up on one side only.
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        contracts.check(report, limit)
        redemptions.check(report, limit)
    return report
