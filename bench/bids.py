"""bench/bids: accepted auction bids per second under contention, on SQLite and PostgreSQL.

16 bidder processes bid on 10 open lots for BIDS_SECONDS (default 30) seconds. Each one
loops: pick a lot at random, read its current price (as a bidder's page does when it
polls; the baseline's statement, in both runs, so that the ratio compares the bids), bid
the next valid amount. A bid is a full `place_bid` service call (permission
and rule checks, the registration and deposit, the conditional UPDATE of the lot, the bid
row, the audit entry) with a fresh user object, as in a web request; a bid another bidder
overtook answers 409 ("stale"). A bidder that already holds a lot's high bid picks another
lot. The bidders are processes, one database connection each, like app-server workers:
Python threads would measure the interpreter lock, not the database.

Baseline, in the same run and database, on 10 other lots: the same read and the same
conditional update as hand-written SQL through psycopg / sqlite3 (read the lot; BEGIN;
`UPDATE … WHERE high_bid_fen = :seen AND bid_count = :seen AND status = 'open' AND
ends_at > now`; the bid row; the audit row; COMMIT), by 16 processes for as long, each
with its own connection opened after the fork.

Afterwards every lot's history must be sound: sequence 1..n without gaps or duplicates,
amounts strictly increasing by whole increments, the lot's cached high bid = the last bid.

Each engine runs in its own process on a freshly migrated database: SQLite in a temporary
data folder; PostgreSQL in a fresh database on $DATABASE_URL's server, or on a throwaway
cluster started by scripts/with-postgres.

Targets (auctions issue): ≥ 200 accepted bids/s on PostgreSQL; service/raw ratio ≥ 0.3.

Measured on 2026-11-29 on the standard 2-core machine, six 30 s runs of `place_bid` as four
hand-written statements (docs/performance.md):

    PostgreSQL  231–297/s, raw SQL 660–872/s, ratio 0.34–0.38 (the four runs with the
                machine to themselves; `uptime` 3–12 from the run's own 32 processes);
                143–159/s, ratio 0.26–0.28 in two runs while other jobs may have shared it
    SQLite      607–922/s, raw SQL 981–1,690/s, ratio 0.50–0.75

Before, as nine ORM queries: PostgreSQL 38/s (ratio 0.05), SQLite 44/s (0.03), one 10 s run.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import engine_database, in_processes, pct, report, run_engines

BIDDERS = 16  # client processes
LOTS = 10
SECONDS = float(os.environ.get("BIDS_SECONDS", "30"))
START = 1_000_000_00  # ¥1,000,000
INC = 10_000_00  # ¥10,000
PG_DATABASE = "innocommons_bench_bids"

Outcome = tuple[Counter[str], list[float]]  # a bidder's outcomes, its accepted bids' ms


def main() -> None:
    print(
        f"{BIDDERS} bidder processes, {LOTS} lots, {SECONDS:.0f} s per run "
        "(place_bid, then raw SQL on other lots)",
        flush=True,
    )
    results = run_engines("bench.bids")
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
    BIDDERS verified enterprises registered with their deposits recorded."""
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
    for i in range(BIDDERS):
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


def _in_processes(
    bidders: list[Bidder],
    bid: Callable[[Bidder, random.Random], str],
    finish: Callable[[], None] = lambda: None,
) -> tuple[Counter[str], list[float], float]:
    """Every bidder in its own process calls bid(bidder, rng) until SECONDS have passed
    (each call answers "accepted", "stale", "skipped" or a refusal). Return the summed
    outcomes, the accepted calls' latencies in ms, and the wall time."""

    def run(i: int) -> Outcome:
        me, rng = bidders[i], random.Random(i)
        outcomes: Counter[str] = Counter()
        latencies: list[float] = []
        deadline = time.perf_counter() + SECONDS
        while (started := time.perf_counter()) < deadline:
            outcome = bid(me, rng)
            outcomes[outcome] += 1
            if outcome == "accepted":
                latencies.append((time.perf_counter() - started) * 1000)
        return outcomes, latencies

    results, elapsed = in_processes(run, list(range(len(bidders))), finish)
    totals: Counter[str] = Counter()
    latencies: list[float] = []
    for outcomes, mine in results:
        totals.update(outcomes)
        latencies.extend(mine)
    return totals, latencies, elapsed


READ_SQL = (
    "SELECT high_bid_fen, bid_count, high_bidder_id, ends_at FROM market_auctionlot WHERE id = %s"
)


