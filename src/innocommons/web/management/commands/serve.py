"""`innocommons serve`: gunicorn (not runserver) plus the search indexer beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from innocommons.catalog.search import engine


def default_workers() -> int:
    # gunicorn's rule of thumb; threads per worker cover slow clients on a small machine.
    return 2 * (os.cpu_count() or 1) + 1


class Command(BaseCommand):
    help = "Serve the site with gunicorn and run the search indexer beside it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--reload", action="store_true", help="restart on code changes")
        parser.add_argument(
            "--no-indexer",
            action="store_true",
            help="do not start the indexer (when `innocommons indexer` runs elsewhere)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        if engine.is_stale():
            self.stdout.write("The search index predates this version; rebuilding it first…")
            call_command("reindex")
        env = os.environ.copy()
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "innocommons.wsgi:application",
            "--bind",
            f"{opts['host']}:{opts['port']}",
            "--workers",
            str(1 if opts["reload"] else opts["workers"]),
            "--threads",
            str(opts["threads"]),
            "--access-logfile",
            "-",
            "--timeout",
            "60",
        ]
        if opts["reload"]:
            cmd.append("--reload")
        self.stdout.write(f"InnoCommons on http://{opts['host']}:{opts['port']}/", ending="\n")
        self.stdout.flush()
        server = subprocess.Popen(cmd, env=env)
        indexer: subprocess.Popen[bytes] | None = None
        stopping = False

        def start_indexer() -> subprocess.Popen[bytes]:
            return subprocess.Popen([sys.executable, "-m", "innocommons.cli", "indexer"], env=env)

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True
            for p in (server, indexer):
                if p is not None and p.poll() is None:
                    p.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if not opts["no_indexer"]:
            indexer = start_indexer()
        backoff = 1.0
        try:
            # Supervise: if the indexer dies, search would silently stop updating.
            while server.poll() is None and not stopping:
                time.sleep(1)
                if indexer is not None and indexer.poll() is not None and not stopping:
                    self.stderr.write(
                        f"search indexer exited with {indexer.returncode}; restarting in "
                        f"{backoff:.0f} s"
                    )
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 60)
                    indexer = start_indexer()
        finally:
            stop(signal.SIGTERM, None)
            for p in (server, indexer):
                if p is not None:
                    p.wait(timeout=30)
