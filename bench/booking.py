"""bench/booking: bookings per second through `orders.services.book_instrument` (permission
check, row lock, booking rules, overlap check, insert, audit entry) on one busy instrument
whose calendar already holds 100,000 bookings; one attempt in five hits a taken slot and
must be refused with a 409.

Baseline in the same run: the same overlap check and insert as raw SQL (sqlite3 / psycopg),
one transaction per attempt. Afterwards the calendar is checked for overlapping active
bookings (there must be none). One client, so no process pool: the attempts run one after
another (bench.common.run_engines runs each engine in its own process on a fresh database:
SQLite in a temporary folder; PostgreSQL on $DATABASE_URL's server or on a throwaway
cluster from scripts/with-postgres).

Target (orders issue): ≥ 200 bookings/s. BENCH_BOOKINGS sets the attempts (default 2000).
Measured 2026-11-29 on the 2-core machine, five runs at load average 2–8: SQLite 362–416/s,
PostgreSQL 203–299/s (before the hand-written path, same session: 146/s and 136–159/s);
a booking is 4 statements in its transaction, 5 when the booker's memberships are not yet
cached, as in a new request (docs/performance.md).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from bench.common import engine_database, report, run_engines

EXISTING = 100_000
ATTEMPTS = int(os.environ.get("BENCH_BOOKINGS", "2000"))
PG_DATABASE = "innocommons_bench_booking"
TARGET = 200.0

# Existing bookings take every even hour (UTC) going back from the horizon; the odd hours
# are free. The ORM books the first half of a free hour, the raw baseline the second half,
# and every fifth attempt of either asks for a taken even hour.
HOUR = timedelta(hours=1)
HALF = timedelta(minutes=30)


def _epoch() -> datetime:
    """An even hour two days from now: the first slot the benchmark books."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now + timedelta(days=2)
    return start if start.hour % 2 == 0 else start + HOUR


def _slot(epoch: datetime, i: int, half: int) -> tuple[datetime, datetime, bool]:
    """Attempt i: (start, end, expected to clash)."""
    base = epoch + 2 * HOUR * i
    if i % 5 == 4:
        return base, base + HALF, True  # an even hour: taken
    start = base + HOUR + half * HALF
    return start, start + HALF, False


# --- the child process: one database -----------------------------------------------------------


