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
