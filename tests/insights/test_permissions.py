"""Private figures never reach the public or another region (CONVENTIONS habit 7: a
table of every private endpoint × role)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "enterprise_member",
    "provider_member",
    "admin_sh",
    "admin_js",
    "admin_zj",
    "operator",
    "auditor",
]

# (url, region whose private figures it asks for)
PRIVATE = [
    ("/api/v1/stats/vouchers/books?period={year}&region=310000", "310000"),
    ("/api/v1/stats/flows/sellers?period=2025&region=320000", "320000"),
    ("/api/v1/stats/tables/books?period={year}&region=310000", "310000"),
    ("/api/v1/stats/tables/provider-claims?period={year}&region=310000&format=csv", "310000"),
    ("/stats/admin/?period={year}&region=310000", "310000"),
    ("/stats/admin/?period=2025&region=320000", "320000"),
    ("/stats/export/books.csv?period={year}&region=310000", "310000"),
    ("/stats/export/provider-claims.xlsx?period={year}&region=310000", "310000"),
    ("/stats/export/top-sellers.csv?period=2025&region=320000", "320000"),
]

ADMINS = {"admin_sh": "310000", "admin_js": "320000", "admin_zj": "330000"}


def _user(role, world, voucher_world):
    if role == "anonymous":
        return None
    if role == "admin_sh":
        return voucher_world.admin
    return getattr(world, role)


def expected(role: str, url: str, region: str) -> int:
    api = url.startswith("/api/")
    page = url.startswith("/stats/admin/")
    if role in ("operator", "auditor") or ADMINS.get(role) == region:
        return 200
    if role == "anonymous":
        return 401 if api else (302 if page else 404)
    if role in ("enterprise_member", "provider_member"):
        return 403 if api else 404
    return 404  # another region's administrator learns nothing


@pytest.mark.parametrize("role", ROLES)
def test_private_endpoints(client, world, voucher_world, contracts, role) -> None:
    from django.utils import timezone

    cache.clear()
    user = _user(role, world, voucher_world)
    if user is not None:
        client.force_login(user)
    year = timezone.localdate().year
    for template, region in PRIVATE:
        url = template.format(year=year)
        r = client.get(url)
        assert r.status_code == expected(role, url, region), (role, url, r.status_code)
        if r.status_code == 200 and url.startswith("/api/") and "format=" not in url:
            assert "private" in r["Cache-Control"]


def test_own_region_only_by_default(client, world, voucher_world) -> None:
    client.force_login(world.admin_js)
    body = client.get("/api/v1/stats/vouchers/books").json()
    assert body["region"] == "320000"
    assert body["programmes"] == [] and body["providers"] == []
    client.force_login(voucher_world.admin)
    body = client.get("/api/v1/stats/vouchers/books").json()
    assert [p["id"] for p in body["programmes"]] == [voucher_world.programme.pk]
    assert body["providers"][0]["provider"] == "南京测试大学"


def test_dashboard_shows_the_private_tables(client, voucher_world) -> None:
    client.force_login(voucher_world.admin)
    html = client.get("/stats/admin/").content.decode()
    for key in ("books", "provider-claims", "top-sellers"):
        assert f'data-table="{key}"' in html
    assert "南京测试大学" in html  # the provider it paid


def test_public_page_and_api_hold_no_private_figures(
    client, world, voucher_world, contracts
) -> None:
    cache.clear()
    html = client.get("/stats/", {"period": "2025"}).content.decode()
    html += client.get("/stats/").content.decode()
    for key in ("books", "provider-claims", "top-sellers"):
        assert f'data-table="{key}"' not in html
    assert not re.search(r"卖方\d", html)  # contract parties' names (卖方1, 卖方2, …)
    assert "保密企业甲" not in html  # a rejected applicant
    # the API's public tables are the same public figures
    for key in ("books", "provider-claims", "top-sellers"):
        assert client.get(f"/api/v1/stats/tables/{key}").status_code == 401
    # signed in as a member of an organisation: still no private figures
    client.force_login(world.enterprise_member)
    html = client.get("/stats/").content.decode()
    assert 'data-table="books"' not in html
    assert "Administrators' dashboard" not in html and "管理员" not in html
