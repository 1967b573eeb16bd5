"""A cursor for the hand-written SQL of hot paths (the ORM serves everything else).

A few writes run far more often than the rest: a voucher redemption, an auction bid, an
instrument booking, and the audit entry and ledger entry they append. Their statements
are written by hand (building an ORM query costs more Python time than the database
spends running it on our hardware), and on PostgreSQL `cursor()` also binds their
parameters on the server and prepares each statement once per connection. PostgreSQL
then parses and plans it once instead of on every call: the redemption's order query
plans in 1.9 ms and runs in 0.25 ms (docs/performance.md).

Django's own queries keep its defaults (client-side binding, nothing prepared), which
some ORM queries need. A connection pooler in front of PostgreSQL must support prepared
statements (PgBouncer ≥ 1.21 with `max_prepared_statements`), or `PREPARE` be turned off.

Django's query log (`connection.queries`, `CaptureQueriesContext`) records these statements
with `sql = None` on PostgreSQL: it can print only client-bound queries. Count them; read
their text in the code.

On SQLite `cursor()` is Django's cursor: the sqlite3 module caches compiled statements
by itself.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection

# Off: every statement is planned on each call, as Django's own.
PREPARE = True


class _PreparingCursor(psycopg.Cursor[Any]):
    """Server-side binding, every statement prepared on first use (psycopg keeps a
    connection's prepared statements, up to its `prepared_max`)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("prepare", True)
        return super().execute(query, params, **kwargs)


def cursor() -> Any:
    """Django's cursor wrapper (queries are logged and errors translated as usual) around,
    on PostgreSQL, a preparing server-binding cursor. Use it as a context manager."""
    if connection.vendor != "postgresql" or not PREPARE:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns preparing off for the whole connection; only server-binding cursors
        # (ours) can prepare at all, and ours ask for it on every statement.
        raw.prepare_threshold = 5
    with connection.wrap_database_errors:
        # The last step of Django's own BaseDatabaseWrapper._cursor(), given our cursor.
        wrapper: Any = connection
        return wrapper._prepare_cursor(_PreparingCursor(raw))
