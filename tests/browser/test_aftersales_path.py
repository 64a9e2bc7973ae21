"""The after-sales paths, walked in Chromium by visible labels (issue 10 item 8; R-CMP-1, R-RET-1,
R-SHIP-2, R-SIG-1).

1. Customer service records a quality complaint on the 市场信息反馈记录 (it routes to QA at once).
   QA triages it, puts the batch on hold from the complaint (reason and password), records the
   investigation, the "recall needed?" decision and the reply, and closes it with the password; the
   batch is then no longer offered on the shipment form, and the complaint shows the hold as active.
2. The demo's return in quarantine: QA opens it from My work, evaluates it "destroy" with a
   signature, then records the destruction under supervision, signed "Destroyed".
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

BATCH = "A2411002"  # released by the demo's late seed, shipped to 华东医药有限公司
DESCRIPTION = "浏览器测试：胶囊内容物结块变色"


def sign_in(page, app_url: str, username: str) -> None:
    page.goto(app_url + "/accounts/login/")
    # Chinese by default; English once this browser has switched (the choice is remembered).
    english = page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Username" if english else "用户名").fill(username)
    page.get_by_label("Password" if english else "密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in" if english else "登录", exact=True).click()
    expect(page.get_by_test_id("current-user")).to_contain_text(f"({username})")
    if page.locator("html").get_attribute("lang") != "en":
        page.get_by_role("button", name="English", exact=True).click()
        expect(page.locator("html")).to_have_attribute("lang", "en")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()


def choose(select, text: str) -> None:
    """Select the option whose visible text contains ``text`` (labels carry more than the number)."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    select.select_option(value)


def now_local(page) -> str:
    return page.evaluate(
        "() => { const d = new Date(Date.now() - 2 * 60000); const p = n => String(n).padStart(2, '0');"
        " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; }"
    )


