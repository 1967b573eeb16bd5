"""bench/search: 200 mixed Chinese/English queries (1–3 terms, common and rare, with
facets) through the search API over HTTP, directly against Tantivy (the floor), and as
SQLite FTS5 bm25 top-20 over the same rows (what a typical Django site would do).

Targets (issue #2): API p95 ≤ 30 ms with facets; API/raw-Tantivy ≤ 3; ≥ 10× faster than
FTS5 at p95.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

from bench import generate
from bench.common import ROOT, N, data_dir, env, pct, summary

PORT = int(os.environ.get("BENCH_PORT", "8765"))
FACETS = [
    "",
    "",
    "kind=instrument",
    "kind=achievement",
    "field=01",
    "region=320000",
    "kind=service&region=330000",
]


COMMON = [
    "检测",
    "技术",
    "系统",
    "材料",
    "分析",
    "服务",
    "设备",
    "测试",
    "智能",
    "新能源",
    "testing",
    "analysis",
    "system",
    "materials",
    "high",
    "electron",
]


def queries(count: int = 200) -> list[tuple[str, str]]:
    """Deterministic (query, facet) pairs of 1–3 terms, common and rare, Chinese and English,
    drawn from the generator's vocabulary; one in three with a facet filter."""
    from innocommons.catalog.search.segment import query_tokens

    vocab = json.loads((ROOT / "src/innocommons/catalog/data/synthetic.json").read_text())
    rng = random.Random(7)
    rare: list[str] = []
    for key in ("instrument_families", "service_topics", "achievement_topics", "applications"):
        for entry in vocab[key]:
            rare += [t for t in query_tokens(entry["zh"]) if len(t) > 1][:1]
            rare += [w for w in entry["en"].split() if len(w) > 5][:1]
    rare += ["Bruker", "Orbitrap", "冷冻电镜", "钙钛矿", "单细胞", "CNAS", "太赫兹", "Zeiss"]
    rare = sorted(set(rare))
    out = []
    for i in range(count):
        terms = [
            rng.choice(COMMON) if rng.random() < 0.4 else rng.choice(rare) for _ in range(1 + i % 3)
        ]
        out.append((" ".join(terms), FACETS[i % len(FACETS)]))
    return out


def _wait_for_port(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("server did not start")


def bench_api(qs: list[tuple[str, str]]) -> list[float]:
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
        env={**env(), "ALLOWED_HOSTS": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(PORT)
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        times = []
        for i, (q, facet) in enumerate(qs[:20] + qs):  # 20 warm-up requests
            url = f"/api/v1/search?q={urllib.parse.quote(q)}&page_size=20" + (
                f"&{facet}" if facet else ""
            )
            start = time.perf_counter()
            conn.request("GET", url)
            resp = conn.getresponse()
            body = resp.read()
            elapsed = (time.perf_counter() - start) * 1000
            if resp.status != 200:
                raise RuntimeError(f"{url}: {resp.status} {body[:200]!r}")
            if i >= 20:
                times.append(elapsed)
        return times
    finally:
        server.terminate()
        server.wait(30)


def _setup_django() -> None:
    os.environ.update(env())
    import django

    django.setup()


def bench_tantivy(qs: list[tuple[str, str]]) -> tuple[list[float], Any]:
    from innocommons.catalog.search import engine
    from innocommons.catalog.search.query import SearchParams, _combine, _facet_spec, text_query
    from innocommons.catalog.search.segment import query_tokens

    searcher = engine.reader.searcher()
    times = []
    totals = []
    for i, (q, facet) in enumerate(qs[:20] + qs):
        params = SearchParams(q=q, **dict(urllib.parse.parse_qsl(facet))).clamp()
        start = time.perf_counter()
        tokens = query_tokens(q)
        query = _combine(text_query(tokens, searcher), params.filters, None)
        agg = searcher.aggregate(query, _facet_spec(engine.FACET_FIELDS))
        if not agg["kind"]["buckets"] and len(tokens) >= 3:
            query = _combine(text_query(tokens, searcher, relaxed=True), params.filters, None)
            agg = searcher.aggregate(query, _facet_spec(engine.FACET_FIELDS))
        searcher.search(query, 20, count=False)
        elapsed = (time.perf_counter() - start) * 1000
        if i >= 20:
            times.append(elapsed)
            totals.append(sum(b["doc_count"] for b in agg["kind"]["buckets"]))
    return times, totals


def build_fts(path: Path) -> Path:
    """An FTS5 table over the same published rows, with the same Chinese segmentation."""
    fts = path / "fts5.sqlite3"
    if fts.exists():
        return fts
    from innocommons.catalog.search.segment import index_tokens

    src = sqlite3.connect(path / "innocommons.sqlite3")
    dst = sqlite3.connect(fts.with_suffix(".tmp"))
    dst.execute(
        "CREATE VIRTUAL TABLE fts USING fts5(title, keywords, summary, kind UNINDEXED, "
        "tokenize='unicode61')"
    )
    cur = src.execute(
        "SELECT id, title_zh || ' ' || title_en, keywords, summary_zh || ' ' || "
        "summary_en, kind FROM catalog_resource WHERE status='published'"
    )
    while rows := cur.fetchmany(10_000):
        dst.executemany(
            "INSERT INTO fts(rowid, title, keywords, summary, kind) VALUES (?,?,?,?,?)",
            [
                (
                    r[0],
                    " ".join(index_tokens(r[1])),
                    " ".join(index_tokens(r[2].replace(";", " "))),
                    " ".join(index_tokens(r[3])),
                    r[4],
                )
                for r in rows
            ],
        )
    dst.commit()
    dst.close()
    fts.with_suffix(".tmp").rename(fts)
    return fts


def bench_fts(qs: list[tuple[str, str]], fts: Path) -> list[float]:
    from innocommons.catalog.search.segment import query_tokens

    db = sqlite3.connect(fts)
    times = []
    for i, (q, _facet) in enumerate(qs[:20] + qs):
        tokens = query_tokens(q)
        if not tokens:
            continue
        match = " ".join('"' + t.replace('"', '""') + '"' for t in tokens)
        start = time.perf_counter()
        db.execute(
            "SELECT rowid, bm25(fts, 3.0, 2.0, 1.0) AS s FROM fts WHERE fts MATCH ? "
            "ORDER BY s LIMIT 20",
            (match,),
        ).fetchall()
        elapsed = (time.perf_counter() - start) * 1000
        if i >= 20:
            times.append(elapsed)
    return times


def main() -> None:
    path = data_dir()
    if not (path / "generated").exists():
        generate.main()
    _setup_django()
    qs = queries()
    print(f"{len(qs)} queries over {N:,} resources ({path})")
    api = bench_api(qs)
    raw, totals = bench_tantivy(qs)
    print("building the FTS5 comparison table (first run only)…", flush=True)
    fts = bench_fts(qs, build_fts(path))
    print(summary("API over HTTP (+facets)", api))
    print(summary("raw Tantivy (+facets)", raw))
    print(summary("SQLite FTS5 bm25 top-20", fts))
    print(f"median hits per query: {pct([float(t) for t in totals], 50):,.0f}")
    r1 = pct(api, 95) / pct(raw, 95)
    r2 = pct(fts, 95) / pct(api, 95)
    print(
        f"API p95 {pct(api, 95):.1f} ms (target ≤ 30) · API/raw Tantivy p95 = {r1:.2f} "
        f"(target ≤ 3) · FTS5/API p95 = {r2:.1f}x (target ≥ 10)"
    )


if __name__ == "__main__":
    main()
