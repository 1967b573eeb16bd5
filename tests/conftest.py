"""Shared fixtures: reference data, a fresh search index per test, and factories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps

from tests import factories

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(autouse=True)
def reference_data(request: pytest.FixtureRequest) -> None:
    """Regions and taxonomies come from data migrations. Transactional tests (which
    pytest-django runs after all others) flush them, so put them back when missing."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if not (marker or names & {"db", "transactional_db", "live_server", "world"}):
        return
    transactional = bool(
        (marker and marker.kwargs.get("transaction")) or names & {"transactional_db", "live_server"}
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from innocommons.catalog.models import Term
    from innocommons.catalog.reference import load_taxonomy
    from innocommons.core.models import Region
    from innocommons.core.reference import load_regions

    if not Region.objects.exists():
        load_regions(django_apps)
    if not Term.objects.exists():
        load_taxonomy(django_apps)


@pytest.fixture(autouse=True)
def search_dir(tmp_path: Path, settings: Any) -> Iterator[Path]:
    """Each test gets its own empty search index."""
    from innocommons.catalog.search import engine

    path = tmp_path / "search"
    settings.SEARCH_DIR = path
    settings.SEARCH_RELOAD_INTERVAL = 0.0
    engine.reader.invalidate()
    yield path
    engine.reader.invalidate()


@pytest.fixture(autouse=True)
def _no_axes_lockouts(settings: Any) -> None:
    settings.AXES_ENABLED = False


@pytest.fixture
def world(db: Any) -> factories.World:
    """Organisations and users for every role (see factories.World)."""
    return factories.World.build()


def pytest_configure(config: pytest.Config) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if os.environ.get("DATABASE_URL"):
        print(f"\n*** Database: PostgreSQL ({os.environ['DATABASE_URL'].split('@')[-1]}) ***")
    else:
        print("\n*** Database: SQLite ***")


@pytest.fixture
def english(settings: Any) -> Iterator[None]:
    """Messages in English for tests that assert the English wording: the service layer
    (translation.override) and pages requested without a language (LANGUAGE_CODE)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
