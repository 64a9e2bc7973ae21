"""The monthly ledger's complaint rate per 10,000 units shipped and its signed PDF (R-VIS-2;
AS-4.2.6; R-UX-1 both languages; R-SIG-2 the signature on the document; R-PERF-1 one query)."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from aftersales import services
from aftersales.models import LedgerSignoff
from aftersales.pdf import KIND, latest_ledger
from core.models import Document
from core.pdf import check_document
from tests.aftersales.conftest import TODAY, feedback_data, ship_data
from tests.aftersales.helpers import english_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _month():
    today = TODAY()
    return today.year, today.month


@pytest.fixture
def month_of_shipments(released, qualified_customer, users):
    """This month: 3,000 + 2,000 units of the product shipped, 1,000 more shipped and voided; two
    quality complaints and one enquiry about it. By hand: 2 × 10,000 / 5,000 = 4.00."""
    sales, cs = users["sales"], users["customer_service"]
    services.shipment_create(user=sales, data=ship_data(released, qualified_customer, quantity=3000))
    services.shipment_create(user=sales, data=ship_data(released, qualified_customer, quantity=2000, purpose="sample"))
    voided = services.shipment_create(user=sales, data=ship_data(released, qualified_customer, quantity=1000))
    services.shipment_void(shipment=voided, user=sales, password=PASSWORD, reason="录入错误")
    now = timezone.now() - timedelta(seconds=30)
    for _n in range(2):
        services.feedback_record(user=cs, data=feedback_data(batch=released, received_at=now))
    enquiry = services.feedback_record(user=cs, data=feedback_data(batch=released, received_at=now))
    services.complaint_triage(
        complaint=enquiry.complaint, user=users["qa_reviewer"], triage="enquiry", assigned_to=users["qa_reviewer"]
    )
    return released


def test_complaint_rate_per_10000_units_for_a_hand_computed_month(month_of_shipments, django_assert_num_queries):
    product = month_of_shipments.product
    with django_assert_num_queries(1):
        rates = services.visits.complaint_rates(*_month())
    assert rates == [
        {
            "product": f"{product.name} {product.strength}",
            "units": 5000,
            "complaints": 2,
            "per_10000": "4.00",
            "above_target": False,
        }
    ]
    assert services.ledger_figures(*_month())["complaint_rate"] == rates


def test_a_product_above_the_target_is_marked(month_of_shipments, users, settings):
    settings.AFTERSALES_COMPLAINT_RATE_TARGET = 3
    page = english_client(users["cs_manager"]).get(reverse("aftersales:ledger")).content.decode()
    table = re.search(r'data-testid="complaint-rate".*?</table>', page, re.S).group(0)
    assert "5000" in table and "4.00" in table and "above target" in table
    assert "Target (company setting): ≤ 3" in page


def test_complaints_without_shipments_show_no_rate(users, batch):
    services.feedback_record(user=users["customer_service"], data=feedback_data(batch=batch))
    rates = services.visits.complaint_rates(*_month())
    assert [(r["units"], r["complaints"], r["per_10000"]) for r in rates] == [(0, 1, None)]


def _pdf_text(document: Document) -> str:
    with document.file.open("rb") as fh:
        data = fh.read()
    return re.sub(r"\s+", "", "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages))


def test_signing_the_month_issues_the_bilingual_ledger_pdf(
    month_of_shipments, users, django_capture_on_commit_callbacks
):
    """The PDF carries the figures as signed, the rate table, both languages and the signature."""
    year, month = _month()
    with django_capture_on_commit_callbacks(execute=True):
        services.ledger_sign(year=year, month=month, user=users["cs_manager"], password=PASSWORD)
    signoff = LedgerSignoff.objects.get(year=year, month=month)
    document = latest_ledger(signoff)
    assert document is not None and document.kind == KIND and document.number == f"FBL-{year}-{month:02d}"
    assert check_document(document).ok
    text = _pdf_text(document)
    assert "市场信息反馈台帐" in text and "Marketfeedbackledger" in text
    assert "每万件发货投诉数" in text and "Complaintsper10,000unitsshipped" in text
    assert "4.00" in text and "5000" in text
    assert users["cs_manager"].printed_name.replace(" ", "") in text
    [sig] = document.context["signatures"]
    assert sig["printed_name"] == users["cs_manager"].printed_name and sig["valid"]
    # The page links the PDF; the link serves the document as issued (no second version).
    client = english_client(users["qa_reviewer"])
    assert 'data-testid="ledger-pdf"' in client.get(reverse("aftersales:ledger")).content.decode()
    response = client.get(reverse("aftersales:ledger_pdf") + f"?month={year}-{month:02d}")
    assert response.status_code == 302 and response.url == reverse("core:document_download", args=[document.pk])
    download = client.get(response.url)
    assert download.status_code == 200 and download["X-Document-SHA256"] == document.sha256
    assert Document.objects.filter(kind=KIND).count() == 1


def test_unsigned_month_has_no_pdf_yet(users):
    client = english_client(users["qa_reviewer"])
    response = client.get(reverse("aftersales:ledger_pdf") + "?month=2026-03", follow=True)
    assert "The ledger PDF is issued when the customer-service manager signs the month." in response.content.decode()
    assert not Document.objects.exists()


def test_pdf_issued_on_first_download_when_the_after_commit_issue_did_not_run(users):
    services.ledger_sign(year=2026, month=3, user=users["cs_manager"], password=PASSWORD)  # on_commit not run
    signoff = LedgerSignoff.objects.get(year=2026, month=3)
    assert latest_ledger(signoff) is None
    response = english_client(users["auditor"]).get(reverse("aftersales:ledger_pdf") + "?month=2026-03")
    assert response.status_code == 302
    assert latest_ledger(signoff).issued_by == users["cs_manager"]


@pytest.fixture
def month_with_enquiries(month_of_shipments, users):
    """The month above plus a feedback classified "enquiry" (reply only, no complaint). By hand:
    feedback 2 + 1 + 1 = 4, of which 1 enquiry; complaints counted 2 (the one triaged "enquiry"
    left out, as in the rate); complaints triaged as enquiries 1; rate 2 × 10,000 / 5,000 = 4.00."""
    cs = users["customer_service"]
    now = timezone.now() - timedelta(seconds=20)
    services.feedback_record(
        user=cs, data=feedback_data(received_at=now, classification="enquiry", description="请问说明书用法")
    )
    return month_of_shipments


def test_ledger_counts_complaints_as_the_rate_does_and_shows_enquiries_apart(month_with_enquiries, users):
    """Issue 10 remainder 3 (R-VIS-2): one rule for the complaints total and the rate; the page
    says what each figure counts."""
    figures = services.ledger_figures(*_month())
    assert (figures["total"], figures["enquiries"]) == (4, 1)
    assert (figures["complaints"], figures["complaint_enquiries"]) == (2, 1)
    assert sum(r["complaints"] for r in figures["complaint_rate"]) == figures["complaints"]
    page = english_client(users["cs_manager"]).get(reverse("aftersales:ledger")).content.decode()
    shown = dict(re.findall(r'data-testid="(ledger-[a-z-]+)">(\d+)<', page))
    assert shown == {
        "ledger-total": "4",
        "ledger-enquiries": "1",
        "ledger-complaints": "2",
        "ledger-complaint-enquiries": "1",
    }
    assert "Complaints (enquiries not counted, as in the complaint rate)" in page
    assert "Counted: complaints received in the month naming the product, enquiries left out" in page


def test_ledger_pdf_prints_the_same_counts_with_what_they_count(
    month_with_enquiries, users, django_capture_on_commit_callbacks
):
    year, month = _month()
    with django_capture_on_commit_callbacks(execute=True):
        services.ledger_sign(year=year, month=month, user=users["cs_manager"], password=PASSWORD)
    text = _pdf_text(latest_ledger(LedgerSignoff.objects.get(year=year, month=month)))
    assert re.search(r"Feedbackreceived\(everyclass,enquiriesincluded\)4", text)
    assert re.search(r"ofwhichenquiries1", text)
    assert re.search(r"Complaints\(enquiriesnotcounted,asinthecomplaintrate\)2", text)
    assert re.search(r"Complaintstriagedasenquiries\(notcounted\)1", text)
    assert "Counted:complaintsreceivedinthemonthnamingtheproduct,enquiriesleftout" in text


def test_ledger_csv_carries_the_same_counts_and_keeps_formulas_as_text(month_with_enquiries, users):
    """R-VIS-2 "the same in a PDF and CSV": the figures follow the month's records, labelled; a
    reporter name typed like a formula stays text."""
    import csv
    from io import StringIO

    services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(
            received_at=timezone.now() - timedelta(seconds=10), classification="suggestion", reporter_name="=1+2"
        ),
    )
    year, month = _month()
    response = english_client(users["qa_reviewer"]).get(reverse("aftersales:ledger_csv") + f"?month={year}-{month:02d}")
    rows = list(csv.reader(StringIO(response.content.decode("utf-8-sig"))))
    assert ["'=1+2"] == [r[2] for r in rows[1:] if len(r) > 2 and r[2].endswith("=1+2")]
    figures = {r[0]: r[1] for r in rows if len(r) == 2}
    assert figures == {
        "Feedback received (every class, enquiries included)": "5",
        "of which enquiries": "1",
        "Complaints (enquiries not counted, as in the complaint rate)": "2",
        "Complaints triaged as enquiries (not counted)": "1",
    }
    product = month_with_enquiries.product
    assert [f"{product.name} {product.strength}", "5000", "2", "4.00"] in rows
