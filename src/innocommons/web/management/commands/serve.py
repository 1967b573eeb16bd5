"""`innocommons serve`: gunicorn (not runserver) plus the search indexer beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


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
        procs: list[subprocess.Popen[bytes]] = []
        env = os.environ.copy()
        if not opts["no_indexer"]:
            procs.append(
                subprocess.Popen([sys.executable, "-m", "innocommons.cli", "indexer"], env=env)
            )
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
        self.stdout.write(f"InnoCommons on http://{opts['host']}:{opts['port']}/")
        server = subprocess.Popen(cmd, env=env)
        procs.append(server)

        def stop(signum: int, frame: Any) -> None:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            server.wait()
        finally:
            stop(signal.SIGTERM, None)
            for p in procs:
                p.wait(timeout=30)