def test_complaint_intake_to_hold_and_signed_closure(app_url, new_page, screenshot_dir):
    page = new_page(locale="en-US")
    page.emulate_media(reduced_motion="reduce")
    shot = lambda name: page.screenshot(path=screenshot_dir / f"{name}.png", full_page=True)  # noqa: E731

    # --- Customer service records the complaint --------------------------------------------------
    sign_in(page, app_url, "customer_service")
    page.goto(app_url + "/aftersales/feedback/new/")
    page.get_by_label("Received at").fill(now_local(page))
    page.get_by_label("Channel").select_option(label="Phone call")
    page.get_by_label("Reporter", exact=True).fill("李女士")
    page.get_by_label("Reporter type").select_option(label="Patient / member of the public")
    choose(page.get_by_label("Batch", exact=True), BATCH)
    page.get_by_label("Description").fill(DESCRIPTION)
    page.get_by_label("Classification").select_option(label="Quality complaint")
    page.get_by_role("button", name=re.compile("Save|Record")).last.click()
    expect(page.get_by_role("alert")).to_contain_text("recorded and routed")
    complaint_link = page.get_by_role("link", name=re.compile(r"CMP-\d{4}-\d{4}"))
    complaint_url = app_url + complaint_link.first.get_attribute("href")
    shot("aftersales-01-feedback-recorded")
    sign_out(page)

    # --- QA investigates, places the hold, decides, replies, closes ------------------------------
    sign_in(page, app_url, "qa_reviewer")
    page.goto(complaint_url)
    expect(page.get_by_text(DESCRIPTION)).to_be_visible()
    page.get_by_label("Triage", exact=True).select_option(label="Quality defect")
    page.get_by_role("button", name="Start investigation").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Under investigation")

    page.locator("summary", has_text="Place a hold on the batch?").click()
    hold_form = page.locator("form").filter(has=page.get_by_role("button", name="Place the hold and sign"))
    expect(hold_form).to_contain_text("with the meaning Hold placed.")
    hold_form.get_by_label("Reason for the hold").fill("投诉提示质量缺陷，调查期间暂停发运")
    hold_form.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    hold_form.get_by_role("button", name="Place the hold and sign").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Batch {BATCH} is on hold")
    holds = page.get_by_test_id("complaint-hold")
    expect(holds).to_contain_text("Active")
    expect(holds).to_contain_text("Hold placed")
    shot("aftersales-02-hold-placed")

    investigation = page.locator("form").filter(has=page.get_by_role("button", name="Save investigation"))
    investigation.get_by_label("Retained-sample test").fill("留样检验符合规定")
    investigation.get_by_label("Batch-record review").fill("批记录无异常")
    investigation.get_by_label("Other batches considered").fill("A2410001")
    investigation.get_by_label("Conclusion on other batches").fill("其他批次未见同类投诉")
    investigation.get_by_label("Root cause").fill("运输途中受潮")
    investigation.get_by_role("button", name="Save investigation").click()
    expect(page.get_by_role("alert").first).to_be_visible()

    page.locator("summary", has_text="Recall needed?").click()
    decision = page.locator("form").filter(has=page.get_by_role("button", name="Save decision"))
    decision.get_by_label("No", exact=True).check()
    decision.get_by_label("Rationale").fill("个案，留样合格，不需召回")
    decision.get_by_role("button", name="Save decision").click()

    page.locator("summary", has_text="Reply to the complainant").click()
    reply = page.locator("form").filter(has=page.get_by_role("button", name="Save reply"))
    reply.get_by_label("Replied to the complainant at").fill(now_local(page))
    reply.get_by_label("Reply to the complainant").fill("已电话回复并安排更换")
    reply.get_by_role("button", name="Save reply").click()

    close = page.locator("form").filter(has=page.get_by_role("button", name="Close and sign"))
    expect(close).to_contain_text("with the meaning Closed.")
    close.get_by_label("Your password (to sign)").fill("not-my-password")
    close.get_by_role("button", name="Close and sign").click()
    expect(page.get_by_role("alert").first).to_contain_text("Wrong password")
    close = page.locator("form").filter(has=page.get_by_role("button", name="Close and sign"))
    close.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    close.get_by_role("button", name="Close and sign").click()
    expect(page.get_by_role("alert")).to_contain_text("Complaint closed and signed.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Closed")
    expect(page.get_by_test_id("complaint-hold")).to_contain_text("Active")
    shot("aftersales-03-complaint-closed")
    sign_out(page)

    # --- Sales can no longer pick the held batch ---------------------------------------------------
    sign_in(page, app_url, "sales")
    page.goto(app_url + "/aftersales/shipments/new/")
    expect(page.get_by_label("Batch", exact=True).locator("option", has_text=BATCH)).to_have_count(0)
    sign_out(page)


def test_return_evaluated_and_destroyed_with_signatures(app_url, new_page, screenshot_dir):
    page = new_page(locale="en-US")
    shot = lambda name: page.screenshot(path=screenshot_dir / f"{name}.png", full_page=True)  # noqa: E731
    sign_in(page, app_url, "qa_reviewer")
    page.goto(app_url + "/")
    queue = page.locator("section").filter(
        has=page.get_by_role("heading", name="Returned goods in quarantine awaiting QA's evaluation")
    )
    queue.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Quarantine")

    evaluate = page.locator("form").filter(has=page.get_by_role("button", name="Sign the evaluation"))
    evaluate.get_by_label("Decision").select_option(label="Destroy")
    evaluate.get_by_label("QA evaluation").fill("外包装破损，不能证明质量未受影响")
    evaluate.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    evaluate.get_by_role("button", name="Sign the evaluation").click()
    expect(page.get_by_role("alert")).to_contain_text("Evaluation signed.")

    destroy = page.locator("form").filter(has=page.get_by_role("button", name="Sign as supervisor"))
    expect(destroy).to_contain_text("with the meaning Destroyed.")
    destroy.get_by_label("Destroyed on").fill(page.evaluate("() => new Date().toLocaleDateString('sv-SE')"))
    destroy.get_by_label("Destruction method").fill("焚烧")
    destroy.get_by_label("Witnesses").fill("张三、李四")
    destroy.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    destroy.get_by_role("button", name="Sign as supervisor").click()
    expect(page.get_by_role("alert")).to_contain_text("Destruction recorded and signed.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Destroyed")
    expect(page.locator("body")).to_contain_text("张三、李四")
    shot("aftersales-04-return-destroyed")
