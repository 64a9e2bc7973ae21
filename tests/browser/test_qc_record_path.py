"""The QC path in Chromium, by visible labels (issue #3).

The analyst opens the raw-material sample waiting on My work, starts its test record, is refused
an expired instrument and a result with the wrong number of decimals, enters the results with an
assay out of specification and signs "Tested" (an OOS investigation opens). The reviewer signs
"Reviewed". The QC head is refused approval while the OOS is open, investigates (phase I, phase
II), closes it as confirmed with a signature, approves the report and downloads the PDF.
"""

from __future__ import annotations

import re
from io import BytesIO

import pytest

from tests.browser.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

SAMPLE_NAME = "阿莫西林（原料）"  # seed_demo registers it and leaves it waiting for a test record


def sign_in_english(page, app_url: str, username: str) -> None:
    page.goto(app_url + "/accounts/login/")
    if page.locator("html").get_attribute("lang") != "en":
        page.get_by_role("button", name="English", exact=True).click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("current-user")).to_contain_text(f"({username})")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()


def sign(page, button: str, *, comment: str = "", password: str = DEMO_PASSWORD) -> None:
    form = page.locator("form").filter(has=page.get_by_role("button", name=button, exact=True))
    form.get_by_label("Your password (to sign)").fill(password)
    if comment:
        form.get_by_label("Comment").fill(comment)
    form.get_by_role("button", name=button, exact=True).click()


def choose(page, label: str, *codes: str) -> None:
    """Pick options of a multiple select by the text they contain (their labels carry dates)."""
    select = page.get_by_label(label)
    values = [select.locator("option", has_text=code).first.get_attribute("value") for code in codes]
    select.select_option(values)


