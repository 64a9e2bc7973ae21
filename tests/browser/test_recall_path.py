"""Issue 11's recall path in Chromium, by visible labels, with the password re-entered at every
signature (R-RCL-1…5, R-SHIP-2, R-SIG-1).

A customer's quality complaint on batch R2611901 (``recall_scenario``). QA raises recall
information from the complaint page: the whole product is locked at once — a shipment of the other
batch that sales had open on the form is refused with the lock's reason, and neither batch is
offered any more. QA analyses and proposes a class II recall of R2611901; the quality head starts
it: the lock narrows to R2611901 with the quality head's "Hold lifted" signature and R2611902 may
ship again. The coordinator records, for each consignee, the notice, the acknowledgement, the
pass-on (distributor) and the quantities returned and used; QA closes with the effectiveness
evaluation, keeping the batch as rejected; the QP approves. The final report PDF carries the
reconciliation table, the batch's disposition and the signatures; the batch page says it was
rejected after the recall.
"""

from __future__ import annotations

import re
from io import BytesIO

import pytest

from tests.browser.conftest import DEMO_PASSWORD
from tests.browser.recall_scenario import COMPLAINT_TEXT, CONSIGNEES, OTHER, RECALLED
from tests.browser.test_aftersales_path import choose, sign_in, sign_out

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

PRODUCT = "阿莫西林胶囊"


@pytest.fixture(scope="module")
def scenario(server_manage):
    server_manage("shell", "-v", "0", "-c", "from tests.browser.recall_scenario import prepare; prepare()")


def now_local(page) -> str:
    """This minute in the browser's time, as a datetime-local value: a recall step cannot be dated
    before the recall started (moments ago), nor in the future."""
    return page.evaluate(
        "() => { const d = new Date(); const p = n => String(n).padStart(2, '0');"
        " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; }"
    )


def sign_form(page, button: str):
    return page.locator("form").filter(has=page.get_by_role("button", name=button, exact=True))


def pdf_text(page, link_name: str) -> str:
    """Open the PDF behind ``link_name`` as a person does (Chromium shows it inline), fetch the same
    document with the person's session and return its text with no white space (table cells wrap)."""
    from pypdf import PdfReader

    page.get_by_role("link", name=link_name).click()
    page.wait_for_url(re.compile(r"/documents/\d+/download/"))
    response = page.context.request.get(page.url)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    data = response.body()
    assert data.startswith(b"%PDF")
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages))


def open_shipment_form(page, app_url: str) -> None:
    page.goto(app_url + "/aftersales/shipments/new/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Record a shipment")


