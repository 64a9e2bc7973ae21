"""Issue 7's path in Chromium, by visible labels: a failing value cannot be tested into compliance,
and a corrected report supersedes the first one where a reader checks it.

The analyst registers a raw-material sample and saves a failing assay (93.0 %, limits 95.0–105.0 %):
the OOS opens at once (R-QC-5). The analyst then tries to "correct" it to 98.0 % as a typo by
lifting the lock in the browser: refused beside the field, and the attempt is kept. The reviewer
sees the failing value, the refused correction (value, reason, who) and the open OOS. The QC head
records an assignable laboratory cause; QA approves the laboratory-error conclusion with a
signature (the result is invalidated, a retest is added). The analyst enters the retest, the
reviewer reviews, the QC head approves: report version 1. The QC head and QA reopen the approved
record for a correction; it is corrected, re-reviewed and re-approved: report version 2 prints
"supersedes …-v1", and v1's verification page says it is superseded by version 2 and links it
(R-QC-5, R-QC-10, R-AT-5, R-SIG-3).
"""

from __future__ import annotations

import re
from io import BytesIO

import pytest

from tests.browser.test_qc_record_path import choose, sign, sign_in_english, sign_out

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

LOT = "AMX-2611-OOS7"  # this test's own sample: tests share the browser server


def pdf_text(page, link_name: str) -> str:
    """Download the PDF behind ``link_name`` and return its text without white space."""
    from pypdf import PdfReader

    with page.expect_download() as download_info:
        page.get_by_role("link", name=link_name).click()
    data = open(download_info.value.path(), "rb").read()
    assert data.startswith(b"%PDF")
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages))


def verification_code(text: str) -> str:
    match = re.search(r"([0-9A-Z]{4}(?:-[0-9A-Z]{4}){2,})", text.split("Verificationcode", 1)[1])
    assert match, "no verification code printed"
    return match.group(1)


def approve_and_read_report(page, record_url: str) -> tuple[str, str]:
    page.goto(record_url)
    sign(page, "Approve and sign", comment="同意签发")
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"Report QC-\d{4}-\d{4} approved."))
    number = re.search(r"QC-\d{4}-\d{4}", page.get_by_role("alert").inner_text()).group(0)
    return number, pdf_text(page, "Test report (PDF)")


def review(page, record_url: str) -> None:
    page.goto(record_url)
    form = page.locator("form").filter(has=page.get_by_role("button", name="Sign “Reviewed”"))
    for box in form.get_by_role("checkbox").all():
        box.check()
    sign(page, "Sign “Reviewed”", comment="复核无误")
    expect(page.get_by_role("alert")).to_contain_text("Signed “Reviewed”")


