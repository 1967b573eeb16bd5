"""Sign-up, organisation application, regional review, members and API tokens in a browser."""

import pytest

from innocommons.accounts.models import Organisation
from tests import factories
from tests.browser.conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.form button[type=submit]")
    page.wait_for_selector("text=退出登录")


def test_sign_up_apply_and_get_verified_by_the_region(page, world) -> None:
    page.goto("/signup/")
    page.fill("input[name=username]", "wuhu-firm")
    page.fill("input[name=email]", "it@wuhu-firm.cn")
    page.fill("input[name=password1]", "Wuhu!2026-Robot")
    page.fill("input[name=password2]", "Wuhu!2026-Robot")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("h1:has-text('机构注册')")
    page.fill("input[name=name_zh]", "芜湖智造机器人有限公司")
    page.select_option("select[name=region]", "340200")
    page.fill("input[name=credit_code]", "91340200XXXXXXXX")
    page.click("form.form button[type=submit]")
    page.wait_for_selector(".field.has-error")
    shot(page, "10-apply-bad-credit-code")
    page.fill("input[name=credit_code]", factories.credit_code("340200"))
    page.click("form.form button[type=submit]")
    page.wait_for_selector("h1:has-text('芜湖智造机器人有限公司')")
    shot(page, "11-organisation-pending")

    anhui = factories.user("admin_ah")
    factories.staff(anhui, "regional_admin", "340000")
    page.context.clear_cookies()
    sign_in(page, "admin_ah", "pw-admin_ah")
    page.goto("/review/organisations/")
    row = page.locator("tr", has_text="芜湖智造机器人有限公司")
    shot(page, "12-review-queue")
    row.locator("button[value=verify]").click()
    page.wait_for_selector(".msg.success")
    assert Organisation.objects.get(name_zh="芜湖智造机器人有限公司").status == "verified"
    shot(page, "13-review-verified")


def test_org_admin_manages_members_and_tokens(page, world) -> None:
    sign_in(page, "orgadm", "pw-orgadm")
    page.goto(f"/organisations/{world.provider.pk}/members/")
    page.fill("#username", "nobody")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("td:has-text('nobody')")
    shot(page, "14-members")
    page.goto("/my/tokens/")
    page.fill("input[name=name]", "数据同步脚本")
    page.click("form.form button[type=submit]")
    token = page.inner_text("[data-testid=new-token]")
    assert token.startswith("ic_")
    shot(page, "15-token-created")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[name=revoke]")
    page.wait_for_selector("td:has-text('已撤销')")
    page.goto(f"/organisations/{world.provider.pk}/")
    page.wait_for_selector("h1:has-text('南京测试大学')")
    shot(page, "16-organisation-page")
