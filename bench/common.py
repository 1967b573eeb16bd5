"""Shared benchmark plumbing: the data folder, running the CLI, percentiles."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

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
