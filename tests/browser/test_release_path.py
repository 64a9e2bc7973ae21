"""The batch release path in Chromium, by visible labels (issue 9 item 7; R-REL-1…6, R-SEQ-2, R-SIG-1,
R-SHIP-2): production, QC and QA review demo batch A2611008 (approved QC report) and sign; a second
QA person applies the release stamp; the designated QP is refused with a wrong password, then
releases with the right one; the certificate PDF downloads; the batch page says it may ship. And a
refusal on the page: the QP cannot release A2610006, which QA evaluated as nonconforming.
"""

from __future__ import annotations

import re
from io import BytesIO

import pytest

from tests.browser.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

BATCH = "A2611008"
JUSTIFICATION = "Checked against the original batch record"


def sign_in(page, app_url: str, username: str) -> None:
    page.goto(app_url + "/accounts/login/")
    if page.locator("html").get_attribute("lang") != "en":
        page.get_by_role("button", name="English", exact=True).click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("current-user")).to_contain_text(f"({username})")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def open_review(page, number: str) -> None:
    page.get_by_role("link", name="Batches", exact=True).click()
    page.get_by_role("link", name=number, exact=True).first.click()
    page.get_by_role("link", name="Release review", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)


def answer_all_conforming(page) -> None:
    form = page.get_by_test_id("checklist-form")
    rows = form.locator("tbody tr")
    for n in range(rows.count()):
        row = rows.nth(n)
        row.get_by_label("Conforms").check()
        row.get_by_label("Justification").fill(JUSTIFICATION)


