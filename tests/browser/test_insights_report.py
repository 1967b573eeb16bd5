"""The annual report and the statistics page in a real browser: charts drawn (a canvas
with pixels on it) in both languages, printing, and htmx filters redrawing the charts.
Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shot
from tests.conftest import ARTIFACTS
from tests.insights.conftest import contracts, voucher_world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)

# Every chart of the page with its canvas and how many of its pixels are painted.
PAINTED = """
() => [...document.querySelectorAll('.ic-chart')].map(el => {
  const canvas = el.querySelector('canvas');
  if (!canvas) return {key: el.dataset.chart, drawn: el.dataset.drawn || '', painted: 0};
  const ctx = canvas.getContext('2d');
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4 * 7) if (data[i] > 0) painted++;
  return {key: el.dataset.chart, drawn: el.dataset.drawn, painted,
          width: canvas.width, height: canvas.height};
})
"""

EXPECTED = {
    "community-chart",
    "flows-chart",
    "regions-chart",
    "types-chart",
    "fields-chart",
    "trend-chart",
    "years-chart",
    "programmes-chart",
}


def _charts_drawn(page) -> list[dict]:
    page.wait_for_function(
        "document.querySelectorAll('.ic-chart[data-drawn]').length"
        " === document.querySelectorAll('.ic-chart').length"
    )
    charts = page.evaluate(PAINTED)
    drawn = {c["key"]: c for c in charts if c["drawn"] == "1"}
    missing = EXPECTED - set(drawn)
    assert not missing, f"charts not drawn: {missing}"
    for key in EXPECTED:
        assert drawn[key]["painted"] > 500, f"{key} canvas is empty: {drawn[key]}"
    return charts


def test_annual_report_in_both_languages(page, contracts, voucher_world) -> None:  # noqa: F811
    page.goto("/reports/annual/2025")
    page.wait_for_selector("[data-testid=annual-report]")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "江苏省" in page.inner_text("[data-sentence=leaders]")
    _charts_drawn(page)
    shot(page, "insights-01-annual-report-zh")
    for part in ("key-figures", "t-flows"):
        page.locator(f"#{part}").screenshot(
            path=str(ARTIFACTS / "screenshots" / f"insights-01-zh-{part}.png")
        )

    page.click("[data-testid=lang-switch]")
    page.wait_for_selector("h1:has-text('Annual report 2025')")
    assert page.locator("html").get_attribute("lang") == "en"
    between = page.inner_text("[data-sentence=between]")
    assert "the four regions exported 2 technology contracts worth 1,500.00" in between
    assert "62.50%" in between
    charts = _charts_drawn(page)
    assert all(c["width"] >= 600 for c in charts if c.get("width")), "charts fill the page"
    # the Sankey is labelled in the page's language
    assert "Jiangsu" in page.inner_text("#t-flows table")
    shot(page, "insights-02-annual-report-en")
    for part in ("key-figures", "t-community", "t-flows", "t-regions", "t-trend", "t-programmes"):
        page.locator(f"#{part}").screenshot(
            path=str(ARTIFACTS / "screenshots" / f"insights-02-en-{part}.png")
        )

    page.emulate_media(media="print")
    page.evaluate("window.icCharts.resize()")
    assert page.locator(".ic-toolbar").is_hidden()
    assert page.locator("header.top").is_hidden()
    _charts_drawn(page)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf[:4] == b"%PDF" and len(pdf) > 50_000
    shot(page, "insights-03-annual-report-print")


def test_statistics_page_filters_redraw_the_charts(page, contracts) -> None:  # noqa: F811
    page.goto("/stats/?period=2025")
    page.wait_for_selector("#t-flows")
    page.wait_for_function(
        "document.querySelector('[data-chart=flows-chart]').dataset.drawn === '1'"
    )
    assert "北京市" not in page.inner_text("#t-flows table")  # bloc level: "rest of China"
    shot(page, "insights-04-stats-bloc-zh")

    page.select_option("#f-level", "province")
    page.wait_for_function("document.querySelector('#t-flows table').innerText.includes('北京市')")
    page.wait_for_function(
        "document.querySelector('[data-chart=flows-chart]').dataset.drawn === '1'"
    )
    assert "level=province" in page.url
    painted = {c["key"]: c["painted"] for c in page.evaluate(PAINTED)}
    assert painted["flows-chart"] > 500
    shot(page, "insights-05-stats-province-zh")

    page.select_option("#f-focus", "320000")
    page.wait_for_function("document.querySelector('#t-flows table').innerText.includes('常州市')")
    shot(page, "insights-06-stats-drill-jiangsu")
    with page.expect_download() as download:
        page.click("[data-testid=xlsx-flows]")
    assert download.value.suggested_filename.endswith(".xlsx")


def test_dashboard_of_a_regional_administrator(page, voucher_world) -> None:  # noqa: F811
    admin = voucher_world.admin
    page.goto("/login/")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", f"pw-{admin.username}")
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()
    page.goto("/stats/admin/")
    page.wait_for_selector("#t-books")
    assert "南京测试大学" in page.inner_text("#t-provider-claims")
    page.wait_for_function(
        "document.querySelector('[data-chart=programmes-chart]').dataset.drawn === '1'"
    )
    shot(page, "insights-07-dashboard-shanghai")
