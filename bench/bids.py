"""bench/bids: accepted auction bids per second under contention, on SQLite and PostgreSQL.

16 bidder threads bid on 10 open lots for BIDS_SECONDS (default 30) seconds. Each thread
loops: pick a lot at random, read its current price (as a bidder's page does when it
polls), bid the next valid amount. A bid is a full `place_bid` service call (permission
and rule checks, the registration and deposit, the conditional UPDATE of the lot, the bid
row, the audit entry); a bid another thread overtook answers 409 ("stale"). A thread that
already holds a lot's high bid picks another lot.

Baseline, in the same run and database, on 10 other lots: the same read and the same
conditional update as hand-written SQL through psycopg / sqlite3 (read the lot; BEGIN;
`UPDATE … WHERE high_bid_fen = :seen AND bid_count = :seen AND status = 'open' AND
ends_at > now`; the bid row; the audit row; COMMIT), by the same 16 threads for as long.

Afterwards every lot's history must be sound: sequence 1..n without gaps or duplicates,
amounts strictly increasing by whole increments, the lot's cached high bid = the last bid.

Each engine runs in its own process on a freshly migrated database: SQLite in a temporary
data folder; PostgreSQL in a fresh database on $DATABASE_URL's server, or on a throwaway
cluster started by scripts/with-postgres.

Targets (auctions issue): ≥ 200 accepted bids/s on PostgreSQL; service/raw ratio ≥ 0.3.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import ROOT, pct

THREADS = 16
LOTS = 10
SECONDS = float(os.environ.get("BIDS_SECONDS", "30"))
START = 1_000_000_00  # ¥1,000,000
INC = 10_000_00  # ¥10,000
PG_DATABASE = "innocommons_bench_bids"
RESULT = "RESULT "


# --- parent: one process per engine ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_child(engine: str, command: list[str], env: dict[str, str]) -> dict[str, Any] | None:
    """Run the engine's process, echo its output, return its figures (None if skipped)."""
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    figures = None
    for line in proc.stdout:
        if line.startswith(RESULT):
            figures = json.loads(line[len(RESULT) :])
        else:
            print(f"  [{engine}] {line}", end="", flush=True)
    if proc.wait() != 0:
        raise SystemExit(f"bench/bids on {engine} failed (exit {proc.returncode})")
    return figures


def main() -> None:
    child = [sys.executable, "-m", "bench.bids", "--child"]
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base.update(DJANGO_SETTINGS_MODULE="innocommons.settings", INNOCOMMONS_DISABLE_AXES="1")
    print(
        f"{THREADS} bidder threads, {LOTS} lots, {SECONDS:.0f} s per run "
        "(place_bid, then raw SQL on other lots)",
        flush=True,
    )
    results = {"SQLite": _run_child("SQLite", [*child, "sqlite"], base)}
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pg_env = {**base, "DATABASE_URL": os.environ["DATABASE_URL"]}
        results["PostgreSQL"] = _run_child("PostgreSQL", [*child, "postgresql"], pg_env)
    else:
        script = str(ROOT / "scripts" / "with-postgres")
        pg_env = {**base, "PG_TEST_PORT": str(_free_port())}
        results["PostgreSQL"] = _run_child("PostgreSQL", [script, *child, "postgresql"], pg_env)

    print(
        f"\n{'engine':<12}{'service/s':>11}{'stale':>8}{'raw SQL/s':>11}{'stale':>8}"
        f"{'ratio':>7}  history"
    )
    for engine, r in results.items():
        if r is None:
            print(f"{engine:<12}{'skipped (no server)':>32}")
            continue
        s, w = r["service"], r["raw"]
        print(
            f"{engine:<12}{s['rate']:>11,.0f}{s['stale']:>8,}{w['rate']:>11,.0f}{w['stale']:>8,}"
            f"{s['rate'] / w['rate']:>7.2f}  "
            f"{'sound' if not r['problems'] else str(r['problems']) + ' problem(s)'}"
        )
    pg = results.get("PostgreSQL")
    if pg:
        ratio = pg["service"]["rate"] / pg["raw"]["rate"]
        print(
            f"PostgreSQL: {pg['service']['rate']:,.0f} accepted bids/s (target ≥ 200) · "
            f"service/raw = {ratio:.2f} (target ≥ 0.3)"
        )


# --- child: one engine ---------------------------------------------------------------------


def _fresh_postgres_database(url: str) -> str:
    """Create (or re-create) the bench database on the server and return its URL."""
    import psycopg

    server, _slash, _name = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"{server}/{PG_DATABASE}"


def _setup(engine: str, data: str) -> None:
    os.environ["INNOCOMMONS_DATA_DIR"] = data
    if engine == "postgresql":
        os.environ["DATABASE_URL"] = _fresh_postgres_database(os.environ["DATABASE_URL"])
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


@dataclass
class Bidder:
    user: Any  # never used directly: each bid gets a fresh copy, as a web request would
    org_id: int
    number: int


