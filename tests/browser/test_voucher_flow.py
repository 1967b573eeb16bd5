"""An innovation voucher from programme to settlement, in a real browser.

A Shanghai regional administrator creates a programme; a Shanghai enterprise applies and is
approved; it books a Jiangsu university's instrument, orders the service and, once the order
is completed, pays half of the fee with its voucher; the university claims the voucher part
and Shanghai settles it. Every step goes through the pages (screenshots in
test-artifacts/screenshots/vouchers-*.png); the database and the ledger are checked at the end.

Chinese is the browser's language and many voucher strings are still English, so elements
are picked by name, id, data-testid or URL, never by their label.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from innocommons.orders.models import Booking, Order
from innocommons.vouchers import ledger
from innocommons.vouchers.models import (
    Application,
    Claim,
    Programme,
    Redemption,
    SettlementBatch,
    Voucher,
)
from tests import factories
from tests.browser.conftest import shot
from tests.orders.factories import PDF, instrument

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FEE_FEN = 2_400_00  # the agreed fee of the order
VOUCHER_FEN = 20_000_00  # the voucher applied for (and approved in full)
PAYS_FEN = FEE_FEN // 2  # 50 % coverage


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path, settings: Any) -> Path:
    """The delivered report goes to a per-test folder, not the project's media."""
    path = tmp_path / "media"
    settings.MEDIA_ROOT = path
    return path


def sign_in(p: Any, username: str) -> None:
    p.goto("/login/")
    p.fill("input[name=username]", username)
    p.fill("input[name=password]", f"pw-{username}")
    p.click("form.form button[type=submit]")
    p.wait_for_selector("[data-testid=workspace-menu]")


@pytest.fixture
def person(browser: Any, live_server: Any) -> Iterator[Callable[[str], Any]]:
    """A signed-in page of its own (a separate browser context) for each person."""
    contexts: list[Any] = []

    def open_as(username: str) -> Any:
        context = browser.new_context(
            locale="zh-CN", viewport={"width": 1280, "height": 900}, base_url=live_server.url
        )
        contexts.append(context)
        p = context.new_page()
        p.set_default_timeout(15_000)
        sign_in(p, username)
        return p

    yield open_as
    for context in contexts:
        context.close()


def submit(p: Any, selector: str) -> None:
    """Click a submit button and wait for the page the POST leads to."""
    with p.expect_navigation():
        p.click(selector)


def step(p: Any, order_id: int, name: str) -> None:
    """Take an order step on the order page; it must report success."""
    p.goto(f"/orders/{order_id}/")
    submit(p, f"[data-testid=step-{name}] button[type=submit]")
    assert p.locator(".msg.error").count() == 0, p.inner_text(".messages")
    p.wait_for_selector(".msg.success")


