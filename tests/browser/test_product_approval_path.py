"""The main path, walked in Chromium by visible labels as a person would (README "Try:").

The administrator corrects a draft product's pack size with a reason (in Chinese, the default);
the QA reviewer signs in, switches to English, is refused with a wrong password, then approves
with the right one; the auditor reads the product's history: old → new values, the reason, and
the signature with printed name, meaning and time zone.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

PRODUCT = "维生素C注射液"  # seed_demo leaves it in draft for the QA reviewer
OLD_PACK_SIZE = "2ml×10支/盒"
NEW_PACK_SIZE = "2ml×5支/盒"
REASON = "变更控制CC-2026-017：包装改为每盒5支"
SIGNED_AT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\+08:00 \(Asia/Shanghai\)")


def sign_in(page, username: str, *, user_label: str, password_label: str, button: str) -> None:
    page.get_by_label(user_label).fill(username)
    page.get_by_label(password_label, exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_test_id("current-user")).to_contain_text(f"({username})")


def test_qa_approves_with_signature_and_auditor_reads_history(app_url, new_page, screenshot_dir):
    # An English-language browser, as plant PCs often have: the site is still Chinese by default.
    page = new_page(locale="en-US")
    shot = lambda name: page.screenshot(path=screenshot_dir / f"{name}.png", full_page=True)  # noqa: E731

    # --- Sign-in page: Chinese by default --------------------------------------------------------
    page.goto(app_url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.get_by_label("用户名")).to_be_visible()
    # The switcher names each language in that language, so a reader of English finds it.
    expect(page.get_by_role("button", name="English", exact=True)).to_be_visible()
    shot("01-login-zh")

    # --- Administrator corrects the draft's pack size, with a reason (in Chinese) ------------------
    sign_in(page, "admin", user_label="用户名", password_label="密码", button="登录")
    page.get_by_role("link", name="产品", exact=True).click()
    page.get_by_role("link", name=PRODUCT, exact=True).click()
    page.get_by_role("link", name="编辑", exact=True).click()
    expect(page.get_by_label("包装规格")).to_have_value(OLD_PACK_SIZE)
    page.get_by_label("包装规格").fill(NEW_PACK_SIZE)
    page.get_by_label("变更原因").fill(REASON)
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("产品已修改。")
    expect(page.get_by_text(NEW_PACK_SIZE, exact=True)).to_be_visible()
    shot("02-admin-changed-pack-size-zh")
    page.get_by_role("button", name="退出登录", exact=True).click()

    # --- QA reviewer signs in (Chinese), switches to English -------------------------------------
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    sign_in(page, "qa_reviewer", user_label="用户名", password_label="密码", button="登录")
    page.get_by_role("button", name="English", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    expect(page.get_by_role("button", name="简体中文", exact=True)).to_be_visible()

    # The draft waits on My work ("name strength"); open it from there.
    queue = page.locator("section").filter(has=page.get_by_role("heading", name="Products awaiting QA approval"))
    queue.get_by_role("link", name=f"{PRODUCT} 2ml:0.5g", exact=True).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Draft")
    # The approval form (the page also has a "Void this product" form with its own password field).
    approve_form = page.locator("form").filter(has=page.get_by_role("button", name="Approve and sign"))
    expect(approve_form).to_contain_text("Signing as 刘芳 with the meaning Approved.")

    # Wrong password first: refused, nothing signed, still a draft.
    approve_form.get_by_label("Your password (to sign)").fill("not-my-password")
    approve_form.get_by_role("button", name="Approve and sign", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong password: the signature was not applied.")
    expect(heading).to_contain_text("Draft")
    expect(page.get_by_text("Not signed yet.")).to_be_visible()
    expect(page.get_by_test_id("signature")).to_have_count(0)
    shot("03-qa-wrong-password-en")

    # Then the right one: approved and signed, the signature shown in full.
    approve_form.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    approve_form.get_by_label("Comment").fill("Master data checked against the registration")
    approve_form.get_by_role("button", name="Approve and sign", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Product approved and signed.")
    expect(heading).to_contain_text("Approved")
    signature = page.get_by_test_id("signature")
    expect(signature).to_have_count(1)
    expect(signature).to_contain_text("刘芳 (qa_reviewer)")  # printed name
    expect(signature).to_contain_text("Approved")  # meaning
    expect(signature).to_contain_text(SIGNED_AT)  # time with zone
    expect(signature).to_contain_text("Signature valid")
    expect(page.get_by_role("button", name="Approve and sign")).to_have_count(0)
    shot("04-qa-approved-signed-en")
    page.get_by_role("button", name="Sign out", exact=True).click()

    # --- Auditor reads the history (English stays chosen after signing out) ------------------------
    expect(page.locator("html")).to_have_attribute("lang", "en")
    sign_in(page, "auditor", user_label="Username", password_label="Password", button="Sign in")
    page.get_by_role("link", name="Products", exact=True).click()
    page.get_by_role("link", name=PRODUCT, exact=True).click()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)  # auditors change nothing
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"History: product {PRODUCT}", ignore_case=True)

    changes = page.get_by_test_id("timeline-change")
    correction = changes.filter(has=page.get_by_test_id("reason").get_by_text(REASON, exact=True))
    expect(correction).to_have_count(1)
    expect(correction).to_contain_text("系统管理员 (admin)")
    pack_size_row = correction.get_by_role("row").filter(has=page.get_by_role("cell", name="pack size"))
    expect(pack_size_row.get_by_role("cell")).to_have_text(
        ["pack size", OLD_PACK_SIZE, NEW_PACK_SIZE], ignore_case=True
    )

    approval = changes.filter(has_text="Master data checked against the registration")
    expect(
        approval.get_by_role("row").filter(has=page.get_by_role("cell", name="status")).get_by_role("cell")
    ).to_have_text(["status", "Draft", "Approved"], ignore_case=True)
    history_signature = page.get_by_test_id("timeline-signature")
    expect(history_signature).to_have_count(1)
    expect(history_signature).to_contain_text("刘芳 (qa_reviewer)")
    expect(history_signature).to_contain_text(SIGNED_AT)
    shot("05-auditor-history-en")


def test_language_can_be_switched_before_signing_in(app_url, new_page):
    """An English reader switches on the sign-in page itself, and can switch back."""
    page = new_page(locale="en-US")
    page.goto(app_url + "/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_role("button", name="English", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    page.get_by_role("button", name="简体中文", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
