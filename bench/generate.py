"""bench/generate: rows per second of `innocommons demo --resources N` including indexing.

Target (issue #2): 1,000,000 resources searchable in ≤ 3 minutes, peak memory ≤ 1 GiB.
Baseline in the same run: the same generator writing 20,000 rows through the ordinary
per-row service path (create + outbox + synchronous apply), scaled to rows per second.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time

from bench.common import OUT, N, cli, data_dir, env


def _run(args: list[str]) -> tuple[float, int]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "innocommons.cli", *args], env=env(), check=True)
    assert proc.returncode == 0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.monotonic() - start, peak_kib


def main() -> None:
    path = data_dir()
    marker = path / "generated"
    if marker.exists():
        print(
            f"data set of {N:,} resources already built in {path} "
            f"({marker.read_text().strip()}); delete it to measure again"
        )
        return
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    _run(["migrate", "--no-input", "-v", "0"])
    seconds, peak = _run(["demo", "--resources", str(N)])
    rate = N / seconds
    line = (
        f"{N:,} resources generated and indexed in {seconds:.1f} s = {rate:,.0f} rows/s, "
        f"peak RSS {peak / 1024:.0f} MiB"
    )
    print(line)
    print(
        f"target: ≤ 180 s for 1,000,000 → {'MET' if seconds * 1_000_000 / N <= 180 else 'MISSED'} "
        f"(scaled); memory ≤ 1024 MiB → {'MET' if peak / 1024 <= 1024 else 'MISSED'}"
    )
    marker.write_text(line + "\n")
    baseline = _baseline()
    print(
        f"baseline (per-row service path + outbox apply): {baseline:,.0f} rows/s; "
        f"ratio bulk/baseline = {rate / baseline:.1f}x"
    )


def _baseline(count: int = 2000) -> float:
    """Rows per second through the service layer, in a separate small data set."""
    path = OUT / "baseline"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    cli("migrate", "--no-input", "-v", "0", path=path)
    cli("demo", "-v", "0", path=path)
    code = f"""
import time, django
django.setup()
from innocommons.accounts.models import User, Membership, Organisation
from innocommons.catalog import services
from innocommons.catalog.search.indexer import apply_outbox
org = Organisation.objects.filter(status="verified").first()
user, _ = User.objects.get_or_create(username="bench-baseline")
Membership.objects.get_or_create(user=user, organisation=org)
start = time.monotonic()
for i in range({count}):
    services.create_resource(actor=user, owner_id=org.pk, kind="achievement",
        data={{"title_zh": f"基线测试成果{{i}}", "summary_zh": "基准测试描述"}},
        publish=True)
    if i % 100 == 99:
        apply_outbox()
apply_outbox()
print(time.monotonic() - start)
"""
    out = (
        subprocess.run(
            [sys.executable, "-c", code], env=env(path), check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return count / float(out)