def test_voucher_from_programme_to_settlement(page, person, world) -> None:
    adm_sh = factories.user("adm_sh")
    factories.staff(adm_sh, "regional_admin", "310000")
    nmr = instrument(
        world,
        needs_approval=False,
        title_zh="600兆核磁共振波谱仪",
        location="南京测试大学 分析测试中心 101",
        fee_per_hour_yuan="600",
    )

    # 1. The Shanghai administrator creates a programme under "Voucher programmes".
    adm = person("adm_sh")
    adm.goto("/vouchers/manage/")
    adm.click("[data-testid=new-programme]")
    adm.wait_for_url("**/vouchers/manage/new/")
    adm.select_option("select[name=region]", "310000")
    adm.fill("input[name=name_zh]", "上海市科技创新券（测试）")
    adm.fill("input[name=name_en]", "Shanghai innovation vouchers (test)")
    adm.fill("input[name=agency]", "上海市科学技术委员会")
    adm.fill("input[name=budget]", "1,000,000")
    adm.fill("input[name=coverage_percent]", "50")
    adm.fill("input[name=max_per_voucher]", "50000")
    adm.fill("input[name=max_per_enterprise_year]", "100000")
    adm.select_option("select[name=scope]", "community")
    adm.select_option("select[name=settlement_period]", "quarterly")
    shot(adm, "vouchers-01-programme-form")
    submit(adm, "[data-testid=create-programme]")
    adm.wait_for_url(re.compile(r".*/vouchers/manage/\d+/$"))
    programme = Programme.objects.get()
    assert adm.url.endswith(f"/vouchers/manage/{programme.pk}/")
    assert (programme.coverage_bp, programme.scope) == (5000, "community")
    assert programme.status == "open" and programme.budget_fen == 1_000_000_00
    assert "¥1,000,000.00" in adm.inner_text("[data-testid=fig-available]")
    shot(adm, "vouchers-02-programme-created")

    # 2. The enterprise member finds the programme and applies.
    sign_in(page, "ent")
    page.click("header a[href='/vouchers/']")
    page.wait_for_selector(f"[data-testid=programme-{programme.pk}]")
    card = page.locator(f"[data-testid=programme-{programme.pk}]")
    assert "50%" in card.inner_text()
    assert card.locator("[data-testid=eligibility] .status-verified").count() == 1
    shot(page, "vouchers-03-programme-list")
    card.locator(f"a[href='/vouchers/programmes/{programme.pk}/']").last.click()
    page.click("[data-testid=apply]")
    page.wait_for_url(f"**/vouchers/programmes/{programme.pk}/apply/")
    assert page.input_value("select[name=organisation]") == str(world.enterprise.pk)
    page.fill("input[name=amount]", "20,000")
    page.fill("textarea[name=purpose]", "委托南京测试大学进行核磁共振结构鉴定。")
    shot(page, "vouchers-04-apply-form")
    submit(page, "[data-testid=submit-application]")
    page.wait_for_url("**/vouchers/mine/")
    application = Application.objects.get()
    assert application.status == "submitted" and application.amount_fen == VOUCHER_FEN
    page.wait_for_selector(f"[data-testid=applications] [data-testid=application-{application.pk}]")
    shot(page, "vouchers-05-application-submitted")

    # 3. The administrator approves it through the confirmation step.
    adm.goto("/vouchers/manage/")
    adm.click("a[href='/vouchers/manage/applications/']  >> nth=0")
    adm.wait_for_selector(f"[data-testid=application-{application.pk}]")
    submit(adm, f"[data-testid=approve-{application.pk}]")
    adm.wait_for_selector("[data-testid=facts]")
    assert "¥20,000.00" in adm.inner_text("[data-testid=facts]")
    shot(adm, "vouchers-06-approve-confirm")
    submit(adm, "[data-testid=confirm]")
    adm.wait_for_selector(".msg.success")
    assert "/vouchers/manage/applications/" in adm.url
    voucher = Voucher.objects.get()
    assert voucher.face_value_fen == VOUCHER_FEN and voucher.status == "active"
    adm.goto(f"/vouchers/manage/{programme.pk}/")
    adm.wait_for_selector("[data-testid=budget-bars]")
    assert "¥20,000.00" in adm.inner_text("[data-testid=fig-committed]")
    assert "¥980,000.00" in adm.inner_text("[data-testid=fig-available]")
    assert adm.inner_text("[data-testid=apps-approved]").strip() == "1"
    shot(adm, "vouchers-07-dashboard-budget-bars")

    # 4. The enterprise books the Jiangsu instrument on the free-slot calendar, then orders.
    page.goto(f"/resources/{nmr.pk}/book/")
    page.wait_for_selector("[data-testid=slots]")
    first_day = page.get_attribute(".week .day", "data-date")
    page.click("[data-testid=next-week]")  # htmx swaps the calendar
    page.wait_for_function(f"document.querySelector('.week .day').dataset.date !== '{first_day}'")
    assert "from=" in page.url
    shot(page, "vouchers-08-booking-calendar")
    page.click("[data-testid=slot] >> nth=0")
    page.wait_for_selector("[data-testid=booking-form]")
    page.fill("textarea[name=purpose]", "有机小分子结构鉴定，样品 3 个")
    shot(page, "vouchers-09-booking-form")
    submit(page, "[data-testid=booking-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/my/bookings/(#.*)?$"))
    booking = Booking.objects.get()
    assert booking.status == "confirmed"
    row = page.locator(f"[data-testid=booking-{booking.pk}]")
    row.locator(f"a[href*='/resources/{nmr.pk}/order/?booking={booking.pk}']").click()
    page.wait_for_selector("[data-testid=order-form]")
    assert page.input_value("select[name=booking]") == str(booking.pk)
    page.fill("textarea[name=description]", "核磁共振氢谱、碳谱测试，出具检测报告。")
    submit(page, "[data-testid=order-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/orders/\d+/$"))
    order = Order.objects.get()
    assert order.booking_id == booking.pk and order.status == "requested"
    shot(page, "vouchers-10-order-requested")

    # 5. The provider quotes, the client accepts, the provider works and delivers a report,
    #    the client confirms completion.
    prov = person("prov")
    prov.goto(f"/orders/{order.pk}/")
    prov.fill("input[name=quote-amount_yuan]", "2400")
    submit(prov, "[data-testid=step-quote] button[type=submit]")
    prov.wait_for_selector(".msg.success")
    step(page, order.pk, "accept")
    assert "¥2,400.00" in page.inner_text("[data-testid=fee]")
    step(prov, order.pk, "start")
    prov.set_input_files(
        "input[name=deliver-report]",
        files=[{"name": "nmr-report.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    submit(prov, "[data-testid=step-deliver] button[type=submit]")
    prov.wait_for_selector(".msg.success")
    prov.wait_for_selector("[data-testid=report]")
    shot(prov, "vouchers-11-order-delivered")
    page.goto(f"/orders/{order.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())  # "This cannot be undone."
    submit(page, "[data-testid=step-complete] button[type=submit]")
    page.wait_for_selector(".msg.success")
    order.refresh_from_db()
    assert order.status == "completed" and order.fee_fen == FEE_FEN and order.report
    shot(page, "vouchers-12-order-completed")

    # 6. The enterprise pays half of the fee with its voucher.
    page.goto("/vouchers/mine/")
    page.click(f"[data-testid=use-voucher-{order.pk}]")
    page.wait_for_url(f"**/vouchers/redeem/{order.pk}/")
    page.wait_for_selector("[data-testid=quote]")
    assert "¥1,200.00" in page.inner_text("[data-testid=voucher-pays]")
    assert "¥1,200.00" in page.inner_text("[data-testid=client-pays]")
    shot(page, "vouchers-13-redeem-quote")
    submit(page, "[data-testid=confirm-redeem]")
    page.wait_for_url(f"**/vouchers/v/{voucher.pk}/")
    page.wait_for_selector(".msg.success")
    assert "¥18,800.00" in page.inner_text("[data-testid=balance]")
    assert page.locator("[data-testid=redemptions] tbody tr").count() == 1
    shot(page, "vouchers-14-voucher-redeemed")

    # 7. The provider claims the voucher part from Shanghai.
    prov.goto("/vouchers/claims/")
    prov.wait_for_selector("[data-testid=unclaimed]")
    assert "¥1,200.00" in prov.inner_text("[data-testid=unclaimed]")
    submit(prov, f"[data-testid=claim-{programme.pk}]")
    prov.wait_for_selector(".msg.success")
    claim = Claim.objects.get()
    assert claim.amount_fen == PAYS_FEN and claim.status == "submitted"
    prov.wait_for_selector(f"[data-testid=claim-row-{claim.pk}]")
    shot(prov, "vouchers-15-claim-submitted")

    # 8. Shanghai approves the claim, settles it in a batch and records the payment.
    adm.goto("/vouchers/manage/claims/")
    adm.wait_for_selector(f"[data-testid=claim-{claim.pk}]")
    assert "¥2,400.00" in adm.inner_text(f"[data-testid=evidence-{claim.pk}]")
    submit(adm, f"[data-testid=approve-claim-{claim.pk}]")
    adm.wait_for_selector("[data-testid=facts]")
    assert "¥1,200.00" in adm.inner_text("[data-testid=facts]")
    shot(adm, "vouchers-16-claim-approve-confirm")
    submit(adm, "[data-testid=confirm]")
    adm.wait_for_selector(".msg.success")
    assert Claim.objects.get().status == "approved"

    adm.goto(f"/vouchers/manage/{programme.pk}/batches/")
    adm.select_option("select[name=period]", "current")
    submit(adm, "[data-testid=create-batch]")
    adm.wait_for_url(re.compile(r".*/vouchers/manage/batches/\d+/$"))
    batch = SettlementBatch.objects.get()
    assert batch.total_fen == PAYS_FEN and batch.status == "open"
    assert "¥1,200.00" in adm.inner_text("[data-testid=batch-total]")
    shot(adm, "vouchers-17-batch-created")

    with adm.expect_download() as download_info:
        adm.click("[data-testid=export]")
    xlsx = download_info.value
    assert xlsx.suggested_filename.endswith(".xlsx")
    assert Path(xlsx.path()).read_bytes()[:2] == b"PK"

    adm.fill("input[name=payment_reference]", "SHKW-2026-0001")
    submit(adm, "[data-testid=mark-paid]")
    adm.wait_for_selector("[data-testid=facts]")
    assert "¥1,200.00" in adm.inner_text("[data-testid=facts]")
    assert adm.input_value("input[name=payment_reference]") == "SHKW-2026-0001"
    shot(adm, "vouchers-18-batch-pay-confirm")
    submit(adm, "[data-testid=confirm]")
    adm.wait_for_url(f"**/vouchers/manage/batches/{batch.pk}/")
    adm.wait_for_selector(".msg.success")
    assert "SHKW-2026-0001" in adm.inner_text(".facts")
    shot(adm, "vouchers-19-batch-paid")

    adm.goto(f"/vouchers/manage/{programme.pk}/")
    assert "¥1,200.00" in adm.inner_text("[data-testid=fig-paid]")
    shot(adm, "vouchers-20-dashboard-after-payment")

    prov.goto("/vouchers/claims/")
    assert "SHKW-2026-0001" in prov.inner_text(f"[data-testid=claim-row-{claim.pk}]")
    shot(prov, "vouchers-21-provider-claim-paid")

    # 9. The books.
    voucher.refresh_from_db()
    redeemed = sum(Redemption.objects.filter(voucher=voucher).values_list("amount_fen", flat=True))
    assert redeemed == PAYS_FEN
    assert voucher.balance_fen == voucher.face_value_fen - redeemed == VOUCHER_FEN - PAYS_FEN
    claim.refresh_from_db()
    batch.refresh_from_db()
    assert claim.status == Claim.Status.PAID and claim.batch_id == batch.pk
    assert batch.status == SettlementBatch.Status.PAID
    assert batch.payment_reference == "SHKW-2026-0001"
    report = ledger.check()
    assert report.ok, report.problems
