"""The transactional outbox: every write of a searchable row calls `enqueue` inside its
transaction, so the search index can never miss a committed change."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from innocommons.catalog.models import SearchOutbox


def enqueue(resource_ids: Iterable[int]) -> None:
    rows = [SearchOutbox(resource_id=rid) for rid in resource_ids]
    if not rows:
        return
    SearchOutbox.objects.bulk_create(rows)
    if settings.SEARCH_SYNC:
        from innocommons.catalog.search.indexer import apply_outbox

        transaction.on_commit(apply_outbox)
