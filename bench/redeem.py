"""bench/redeem: voucher redemptions per second under concurrency, on SQLite and PostgreSQL.

8 client processes redeem 1,000 vouchers (held by 1,000 enterprises) on their completed
orders, each redemption a full `redeem_voucher` service call (permission and rule checks,
locks, redemption row, balanced journal entry, audit entry). Baseline, in the same run and
database: the same row changes as hand-written SQL through psycopg / sqlite3, one
transaction each (conditional voucher update, redemption insert, journal entry, two
postings, two account updates), by the same 8 processes. Afterwards `ledger.check()` must
find no difference (it proves the baseline's rows too).

Each engine runs in its own process, on a freshly migrated database: SQLite in a temporary
data folder; PostgreSQL in a fresh database on $DATABASE_URL's server, or on a throwaway
cluster started by scripts/with-postgres.

Targets (vouchers issue): ≥ 300 redemptions/s on PostgreSQL; service/raw ratio ≥ 0.3.
"""

from __future__ import annotations

import copy
import os
import random
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.common import engine_database, in_processes, report, run_engines

CLIENTS = 8  # client processes: Python threads would measure the GIL, not the database
VOUCHERS = int(os.environ.get("BENCH_VOUCHERS", "1000"))
ROUNDS = 2  # orders per voucher for each of the two runs
FEE = 1_000_00  # ¥1,000 per order: ¥500 redeemed at 50 % coverage
FACE = 2 * ROUNDS * (FEE // 2)  # both runs' redemptions: the last one exhausts the voucher
PG_DATABASE = "innocommons_bench_redeem"


def main() -> None:
    print(
        f"{CLIENTS} client processes, {VOUCHERS:,} vouchers, {ROUNDS * VOUCHERS:,} redemptions "
        "per run (service, then raw SQL)",
        flush=True,
    )
    results = run_engines("bench.redeem")
    print(f"\n{'engine':<12}{'service/s':>12}{'raw SQL/s':>12}{'ratio':>8}  ledger check")
    for engine, r in results.items():
        if r is None:
            print(f"{engine:<12}{'skipped (no server)':>32}")
            continue
        print(
            f"{engine:<12}{r['service_rate']:>12,.0f}{r['raw_rate']:>12,.0f}"
            f"{r['service_rate'] / r['raw_rate']:>8.2f}  "
            f"{'clean' if not r['problems'] else str(r['problems']) + ' difference(s)'}"
        )
    pg = results.get("PostgreSQL")
    if pg:
        ratio = pg["service_rate"] / pg["raw_rate"]
        print(
            f"PostgreSQL: {pg['service_rate']:,.0f} redemptions/s (target ≥ 300) · "
            f"service/raw = {ratio:.2f} (target ≥ 0.3)"
        )


# --- child: one engine ---------------------------------------------------------------------


@dataclass
class Task:
    voucher_id: int
    code: str
    account_id: int
    user_id: int
    client_id: int
    provider_id: int
    order_id: int


@dataclass
class World:
    programme_id: int
    redeemed_account_id: int
    service: list[Task]  # orders redeemed through redeem_voucher
    raw: list[Task]  # orders redeemed by the raw SQL baseline


def _in_workers(
    work: Callable[[Any], None], items: list[Any], finish: Callable[[], None] = lambda: None
) -> float:
    """Run work(item) for every item from CLIENTS forked processes; return the wall time."""

    def run(share: list[Any]) -> None:
        for item in share:
            work(item)

    return in_processes(run, [items[i::CLIENTS] for i in range(CLIENTS)], finish)[1]


def _build() -> World:
    """An admin, a programme, VOUCHERS enterprises each holding one voucher, 10 providers
    across the community, and 2 × ROUNDS completed orders per voucher."""
    from django.utils import timezone

    from innocommons.accounts.models import Membership, Organisation, StaffRole, User
    from innocommons.catalog import services as catalog
    from innocommons.orders.models import Order
    from innocommons.vouchers import ledger, services
    from innocommons.vouchers.models import Account, Application, Voucher

    admin = User.objects.create(username="bench-admin")
    StaffRole.objects.create(user=admin, role="regional_admin", region_id="310000")
    today = timezone.localdate()
    programme = services.create_programme(
        actor=admin,
        data=services.ProgrammeInput(
            region="310000",
            name_zh="基准测试创新券",
            budget_fen=VOUCHERS * FACE,
            max_per_voucher_fen=FACE,
            max_per_enterprise_year_fen=10 * FACE,
            opens_on=today,
            closes_on=today.replace(year=today.year + 1),
        ),
    )
    regions = ["310104", "310110", "310112", "310115", "310117"]
    enterprises = Organisation.objects.bulk_create(
        Organisation(
            name_zh=f"基准企业{i}", type="enterprise", region_id=regions[i % 5], status="verified"
        )
        for i in range(VOUCHERS)
    )
    users = User.objects.bulk_create(
        User(username=f"bench-{i}", password="!") for i in range(VOUCHERS + 10)
    )
    Membership.objects.bulk_create(
        Membership(user=u, organisation=o) for u, o in zip(users, enterprises, strict=False)
    )
    providers, resources = [], []
    for i, region in enumerate(["320100", "320500", "330100", "330400", "340100"] * 2):
        provider = Organisation.objects.create(
            name_zh=f"基准服务机构{i}", type="university", region_id=region, status="verified"
        )
        member = users[VOUCHERS + i]
        Membership.objects.create(user=member, organisation=provider)
        providers.append(provider)
        resources.append(
            catalog.create_resource(
                actor=member,
                owner_id=provider.pk,
                kind="service",
                data={"title_zh": f"检测服务{i}"},
                publish=True,
            )
        )

    pairs = list(zip(enterprises, users, strict=False))
    # Applications are plain rows (no money moves): written in bulk to save time. Their
    # approval, which commits budget and issues the voucher, goes through the service.
    applications = Application.objects.bulk_create(
        Application(
            programme=programme, organisation=org, applicant=user, amount_fen=FACE, purpose="基准"
        )
        for org, user in pairs
    )

    def issue(application: Application) -> None:
        services.approve_application(actor=copy.copy(admin), application_id=application.pk)

    elapsed = _in_workers(issue, applications)
    print(f"issued {len(applications):,} vouchers in {elapsed:.1f} s", flush=True)

    vouchers = {v.organisation_id: v for v in Voucher.objects.filter(programme=programme)}
    accounts = dict(
        Account.objects.filter(programme=programme, voucher__isnull=False).values_list(
            "voucher_id", "pk"
        )
    )
    now = timezone.now()
    orders, meta = [], []
    for n in range(2 * ROUNDS):
        for i, (org, user) in enumerate(pairs):
            k = (i + n) % len(providers)
            orders.append(
                Order(
                    ref=f"B{n}-{i:06d}",
                    client=org,
                    provider=providers[k],
                    resource=resources[k],
                    status=Order.Status.COMPLETED,
                    quote_fen=FEE,
                    fee_fen=FEE,
                    completed_at=now,
                )
            )
            meta.append((n, org, user, providers[k]))
    Order.objects.bulk_create(orders, batch_size=2000)
    tasks: dict[bool, list[Task]] = {True: [], False: []}
    for order, (n, org, user, provider) in zip(orders, meta, strict=True):
        voucher = vouchers[org.pk]
        tasks[n < ROUNDS].append(
            Task(
                voucher.pk,
                voucher.code,
                accounts[voucher.pk],
                user.pk,
                org.pk,
                provider.pk,
                order.pk,
            )
        )
    for run in tasks.values():
        random.Random(7).shuffle(run)  # clients meet on the same voucher now and then
    redeemed = ledger.programme_account(programme, Account.Kind.REDEEMED).pk
    return World(programme.pk, redeemed, tasks[True], tasks[False])


def _service_run(world: World) -> tuple[float, int]:
    """Time the concurrent service calls; return (seconds, queries of one call)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from innocommons.accounts.models import User
    from innocommons.vouchers import services

    users = User.objects.in_bulk([t.user_id for t in world.service])

    def redeem(task: Task) -> None:
        # A fresh user object per call, as in a web request: permissions are looked up again.
        services.redeem_voucher(
            actor=copy.copy(users[task.user_id]), voucher=task.code, order_id=task.order_id
        )

    first, *rest = world.service
    with CaptureQueriesContext(connection) as queries:
        redeem(first)  # alone, to count its queries; not timed
    return _in_workers(redeem, rest), len(queries.captured_queries)


REDEEM_SQL = [
    "UPDATE vouchers_voucher SET balance_fen = balance_fen - %s, status = CASE WHEN "
    "balance_fen = %s THEN 'exhausted' ELSE status END WHERE id = %s AND balance_fen >= %s",
    "INSERT INTO vouchers_redemption (voucher_id, order_id, programme_id, client_id, "
    "provider_id, amount_fen, year, idempotency_key, created_by_id, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, '', %s, %s)",
    "INSERT INTO vouchers_journalentry (at, kind, programme_id, memo, actor_id) "
    "VALUES (%s, 'redeem', %s, %s, %s) RETURNING id",
    "INSERT INTO vouchers_posting (entry_id, account_id, amount_fen) VALUES (%s, %s, %s), "
    "(%s, %s, %s)",
    "UPDATE vouchers_account SET balance_fen = balance_fen + %s WHERE id = %s",
    "UPDATE vouchers_account SET balance_fen = balance_fen - %s WHERE id = %s "
    "AND balance_fen >= %s",
]


def _raw_run(world: World, engine: str) -> float:
    """The same row changes as a redemption, hand-written, one transaction each."""
    from django.conf import settings

    amount = FEE // 2
    local = threading.local()
    sqlite = engine == "sqlite"
    sql = [s.replace("%s", "?") for s in REDEEM_SQL] if sqlite else REDEEM_SQL

    connections: list[Any] = []

    def connect() -> Any:
        if sqlite:
            import sqlite3

            conn = sqlite3.connect(
                settings.DATABASES["default"]["NAME"], isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout = 20000")
        else:
            import psycopg

            conn = psycopg.connect(os.environ["DATABASE_URL"])
        connections.append(conn)
        return conn

    def redeem(task: Task) -> None:
        if not hasattr(local, "conn"):
            local.conn = connect()
        conn = local.conn
        now = datetime.now(UTC)
        at: Any = str(now.replace(tzinfo=None)) if sqlite else now
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
        cur.execute(sql[0], (amount, amount, task.voucher_id, amount))
        if cur.rowcount != 1:
            raise RuntimeError(f"voucher {task.voucher_id} has not enough left")
        cur.execute(
            sql[1],
            (
                task.voucher_id,
                task.order_id,
                world.programme_id,
                task.client_id,
                task.provider_id,
                amount,
                now.year,
                task.user_id,
                at,
            ),
        )
        cur.execute(sql[2], (at, world.programme_id, f"voucher {task.voucher_id}", task.user_id))
        entry_id = cur.fetchone()[0]
        cur.execute(
            sql[3],
            (entry_id, task.account_id, -amount, entry_id, world.redeemed_account_id, amount),
        )
        # Accounts in id order, as ledger.post does: the programme's account comes first.
        cur.execute(sql[4], (amount, world.redeemed_account_id))
        cur.execute(sql[5], (amount, task.account_id, amount))
        if cur.rowcount != 1:
            raise RuntimeError(f"voucher account {task.account_id} has not enough left")
        cur.execute("COMMIT")

    def finish() -> None:
        for conn in connections:
            conn.close()

    return _in_workers(redeem, world.raw, finish)


def child(engine: str) -> None:
    with engine_database(engine, PG_DATABASE):
        world = _build()
        service, queries = _service_run(world)
        raw = _raw_run(world, engine)
        from innocommons.vouchers import ledger
        from innocommons.vouchers.models import Redemption, Voucher

        check = ledger.check()
        done = Redemption.objects.count()
        assert done == 2 * ROUNDS * VOUCHERS, done
        assert not Voucher.objects.exclude(balance_fen=0).exists()
        n = ROUNDS * VOUCHERS
        figures = {
            "service_rate": (n - 1) / service,
            "raw_rate": n / raw,
            "problems": len(check.problems),
        }
        print(
            f"redeem_voucher ({queries} queries each): {n - 1:,} in {service:.2f} s = "
            f"{figures['service_rate']:,.0f}/s · raw SQL (6 statements each): {n:,} in "
            f"{raw:.2f} s = {figures['raw_rate']:,.0f}/s · ledger check: "
            f"{check.postings:,} postings, {len(check.problems)} difference(s)",
            flush=True,
        )
        for problem in check.problems[:10]:
            print(f"  {problem}")
        report(figures)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
