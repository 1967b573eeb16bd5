"""Fixtures of the orders tests: uploaded reports go to a per-test media folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path, settings: Any) -> Path:
    path = tmp_path / "media"
    settings.MEDIA_ROOT = path
    return path
