"""Two registrations in one rollup cell at the same moment, in real threads with their own
database connections: with the cell locks the cell counts both; without them (PostgreSQL)
one registration's count is lost — the race the locks exist for."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection, connections, transaction

from innocommons.insights import rollups
from innocommons.insights.models import ContractDay
from tests.insights import factories as cf

pytestmark = pytest.mark.django_db(transaction=True)

DAY = date(2025, 5, 6)


def _race(monkeypatch) -> None:
    cf.contract("320100", "310115", amount_fen=100, on=DAY)  # the cell exists already
    barrier = threading.Barrier(2, timeout=3)
    save = rollups.base.save_cell

    def slow_save(*args, **kwargs):
        # Both hooks have aggregated; now both write (unless a lock kept one waiting).
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        save(*args, **kwargs)

    monkeypatch.setattr(rollups.base, "save_cell", slow_save)
    errors: list[BaseException] = []

    def register(amount: int) -> None:
        try:
            with transaction.atomic():
                cf.contract("320100", "310115", amount_fen=amount, on=DAY)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register, args=(a,)) for a in (10, 20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    monkeypatch.setattr(rollups.base, "save_cell", save)
    assert not errors, errors


def test_locked_hooks_count_both(monkeypatch) -> None:
    _race(monkeypatch)
    cell = ContractDay.objects.get(day=DAY)
    assert (cell.contracts, cell.amount_fen) == (3, 130)
    assert rollups.check().ok


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one write transaction at a time"
)
def test_without_the_locks_a_count_is_lost(monkeypatch) -> None:
    monkeypatch.setattr(rollups.base, "LOCKING", False)
    _race(monkeypatch)
    cell = ContractDay.objects.get(day=DAY)
    assert cell.contracts == 2, "the race did not happen"
    assert not rollups.check().ok
    rollups.rebuild()
    assert ContractDay.objects.get(day=DAY).contracts == 3
