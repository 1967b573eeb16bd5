"""The single writer of a search index: applies the outbox, rebuilds the index.

Only one writer runs per index (a file lock); web processes only read. The outbox is an
ordered log shared by every app host: each index keeps its own cursor (the highest outbox
id below which everything is applied), so every host's indexer sees every change.

Applying a row means "make the index match the database row now", so applying it twice is
harmless. That makes the cursor simple: rows newer than SETTLE_SECONDS are applied but the
cursor does not move past them yet, because on PostgreSQL a row with a lower id can commit
after a higher one; once a row is older than any write transaction can be, it is settled.
Rows already applied above the cursor are remembered per process so they are not redone.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta

import tantivy
from django.conf import settings
from django.db import connections
from django.db.models import Max
from django.utils import timezone
from django.utils.module_loading import import_string

from innocommons.catalog.models import Resource, SearchOutbox, Status
from innocommons.catalog.search import engine
from innocommons.catalog.search.documents import (
    Lookups,
    Prepared,
    build_document,
    prepare,
    rows_for_index,
    to_document,
)

log = logging.getLogger(__name__)

WRITER_HEAP = 128_000_000
SETTLE_SECONDS = 60  # longer than any write transaction of the platform
RETENTION = timedelta(days=7)  # outbox rows older than this and applied everywhere go
_applied_above_cursor: dict[str, set[int]] = {}


def _writer(index: tantivy.Index) -> tantivy.IndexWriter:
    return index.writer(heap_size=WRITER_HEAP, num_threads=1)


def apply_outbox(batch_size: int = 2000) -> int:
    """Apply new outbox rows to the live index; return how many rows were applied."""
    applied = 0
    with engine.writer_lock():
        path = engine.current_generation() or _create_empty()
        cursor = _checked_cursor(path)
        done = _applied_above_cursor.setdefault(str(path), set())
        if cursor < engine.read_cursor(path):
            done.clear()  # restored database: remembered ids may now name other changes
        index: tantivy.Index | None = None
        writer: tantivy.IndexWriter | None = None
        lookups: Lookups | None = None
        settled_before = timezone.now() - timedelta(seconds=SETTLE_SECONDS)
        new_cursor, prefix_settled, last_seen = cursor, True, cursor
        while True:
            rows = list(
                SearchOutbox.objects.filter(id__gt=last_seen)
                .order_by("id")
                .values_list("id", "resource_id", "created_at")[:batch_size]
            )
            if not rows:
                break
            todo = [(oid, rid) for oid, rid, _ in rows if oid not in done]
            if todo:
                index = index or engine.open_index(path)
                writer = writer or _writer(index)
                lookups = lookups or Lookups.load()
                resource_ids = {rid for _, rid in todo}
                for rid in resource_ids:
                    writer.delete_documents_by_term("id", rid)
                for row in rows_for_index(resource_ids):
                    writer.add_document(build_document(row, lookups))
                writer.commit()
                done.update(oid for oid, _ in todo)
                applied += len(todo)
            for oid, _, created_at in rows:
                if prefix_settled and created_at < settled_before:
                    new_cursor = oid
                else:
                    prefix_settled = False
            last_seen = rows[-1][0]
            if len(rows) < batch_size:
                break
        if new_cursor != cursor:
            engine.write_cursor(path, new_cursor)
            done.difference_update([oid for oid in done if oid <= new_cursor])
        if writer is not None:
            writer.wait_merging_threads()
    if applied:
        engine.reader.invalidate()
    return applied


def _checked_cursor(path: engine.Path) -> int:
    """The index's cursor, or 0 when it lies beyond the newest outbox row: the database was
    restored from a backup and its ids start lower again, so every row is applied anew
    (applying is idempotent) rather than skipped."""
    cursor = engine.read_cursor(path)
    newest = SearchOutbox.objects.aggregate(newest=Max("id"))["newest"] or 0
    return cursor if cursor <= newest else 0


def prune_outbox() -> int:
    """Delete outbox rows older than RETENTION that this index has settled past."""
    path = engine.current_generation()
    if path is None:
        return 0
    cutoff = timezone.now() - RETENTION
    deleted, _ = SearchOutbox.objects.filter(
        created_at__lt=cutoff, id__lte=engine.read_cursor(path)
    ).delete()
    return deleted


def _create_empty() -> engine.Path:
    path = engine.new_generation()
    engine.open_index(path)
    engine.publish_generation(path)
    return path


def reindex(
    *,
    chunk_size: int = 5000,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Build a complete new index beside the live one and swap it in.

    The live index keeps answering throughout. Outbox rows that arrive during the rebuild
    are applied to the new index afterwards. Large rebuilds segment text in `workers`
    processes (default: one per core) while this process feeds Tantivy.
    """
    total = published_count()
    if workers is None:
        workers = (os.cpu_count() or 1) if total > PARALLEL_FROM else 1
    with engine.writer_lock():
        live = engine.current_generation()
        # Everything after the live index's cursor is re-applied to the new one afterwards.
        start_cursor = _checked_cursor(live) if live else 0
        path = engine.new_generation()
        engine.write_cursor(path, start_cursor)
        ranges = _id_ranges(chunk_size)
        if workers > 1:
            # Fork before Tantivy starts its threads, with no database connection to inherit.
            connections.close_all()
            pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init)
            prepared: Iterable[Sequence[Prepared | tantivy.Document]] = pool.imap(
                _prepare_range, ranges
            )
        else:
            pool = None
            lookups = Lookups.load()
            prepared = (_prepare_with(lookups, lo, hi) for lo, hi in ranges)
        count = 0
        try:
            index = engine.open_index(path)
            writer = index.writer(heap_size=WRITER_HEAP * 2, num_threads=2)
            for docs in prepared:
                for doc in docs:
                    writer.add_document(
                        doc if isinstance(doc, tantivy.Document) else to_document(doc)
                    )
                count += len(docs)
                if progress:
                    progress(len(docs))
            writer.commit()
            writer.wait_merging_threads()
        finally:
            if pool is not None:
                pool.close()
                pool.join()
        engine.publish_generation(path)
    engine.reader.invalidate()
    apply_outbox()
    return count


