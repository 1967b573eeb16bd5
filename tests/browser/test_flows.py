"""The main user journeys in a real browser (screenshots in test-artifacts/screenshots/)."""

import pytest

from innocommons.catalog.search import indexer
from tests import factories
from tests.browser.conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listings(world):
    u, p = world.provider_member, world.provider
    zj = factories.org(name="杭州测试研究院", type="institute", region="330100")
    zu = factories.user()
    factories.member(zu, zj)
    nmr = factories.resource(
        p,
        actor=u,
        kind="instrument",
        title_zh="600兆核磁共振波谱仪",
        title_en="600 MHz NMR spectrometer",
        keywords="核磁;NMR",
        field="02",
        summary_zh="用于有机化合物结构鉴定的核磁共振波谱仪。",
        summary_en="NMR spectrometer for structure elucidation.",
        manufacturer="Bruker",
        model_name="AVANCE NEO 600",
        fee_per_hour_yuan="600",
    )
    factories.resource(
        zj,
        actor=zu,
        kind="service",
        title_zh="核磁共振测试服务",
        title_en="NMR testing service",
        field="02",
        price_yuan="300",
    )
    factories.resource(zj, actor=zu, kind="achievement", title_zh="固态锂电池电解质", field="06")
    indexer.apply_outbox()
    return {"nmr": nmr}


def test_search_facet_detail_and_language_switch(page, listings) -> None:
    page.goto("/")
    assert page.locator("h1").inner_text().strip() != ""
    page.fill("#q", "核磁共振")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=total]")
    assert "2" in page.inner_text("[data-testid=total]")
    shot(page, "01-search-zh")

    page.click("[data-facet=kind] a:has-text('仪器设备')")
    page.wait_for_function("document.querySelector('[data-testid=total]').innerText.includes('1')")
    assert "kind=instrument" in page.url
    shot(page, "02-facet-instrument")

    page.click("text=600兆核磁共振波谱仪")
    page.wait_for_selector("h1:has-text('600兆核磁共振波谱仪')")
    assert "Bruker" in page.content()
    shot(page, "03-detail-zh")

    page.click("[data-testid=lang-switch]")
    page.wait_for_selector("h1:has-text('600 MHz NMR spectrometer')")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Sign in" in page.inner_text("header")
    shot(page, "04-detail-en")


def test_provider_signs_in_and_publishes_a_listing(page, world, listings) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", "prov")
    page.fill("input[name=password]", "pw-prov")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("[data-testid=workspace-menu]")
    page.goto("/my/listings/")
    page.click("[data-testid=new-service]")
    page.fill("input[name=title_zh]", "扫描电镜能谱分析")
    page.fill("input[name=title_en]", "SEM-EDS analysis")
    page.fill("textarea[name=summary_zh]", "提供扫描电镜形貌观察与能谱元素分析。")
    page.fill("input[name=keywords]", "扫描电镜；能谱；SEM")
    page.select_option("select[name=field]", "04")
    page.fill("input[name=price_yuan]", "-3")
    page.click("[data-testid=save-publish]")
    page.wait_for_selector(".field.has-error")
    shot(page, "05-listing-form-error")
    page.fill("input[name=price_yuan]", "450")
    page.click("[data-testid=save-publish]")
    page.wait_for_selector("h1:has-text('扫描电镜能谱分析')")
    shot(page, "06-listing-published")

    # The outbox is applied on commit in tests: the new listing is findable at once.
    page.goto("/search/?q=%E8%83%BD%E8%B0%B1")
    page.wait_for_selector("text=扫描电镜能谱分析")
    shot(page, "07-found-after-publish")


def test_phone_layout_and_empty_state(browser, live_server, listings) -> None:
    ctx = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        base_url=live_server.url,
        is_mobile=True,
    )
    page = ctx.new_page()
    page.goto("/search/?q=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E8%AF%8D%E8%AF%AD%E7%BB%84%E5%90%88")
    page.wait_for_selector(".empty")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page overflows a phone screen: {width}px"
    shot(page, "08-phone-empty-search")
    ctx.close()