def test_analyst_reviewer_and_qc_head_take_a_record_with_an_oos_to_an_approved_report(
    app_url, new_page, screenshot_dir
):
    page = new_page(locale="en-US")
    shot = lambda name: page.screenshot(path=screenshot_dir / f"qc-{name}.png", full_page=True)  # noqa: E731

    # --- Analyst: from My work to the result form ------------------------------------------------
    sign_in_english(page, app_url, "qc_analyst")
    queue = page.locator("section").filter(has=page.get_by_role("heading", name="Samples waiting for a test record"))
    queue.get_by_role("link", name=re.compile(re.escape(SAMPLE_NAME))).click()
    page.get_by_role("button", name="Start the test record", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Test record started against ZL-BZ-YL-001 v1.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Enter results")

    # An instrument past calibration is marked and cannot be picked (issue 7); the service still
    # refuses a forged choice (tests/qc_records).
    instruments = page.get_by_label("Instruments and volumetric glassware used")
    expect(instruments.locator("option", has_text="QC-UV-01")).to_be_disabled()
    expect(instruments.locator("option", has_text="QC-UV-01")).to_contain_text("EXPIRED")
    # Bad input first: water with no decimal place.
    page.get_by_label("Room temperature (°C)").fill("22.5")
    page.get_by_label("Relative humidity (%)").fill("51.0")
    choose(page, "Instruments and volumetric glassware used", "QC-BAL-01")
    choose(page, "Reagents, test solutions, titrants, culture media and reference standards used", "阿莫西林对照品")
    page.get_by_label("性状 #1", exact=True).fill("白色结晶性粉末")
    page.get_by_label("性状 #1 judgement").select_option(label="Complies")
    page.get_by_label("水分 #1", exact=True).fill("13")
    page.get_by_label("含量测定 #1", exact=True).fill("93.8")
    page.get_by_label("含量测定 #1 calculation").fill("外标法：A样/A对×C对×D/W")
    page.get_by_role("button", name="Save results", exact=True).click()
    expect(
        page.get_by_text("Report this result with exactly 1 decimal place(s) (like 0.1); “13” has 0.")
    ).to_be_visible()
    expect(page.get_by_label("含量测定 #1", exact=True)).to_have_value("93.8")  # nothing typed is lost
    shot("01-analyst-refused")

    # Corrected: the balance only, water with one decimal.
    choose(page, "Instruments and volumetric glassware used", "QC-BAL-01", "QC-HPLC-01")
    page.get_by_label("水分 #1", exact=True).fill("13.1")
    page.get_by_role("button", name="Save results", exact=True).click()
    # The failing assay opens its OOS the moment it is saved (R-QC-5; issue 7).
    expect(page.get_by_role("alert").first).to_contain_text("Saved.")
    expect(page.get_by_role("alert").first).to_contain_text(re.compile(r"Out of specification: OOS-\d{4}-\d{3} opened"))
    oos_number = re.search(r"OOS-\d{4}-\d{3}", page.get_by_role("alert").first.inner_text()).group(0)
    results = page.get_by_test_id("results")
    expect(results.locator("tr", has_text="含量测定")).to_contain_text("Does not comply")
    expect(results.locator("tr", has_text="水分")).to_contain_text("Complies")

    sign(page, "Sign “Tested” and submit for review", comment="含量测定结果超标，已报告")
    expect(page.get_by_role("alert").first).to_contain_text("Signed “Tested”")
    expect(page.get_by_test_id("open-oos")).to_contain_text(oos_number)
    record_url = page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text("Submitted for review")
    shot("02-analyst-submitted-oos")
    sign_out(page)

    # --- Reviewer: second-person review ----------------------------------------------------------
    sign_in_english(page, app_url, "qc_reviewer")
    queue = page.locator("section").filter(
        has=page.get_by_role("heading", name="Test records waiting for second-person review")
    )
    queue.get_by_role("link", name=re.compile(re.escape(SAMPLE_NAME))).click()
    # The review checklist (检验原始记录管理规程 4.2.1 ①–⑥ + audit trail) is answered before signing.
    # .all() does not wait: the link's page must have loaded before its boxes are listed (a box
    # listed from My work is none, and the form went unchecked).
    review = page.locator("form").filter(has=page.get_by_role("button", name="Sign “Reviewed”"))
    expect(review.get_by_role("checkbox")).to_have_count(7)
    for box in review.get_by_role("checkbox").all():
        box.check()
    sign(page, "Sign “Reviewed”", comment="复核计算无误")
    expect(page.get_by_role("alert")).to_contain_text("Signed “Reviewed”")
    expect(page.get_by_test_id("signature")).to_have_count(2)
    sign_out(page)

    # --- QC head: refused while the OOS is open, investigates, closes, approves ----------------
    sign_in_english(page, app_url, "qc_head")
    page.goto(record_url)
    sign(page, "Approve and sign")
    expect(page.get_by_role("alert")).to_contain_text(f"OOS investigation {oos_number} is still open")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reviewed")

    page.get_by_role("link", name=oos_number, exact=True).first.click()
    page.get_by_label("Phase I findings").fill("计算、天平、对照品溶液、色谱系统均已核查，未发现实验室原因。")
    page.get_by_label("Assignable laboratory cause found?").select_option(label="No")
    page.get_by_role("button", name="Save findings", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Findings recorded.")
    page.get_by_text("No assignable cause: start phase II").click()
    escalate = page.locator("form").filter(has=page.get_by_role("button", name="Start phase II"))
    escalate.get_by_label("Reason for change").fill("第一阶段未发现可归属的实验室原因")
    escalate.get_by_role("button", name="Start phase II", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Phase II")
    page.get_by_label("Phase II findings").fill("供应商批次含量偏低，供应商调查确认。")
    page.get_by_role("button", name="Save findings", exact=True).click()
    expect(page.get_by_test_id("close-by-qa")).to_be_visible()  # the QC head alone does not conclude
    oos_url = page.url
    sign_out(page)

    # --- QA approves the conclusion by closing the investigation with a signature (R-QC-5) --------
    sign_in_english(page, app_url, "qa_reviewer")
    page.goto(oos_url)
    close = page.locator("form").filter(has=page.get_by_role("button", name="Close and sign"))
    close.get_by_label("Conclusion", exact=True).select_option(label="OOS confirmed — batch fails")
    close.get_by_label("Conclusion and justification").fill("OOS成立，该批原料不合格")
    sign(page, "Close and sign")
    expect(page.get_by_role("alert")).to_contain_text("The OOS investigation is closed.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("OOS confirmed")
    shot("03-qa-oos-closed")
    sign_out(page)

    sign_in_english(page, app_url, "qc_head")
    page.goto(record_url)
    sign(page, "Approve and sign", comment="同意签发")
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"Report QC-\d{4}-\d{4} approved."))
    report_number = re.search(r"QC-\d{4}-\d{4}", page.get_by_role("alert").inner_text()).group(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Does not comply with the specification")
    expect(page.get_by_test_id("signature")).to_have_count(3)
    shot("04-head-approved")

    # The report PDF downloads, with the number, the sample and the failing item.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Test report (PDF)").click()
    path = download_info.value.path()
    data = open(path, "rb").read()
    assert data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages))
    for expected in (report_number, "含量测定", "93.8%", "ZL-BZ-YL-001", "陈志强", "李晓燕", "赵敏"):
        assert expected in text, expected
