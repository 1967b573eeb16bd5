"""The Tantivy index on disk: schema, generations and the reader web processes share.

Layout under settings.SEARCH_DIR:
    CURRENT          name of the live generation directory (replaced atomically)
    gen-<stamp>/     one complete index; `reindex` builds a new one beside the live one
    indexer.lock     held by whoever writes (the indexer, a reindex, a synchronous apply)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import tantivy
from django.conf import settings

from innocommons.catalog.search.segment import ANALYZER, ANALYZER_NAME

# "all" holds every word of a listing and decides what matches; title, keywords and the
# organisation's name are indexed again on their own only to add weight when they match.
TEXT_FIELDS = ("title", "keywords", "org", "all")
FACET_FIELDS = ("kind", "field", "region", "org_type")


# Bump when the schema or the analysis changes: an index built earlier must be rebuilt.
SCHEMA_VERSION = "2"


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=True, indexed=True, fast=True)
    for name in TEXT_FIELDS:
        # Words are segmented in Python (segment.py), then analysed by "zh_en" in Rust.
        sb.add_text_field(name, tokenizer_name=ANALYZER_NAME, index_option="freq")
    for name in FACET_FIELDS:
        sb.add_text_field(name, fast=True, tokenizer_name="raw")
    # Every code on the way up (sub-field and field, district, city and province).
    sb.add_text_field("field_path", tokenizer_name="raw")
    sb.add_text_field("region_path", tokenizer_name="raw")
    sb.add_integer_field("owner", indexed=True, fast=True)
    sb.add_integer_field("published", indexed=True, fast=True)
    sb.add_integer_field("price", indexed=True, fast=True)
    return sb.build()


SCHEMA = build_schema()


def search_dir() -> Path:
    path = Path(settings.SEARCH_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def current_generation() -> Path | None:
    pointer = search_dir() / "CURRENT"
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    path = search_dir() / name
    return path if name and path.is_dir() else None


def new_generation() -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 1_000_000:06d}"
    path = search_dir() / f"gen-{stamp}"
    path.mkdir()
    (path / "schema_version").write_text(SCHEMA_VERSION)
    return path


def is_stale(path: Path | None = None) -> bool:
    """True when the live index was built with an older schema and needs `reindex`."""
    path = path or current_generation()
    if path is None:
        return False
    try:
        return (path / "schema_version").read_text().strip() != SCHEMA_VERSION
    except FileNotFoundError:
        return True


def publish_generation(path: Path) -> None:
    """Point CURRENT at `path` atomically, then delete older generations."""
    pointer = search_dir() / "CURRENT"
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(path.name)
    os.replace(tmp, pointer)
    for old in search_dir().glob("gen-*"):
        if old != path and old.is_dir():
            _remove_tree(old)


def _remove_tree(path: Path) -> None:
    # Readers that still hold the old index keep their open files (POSIX unlink semantics).
    for child in sorted(path.rglob("*"), reverse=True):
        with contextlib.suppress(OSError):
            child.rmdir() if child.is_dir() else child.unlink()
    with contextlib.suppress(OSError):
        path.rmdir()


def read_cursor(path: Path) -> int:
    """The outbox id up to which the index at `path` is known to be complete."""
    try:
        return int((path / "outbox_cursor").read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def write_cursor(path: Path, cursor: int) -> None:
    tmp = path / "outbox_cursor.tmp"
    tmp.write_text(str(cursor))
    os.replace(tmp, path / "outbox_cursor")


def open_index(path: Path) -> tantivy.Index:
    index = tantivy.Index(SCHEMA, path=str(path), reuse=True)
    index.register_tokenizer(ANALYZER_NAME, ANALYZER)
    return index


def ensure_index() -> Path:
    """The live generation, creating an empty one if there is none yet."""
    with writer_lock():
        current = current_generation()
        if current is None:
            current = new_generation()
            open_index(current)
            publish_generation(current)
        return current


@contextlib.contextmanager
def writer_lock(blocking: bool = True) -> Iterator[bool]:
    """An exclusive, cross-process lock for everything that writes the index."""
    path = search_dir() / "indexer.lock"
    with open(path, "a+") as fh:
        flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(fh.fileno(), flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class Reader:
    """A process-wide searcher that follows CURRENT and new commits, checking at most
    once per SEARCH_RELOAD_INTERVAL seconds (like Elasticsearch's refresh interval)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._index: tantivy.Index | None = None
        self._checked = 0.0

    def searcher(self) -> tantivy.Searcher:
        now = time.monotonic()
        with self._lock:
            if self._index is None or now - self._checked >= settings.SEARCH_RELOAD_INTERVAL:
                self._refresh()
                self._checked = now
            assert self._index is not None
            return self._index.searcher()

    def _refresh(self) -> None:
        current = current_generation() or ensure_index()
        if current != self._path or self._index is None:
            self._index = open_index(current)
            self._path = current
        else:
            self._index.reload()

    def invalidate(self) -> None:
        """Force a check on the next search (tests and synchronous indexing)."""
        with self._lock:
            self._checked = 0.0


reader = Reader()
