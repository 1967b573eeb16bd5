"""The open-data API: same figures as the selectors, OpenAPI, ETag/304, Cache-Control,
the anonymous rate limit (429 with Retry-After), errors naming the field."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.insights.conftest import YUAN, W

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


def test_flow_matrix(client, contracts) -> None:
    r = client.get("/api/v1/stats/flows", {"period": "2025"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["period"] == {
        "code": "2025",
        "kind": "year",
        "start": "2025-01-01",
        "end": "2025-12-31",
    }
    links = {(x["seller"], x["buyer"]): x["amount_fen"] for x in body["links"]}
    assert links[("320000", "310000")] == 1000 * W
    assert links[("rest", "330000")] == 600 * W
    assert body["total"] == {"contracts": 7, "amount_fen": 3100 * W, "tech_amount_fen": 2700 * W}
    names = {n["code"]: (n["name_zh"], n["name_en"]) for n in body["nodes"]}
    assert names["320000"] == ("江苏省", "Jiangsu")
    assert names["abroad"][1] == "Abroad"


def test_region_summary_and_community(client, contracts) -> None:
    body = client.get("/api/v1/stats/flows/regions", {"period": "2025"}).json()
    js = next(r for r in body["regions"] if r["region"]["code"] == "320000")
    assert js["output"]["amount_fen"] == 1800 * W
    assert js["net"]["amount_fen"] == 1500 * W
    assert js["community_share_pct"] == pytest.approx(83.3333, abs=1e-3)
    assert body["community"]["between"]["amount_fen"] == 1500 * W
    assert body["community"]["between_share_pct"] == 62.5


def test_breakdown_trend_years(client, contracts) -> None:
    rows = client.get("/api/v1/stats/flows/breakdown", {"period": "2025", "by": "field"}).json()[
        "rows"
    ]
    assert rows[0]["code"] == "electronics" and rows[0]["amount_fen"] == 1400 * W
    months = client.get("/api/v1/stats/flows/trend", {"period": "2025"}).json()["months"]
    march = next(p for p in months if p["month"] == "2025-03")
    assert (march["current"]["amount_fen"], march["previous"]["amount_fen"]) == (1000 * W, 250 * W)
    years = client.get("/api/v1/stats/flows/years", {"first": 2024, "last": 2026}).json()["years"]
    assert [y["contracts"] for y in years] == [1, 7, 1]


def test_city_drill_down(client, contracts) -> None:
    body = client.get(
        "/api/v1/stats/flows", {"period": "2025", "level": "city", "focus": "320000"}
    ).json()
    assert {(x["seller"], x["buyer"]) for x in body["links"]} == {
        ("320400", "320100"),
        ("320100", "310000"),
        ("320500", "330000"),
    }


def test_voucher_endpoints(client, voucher_world) -> None:
    (row,) = client.get("/api/v1/stats/vouchers/programmes").json()["rows"]
    assert row["expired_fen"] == 50_000 * YUAN
    assert row["redeemed_fen"] == 60_000 * YUAN
    cross = client.get("/api/v1/stats/vouchers/cross-region").json()
    assert cross["cross_fen"] == 58_000 * YUAN
    assert cross["cross_share_pct"] == pytest.approx(96.6667, abs=1e-3)
    cats = client.get("/api/v1/stats/vouchers/categories").json()["rows"]
    assert cats[0]["code"] == "service_category:testing"
    timing = client.get("/api/v1/stats/vouchers/timing").json()["rows"]
    assert timing[-1]["approval"]["median_days"] == 3.0


def test_generic_table_endpoint(client, contracts) -> None:
    body = client.get("/api/v1/stats/tables/regions", {"period": "2025"}).json()
    assert [c["key"] for c in body["columns"]][:3] == [
        "region",
        "output_contracts",
        "output_amount",
    ]
    assert body["columns"][2]["kind"] == "amount"
    assert client.get("/api/v1/stats/tables/nope").status_code == 404


def test_errors_name_the_field(client, contracts) -> None:
    r = client.get("/api/v1/stats/flows", {"period": "last year"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "period"
    r = client.get("/api/v1/stats/flows", {"focus": "320100"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "focus"
    r = client.get("/api/v1/stats/flows", {"level": "planet"})
    assert r.status_code == 422


def test_openapi_documents_the_statistics(client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/stats/flows",
        "/api/v1/stats/flows/regions",
        "/api/v1/stats/flows/breakdown",
        "/api/v1/stats/flows/trend",
        "/api/v1/stats/flows/years",
        "/api/v1/stats/flows/sellers",
        "/api/v1/stats/vouchers/programmes",
        "/api/v1/stats/vouchers/cross-region",
        "/api/v1/stats/vouchers/categories",
        "/api/v1/stats/vouchers/timing",
        "/api/v1/stats/vouchers/books",
        "/api/v1/stats/catalog/listings",
        "/api/v1/stats/sharing/instruments",
        "/api/v1/stats/sharing/providers",
        "/api/v1/stats/market/demands",
        "/api/v1/stats/market/challenges",
        "/api/v1/stats/market/auctions",
        "/api/v1/stats/tables/{key}",
        "/api/v1/stats/report/{year}",
    ):
        assert path in spec["paths"], path
    params = {p["name"] for p in spec["paths"]["/api/v1/stats/flows"]["get"]["parameters"]}
    assert {"period", "level", "focus", "type", "field"} <= params


def test_etag_and_304(client, contracts) -> None:
    r = client.get("/api/v1/stats/flows", {"period": "2025"})
    etag = r["ETag"]
    assert etag.startswith('"') and r["Cache-Control"] == "public, max-age=60"
    again = client.get("/api/v1/stats/flows", {"period": "2025"}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    weak = client.get(
        "/api/v1/stats/flows", {"period": "2025"}, HTTP_IF_NONE_MATCH=f'"x", W/{etag}'
    )
    assert weak.status_code == 304
    # new data → new ETag → 200
    from tests.insights import factories as cf

    cf.contract("330100", "340100", amount_fen=1 * W)
    changed = client.get("/api/v1/stats/flows", {"period": "2025"}, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    other = client.get("/api/v1/stats/flows", {"period": "2024"}, HTTP_IF_NONE_MATCH=etag)
    assert other.status_code == 200


def test_anonymous_clients_are_rate_limited(client, contracts, settings) -> None:
    settings.INSIGHTS_ANON_RATE = (5, 60)
    codes = [client.get("/api/v1/stats/flows").status_code for _ in range(5)]
    assert codes == [200] * 5
    r = client.get("/api/v1/stats/flows")
    assert r.status_code == 429
    assert 1 <= int(r["Retry-After"]) <= 61
    assert "Too many requests" in r.json()["detail"] or r.json()["detail"]
    # another address has its own window
    assert client.get("/api/v1/stats/flows", REMOTE_ADDR="10.0.0.9").status_code == 200
    # a conditional request counts too: the limit protects the server, not the bandwidth
    assert client.get("/api/v1/stats/flows/regions").status_code == 429


def test_signed_in_users_are_not_limited(client, world, contracts, settings) -> None:
    settings.INSIGHTS_ANON_RATE = (2, 60)
    client.force_login(world.enterprise_member)
    assert {client.get("/api/v1/stats/flows").status_code for _ in range(5)} == {200}


def test_token_users_are_not_limited_but_bad_tokens_fail(
    client, world, contracts, settings
) -> None:
    from innocommons.accounts import services

    settings.INSIGHTS_ANON_RATE = (2, 60)
    _token, raw = services.create_api_token(actor=world.auditor, name="stats")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert {client.get("/api/v1/stats/flows", **auth).status_code for _ in range(4)} == {200}
    assert client.get("/api/v1/stats/flows", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
