"""bench/flows: the technology-flow statistics over HTTP with FLOWS_N registered contracts
(default 1,000,000) spread over five years, on SQLite and on PostgreSQL.

What is measured, per engine:
- generation: N registered contracts (plus 3% refused ones that must not count) written
  with multi-row INSERTs, then `innocommons stats rebuild` (timed);
- the API over HTTP (gunicorn, 2 workers, a bearer token so the anonymous rate limit does
  not apply, no conditional requests): `GET /api/v1/stats/flows` (the flow matrix) and
  `GET /api/v1/stats/flows/regions` (the per-region summary) for one year, cycling
  through the five years and the bloc and province levels — target p95 ≤ 100 ms;
- the baseline in the same run: the same figures by a GROUP BY over the raw contracts
  table (joined to the regions for the provinces), executed directly on the database, and
  the ratio of the two p95s;
- the public statistics page's weight: HTML (with its inline chart data) plus the scripts
  and styles it loads, as transferred with gzip and uncompressed.

Run: `python -m bench flows` (or `python -m bench.flows`); FLOWS_N=100000 for a quick run;
FLOWS_ENGINES=sqlite or postgres for one engine. PostgreSQL runs in a throwaway cluster
(scripts/with-postgres), so its data set is generated afresh each time; the SQLite one is
kept in bench/out/flows-N-sqlite/ (delete it to regenerate).
"""

from __future__ import annotations

import gzip
import http.client
import os
import random
import re
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import OUT, ROOT, pct, summary

N = int(os.environ.get("FLOWS_N", "1000000"))
PORT = int(os.environ.get("FLOWS_PORT", "8766"))
FIRST_YEAR, LAST_YEAR = 2021, 2025
REQUESTS = 200
WARMUP = 20
REFUSED_SHARE = 0.03
CHUNK = 20_000
SCRATCH_DB = "innocommons_bench_flows"


def _env(engine: str) -> dict[str, str]:
    env = os.environ.copy()
    if engine == "sqlite":
        env.pop("DATABASE_URL", None)
    env["INNOCOMMONS_DATA_DIR"] = str(OUT / f"flows-{N}-{engine}")
    env["DJANGO_SETTINGS_MODULE"] = "innocommons.settings"
    env["INNOCOMMONS_DISABLE_AXES"] = "1"
    env["ALLOWED_HOSTS"] = "127.0.0.1"
    env.pop("DEBUG", None)
    return env


# --- the data set ------------------------------------------------------------------------------


def _weights() -> tuple[
    list[str], list[float], list[str], list[float], list[str], dict[str, list[str]]
]:
    """Where sellers and buyers are: community cities weighted by size, the rest of China,
    and foreign partners — roughly the shape of the YRD registration statistics."""
    from innocommons.core.models import Region

    big = {"310000": 3.0, "320100": 3.0, "320500": 3.0, "330100": 3.0, "340100": 2.5,
           "330200": 2.0, "320200": 1.5, "310115": 2.0, "310104": 1.5, "310112": 1.2}  # fmt: skip
    community, c_weights, rest, r_weights, abroad = [], [], [], [], []
    by_province: dict[str, list[str]] = {}
    for r in Region.objects.all():
        if r.level == "country" and r.code != "CN":
            abroad.append(r.code)
        elif r.in_community:
            community.append(r.code)
            c_weights.append(big.get(r.code, 0.6 if r.level == "city" else 0.4))
            by_province.setdefault(r.province_id or r.code, []).append(r.code)
        elif r.level == "province":
            rest.append(r.code)
            r_weights.append(1.0)
    return community, c_weights, rest, r_weights, abroad, by_province