@dataclass
class World:
    seller_region: str
    service_lots: list[int]
    raw_lots: list[int]
    bidders: list[Bidder]


def _build() -> World:
    """An operator, a verified university with 2 × LOTS published achievements, one session
    announced 10 days ago and open now, its lots approved (bidding for the next hours), and
    THREADS verified enterprises registered with their deposits recorded."""
    from django.utils import timezone

    from innocommons.accounts.models import Membership, Organisation, StaffRole, User
    from innocommons.catalog import services as catalog
    from innocommons.market.services import auctions
    from innocommons.vouchers.demo import at

    op = User.objects.create(username="bench-operator")
    StaffRole.objects.create(user=op, role="operator")
    seller = Organisation.objects.create(
        name_zh="基准测试大学", type="university", region_id="320100", status="verified"
    )
    seller_member = User.objects.create(username="bench-seller")
    Membership.objects.create(user=seller_member, organisation=seller)
    now = timezone.now()
    opens = now - timedelta(minutes=1)
    announced = now - timedelta(days=10)
    with at(announced):
        session = auctions.create_session(
            actor=op,
            data=auctions.SessionInput(
                title="基准测试拍卖会",
                announcement="基准测试",
                viewing_starts_at=announced + timedelta(days=1),
                viewing_ends_at=announced + timedelta(days=5),
                starts_at=opens,
            ),
        )
        lots = []
        for i in range(2 * LOTS):
            resource = catalog.create_resource(
                actor=seller_member,
                owner_id=seller.pk,
                kind="achievement",
                data={"title_zh": f"基准测试成果{i}"},
                publish=True,
            )
            lot = auctions.offer_lot(
                actor=seller_member,
                session_id=session.pk,
                data=auctions.LotInput(
                    resource_id=resource.pk,
                    starting_price_fen=START,
                    increment_fen=INC,
                    deposit_fen=100_000_00,
                    starts_at=opens,
                    scheduled_end_at=opens + timedelta(hours=6),
                    hard_end_at=opens + timedelta(hours=7),
                    field="electronics",
                ),
            )
            auctions.approve_lot(actor=op, lot_id=lot.pk)
            lots.append(lot.pk)
    bidders = []
    for i in range(THREADS):
        org = Organisation.objects.create(
            name_zh=f"基准竞买企业{i}", type="enterprise", region_id="310117", status="verified"
        )
        user = User.objects.create(username=f"bench-bidder-{i}")
        Membership.objects.create(user=user, organisation=org)
        registration = auctions.register_bidder(
            actor=copy.copy(user), session_id=session.pk, organisation_id=org.pk
        )
        auctions.record_deposit(actor=op, registration_id=registration.pk, amount_fen=100_000_00)
        bidders.append(Bidder(user=user, org_id=org.pk, number=registration.number))
    return World("320100", lots[:LOTS], lots[LOTS:], bidders)


def _in_threads(work: Callable[[int, random.Random], Counter[str]]) -> tuple[Counter[str], float]:
    """Run work(i, rng) in THREADS threads released together until SECONDS have passed;
    return the summed outcomes and the wall time."""
    from django.db import connection

    barrier = threading.Barrier(THREADS + 1)
    stop = threading.Event()
    totals: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run(i: int) -> None:
        rng = random.Random(i)
        mine: Counter[str] = Counter()
        barrier.wait()
        try:
            while not stop.is_set():
                mine.update(work(i, rng))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()
            with lock:
                totals.update(mine)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return totals, elapsed


def _service_run(world: World) -> tuple[Counter[str], float, list[float]]:
    from innocommons.core.errors import DomainError
    from innocommons.market.models import AuctionLot
    from innocommons.market.services import auctions

    latencies: list[float] = []  # ms per accepted place_bid (list.append is thread-safe)

    def work(i: int, rng: random.Random) -> Counter[str]:
        me = world.bidders[i]
        lot_id = rng.choice(world.service_lots)
        high, count, high_bidder = AuctionLot.objects.values_list(
            "high_bid_fen", "bid_count", "high_bidder_id"
        ).get(pk=lot_id)
        if high_bidder == me.org_id:
            return Counter(skipped=1)
        amount = high + INC if count else START
        started = time.perf_counter()
        try:
            auctions.place_bid(actor=copy.copy(me.user), lot_id=lot_id, amount_fen=amount)
        except DomainError as exc:
            return Counter(stale=1) if exc.status == 409 else Counter({f"refused {exc}": 1})
        latencies.append((time.perf_counter() - started) * 1000)
        return Counter(accepted=1)

    totals, elapsed = _in_threads(work)
    return totals, elapsed, latencies


READ_SQL = (
    "SELECT high_bid_fen, bid_count, high_bidder_id, ends_at FROM market_auctionlot WHERE id = %s"
)
BID_SQL = [
    "UPDATE market_auctionlot SET high_bid_fen = %s, bid_count = bid_count + 1, "
    "high_bidder_id = %s, ends_at = %s WHERE id = %s AND status = 'open' AND high_bid_fen = %s "
    "AND bid_count = %s AND starts_at <= %s AND ends_at > %s",
    "INSERT INTO market_bid (lot_id, seq, amount_fen, bidder_id, bidder_no, placed_by_id, "
    "placed_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
    "INSERT INTO core_auditentry (at, actor_id, action, target_type, target_id, region_id, "
    "after, note) VALUES (%s, %s, 'market.auction.bid', 'market.auctionlot', %s, %s, %s, '')",
]


