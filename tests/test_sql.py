"""The hot-path cursor: on PostgreSQL each statement is prepared once per connection, and
it behaves as Django's cursor otherwise (errors translated, transactions shared)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from innocommons.core import sql
from innocommons.core.models import Region

pytestmark = pytest.mark.django_db


def test_statements_are_prepared_on_postgresql_and_run_on_both() -> None:
    query = "SELECT code FROM core_region WHERE code = %s"
    for code in ("310000", "320000"):
        with sql.cursor() as cur:
            cur.execute(query, [code])
            assert cur.fetchone() == (code,)
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cur.fetchall()]
    assert "SELECT code FROM core_region WHERE code = $1" in prepared
    # Django's own queries stay unprepared (client-side binding, its default).
    assert all("$" in s for s in prepared), prepared


def test_errors_are_djangos_and_writes_share_the_transaction() -> None:
    insert = "INSERT INTO core_region (code, name_zh, name_en, level, in_community, sort) " + (
        "VALUES (%s, %s, '', 'city', FALSE, 0)"
    )
    with pytest.raises(IntegrityError), transaction.atomic(), sql.cursor() as cur:
        cur.execute(insert, ["999901", "测试市"])
        assert Region.objects.filter(code="999901").exists()  # same transaction
        cur.execute(insert, ["999901", "测试市"])  # duplicate key: Django's IntegrityError
    assert not Region.objects.filter(code="999901").exists()  # rolled back together
