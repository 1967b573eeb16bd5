"""`innocommons reindex`: rebuild the search index beside the live one and swap it in."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from innocommons.catalog.search.indexer import published_count, reindex


class Command(BaseCommand):
    help = "Rebuild the search index from the database without interrupting searches."

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.monotonic()
        with tqdm(total=published_count(), unit="doc", disable=opts["verbosity"] == 0) as bar:
            count = reindex(progress=bar.update)
        self.stdout.write(
            self.style.SUCCESS(
                f"Indexed {count} published resources in {time.monotonic() - started:.1f} s"
            )
        )