def _setup() -> dict[str, Any]:
    from innocommons.accounts.models import Membership, Organisation, User
    from innocommons.catalog import services as catalog
    from innocommons.orders.models import Calendar

    provider = Organisation.objects.create(
        name_zh="基准测试仪器中心", type="institute", region_id="320100", status="verified"
    )
    staff = User.objects.create_user("bench-provider")
    Membership.objects.create(user=staff, organisation=provider)
    resource = catalog.create_resource(
        actor=staff,
        owner_id=provider.pk,
        kind="instrument",
        data={
            "title_zh": "基准测试场发射扫描电镜",
            "min_booking_minutes": 30,
            "max_booking_minutes": 240,
            "lead_time_hours": 0,
            "needs_approval": False,
        },
        publish=True,
    )
    Calendar.objects.create(
        resource=resource,
        weekdays="1234567",
        opens_at=dt_time(0),
        closes_at=dt_time(0),  # midnight to midnight: open around the clock
        horizon_days=3650,
        max_future_per_org=100_000,
    )
    bookers = []
    for n in range(50):
        org = Organisation.objects.create(
            name_zh=f"基准测试企业{n}", type="enterprise", region_id="310000", status="verified"
        )
        user = User.objects.create_user(f"bench-booker-{n}")
        Membership.objects.create(user=user, organisation=org)
        bookers.append((user, org))

    epoch = _epoch()
    # Half a year of the future is as busy as the past: the attempts fall in it.
    first = epoch + 2 * HOUR * (ATTEMPTS + 1) - 2 * HOUR * EXISTING
    started = time.perf_counter()
    from django.db import connection, transaction

    ts = connection.ops.adapt_datetimefield_value
    created = ts(datetime.now(UTC))
    rows = [
        (
            resource.pk,
            bookers[k % len(bookers)][1].pk,
            ts(first + 2 * HOUR * k),
            ts(first + 2 * HOUR * k + HOUR),
            created,
        )
        for k in range(EXISTING)
    ]
    # The exclusion constraint is cheaper built once over all rows than checked row by row.
    exclusion = importlib.import_module("innocommons.orders.migrations.0002_booking_exclusion")
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        if postgres:
            cur.execute(exclusion.DROP)
        with transaction.atomic():
            head, values = INSERT.format(p="%s").split(" VALUES ")
            for n in range(0, len(rows), 1000):  # multi-row INSERTs: few round trips
                batch = rows[n : n + 1000]
                flat = [v for row in batch for v in row]
                cur.execute(f"{head} VALUES {', '.join([values] * len(batch))}", flat)
        if postgres:
            cur.execute(exclusion.CREATE)
    print(
        f"  {EXISTING:,} existing bookings inserted in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return {"resource": resource, "bookers": bookers, "epoch": epoch, "org": bookers[0][1]}


class Timer:
    """Wall-clock and this process's CPU time of the measured calls."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.ok = self.refused = 0

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c


def _orm(ctx: dict[str, Any], attempts: range, timer: Timer) -> None:
    from innocommons.core.errors import DomainError
    from innocommons.orders import services

    with timer:
        for i in attempts:
            user, org = ctx["bookers"][i % len(ctx["bookers"])]
            start, end, clash = _slot(ctx["epoch"], i, 0)
            try:
                services.book_instrument(
                    actor=user,
                    organisation_id=org.pk,
                    resource_id=ctx["resource"].pk,
                    start=start,
                    end=end,
                )
                timer.ok += 1
                assert not clash, f"attempt {i} should have clashed"
            except DomainError as exc:
                assert clash and exc.status == 409, (i, exc.message)
                timer.refused += 1


CHECK = (
    "SELECT 1 FROM orders_booking WHERE resource_id = {p} AND status IN "
    "('pending', 'confirmed') AND start < {p} AND start > {p} AND \"end\" > {p} LIMIT 1"
)
INSERT = (
    'INSERT INTO orders_booking (resource_id, organisation_id, start, "end", status, purpose, '
    "status_reason, created_at) VALUES ({p}, {p}, {p}, {p}, 'confirmed', '', '', {p})"
)


class Raw:
    """The same overlap check and insert, one transaction each, without the framework: the
    instrument row locked first on PostgreSQL, BEGIN IMMEDIATE on SQLite."""

    def __init__(self, ctx: dict[str, Any]) -> None:
        from django.conf import settings

        self.ctx = ctx
        db = settings.DATABASES["default"]
        self.sqlite = db["ENGINE"].endswith("sqlite3")
        if self.sqlite:
            import sqlite3

            self.conn: Any = sqlite3.connect(db["NAME"], isolation_level=None, timeout=20)
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.check, self.insert = CHECK.format(p="?"), INSERT.format(p="?")
        else:
            import psycopg

            self.conn = psycopg.connect(
                f"host={db['HOST']} port={db['PORT'] or 5432} dbname={db['NAME']} "
                f"user={db['USER']} password={db['PASSWORD'] or ''}"
            )
            self.check, self.insert = CHECK.format(p="%s"), INSERT.format(p="%s")

    @staticmethod
    def ts(moment: datetime) -> str:  # Django's SQLite format: naive UTC text
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")

    def run(self, attempts: range, timer: Timer) -> None:
        rid, org = self.ctx["resource"].pk, self.ctx["org"].pk
        with timer:
            for i in attempts:
                start, end, _clash = _slot(self.ctx["epoch"], i, 1)
                if self.sqlite:
                    ts = self.ts
                    self.conn.execute("BEGIN IMMEDIATE")
                    hit = self.conn.execute(
                        self.check, (rid, ts(end), ts(start - timedelta(days=1)), ts(start))
                    ).fetchone()
                    if hit is None:
                        now = ts(datetime.now(UTC))
                        self.conn.execute(self.insert, (rid, org, ts(start), ts(end), now))
                    self.conn.execute("COMMIT")
                else:
                    with self.conn.transaction(), self.conn.cursor() as cur:
                        cur.execute(
                            "SELECT 1 FROM catalog_resource WHERE id = %s FOR NO KEY UPDATE",
                            (rid,),
                        )
                        cur.execute(self.check, (rid, end, start - timedelta(days=1), start))
                        hit = cur.fetchone()
                        if hit is None:
                            cur.execute(self.insert, (rid, org, start, end, datetime.now(UTC)))
                if hit is None:
                    timer.ok += 1
                else:
                    timer.refused += 1


def _overlaps(resource_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            'SELECT COUNT(*) FROM (SELECT start, LAG("end") OVER (ORDER BY start) AS prev_end '
            "FROM orders_booking WHERE resource_id = %s AND status IN ('pending', 'confirmed')) "
            "AS t WHERE prev_end > start",
            [resource_id],
        )
        return int(cur.fetchone()[0])


def _statements(ctx: dict[str, Any], attempt: int) -> int:
    """The statements one booking sends, BEGIN and COMMIT left out (booked, not timed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        _orm(ctx, range(attempt, attempt + 1), Timer())
    sent = [(q["sql"] or "prepared").split()[0] for q in queries.captured_queries]
    return len([s for s in sent if s not in ("BEGIN", "COMMIT")])


def child(engine: str) -> None:
    """Measure on a fresh database of `engine` and hand the figures to the parent. The
    service and the raw baseline take turns in rounds, so both see the same load."""
    with engine_database(engine, PG_DATABASE):
        ctx = _setup()
        from django.db import connection

        from innocommons.orders.models import Booking

        # A first booking by a booker whose memberships are not yet cached (as in a fresh
        # request); the timed attempts come after it.
        statements = _statements(ctx, ATTEMPTS)
        service, raw = Timer(), Timer()
        baseline = Raw(ctx)
        rounds = 10
        step = max(1, ATTEMPTS // rounds)
        for first in range(0, ATTEMPTS, step):
            attempts = range(first, min(first + step, ATTEMPTS))
            _orm(ctx, attempts, service)
            baseline.run(attempts, raw)
        baseline.conn.close()
        report(
            {
                "db": connection.vendor,
                "statements": statements,
                "orm_rate": ATTEMPTS / service.wall,
                "orm_cpu_rate": ATTEMPTS / service.cpu,
                "raw_rate": ATTEMPTS / raw.wall,
                "orm_ok": service.ok,
                "orm_refused": service.refused,
                "raw_ok": raw.ok,
                "raw_refused": raw.refused,
                "bookings": Booking.objects.filter(resource=ctx["resource"]).count(),
                "overlaps": _overlaps(ctx["resource"].pk),
            }
        )


# --- the parent: one child per database ---------------------------------------------------------


def _report(r: dict[str, Any]) -> None:
    ratio = r["orm_rate"] / r["raw_rate"]
    verdict = "MET" if r["orm_rate"] >= TARGET else "MISSED"
    print(
        f"  {r['db']}: service {r['orm_rate']:,.0f} bookings/s "
        f"({r['orm_ok']} booked, {r['orm_refused']} refused with 409; "
        f"{r['orm_cpu_rate']:,.0f}/s per CPU-second of the app process; "
        f"{r['statements']} statements for a booker's first booking) · raw SQL "
        f"{r['raw_rate']:,.0f}/s ({r['raw_ok']} booked) · service/raw = {ratio:.3f} · "
        f"target ≥ {TARGET:.0f}/s {verdict}"
    )
    print(
        f"  {r['db']}: {r['bookings']:,} bookings on the calendar, overlapping active "
        f"bookings: {r['overlaps']} {'OK' if r['overlaps'] == 0 else 'FAILED'}",
        flush=True,
    )


def main() -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{ATTEMPTS:,} booking attempts on an instrument holding {EXISTING:,} bookings "
        f"({os.cpu_count()} CPUs, load average {load})",
        flush=True,
    )
    started = time.monotonic()
    results = run_engines("bench.booking")
    for engine, r in results.items():
        if r is None:
            print(f"  {engine}: skipped (no server)")
        else:
            _report(r)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"bench/booking took {time.monotonic() - started:.0f} s (load average now {load})")
    if any(r and r["overlaps"] for r in results.values()):
        raise SystemExit("overlapping bookings found")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
