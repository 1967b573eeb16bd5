"""The single writer of the search index: applies the outbox, rebuilds the index.

Only one writer runs at a time (a file lock); web processes only read. An outbox row is
deleted after the Tantivy commit that reflects it, so a crash in between re-applies it —
harmless, because applying means "make the index match the database row now".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import tantivy

from innocommons.catalog.models import Resource, SearchOutbox, Status
from innocommons.catalog.search import engine
from innocommons.catalog.search.documents import Lookups, build_document, rows_for_index

log = logging.getLogger(__name__)

WRITER_HEAP = 128_000_000


def _writer(index: tantivy.Index) -> tantivy.IndexWriter:
    return index.writer(heap_size=WRITER_HEAP, num_threads=1)


def apply_outbox(batch_size: int = 2000) -> int:
    """Apply pending outbox rows to the live index; return how many rows were applied."""
    applied = 0
    with engine.writer_lock():
        path = engine.current_generation() or _create_empty()
        index = engine.open_index(path)
        writer: tantivy.IndexWriter | None = None
        lookups: Lookups | None = None
        while True:
            rows = list(
                SearchOutbox.objects.order_by("id").values_list("id", "resource_id")[:batch_size]
            )
            if not rows:
                break
            writer = writer or _writer(index)
            lookups = lookups or Lookups.load()
            resource_ids = {rid for _, rid in rows}
            for rid in resource_ids:
                writer.delete_documents_by_term("id", rid)
            for row in rows_for_index(resource_ids):
                writer.add_document(build_document(row, lookups))
            writer.commit()
            SearchOutbox.objects.filter(id__in=[oid for oid, _ in rows]).delete()
            applied += len(rows)
        if writer is not None:
            writer.wait_merging_threads()
    if applied:
        engine.reader.invalidate()
    return applied


def _create_empty() -> engine.Path:
    path = engine.new_generation()
    engine.open_index(path)
    engine.publish_generation(path)
    return path


def reindex(*, chunk_size: int = 5000, progress: Callable[[int], None] | None = None) -> int:
    """Build a complete new index beside the live one and swap it in.

    The live index keeps answering throughout. Outbox rows that arrive during the rebuild
    stay queued and are applied to the new index afterwards.
    """
    with engine.writer_lock():
        path = engine.new_generation()
        index = engine.open_index(path)
        writer = index.writer(heap_size=WRITER_HEAP * 2, num_threads=2)
        lookups = Lookups.load()
        count = 0
        last_id = 0
        while True:
            chunk = list(rows_for_index().filter(pk__gt=last_id).order_by("pk")[:chunk_size])
            if not chunk:
                break
            for row in chunk:
                writer.add_document(build_document(row, lookups))
            count += len(chunk)
            last_id = chunk[-1]["id"]
            if progress:
                progress(len(chunk))
        writer.commit()
        writer.wait_merging_threads()
        engine.publish_generation(path)
    engine.reader.invalidate()
    apply_outbox()
    return count


def published_count() -> int:
    return Resource.objects.filter(status=Status.PUBLISHED).count()


def run_forever(*, interval: float = 0.5, stop: Callable[[], bool] = lambda: False) -> None:
    """The indexer loop run by `innocommons indexer` (and by `serve` beside the server)."""
    engine.ensure_index()
    log.info("search indexer started (index at %s)", engine.search_dir())
    while not stop():
        try:
            n = apply_outbox()
        except Exception:  # keep the loop alive; the rows stay queued and are retried
            log.exception("search indexer: applying the outbox failed")
            n = 0
        if n:
            log.info("search indexer: applied %d change(s)", n)
        else:
            time.sleep(interval)
