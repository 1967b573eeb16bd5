"""Registration numbers under concurrency: real threads released together by a barrier,
each with its own database connection (SQLite file with IMMEDIATE transactions, or
PostgreSQL)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection
from django.db.models import Max
from django.utils import timezone

from innocommons.market.models import RegistrationSequence, TechContract
from innocommons.market.services import contracts as services

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _submitted(world, n: int) -> list[int]:
    ids = []
    for i in range(n):
        c = services.create_contract(
            actor=world.provider_member,
            data=services.ContractInput(
                seller_id=world.provider.pk,
                title=f"技术服务合同 {i}",
                type="service",
                buyer_id=world.enterprise.pk,
                amount_fen=10_000_00 + i,
                tech_amount_fen=10_000_00,
                field="electronics",
                signed_on=timezone.localdate(),
            ),
            file=SimpleUploadedFile("c.pdf", b"%PDF-1.4\n%%EOF\n"),
            submit=True,
        )
        ids.append(c.pk)
    return ids


def race(work: Any, n: int) -> list[tuple[str, Any]]:
    barrier = threading.Barrier(n)
    results: list[tuple[str, Any]] = [("missing", None)] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = ("ok", work(i))
        except IntegrityError as exc:
            results[i] = ("constraint", exc)
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_concurrent_registrations_get_distinct_consecutive_numbers(world) -> None:
    ids = _submitted(world, THREADS)
    results = race(
        lambda i: (
            services.register_contract(actor=world.admin_js, contract_id=ids[i]).registration_no
        ),
        THREADS,
    )
    assert all(kind == "ok" for kind, _ in results), results
    numbers = sorted(value for _, value in results)
    year = timezone.localdate().year
    assert numbers == [f"320000{year}{seq:06d}" for seq in range(1, THREADS + 1)]
    assert RegistrationSequence.objects.get(province="320000", year=year).last == THREADS
    assert TechContract.objects.filter(status="registered").count() == THREADS


@pytest.mark.skipif(
    not settings.IS_POSTGRES,
    reason="SQLite takes the write lock at BEGIN IMMEDIATE, so even the naive way is serial",
)
def test_without_the_sequence_numbers_collide(world, monkeypatch) -> None:
    """The race the sequence row prevents: the usual "highest number + 1" read outside any
    lock. Concurrent registrars read the same highest number and issue the same next one,
    which only the unique constraint stops."""
    ids = _submitted(world, THREADS)

    def naive_reserve(province: str, year: int, n: int = 1) -> list[str]:
        prefix = f"{province}{year}"
        highest = TechContract.objects.filter(registration_no__startswith=prefix).aggregate(
            m=Max("registration_no")
        )["m"]
        seq = int(highest[len(prefix) :]) + 1 if highest else 1
        time.sleep(0.05)
        return [services.format_registration_no(province, year, seq)]

    monkeypatch.setattr(services, "reserve_registration_numbers", naive_reserve)
    results = race(
        lambda i: (
            services.register_contract(actor=world.admin_js, contract_id=ids[i]).registration_no
        ),
        THREADS,
    )
    assert any(kind == "constraint" for kind, _ in results), results
