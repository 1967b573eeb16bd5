"""`innocommons indexer`: the single process that applies the search outbox."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand

from innocommons.catalog.search.indexer import run_forever


class Command(BaseCommand):
    help = "Apply search outbox changes to the index continuously (one per deployment host)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="poll interval (s)")

    def handle(self, *args: Any, **opts: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        run_forever(interval=opts["interval"], stop=lambda: stopping)