def sign_stage(page, stage_heading: str) -> None:
    form = page.get_by_test_id("checklist-form")
    form.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    form.get_by_role("button", name="Sign this stage", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text(f"{stage_heading} signed.")


def test_release_path_through_every_stage_to_the_certificate_and_the_gate(app_url, new_page, screenshot_dir):
    page = new_page(locale="en-US")
    shot = lambda name: page.screenshot(path=screenshot_dir / f"release-{name}.png", full_page=True)  # noqa: E731

    # --- Production reviewer starts the review and signs P-4.2.1…14 --------------------------------
    sign_in(page, app_url, "production_reviewer")
    open_review(page, BATCH)
    page.get_by_role("button", name="Start the release review", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text(f"The release review of batch {BATCH} has started.")
    expect(page.get_by_test_id("checklist-form")).to_contain_text("P-4.2.14")
    # Signing with nothing answered: told beside each item, nothing signed.
    page.get_by_test_id("checklist-form").get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    page.get_by_test_id("checklist-form").get_by_role("button", name="Sign this stage").click()
    expect(page.get_by_text("Answer this item.").first).to_be_visible()
    expect(page.get_by_test_id("timeline")).to_contain_text("Not signed yet.")
    answer_all_conforming(page)
    sign_stage(page, "Production review")
    shot("01-production-signed")
    sign_out(page)

    # --- QC reviewer -------------------------------------------------------------------------------
    sign_in(page, app_url, "qc_reviewer")
    open_review(page, BATCH)
    expect(page.get_by_test_id("checklist-form")).to_contain_text("QC-4.3.2.8")
    answer_all_conforming(page)
    sign_stage(page, "QC review")
    sign_out(page)

    # --- QA: checklist, the audit trail read, both conclusions ------------------------------------
    sign_in(page, app_url, "qa_reviewer")
    open_review(page, BATCH)
    form = page.get_by_test_id("checklist-form")
    expect(form).to_contain_text("GMP-230.1.6")
    answer_all_conforming(page)
    form.locator("div.mb-3").filter(has=page.get_by_text("Production evaluation", exact=True)).get_by_label(
        "Pass"
    ).check()
    form.locator("div.mb-3").filter(has=page.get_by_text("Testing evaluation", exact=True)).get_by_label("Pass").check()
    form.get_by_label("I have read the batch's critical-data changes listed on this page.").check()
    sign_stage(page, "QA review and evaluation")
    shot("02-qa-signed")
    # One person signs at most one stage: the stamp is not offered to the QA reviewer who evaluated.
    expect(page.get_by_test_id("stamp-form")).to_have_count(0)
    expect(page.get_by_test_id("stage-refusal")).to_contain_text("one person signs at most one stage")
    sign_out(page)

    # --- A second QA person applies the release stamp ------------------------------------------------
    sign_in(page, app_url, "qa_reviewer2")
    open_review(page, BATCH)
    stamp = page.get_by_test_id("stamp-form")
    expect(stamp).to_contain_text("药品经质量受权人批准准予放行")
    stamp.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    stamp.get_by_role("button", name="Apply the stamp and sign", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("The release stamp was applied and signed.")
    sign_out(page)

    # --- The designated QP: wrong password refused, then the release --------------------------------
    sign_in(page, app_url, "qualified_person")
    open_review(page, BATCH)
    decision = page.get_by_test_id("decision-forms")
    expect(decision).to_contain_text("真实性、完整性")  # the responsibility statement (ZL-086 4.4.2)
    release_form = decision.locator("form").filter(has=page.get_by_role("button", name="Release and sign"))
    expect(release_form).to_contain_text("with the meaning Released.")
    release_form.get_by_label("Your password (to sign)").fill("not-my-password")
    release_form.get_by_role("button", name="Release and sign", exact=True).click()
    expect(page.get_by_text("Wrong password: the signature was not applied.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Awaiting the qualified person")
    release_form = (
        page.get_by_test_id("decision-forms")
        .locator("form")
        .filter(has=page.get_by_role("button", name="Release and sign"))
    )
    release_form.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    # The certificate is rendered as the release commits: give a loaded machine time.
    release_form.get_by_role("button", name="Release and sign", exact=True).click(timeout=60_000)
    expect(page.get_by_role("alert").first).to_contain_text(f"Batch {BATCH} was released and signed.", timeout=60_000)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Released")
    shot("03-released")

    # --- The certificate PDF downloads (the link on the page) -------------------------------------------------------------
    documents = page.get_by_test_id("documents")
    link = documents.get_by_role("link", name=re.compile(r"RC-A2611008-\d+ v1"))
    # The link serves the PDF inline (Chromium would show it): fetch it with the session's cookies.
    response = page.request.get(app_url + link.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = response.body()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages))
    assert BATCH in text and "药品经质量受权人批准准予放行" in text and "P-4.2.14" in text

    # --- The shipping gate on the batch page ---------------------------------------------------------
    page.get_by_role("link", name=BATCH, exact=True).first.click()
    expect(page.get_by_test_id("may-ship")).to_have_text("This batch may ship.")
    shot("04-may-ship")


def test_the_qp_is_refused_on_the_page_for_a_nonconforming_batch(app_url, new_page):
    """R-REL-4: A2610006 was evaluated nonconforming (no QC record: 不合格); the QP's release is
    refused with the reason on the page, and the batch stays with the QP (rejection remains)."""
    page = new_page(locale="en-US")
    sign_in(page, app_url, "qualified_person")
    open_review(page, "A2610006")
    expect(page.get_by_test_id("blockers")).to_be_visible()
    release_form = (
        page.get_by_test_id("decision-forms")
        .locator("form")
        .filter(has=page.get_by_role("button", name="Release and sign"))
    )
    release_form.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    release_form.get_by_role("button", name="Release and sign", exact=True).click()
    expect(
        page.get_by_text("Only a batch QA evaluated as conforming, with the release stamp, can be released.")
    ).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Awaiting the qualified person")
    page.get_by_role("link", name="A2610006", exact=True).first.click()
    expect(page.get_by_test_id("may-ship")).to_have_count(0)


def test_the_factory_release_qp_gets_no_market_decision_and_the_url_refuses(app_url, new_page):
    """R-REL-5, R-REL-7, R-SEQ-2: B2611003 (two-stage product) waits for market release; the demo
    QP factory-released it (and is designated for the factory stage only). The page offers no
    decision and says why; a POST straight to the release URL is refused and the batch stays
    where it was. (A QP with no designation at all: 403, tests/release/test_review_pages.py.)"""
    page = new_page(locale="en-US")
    sign_in(page, app_url, "qualified_person")
    open_review(page, "B2611003")
    expect(page.get_by_role("heading", level=1)).to_contain_text("market release")
    expect(page.get_by_test_id("decision-forms")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Release"))).to_have_count(0)
    expect(page.get_by_test_id("stage-refusal")).to_contain_text("one person signs at most one stage")

    review_url = page.url
    batch_path = re.search(r"/release/batches/\d+/", review_url).group(0)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        app_url + batch_path + "review/release/",
        form={"csrfmiddlewaretoken": token, "password": DEMO_PASSWORD, "comment": ""},
        headers={"Referer": review_url},
        max_redirects=0,
    )
    # Refused: 403 (no designation), 400 (the form re-shown with its errors) or back to the page with
    # the reason — never a decision.
    assert response.status in (302, 400, 403), response.status
    page.goto(review_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("market release")
    expect(page.get_by_test_id("decision-forms")).to_have_count(0)