def _service_run(world: World) -> tuple[Counter[str], list[float], float, int]:
    """Time the concurrent service calls; also return the queries of one accepted bid."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from innocommons.core.errors import DomainError
    from innocommons.market.services import auctions

    def bid(me: Bidder, rng: random.Random) -> str:
        lot_id = rng.choice(world.service_lots)
        with connection.cursor() as cur:  # the poll: the baseline's statement, not timed apart
            cur.execute(READ_SQL, [lot_id])
            high, count, high_bidder, _ends = cur.fetchone()
        if high_bidder == me.org_id:
            return "skipped"
        amount = high + INC if count else START
        try:
            auctions.place_bid(actor=copy.copy(me.user), lot_id=lot_id, amount_fen=amount)
        except DomainError as exc:
            return "stale" if exc.status == 409 else f"refused: {exc}"
        return "accepted"

    with CaptureQueriesContext(connection) as queries:  # alone, to count its queries
        first = bid(world.bidders[0], random.Random(0))
    assert first == "accepted", first
    control = ("BEGIN", "COMMIT")  # the transaction's own statements are not counted
    counted = [q for q in queries.captured_queries if not (q["sql"] or "").startswith(control)]
    totals, latencies, elapsed = _in_processes(world.bidders, bid)
    return totals, latencies, elapsed, len(counted) - 1  # less the poll


BID_SQL = [
    "UPDATE market_auctionlot SET high_bid_fen = %s, bid_count = bid_count + 1, "
    "high_bidder_id = %s, ends_at = %s WHERE id = %s AND status = 'open' AND high_bid_fen = %s "
    "AND bid_count = %s AND starts_at <= %s AND ends_at > %s",
    "INSERT INTO market_bid (lot_id, seq, amount_fen, bidder_id, bidder_no, placed_by_id, "
    "placed_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
    "INSERT INTO core_auditentry (at, actor_id, action, target_type, target_id, region_id, "
    "after, note) VALUES (%s, %s, 'market.auction.bid', 'market.auctionlot', %s, %s, %s, '')",
]


def _raw_run(world: World, engine: str) -> tuple[Counter[str], list[float], float]:
    """The same read and row changes as a bid, hand-written, one transaction each, on a
    connection each process opens after the fork."""
    from django.conf import settings

    sqlite = engine == "sqlite"
    read_sql = READ_SQL.replace("%s", "?") if sqlite else READ_SQL
    bid_sql = [s.replace("%s", "?") for s in BID_SQL] if sqlite else BID_SQL
    mine: list[Any] = []  # this process's connection, opened on its first bid

    def connect() -> Any:
        if sqlite:
            import sqlite3

            conn = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 20000")
        else:
            import psycopg

            conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        mine.append(conn)
        return conn

    def stamp(moment: datetime) -> Any:
        return str(moment.replace(tzinfo=None)) if sqlite else moment

    def bid(me: Bidder, rng: random.Random) -> str:
        conn = mine[0] if mine else connect()
        lot_id = rng.choice(world.raw_lots)
        cur = conn.cursor()
        cur.execute(read_sql, (lot_id,))
        # The bench's lots end hours later: the end is written back as read (no soft close).
        high, count, high_bidder, ends = cur.fetchone()
        if high_bidder == me.org_id:
            return "skipped"
        amount = high + INC if count else START
        now = datetime.now(UTC)
        cur.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
        cur.execute(
            bid_sql[0],
            (amount, me.org_id, ends, lot_id, high, count, stamp(now), stamp(now)),
        )
        if cur.rowcount != 1:
            cur.execute("ROLLBACK")
            return "stale"
        cur.execute(
            bid_sql[1], (lot_id, count + 1, amount, me.org_id, me.number, me.user.pk, stamp(now))
        )
        after = json.dumps({"seq": count + 1, "amount_fen": amount, "bidder": me.org_id})
        cur.execute(bid_sql[2], (stamp(now), me.user.pk, str(lot_id), world.seller_region, after))
        cur.execute("COMMIT")
        return "accepted"

    def finish() -> None:
        for conn in mine:
            conn.close()

    return _in_processes(world.bidders, bid, finish)


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


def _rate(outcomes: Counter[str], seconds: float) -> float:
    return outcomes["accepted"] / seconds


def child(engine: str) -> None:
    with engine_database(engine, PG_DATABASE):
        world = _build()
        service, latencies, service_s, queries = _service_run(world)
        raw, raw_latencies, raw_s = _raw_run(world, engine)
        problems = _check(world.service_lots + world.raw_lots)
        refused = {k: v for k, v in service.items() if k.startswith("refused")}
        figures = {
            "service": {"rate": _rate(service, service_s), "stale": service["stale"]},
            "raw": {"rate": _rate(raw, raw_s), "stale": raw["stale"]},
            "problems": len(problems) + sum(refused.values()),
        }
        print(
            f"place_bid ({queries} queries + BEGIN/COMMIT each): {service['accepted']:,} "
            f"accepted in {service_s:.1f} s = {figures['service']['rate']:,.0f}/s, "
            f"{service['stale']:,} stale (409), {service['skipped']:,} skipped (already "
            f"highest), accepted bid p50 {pct(latencies, 50):.1f} ms p95 "
            f"{pct(latencies, 95):.1f} ms · raw SQL: {raw['accepted']:,} accepted in "
            f"{raw_s:.1f} s = {figures['raw']['rate']:,.0f}/s, {raw['stale']:,} stale, p50 "
            f"{pct(raw_latencies, 50):.1f} ms p95 {pct(raw_latencies, 95):.1f} ms · history: "
            f"{len(problems)} problem(s)",
            flush=True,
        )
        for problem in [*problems, *refused][:10]:
            print(f"  {problem}")
        report(figures)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