PARALLEL_FROM = 50_000
_worker_lookups: Lookups | None = None


def _id_ranges(chunk_size: int) -> list[tuple[int, int]]:
    """Inclusive id ranges of about `chunk_size` published resources each."""
    ids = list(rows_for_index().order_by("id").values_list("id", flat=True))
    return [
        (ids[i], ids[min(i + chunk_size, len(ids)) - 1]) for i in range(0, len(ids), chunk_size)
    ]


def _prepare_with(lookups: Lookups, lo: int, hi: int) -> list[tantivy.Document]:
    return [build_document(row, lookups) for row in rows_for_index().filter(id__gte=lo, id__lte=hi)]


def _worker_init() -> None:
    global _worker_lookups
    _worker_lookups = Lookups.load()


def _prepare_range(bounds: tuple[int, int]) -> list[Prepared]:
    assert _worker_lookups is not None
    lo, hi = bounds
    rows = rows_for_index().filter(id__gte=lo, id__lte=hi).order_by("id")
    return [prepare(row, _worker_lookups) for row in rows]


def published_count() -> int:
    return Resource.objects.filter(status=Status.PUBLISHED).count()


def run_due_jobs(next_run: dict[str, float]) -> None:
    """Run the periodic jobs of other apps (settings.PERIODIC_JOBS: dotted path → seconds)
    whose time has come. A failing job is logged and retried at its next interval."""
    for path, due in next_run.items():
        if time.monotonic() < due:
            continue
        next_run[path] = time.monotonic() + settings.PERIODIC_JOBS[path]
        try:
            import_string(path)()
        except Exception:
            log.exception("worker: periodic job %s failed", path)


def run_forever(*, interval: float = 0.5, stop: Callable[[], bool] = lambda: False) -> None:
    """The indexer loop run by `innocommons indexer` (and by `serve` beside the server)."""
    engine.ensure_index()
    if engine.is_stale():
        log.info("search index was built with an older schema: rebuilding it")
        reindex()
    elif engine.reader.searcher().num_docs == 0 and published_count() > 0:
        # A new host, or a lost search folder: the outbox alone may no longer hold
        # everything (old rows are pruned), so build the index from the database.
        log.info("search index is empty but the catalog is not: building it")
        reindex()
    log.info("search indexer started (index at %s)", engine.search_dir())
    next_prune = 0.0
    next_job = dict.fromkeys(settings.PERIODIC_JOBS, 0.0)
    while not stop():
        run_due_jobs(next_job)
        if time.monotonic() >= next_prune:
            try:
                pruned = prune_outbox()
                if pruned:
                    log.info("search indexer: pruned %d old outbox row(s)", pruned)
            except Exception:
                log.exception("search indexer: pruning the outbox failed")
            next_prune = time.monotonic() + 3600
        try:
            n = apply_outbox()
        except Exception:  # keep the loop alive; the rows stay queued and are retried
            log.exception("search indexer: applying the outbox failed")
            n = 0
        if n:
            log.info("search indexer: applied %d change(s)", n)
        else:
            time.sleep(interval)