def test_complaint_to_recall_closed_with_the_final_report(app_url, new_page, scenario, screenshot_dir):
    qa, sales = new_page(locale="en-US"), new_page(locale="en-US")
    shot = lambda p, name: p.screenshot(path=screenshot_dir / f"{name}.png", full_page=True)  # noqa: E731

    # --- Sales starts recording a shipment of the other batch (before any recall information) ------
    sign_in(sales, app_url, "sales")
    open_shipment_form(sales, app_url)
    choose(sales.get_by_label("Batch", exact=True), OTHER)
    choose(sales.get_by_label("Consignee", exact=True), CONSIGNEES[0])
    sales.get_by_label("Quantity", exact=True).fill("10")
    sales.get_by_label("Unit price (CNY)").fill("18.50")
    sales.get_by_label("Dispatch date").fill(sales.evaluate("() => new Date().toLocaleDateString('sv-SE')"))
    sales.get_by_label("Transport mode").select_option(index=1)

    # --- QA raises recall information from the complaint: the product is locked ------------------
    sign_in(qa, app_url, "qa_reviewer")
    qa.goto(app_url + "/aftersales/complaints/")
    qa.get_by_label("Search").fill(COMPLAINT_TEXT[:7])
    qa.get_by_label("Search").press("Enter")
    complaint = qa.locator("tr", has_text=RECALLED).get_by_role("link", name=re.compile(r"CMP-\d{4}-\d{4}")).first
    complaint.click()
    expect(qa.get_by_text(COMPLAINT_TEXT)).to_be_visible()
    qa.get_by_role("link", name="Raise recall information").click()
    expect(qa.get_by_role("heading", level=1)).to_contain_text("Record recall information")
    expect(qa.get_by_label("Batches named, if known")).to_have_value(RECALLED)
    qa.get_by_label("Form received in").select_option(index=1)
    qa.get_by_label("Received at").fill(now_local(qa))
    qa.get_by_label("Description").fill("投诉批 R2611901 留样溶出度不合格，怀疑普遍性问题")
    qa.get_by_role("button", name="Record and lock the product").click()
    expect(qa.get_by_role("alert")).to_contain_text("is locked — no batch of it can ship")
    info_url = qa.url
    expect(qa.get_by_test_id("locks")).to_contain_text("Whole product")
    shot(qa, "recall-01-information-locked")

    # --- The shipment sales had open is refused, with the lock's reason, on the form --------------
    sales.get_by_role("button", name=re.compile("Save|Record")).last.click()
    shipment_form = sales.locator("form").filter(has=sales.get_by_label("Quantity", exact=True))
    expect(shipment_form).to_contain_text(f"every batch, including {OTHER}) is locked")
    expect(shipment_form).to_contain_text("Recall information RCI-")
    shot(sales, "recall-02-shipment-refused")
    open_shipment_form(sales, app_url)
    batch_select = sales.get_by_label("Batch", exact=True)
    expect(batch_select.locator("option", has_text=RECALLED)).to_have_count(0)
    expect(batch_select.locator("option", has_text=OTHER)).to_have_count(0)

    # --- QA analyses and proposes a class II recall of one batch ----------------------------------
    analyse = sign_form(qa, "Sign the analysis")
    analyse.get_by_label("General").check()
    analyse.get_by_label("Analysis").fill("多个储存点留样均不合格，属普遍性问题，限于 R2611901")
    analyse.get_by_label("QA's proposal").fill("建议启动二级召回 R2611901")
    analyse.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    analyse.get_by_role("button", name="Sign the analysis").click()
    expect(qa.get_by_role("alert")).to_be_visible()
    qa.get_by_role("link", name="Propose a recall").click()
    propose = sign_form(qa, "Sign and propose")
    propose.get_by_label("Voluntary or ordered").select_option(label="Voluntary recall")
    propose.get_by_label("Recall class").select_option(index=2)
    propose.get_by_label("Reason for the recall").fill("溶出度不合格")
    propose.get_by_label("Health-hazard evaluation").fill("可能导致疗效降低，危害暂时、可逆")
    propose.get_by_label("Affected batches").select_option(label=RECALLED)
    propose.get_by_label("Depth of the recall").select_option(index=1)
    propose.get_by_label("Recall coordinator").select_option(index=1)
    propose.get_by_label("Qualified person informed").select_option(index=1)
    propose.get_by_label("Quantity to recover").fill("300")
    propose.get_by_label("Measures (organisation, scope, time limits)").fill("质量部组织，7日内完成")
    propose.get_by_label("How and where the recall is published").fill("公司网站")
    propose.get_by_label("Expected effect").fill("全部收回")
    propose.get_by_label("Target effectiveness (%)").fill("95")
    propose.get_by_label("Recovery to be complete by").fill(
        qa.evaluate("() => new Date(Date.now() + 14 * 86400000).toLocaleDateString('sv-SE')")
    )
    propose.get_by_label("Handling after recovery").fill("隔离存放，监督销毁")
    propose.get_by_label("Contact person").fill("王经理 0571-1234567")
    propose.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    propose.get_by_role("button", name="Sign and propose").click()
    expect(qa.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Recall RCL-\d{4}-\d{4}"))
    recall_url = qa.url
    recall_number = re.search(r"RCL-\d{4}-\d{4}", qa.get_by_role("heading", level=1).inner_text()).group(0)
    sign_out(qa)

    # --- The quality head starts it: the lock narrows to the batch, with a signature ---------------
    sign_in(qa, app_url, "quality_head")
    qa.goto(recall_url)
    start = sign_form(qa, "Start the recall and sign")
    expect(start).to_contain_text("with the meaning Approved.")
    start.get_by_label("Reason for change").fill("同意启动二级召回")
    start.get_by_label("Your password (to sign)").fill("not-my-password")
    start.get_by_role("button", name="Start the recall and sign").click()
    expect(qa.get_by_role("alert").first).to_contain_text("Wrong password")
    start = sign_form(qa, "Start the recall and sign")
    start.get_by_label("Reason for change").fill("同意启动二级召回")
    start.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    start.get_by_role("button", name="Start the recall and sign").click()
    expect(qa.get_by_role("heading", level=1)).to_contain_text("In progress")
    expect(qa.get_by_test_id("recalled-batches")).to_contain_text(f"Hold {RECALLED}: Active")
    expect(qa.get_by_test_id("consignees")).to_contain_text(CONSIGNEES[0])
    expect(qa.get_by_test_id("consignees")).to_contain_text(CONSIGNEES[1])
    qa.goto(info_url)
    locks = qa.get_by_test_id("locks")
    expect(locks).to_contain_text("Whole product: Lifted")
    expect(locks).to_contain_text("lifted by")
    lift_signature = locks.get_by_test_id("signature")
    expect(lift_signature).to_contain_text("(quality_head) · Hold lifted")
    expect(lift_signature).to_contain_text("Signature valid")
    shot(qa, "recall-03-lock-narrowed")
    sign_out(qa)

    # The other batch may ship again; the recalled one may not.
    open_shipment_form(sales, app_url)
    batch_select = sales.get_by_label("Batch", exact=True)
    expect(batch_select.locator("option", has_text=OTHER)).to_have_count(1)
    expect(batch_select.locator("option", has_text=RECALLED)).to_have_count(0)
    sign_out(sales)

    # --- The coordinator records notices, acknowledgements and quantities for each consignee -------
    sign_in(qa, app_url, "recall_coordinator")
    returned = {CONSIGNEES[0]: ("190", "10"), CONSIGNEES[1]: ("100", "0")}
    for name in CONSIGNEES:
        qa.goto(recall_url)
        qa.get_by_test_id("consignees").get_by_role("link", name=name).click()
        notify = sign_form(qa, "Record the notice")
        notify.get_by_label("Notified by").select_option(index=1)
        notify.get_by_label("Notified at").fill(now_local(qa))
        notify.get_by_role("button", name="Record the notice").click()
        expect(qa.get_by_role("alert").first).to_be_visible()
        ack = sign_form(qa, "Record the acknowledgement")
        ack.get_by_label("Acknowledged at").fill(now_local(qa))
        ack.get_by_label("Acknowledged by (name at the consignee)").fill("质管部陈经理")
        ack.get_by_role("button", name="Record the acknowledgement").click()
        expect(qa.get_by_role("alert").first).to_be_visible()
        if name == CONSIGNEES[0]:  # the distributor passes the notice on to its customers
            pass_on = sign_form(qa, "Confirm the pass-on")
            pass_on.get_by_label("Pass-on confirmed at").fill(now_local(qa))
            pass_on.get_by_role("button", name="Confirm the pass-on").click()
            expect(qa.get_by_role("alert").first).to_be_visible()
        back, used = returned[name]
        quantities = sign_form(qa, "Save the quantities")
        quantities.get_by_label("Held at the consignee").fill("0")
        quantities.get_by_label("Returned", exact=True).fill(back)
        quantities.get_by_label("Used or dispensed").fill(used)
        quantities.get_by_label("Destroyed on site").fill("0")
        quantities.get_by_label("Reason for change").fill("电话核实数量")
        quantities.get_by_role("button", name="Save the quantities").click()
        expect(qa.get_by_test_id("outstanding")).to_have_text("0")
    qa.goto(recall_url)
    reconciliation = qa.get_by_test_id("reconciliation")
    expect(reconciliation).to_contain_text("100.0 %")
    expect(reconciliation).to_contain_text("2 / 2")
    shot(qa, "recall-04-consignees-accounted")
    sign_out(qa)

    # --- QA closes with the effectiveness evaluation, keeping the batch as rejected ----------------
    sign_in(qa, app_url, "qa_reviewer")
    qa.goto(recall_url)
    close = sign_form(qa, "Close and sign")
    close.get_by_label("Effectiveness evaluation").fill("已收回 290，使用 10，有效率100%，召回有效")
    close.get_by_label("Keep the batches held as rejected goods").check()
    close.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    close.get_by_role("button", name="Close and sign").click()
    expect(qa.get_by_role("heading", level=1)).to_contain_text("Closed by QA — awaiting the QP")
    sign_out(qa)

    # --- The QP approves the final report ----------------------------------------------------------
    sign_in(qa, app_url, "qualified_person")
    qa.goto(recall_url)
    approve = sign_form(qa, "Approve and sign")
    approve.get_by_label("Reason for change").fill("同意关闭，批次判为不合格")
    approve.get_by_label("Your password (to sign)").fill(DEMO_PASSWORD)
    approve.get_by_role("button", name="Approve and sign").click()
    expect(qa.get_by_role("heading", level=1)).to_have_text(re.compile(r"Recall RCL-\d{4}-\d{4}\s+Closed\s*$"))
    expect(qa.get_by_test_id("rejected-batch")).to_contain_text(f"{RECALLED}: Rejected after recall {recall_number}")
    shot(qa, "recall-05-closed")

    qp_name = re.search(r"(\S+) \(qualified_person\)", qa.get_by_test_id("current-user").inner_text()).group(1)
    text = pdf_text(qa, "Final report (PDF)")
    assert recall_number in text and "召回总结报告" in text and "Reconciliation" in text
    # Each consignee's row: shipped, held, returned, used, destroyed on site, outstanding.
    assert f"{CONSIGNEES[0]}{RECALLED}20001901000" in text, text
    assert f"{CONSIGNEES[1]}{RECALLED}1000100000" in text, text
    assert re.search(r"Total30002901000" + re.escape("2/2"), text), text  # … and notified 2 of 2
    assert "召回有效" in text and "Effectiveness" in text
    assert re.search(rf"{RECALLED}[^R]{{0,40}}Rejected{re.escape(qp_name)}", text), text
    for meaning in ("Prepared", "Approved", "Closed", qp_name):
        assert meaning in text
    qa.go_back()

    # --- The batch page says it was rejected after the recall --------------------------------------
    qa.goto(app_url + "/release/batches/")
    qa.get_by_label("Search").fill(RECALLED)
    qa.get_by_label("Search").press("Enter")
    qa.get_by_role("link", name=RECALLED, exact=True).first.click()
    expect(qa.get_by_test_id("rejection-after-recall")).to_contain_text(f"Rejected after recall {recall_number}")
    expect(qa.get_by_role("heading", level=1)).to_contain_text("Rejected")
    shot(qa, "recall-06-batch-rejected")