def test_a_failing_assay_is_investigated_retested_reported_and_its_corrected_report_supersedes_v1(
    app_url, new_page, screenshot_dir
):
    page = new_page(locale="en-US")
    shot = lambda name: page.screenshot(path=screenshot_dir / f"qc-integrity-{name}.png", full_page=True)  # noqa: E731

    # --- Analyst: registers the sample, saves a failing assay: the OOS opens at once -------------
    sign_in_english(page, app_url, "qc_analyst")
    page.goto(app_url + "/qc/samples/new/")
    page.get_by_label("Category").select_option(label="Raw material / excipient")
    spec = page.get_by_label("Specification")
    spec.select_option(spec.locator("option", has_text="ZL-BZ-YL-001").first.get_attribute("value"))
    page.get_by_label("Material / subject").fill("阿莫西林（原料）")
    page.get_by_label("Batch / lot number").fill(LOT)
    page.get_by_label("Quantity").fill("150")
    page.get_by_label("Unit", exact=True).fill("g")
    page.get_by_label("Supplier").fill("华北制药股份有限公司")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("registered.")
    page.get_by_role("button", name="Start the test record", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Test record started against ZL-BZ-YL-001 v1.")

    page.get_by_label("Room temperature (°C)").fill("22.0")
    page.get_by_label("Relative humidity (%)").fill("50.0")
    choose(page, "Instruments and volumetric glassware used", "QC-BAL-01", "QC-HPLC-01")
    choose(page, "Reagents, test solutions, titrants, culture media and reference standards used", "阿莫西林对照品")
    page.get_by_label("性状 #1", exact=True).fill("白色结晶性粉末")
    page.get_by_label("性状 #1 judgement").select_option(label="Complies")
    page.get_by_label("水分 #1", exact=True).fill("13.1")
    page.get_by_label("含量测定 #1", exact=True).fill("93.0")
    page.get_by_label("含量测定 #1 calculation").fill("外标法：A样/A对×C对×D/W")
    page.get_by_role("button", name="Save results", exact=True).click()
    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text("Saved.")
    expect(alert).to_contain_text(re.compile(r"Out of specification: OOS-\d{4}-\d{3} opened"))
    oos_number = re.search(r"OOS-\d{4}-\d{3}", alert.inner_text()).group(0)
    record_url = page.url
    expect(page.get_by_test_id("open-oos")).to_contain_text(oos_number)
    expect(page.get_by_test_id("results").locator("tr", has_text="含量测定")).to_contain_text("93.0%")

    # The "typo" correction: the form shows the value locked under the OOS ...
    page.get_by_role("link", name="Enter results").click()
    assay = page.get_by_label("含量测定 #1", exact=True)
    expect(assay).to_be_disabled()
    expect(page.locator("tr", has_text="含量测定")).to_contain_text("Under OOS investigation: stands as recorded.")
    # ... so the analyst lifts the lock in the browser and posts 98.0 anyway: refused beside the field.
    assay.evaluate("el => el.removeAttribute('disabled')")
    assay.fill("98.0")
    page.get_by_label("Reason for change").fill("typo")
    page.get_by_role("button", name="Save results", exact=True).click()
    expect(
        page.get_by_text(f"This result is under OOS investigation {oos_number} and cannot be changed")
    ).to_be_visible()
    page.goto(record_url)
    expect(page.get_by_test_id("results").locator("tr", has_text="含量测定")).to_contain_text("93.0%")
    sign(page, "Sign “Tested” and submit for review", comment="含量测定结果超标，已报告")
    expect(page.get_by_role("alert").first).to_contain_text("Signed “Tested”")
    shot("01-analyst-submitted")
    sign_out(page)

    # --- Reviewer: sees the value, the refused correction and the OOS ----------------------------
    sign_in_english(page, app_url, "qc_reviewer")
    page.goto(record_url)
    assay_row = page.get_by_test_id("results").locator("tr", has_text="含量测定")
    expect(assay_row).to_contain_text("93.0%")
    expect(assay_row).to_contain_text("Does not comply")
    expect(assay_row).to_contain_text(oos_number)
    refused = assay_row.get_by_test_id("refused-correction")
    expect(refused).to_contain_text("Correction refused (result under OOS investigation)")
    expect(refused).to_contain_text("tried to change it to 98.0%")
    expect(refused).to_contain_text("typo")
    expect(refused).to_contain_text("李晓燕")  # the analyst (qc_analyst in the demo)
    expect(page.get_by_test_id("open-oos")).to_contain_text(oos_number)
    shot("02-reviewer-sees-attempt")
    sign_out(page)

    # --- QC head finds a laboratory cause; QA approves the conclusion with a signature -----------
    sign_in_english(page, app_url, "qc_head")
    page.goto(record_url)
    page.get_by_test_id("open-oos").get_by_role("link", name=oos_number).click()
    page.get_by_label("Phase I findings").fill(
        "对照品溶液稀释倍数计算错误（应为50倍，实际按25倍计算），可归属的实验室原因。"
    )
    page.get_by_label("Assignable laboratory cause found?").select_option(label="Yes")
    page.get_by_role("button", name="Save findings", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Findings recorded.")
    expect(page.get_by_test_id("close-by-qa")).to_be_visible()
    oos_url = page.url
    sign_out(page)

    sign_in_english(page, app_url, "qa_reviewer")
    page.goto(oos_url)
    close = page.locator("form").filter(has=page.get_by_role("button", name="Close and sign"))
    close.get_by_label("Conclusion", exact=True).select_option(label="Laboratory error — result invalidated, retest")
    close.get_by_label("Conclusion and justification").fill("实验室差错：稀释倍数错误，原结果无效，重新检验")
    sign(page, "Close and sign")
    expect(page.get_by_role("alert")).to_contain_text("The OOS investigation is closed.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Laboratory error")
    shot("03-qa-lab-error")
    sign_out(page)

    # --- Analyst retests; reviewer reviews; QC head approves: report v1 --------------------------
    sign_in_english(page, app_url, "qc_analyst")
    page.goto(record_url)
    expect(page.get_by_test_id("results").locator("tr", has_text="含量测定").first).to_contain_text("Invalidated")
    page.get_by_role("link", name="Enter results").click()
    page.get_by_label("含量测定 #1", exact=True).fill("98.6")
    page.get_by_label("含量测定 #1 calculation").fill("外标法：A样/A对×C对×D/W（稀释50倍）")
    page.get_by_role("button", name="Save results", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("Saved.")
    sign(page, "Sign “Tested” and submit for review", comment="复检")
    expect(page.get_by_role("alert").first).to_contain_text("Signed “Tested”")
    sign_out(page)

    sign_in_english(page, app_url, "qc_reviewer")
    review(page, record_url)
    # The invalidated 93.0 stays visible, struck through, beside the retest and the refused attempt.
    rows = page.get_by_test_id("results")
    expect(rows).to_contain_text("93.0%")
    expect(rows).to_contain_text("98.6%")
    expect(rows.get_by_test_id("refused-correction")).to_contain_text("98.0%")
    sign_out(page)

    sign_in_english(page, app_url, "qc_head")
    report_number, v1_text = approve_and_read_report(page, record_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Complies with the specification")
    for expected in (report_number, "98.6%", oos_number, LOT):
        assert expected in v1_text, expected
    v1_code = verification_code(v1_text)
    shot("04-v1-approved")

    # --- Reopened for correction: QC head asks, QA co-signs -------------------------------------
    page.get_by_text("Reopen for correction (QC head, then QA)").click()
    reopen = page.locator("form").filter(has=page.get_by_role("button", name="Request reopening and sign"))
    reopen.get_by_label("Reason for change").fill("水分结果抄写错误：原始记录为13.2%")
    sign(page, "Request reopening and sign")
    expect(page.get_by_test_id("reopen-requested")).to_contain_text("水分结果抄写错误")
    sign_out(page)

    sign_in_english(page, app_url, "qa_reviewer")
    page.goto(record_url)
    sign(page, "Reopen and sign", comment="同意更正")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    sign_out(page)

    # --- Corrected, re-tested, re-reviewed, re-approved: report v2 ------------------------------
    sign_in_english(page, app_url, "qc_analyst")
    page.goto(record_url)
    page.get_by_role("link", name="Enter results").click()
    page.get_by_label("水分 #1", exact=True).fill("13.2")
    page.get_by_label("Reason for change").fill("抄写错误，以原始记录为准")
    page.get_by_role("button", name="Save results", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("Saved.")
    sign(page, "Sign “Tested” and submit for review", comment="更正后提交")
    expect(page.get_by_role("alert").first).to_contain_text("Signed “Tested”")
    sign_out(page)

    sign_in_english(page, app_url, "qc_reviewer")
    review(page, record_url)
    expect(page.get_by_test_id("corrections").first).to_contain_text("13.1%")
    sign_out(page)

    sign_in_english(page, app_url, "qc_head")
    number_again, v2_text = approve_and_read_report(page, record_url)
    assert number_again == report_number  # the corrected report keeps its number (R-QC-10)
    assert f"{report_number}-v1" in v2_text and "13.2%" in v2_text
    v2_code = verification_code(v2_text)
    assert v2_code != v1_code
    shot("05-v2-approved")

    # --- Verification: v1 says it is superseded by version 2 and links it -----------------------
    page.goto(app_url + "/verify/")
    page.get_by_label("Verification code").fill(v1_code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("verdict")).to_contain_text("This document is intact, but a newer version replaces it.")
    expect(page.get_by_test_id("supersession")).to_contain_text("Superseded by version 2")
    expect(page.get_by_test_id("version")).to_contain_text("1")
    # Its signatures verify against the record as it was when signed (the audit trail), not the corrected one.
    expect(page.get_by_test_id("document-signature")).to_have_count(3)
    for signature in page.get_by_test_id("document-signature").all():
        expect(signature).to_contain_text("Signature valid for this version, as signed")
    shot("06-v1-superseded")
    page.get_by_role("link", name="Open the current version").click()
    expect(page.get_by_test_id("verdict")).to_contain_text("This document is intact and is the current version.")
    expect(page.get_by_test_id("version")).to_contain_text("2 · replaces version 1")
    expect(page.locator("code", has_text=v2_code)).to_be_visible()
    shot("07-v2-current")
