"""Shared benchmark plumbing: the data folder, running the CLI, percentiles, and for the
write benchmarks one process per engine on a fresh database with forked clients."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
N = int(os.environ.get("BENCH_N", "1000000"))


def data_dir() -> Path:
    path = OUT / f"data-{N}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def env(path: Path | None = None) -> dict[str, str]:
    e = os.environ.copy()
    e.pop("DATABASE_URL", None)
    e["INNOCOMMONS_DATA_DIR"] = str(path or data_dir())
    e["DJANGO_SETTINGS_MODULE"] = "innocommons.settings"
    e["INNOCOMMONS_DISABLE_AXES"] = "1"
    return e


def cli(*args: str, path: Path | None = None) -> None:
    subprocess.run([sys.executable, "-m", "innocommons.cli", *args], env=env(path), check=True)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(name: str, ms: list[float]) -> str:
    return (
        f"{name:<28} n={len(ms):>4}  p50={pct(ms, 50):8.2f} ms  p95={pct(ms, 95):8.2f} ms  "
        f"mean={statistics.fmean(ms):8.2f} ms"
    )


# --- write benchmarks: one child process per engine, on a fresh database ------------------

RESULT = "RESULT "  # the line a child prints its figures on, as JSON


def run_engines(module: str) -> dict[str, dict[str, Any] | None]:
    """Run `python -m <module> --child <engine>` for SQLite, then PostgreSQL (on
    $DATABASE_URL's server, or a throwaway cluster from scripts/with-postgres); echo their
    output and return each one's figures."""
    child = [sys.executable, "-m", module, "--child"]
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base.update(DJANGO_SETTINGS_MODULE="innocommons.settings", INNOCOMMONS_DISABLE_AXES="1")
    results = {"SQLite": _run_child(module, "SQLite", [*child, "sqlite"], base)}
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pg_env = {**base, "DATABASE_URL": os.environ["DATABASE_URL"]}
        results["PostgreSQL"] = _run_child(module, "PostgreSQL", [*child, "postgresql"], pg_env)
    else:
        script = str(ROOT / "scripts" / "with-postgres")  # picks a free port itself
        command = [script, *child, "postgresql"]
        results["PostgreSQL"] = _run_child(module, "PostgreSQL", command, base)
    return results


def _run_child(
    module: str, engine: str, command: list[str], env: dict[str, str]
) -> dict[str, Any] | None:
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    figures = None
    for line in proc.stdout:
        if line.startswith(RESULT):
            figures = json.loads(line[len(RESULT) :])
        else:
            print(f"  [{engine}] {line}", end="", flush=True)
    if proc.wait() != 0:
        raise SystemExit(f"{module} on {engine} failed (exit {proc.returncode})")
    return figures


def report(figures: dict[str, Any]) -> None:
    """Hand the child's figures to the parent."""
    print(RESULT + json.dumps(figures), flush=True)


@contextmanager
def engine_database(engine: str, database: str) -> Iterator[None]:
    """Set Django up on a freshly migrated database: SQLite in a temporary data folder,
    PostgreSQL in the database `database` (re-)created on $DATABASE_URL's server and
    dropped afterwards."""
    data = tempfile.mkdtemp(prefix=f"{database}-")
    os.environ["INNOCOMMONS_DATA_DIR"] = data
    server = os.environ.get("DATABASE_URL", "").rpartition("/")[0]
    if engine == "postgresql":
        _pg_admin(server, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        _pg_admin(server, f"CREATE DATABASE {database}")
        os.environ["DATABASE_URL"] = f"{server}/{database}"
    try:
        import django
        from django.core.management import call_command

        started = time.perf_counter()
        django.setup()
        call_command("migrate", verbosity=0)
        print(f"migrated a fresh database in {time.perf_counter() - started:.1f} s", flush=True)
        yield
    finally:
        if engine == "postgresql":
            from django.db import connections

            connections.close_all()
            _pg_admin(server, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        shutil.rmtree(data, ignore_errors=True)


def _pg_admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def in_processes(
    work: Callable[[Any], Any], shares: list[Any], finish: Callable[[], None] = lambda: None
) -> tuple[list[Any], float]:
    """Run work(share) for every share in its own forked process (one database connection
    each, like separate app-server workers: Python threads would measure the GIL, not the
    database), all released together. Return the results, in order, and the wall time
    from the common start to the last one's end."""
    from django.db import connections

    connections.close_all()  # a forked child must not share the parent's connection
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(shares) + 1)
    results = ctx.Queue()

    def run(i: int, share: Any) -> None:
        code = 0
        try:
            barrier.wait()
            results.put((i, work(share)))
        except BaseException:
            traceback.print_exc()
            results.put((i, None))
            code = 1
        finally:
            finish()
            connections.close_all()
            sys.stdout.flush()
            results.close()
            results.join_thread()
            os._exit(code)

    workers = [ctx.Process(target=run, args=(i, s)) for i, s in enumerate(shares)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    collected = dict(results.get() for _worker in workers)
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    failed = [w.exitcode for w in workers if w.exitcode]
    if failed:
        raise SystemExit(f"{len(failed)} client process(es) failed")
    return [collected[i] for i in range(len(shares))], elapsed