def _raw_run(world: World, engine: str) -> tuple[Counter[str], float]:
    """The same read and row changes as a bid, hand-written, one transaction each."""
    from django.conf import settings

    local = threading.local()
    sqlite = engine == "sqlite"
    read_sql = READ_SQL.replace("%s", "?") if sqlite else READ_SQL
    bid_sql = [s.replace("%s", "?") for s in BID_SQL] if sqlite else BID_SQL
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

            conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        connections.append(conn)  # list.append is atomic: safe from several threads
        return conn

    def stamp(moment: datetime) -> Any:
        return str(moment.replace(tzinfo=None)) if sqlite else moment

    def work(i: int, rng: random.Random) -> Counter[str]:
        if not hasattr(local, "conn"):
            local.conn = connect()
        conn, me = local.conn, world.bidders[i]
        lot_id = rng.choice(world.raw_lots)
        cur = conn.cursor()
        cur.execute(read_sql, (lot_id,))
        # The bench's lots end hours later: the end is written back as read (no soft close).
        high, count, high_bidder, ends = cur.fetchone()
        if high_bidder == me.org_id:
            return Counter(skipped=1)
        amount = high + INC if count else START
        now = datetime.now(UTC)
        cur.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
        cur.execute(
            bid_sql[0],
            (amount, me.org_id, ends, lot_id, high, count, stamp(now), stamp(now)),
        )
        if cur.rowcount != 1:
            cur.execute("ROLLBACK")
            return Counter(stale=1)
        cur.execute(
            bid_sql[1], (lot_id, count + 1, amount, me.org_id, me.number, me.user.pk, stamp(now))
        )
        after = json.dumps({"seq": count + 1, "amount_fen": amount, "bidder": me.org_id})
        cur.execute(bid_sql[2], (stamp(now), me.user.pk, str(lot_id), world.seller_region, after))
        cur.execute("COMMIT")
        return Counter(accepted=1)

    try:
        return _in_threads(work)
    finally:
        for conn in connections:
            conn.close()


def _check(lot_ids: list[int]) -> list[str]:
    """Every lot's history: 1..n, strictly increasing by whole increments, cache = last."""
    from innocommons.market.models import AuctionLot, Bid

    problems = []
    for lot in AuctionLot.objects.filter(pk__in=lot_ids):
        bids = list(Bid.objects.filter(lot=lot).order_by("seq").values_list("seq", "amount_fen"))
        seqs = [s for s, _a in bids]
        amounts = [a for _s, a in bids]
        if seqs != list(range(1, len(bids) + 1)):
            problems.append(f"lot {lot.pk}: sequence has gaps or duplicates")
        if any(b - a <= 0 or (b - a) % INC for a, b in itertools.pairwise(amounts)):
            problems.append(f"lot {lot.pk}: amounts not strictly increasing by increments")
        if (lot.bid_count, lot.high_bid_fen) != (len(bids), amounts[-1] if amounts else 0):
            problems.append(f"lot {lot.pk}: cached high bid differs from the history")
    return problems


def child(engine: str) -> None:
    data = tempfile.mkdtemp(prefix="bench-bids-")
    try:
        started = time.perf_counter()
        _setup(engine, data)
        print(f"migrated a fresh database in {time.perf_counter() - started:.1f} s", flush=True)
        world = _build()
        service, service_s, latencies = _service_run(world)
        raw, raw_s = _raw_run(world, engine)
        problems = _check(world.service_lots + world.raw_lots)
        refused = {k: v for k, v in service.items() if k.startswith("refused")}
        figures = {
            "service": {"rate": service["accepted"] / service_s, "stale": service["stale"]},
            "raw": {"rate": raw["accepted"] / raw_s, "stale": raw["stale"]},
            "problems": len(problems) + sum(refused.values()),
        }
        print(
            f"place_bid: {service['accepted']:,} accepted in {service_s:.1f} s = "
            f"{figures['service']['rate']:,.0f}/s, {service['stale']:,} stale (409), "
            f"{service['skipped']:,} skipped (already highest), accepted bid p50 "
            f"{pct(latencies, 50):.0f} ms p95 {pct(latencies, 95):.0f} ms · "
            f"raw SQL: {raw['accepted']:,} "
            f"accepted = {figures['raw']['rate']:,.0f}/s, {raw['stale']:,} stale · "
            f"history: {len(problems)} problem(s)",
            flush=True,
        )
        for problem in [*problems, *refused][:10]:
            print(f"  {problem}")
        print(RESULT + json.dumps(figures), flush=True)
    finally:
        if engine == "postgresql":
            from django.db import connections

            connections.close_all()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