def generate(n: int) -> int:
    """Write n registered contracts (and 3% refused ones) over five years; return rows."""
    from django.db import connection, transaction

    from innocommons.catalog.demo import _RawTable
    from innocommons.market.models import SUBTYPES, ContractField, ContractType, TechContract

    community, c_w, rest, r_w, abroad, by_province = _weights()
    province_of = {c: p for p, codes in by_province.items() for c in codes}
    types = list(ContractType.values)
    type_w = [30, 10, 5, 10, 45]
    fields = list(ContractField.values)
    field_w = [22, 3, 18, 14, 10, 12, 8, 1, 4, 4, 4]
    subtypes = {t: str(SUBTYPES[t][0][0]) for t in types}
    rng = random.Random(20251231)
    days = (date(LAST_YEAR, 12, 31) - date(FIRST_YEAR, 1, 1)).days + 1
    table = _RawTable(TechContract)
    now = datetime(LAST_YEAR + 1, 1, 5, 9, 0)
    total = int(n * (1 + REFUSED_SHARE))
    done = 0
    started = time.monotonic()
    while done < total:
        size = min(CHUNK, total - done)
        rows = []
        for i in range(done, done + size):
            r = rng.random()
            seller = (
                rng.choices(community, c_w)[0]
                if r < 0.80
                else (rng.choices(rest, r_w)[0] if r < 0.95 else rng.choice(abroad))
            )
            b = rng.random()
            if b < 0.45 and seller in province_of:
                buyer = rng.choice(by_province[province_of[seller]])
            elif b < 0.75:
                buyer = rng.choices(community, c_w)[0]
            elif b < 0.95:
                buyer = rng.choices(rest, r_w)[0]
            else:
                buyer = rng.choice(abroad)
            amount = int(min(5e10, rng.lognormvariate(17.7, 1.3)))  # median ≈ 490,000 yuan
            tech = int(amount * rng.uniform(0.6, 1.0))
            day = date(FIRST_YEAR, 1, 1) + timedelta(days=rng.randrange(days))
            kind = rng.choices(types, type_w)[0]
            refused = i >= n
            rows.append(
                {
                    "ref": f"BENCH{i:09d}",
                    "title": f"基准技术合同{i}",
                    "type": kind,
                    "subtype": subtypes[kind],
                    "seller_name": f"卖方{i % 50_000}",
                    "seller_region_id": seller,
                    "buyer_name": f"买方{i % 80_000}",
                    "buyer_region_id": buyer,
                    "amount_fen": amount,
                    "tech_amount_fen": tech,
                    "registered_tech_amount_fen": None if refused else tech,
                    "field": rng.choices(fields, field_w)[0],
                    "signed_on": day - timedelta(days=20),
                    "status": "refused" if refused else "registered",
                    "source": "import",
                    "registration_no": None if refused else f"B{i:010d}",
                    "registered_on": None if refused else day,
                    "decided_at": now,
                }
            )
        with transaction.atomic():
            first = table.reserve_ids(len(rows))
            for offset, row in enumerate(rows):
                row["id"] = first + offset
            table.insert(rows, now)
        done += size
        rate = done / (time.monotonic() - started)
        print(f"\r  generated {done:,}/{total:,} ({rate:,.0f} rows/s)", end="", flush=True)
    table.reset_sequence()
    print()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return total


# --- measuring -------------------------------------------------------------------------------


