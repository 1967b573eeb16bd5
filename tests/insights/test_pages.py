"""The public statistics page, its htmx partial, and the annual report page."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_public_page_shows_every_section(client, contracts, voucher_world) -> None:
    r = client.get(reverse("insights:stats"), {"period": "2025"}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    html = r.content.decode()
    for key in (
        "community",
        "flows",
        "regions",
        "types",
        "fields",
        "trend",
        "programmes",
        "voucher-flows",
        "categories",
        "timing",
        "listings",
        "instruments",
        "providers",
    ):
        assert f'data-table="{key}"' in html, key
        assert f"{key}-chart" in html, key
    assert "/stats/export/flows.csv?period=2025" in html
    assert 'id="stats-body"' in html
    assert "echarts.min.js" in html


def test_htmx_returns_the_partial(client, contracts) -> None:
    r = client.get(
        reverse("insights:stats"),
        {"period": "2025-Q1", "level": "province"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" not in html
    assert 'data-table="flows"' in html
    assert "HX-Request" in r["Vary"]


def test_bad_filter_shows_an_error_not_a_500(client, contracts) -> None:
    r = client.get(reverse("insights:stats"), {"period": "last week", "level": "galaxy"})
    assert r.status_code == 200
    assert 'class="ic-error"' in r.content.decode()


def test_annual_report_page(client, contracts, voucher_world) -> None:
    r = client.get("/reports/annual/2025", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    html = r.content.decode()
    assert (
        "In 2025, the four regions exported 2 technology contracts worth 1,500.00 ten thousand yuan to one another, 62.50% of their total output"
        in html
    )
    assert 'data-table="flows"' in html and 'data-table="years"' in html
    assert client.get("/reports/annual/2025/").status_code == 200
    assert client.get("/reports/annual/").status_code == 302


def test_queries_do_not_grow_with_the_records(client, contracts) -> None:
    """The page reads rollups: more contracts, the same number of queries."""
    from datetime import date

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.insights import factories as cf

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/stats/", {"period": "2025"}).status_code == 200
            assert client.get("/api/v1/stats/flows", {"period": "2025"}).status_code == 200
        return len(ctx.captured_queries)

    client.get("/stats/")  # warm the region cache
    before = count()
    for i in range(30):
        cf.contract("330100", "340100", amount_fen=(i + 1) * 100, on=date(2025, 1 + i % 12, 2))
    assert count() == before
