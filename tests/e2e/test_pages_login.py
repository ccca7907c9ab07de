"""Login in a real browser, in Chinese first and in English after the switch."""

from __future__ import annotations

from tests.e2e.conftest import LiveServer, screenshot
from tests.support import password_for


def test_login_and_language_switch(live_server: LiveServer, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/")
    page.wait_for_url("**/login?next=*")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    screenshot(page, "login-1280x800")
    page.fill("#username", "clerk-dsc")
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert page.text_content("#login-error") == "用户名或密码错误"
    page.fill("#password", password_for("clerk-dsc"))
    page.click("button[type=submit]")
    page.wait_for_url("**/home")
    assert page.text_content("#welcome") == "欢迎，clerk-dsc"
    assert "店员" in page.text_content("#who")
    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.text_content("#welcome") == "Welcome, clerk-dsc"
