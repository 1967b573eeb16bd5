"""The `innocommons` command end to end, in a throwaway data folder (real processes)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(INNOCOMMONS_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="innocommons.settings")
    return env


def cli(data: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "innocommons.cli", *args],
        env=_env(data),
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def _request(url: str, body: dict | None = None, token: str | None = None) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _post(url: str, body: dict, token: str | None = None) -> dict:
    return _request(url, body, token)


def _get(url: str, token: str | None = None) -> dict:
    return _request(url, None, token)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli-data")
    assert cli(data, "migrate", "--no-input", "-v", "0").returncode == 0
    first = cli(data, "demo", "-v", "1")
    assert first.returncode == 0, first.stderr
    return data


def _counts(data: Path) -> str:
    code = (
        "import django; django.setup(); from innocommons.catalog.models import Resource; "
        "from innocommons.accounts.models import Organisation, User; "
        "print(Resource.objects.count(), Organisation.objects.count(), User.objects.count())"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=_env(data),
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()


def test_demo_is_idempotent_and_prints_accounts(demo_dir: Path) -> None:
    before = _counts(demo_dir)
    again = cli(demo_dir, "demo")
    assert again.returncode == 0, again.stderr
    assert "operator" in again.stdout and "innocommons-demo" in again.stdout
    assert _counts(demo_dir) == before
    resources = int(before.split()[0])
    assert resources >= 100


def test_synthetic_listings_are_deterministic_and_searchable(demo_dir: Path) -> None:
    result = cli(demo_dir, "demo", "--resources", "300", "-v", "0")
    assert result.returncode == 0, result.stderr
    again = cli(demo_dir, "demo", "--resources", "300", "-v", "0")
    assert "Synthetic listings: 0 new" in again.stdout


def test_serve_answers_over_http_and_indexes_new_listings(demo_dir: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "innocommons.cli", "serve", "--port", str(port), "--workers", "1"],
        env=_env(demo_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/search?q=x", timeout=5
                ) as r:
                    assert r.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            html = r.read().decode()
        assert "<html" in html and r.headers["X-Frame-Options"] == "DENY"
        # A listing published over the API is findable within seconds: the indexer that
        # `serve` runs beside gunicorn applies the outbox.
        base = f"http://127.0.0.1:{port}/api/v1"
        token = _post(
            f"{base}/auth/token", {"username": "provider", "password": "innocommons-demo"}
        )["token"]
        me = _get(f"{base}/me", token)
        created = _post(
            f"{base}/resources",
            {
                "kind": "service",
                "owner": me["memberships"][0]["organisation"],
                "title_zh": "太赫兹无损检测服务",
                "publish": True,
            },
            token,
        )
        assert created["status"] == "published"
        deadline = time.monotonic() + 15
        query = urllib.parse.quote("太赫兹无损检测")
        while _get(f"{base}/search?q={query}")["total"] == 0:
            assert time.monotonic() < deadline, "the new listing was not indexed in 15 s"
            time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(30)


def test_reindex_command(demo_dir: Path) -> None:
    result = cli(demo_dir, "reindex", "-v", "0")
    assert result.returncode == 0 and "Indexed" in result.stdout


def test_import_command_rejects_a_broken_file(demo_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    result = cli(demo_dir, "import", "achievements", str(bad))
    assert result.returncode != 0 and "XLSX" in result.stderr