def _queries() -> list[tuple[str, dict[str, str]]]:
    out = []
    for i in range(REQUESTS + WARMUP):
        year = FIRST_YEAR + i % (LAST_YEAR - FIRST_YEAR + 1)
        level = "province" if (i // 5) % 2 else "bloc"
        path = "/api/v1/stats/flows" if i % 2 == 0 else "/api/v1/stats/flows/regions"
        out.append((path, {"period": str(year), "level": level}))
    return out


def _wait_for(port: int, timeout: float = 120) -> None:
    import socket

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise RuntimeError("the server did not start")


def _get(
    conn: http.client.HTTPConnection, url: str, headers: dict[str, str]
) -> tuple[int, bytes, dict[str, str]]:
    conn.request("GET", url, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    return resp.status, body, {k.lower(): v for k, v in resp.getheaders()}


def measure_api(token: str) -> dict[str, list[float]]:
    """ms per request after the warm-up: all, per endpoint and per level."""
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, list[float]] = {}
    for i, (path, params) in enumerate(_queries()):
        start = time.perf_counter()
        status, body, _h = _get(conn, f"{path}?{urlencode(params)}", headers)
        elapsed = (time.perf_counter() - start) * 1000
        if status != 200:
            raise RuntimeError(f"{path} {params}: {status} {body[:300]!r}")
        if i >= WARMUP:
            name = "matrix" if path.endswith("/flows") else "summary"
            for key in ("all", name, f"{name} {params['level']}"):
                out.setdefault(key, []).append(elapsed)
    return out


def measure_drill(token: str) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    for i in range(60):
        year = FIRST_YEAR + i % 5
        start = time.perf_counter()
        status, body, _h = _get(
            conn, f"/api/v1/stats/flows?period={year}&level=city&focus=320000", headers
        )
        if status != 200:
            raise RuntimeError(body[:300])
        if i >= 10:
            out.append((time.perf_counter() - start) * 1000)
    return out


def measure_raw() -> tuple[list[float], list[tuple[Any, ...]]]:
    """The baseline: the same province × province figures by GROUP BY over the raw table."""
    from django.db import connection

    sql = (
        "SELECT sr.province_id, br.province_id, COUNT(*), SUM(c.amount_fen), "
        "SUM(c.registered_tech_amount_fen) FROM market_techcontract c "
        "JOIN core_region sr ON sr.code = c.seller_region_id "
        "JOIN core_region br ON br.code = c.buyer_region_id "
        "WHERE c.status = %s AND c.registered_on >= %s AND c.registered_on <= %s "
        "GROUP BY sr.province_id, br.province_id"
    )
    times, last = [], []
    with connection.cursor() as cur:
        for i, (_path, params) in enumerate(_queries()):
            year = int(params["period"])
            start = time.perf_counter()
            cur.execute(sql, ["registered", date(year, 1, 1), date(year, 12, 31)])
            last = cur.fetchall()
            if i >= WARMUP:
                times.append((time.perf_counter() - start) * 1000)
    return times, last


def check_same_figures(rows: list[tuple[Any, ...]]) -> None:
    """The API's figures equal the raw GROUP BY (last year of the cycle, province level)."""
    from innocommons.insights import periods
    from innocommons.insights.query import StatsQuery
    from innocommons.insights.selectors import flows

    year = int(_queries()[-1][1]["period"])
    got = {
        (x.seller, x.buyer): (x.measure.contracts, x.measure.amount_fen, x.measure.tech_amount_fen)
        for x in flows.flows(StatsQuery(period=periods.year(year), level="province")).links
    }
    want = {(r[0], r[1]): (int(r[2]), int(r[3]), int(r[4])) for r in rows}
    assert got == want, "rollup figures differ from the raw GROUP BY"


def page_weight() -> dict[str, int]:
    """Bytes of the public statistics page as a browser loads it (gzip) and uncompressed."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    gz = {"Accept-Encoding": "gzip"}
    status, html_gz, headers = _get(conn, "/stats/", gz)
    if status != 200:
        raise RuntimeError(f"/stats/: {status}")
    html = gzip.decompress(html_gz) if headers.get("content-encoding") == "gzip" else html_gz
    text = html.decode()
    data = sum(
        len(m)
        for m in re.findall(
            r'<script id="[^"]+" type="application/json">(.*?)</script>', text, re.S
        )
    )
    assets = re.findall(r'<(?:script[^>]+src|link[^>]+href)="(/static/[^"]+)"', text)
    out = {
        "html": len(html),
        "html_sent": len(html_gz),
        "data": data,
        "assets": 0,
        "assets_sent": 0,
    }
    for url in assets:
        status, body, h = _get(conn, url, gz)
        if status != 200:
            raise RuntimeError(f"{url}: {status}")
        out["assets_sent"] += len(body)
        out["assets"] += (
            len(gzip.decompress(body)) if h.get("content-encoding") == "gzip" else len(body)
        )
    out["requests"] = 1 + len(assets)
    return out


def _page_time() -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    out = []
    for i in range(12):
        start = time.perf_counter()
        status, _b, _h = _get(
            conn, f"/stats/?period={FIRST_YEAR + i % 5}", {"Accept-Encoding": "gzip"}
        )
        if status != 200:
            raise RuntimeError(f"/stats/: {status}")
        if i >= 2:
            out.append((time.perf_counter() - start) * 1000)
    return out


# --- one engine, in its own process ------------------------------------------------------------


def _scratch_postgres(url: str) -> str:
    """A fresh database in the throwaway cluster DATABASE_URL points at."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    admin = (
        f"host={cfg['HOST']} port={cfg['PORT'] or 5432} dbname=postgres "
        f"user={cfg['USER']} password={cfg['PASSWORD'] or ''}"
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")
        conn.execute(f"CREATE DATABASE {SCRATCH_DB}")
    return url.rsplit("/", 1)[0] + "/" + SCRATCH_DB


def run_engine(engine: str) -> None:
    import django

    os.environ.update(_env(engine))
    if engine == "postgres":
        if not os.environ.get("DATABASE_URL"):
            raise SystemExit("PostgreSQL: no DATABASE_URL (run through scripts/with-postgres)")
        os.environ["DATABASE_URL"] = _scratch_postgres(os.environ["DATABASE_URL"])
    Path(os.environ["INNOCOMMONS_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    django.setup()
    from django.core.management import call_command

    from innocommons.accounts import services
    from innocommons.accounts.models import ApiToken, User
    from innocommons.market.models import TechContract

    marker = Path(os.environ["INNOCOMMONS_DATA_DIR"]) / "generated"
    print(f"--- {engine}: {N:,} registered contracts over {FIRST_YEAR}–{LAST_YEAR}", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    have = TechContract.objects.filter(status="registered").count()
    if not (marker.exists() and have == N):
        TechContract.objects.all()._raw_delete(using="default")  # type: ignore[attr-defined]
        start = time.monotonic()
        rows = generate(N)
        print(f"generated {rows:,} contract rows in {time.monotonic() - start:.1f} s")
        marker.write_text(f"{N}\n")
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "innocommons.cli", "stats", "-v", "0", "rebuild"],
        env=os.environ.copy(),
        check=True,
    )
    print(f"stats rebuild: {time.monotonic() - start:.1f} s (CLI, including start-up)")
    start = time.monotonic()
    check = subprocess.run(
        [sys.executable, "-m", "innocommons.cli", "stats", "check"],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - start
    print(f"stats check: exit {check.returncode} in {took:.1f} s: {check.stdout.strip()}")
    user, _ = User.objects.get_or_create(username="bench-flows")
    ApiToken.objects.filter(user=user).delete()
    _token, raw = services.create_api_token(actor=user, name="bench")

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "innocommons.cli",
            "serve",
            "--port",
            str(PORT),
            "--no-indexer",
            "--workers",
            "2",
            "--threads",
            "1",
        ],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(PORT)
        timings = measure_api(raw)
        drill = measure_drill(raw)
        weight = page_weight()
        page = _page_time()
    finally:
        server.terminate()
        server.wait(30)
    raw_ms, rows = measure_raw()
    check_same_figures(rows)
    api = timings["all"]
    print(summary("API matrix + summary", api))
    for name, label in (
        ("matrix", "  matrix /stats/flows"),
        ("matrix bloc", "    level=bloc"),
        ("matrix province", "    level=province"),
        ("summary", "  summary /flows/regions"),
        ("summary bloc", "    level=bloc"),
        ("summary province", "    level=province"),
    ):
        print(summary(label, timings[name]))
    print(summary("API city drill-down", drill))
    print(summary("raw GROUP BY (baseline)", raw_ms))
    print(summary("statistics page (HTML)", page))
    target = "MET" if pct(api, 95) <= 100 else "MISSED"
    print(
        f"[{engine}] API p95 {pct(api, 95):.1f} ms (target ≤ 100: {target}) · baseline raw "
        f"GROUP BY p95 {pct(raw_ms, 95):.1f} ms · baseline/API p95 = "
        f"{pct(raw_ms, 95) / pct(api, 95):.1f}x"
    )
    total_sent = weight["html_sent"] + weight["assets_sent"]
    print(
        f"[{engine}] statistics page: {weight['requests']} requests, "
        f"{total_sent / 1024:,.0f} KiB transferred with gzip "
        f"(HTML {weight['html_sent'] / 1024:,.0f} KiB incl. chart data; scripts and styles "
        f"{weight['assets_sent'] / 1024:,.0f} KiB); uncompressed HTML "
        f"{weight['html'] / 1024:,.0f} KiB of which chart data {weight['data'] / 1024:,.0f} KiB, "
        f"scripts and styles {weight['assets'] / 1024:,.0f} KiB",
        flush=True,
    )


def main() -> None:
    engines = [e for e in os.environ.get("FLOWS_ENGINES", "sqlite,postgres").split(",") if e]
    for engine in engines:
        cmd = [sys.executable, "-m", "bench.flows", "--engine", engine]
        if engine == "postgres":
            cmd = [str(ROOT / "scripts" / "with-postgres"), *cmd]
        subprocess.run(cmd, cwd=ROOT, env=_env(engine), check=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--engine":
        run_engine(sys.argv[2])
    else:
        main()
