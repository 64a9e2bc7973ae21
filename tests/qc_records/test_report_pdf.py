"""The 检验报告书 PDF: issued after approval, fonts embedded, key text, signatures manifested."""

import hashlib
import re
import shutil
import subprocess
from io import BytesIO

import pytest
from django.urls import reverse
from pypdf import PdfReader

from core.models import Document
from qc_records import pdf, services
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://qc.example.com"


@pytest.fixture
def report(qc, reviewed_record, django_capture_on_commit_callbacks, settings):
    """Approval schedules the report after commit; run that callback as a commit would."""
    settings.DOCUMENTS_ISSUE_ON_COMMIT = True
    with django_capture_on_commit_callbacks(execute=True):
        record = services.record_approve(record=reviewed_record, user=qc.head, password=PASSWORD)
    return record, Document.objects.for_record(record).get(kind=pdf.KIND)


def _text(document) -> str:
    with document.file.open("rb") as fh:
        data = fh.read()
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def test_approval_issues_the_report_with_number_hash_and_code(report):
    record, document = report
    assert document.number == record.report_number and document.version == 1
    with document.file.open("rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == document.sha256
    assert document.issued_by == record.approved_by


def test_report_prints_the_key_text_and_every_signature(report, qc):
    """R-SIG-2, R-QC-6: number, product, batch, specification, items, conclusion, the three signers."""
    record, document = report
    text = _text(document)
    compact = re.sub(r"\s+", "", text)
    for expected in (
        record.report_number,
        record.sample.number,
        record.sample.lot_number,
        record.specification.code,
        "含量测定",
        "95.0%～105.0%",
        "99.6%",
        "中国药典2025年版二部",
    ):
        assert re.sub(r"\s+", "", expected) in compact, expected
    for person in (qc.analyst, qc.reviewer, qc.head):
        assert person.printed_name in compact
    assert document.code_display.replace("-", "") in compact.replace("-", "")
    assert "Complies" in text or "符合规定" in compact
    meanings = [s["meaning"] for s in document.context["signatures"]]
    assert meanings == ["tested", "reviewed", "approved"] and all(s["valid"] for s in document.context["signatures"])


def test_cjk_fonts_are_embedded(report):
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) is not installed")
    _record, document = report
    out = subprocess.run(["pdffonts", document.file.path], capture_output=True, text=True, check=True).stdout
    fonts = [line for line in out.splitlines()[2:] if line.strip()]
    parsed = [(line.split()[0], re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)) for line in fonts]
    assert parsed and all(m is not None and m.group(1) == "yes" for _n, m in parsed), out
    assert any("CJK" in name for name, _m in parsed), out


def test_report_download_serves_the_issued_file(report, qc, client_for):
    record, document = report
    response = client_for(qc.qp).get(reverse("qc_records:record_report", args=[record.pk]))
    assert response.status_code == 302 and response.url == reverse("core:document_download", args=[document.pk])
    pdf_response = client_for(qc.qp).get(response.url)
    assert pdf_response.status_code == 200 and pdf_response["X-Document-SHA256"] == document.sha256


def test_report_is_issued_on_first_download_when_missing(approved_record, qc, client_for):
    """If the after-commit rendering did not run, the first download issues it (once)."""
    assert not Document.objects.for_record(approved_record).exists()
    client = client_for(qc.reviewer)
    client.get(reverse("qc_records:record_report", args=[approved_record.pk]))
    client.get(reverse("qc_records:record_report", args=[approved_record.pk]))
    assert Document.objects.for_record(approved_record).count() == 1


def test_no_report_before_approval(reviewed_record, qc, client_for):
    assert client_for(qc.head).get(reverse("qc_records:record_report", args=[reviewed_record.pk])).status_code == 404


def test_report_prints_instruments_reagents_and_calculations(report, instrument, reagent):
    """R-QC-1: the report states the instruments (ID, model, calibration due when used), the
    reagents / reference standards (lot, source, expiry) and each item's calculation."""
    _record, document = report
    compact = re.sub(r"\s+", "", _text(document))
    for expected in (
        instrument.code,
        instrument.model,
        instrument.calibration_due.isoformat(),
        "所用仪器",
        reagent.name,
        reagent.lot_number,
        reagent.source,
        reagent.expiry_date.isoformat(),
        "所用试剂和对照品",
        "按外标法计算",
    ):
        assert re.sub(r"\s+", "", expected) in compact, expected


def test_a_failing_individual_result_is_marked_on_the_report(
    qc, draft_record, instrument, reagent, django_capture_on_commit_callbacks, settings
):
    """R-QC-2: one of three dissolution units below Q fails the item, and the report shows which."""
    from qc_records.models import OOSInvestigation
    from tests.qc_records.helpers import fill

    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent, overrides={"溶出度": {2: "75"}})
    services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    oos = OOSInvestigation.objects.get()
    services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "无实验室原因", "assignable_cause": False})
    services.oos_start_phase_two(oos=oos, user=qc.analyst, reason="进入第二阶段")
    services.oos_update(oos=oos, user=qc.analyst, data={"phase2_findings": "工艺调查确认"})
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="confirmed", summary="确认不合格")
    services.record_review(checklist=ALL_CONFIRMED, record=draft_record, user=qc.reviewer, password=PASSWORD)
    settings.DOCUMENTS_ISSUE_ON_COMMIT = True
    with django_capture_on_commit_callbacks(execute=True):
        services.record_approve(record=draft_record, user=qc.head, password=PASSWORD)
    document = Document.objects.for_record(draft_record).get(kind=pdf.KIND)
    dissolution = next(i for i in document.context["items"] if i["name"] == "溶出度")
    assert [r["fails"] for r in dissolution["results"]] == [False, True, False]
    assert dissolution["fails"] and "不符合规定" in re.sub(r"\s+", "", _text(document))


def test_record_page_and_report_state_the_dosage_form(report, qc, client_for):
    """R-QC-1 (检验记录管理规程 4.1: 名称、剂型、规格、批号): the product's dosage form is on the
    record page and, in both languages, on the report."""
    record, document = report
    html = client_for(qc.reviewer).get(reverse("qc_records:record_detail", args=[record.pk])).content.decode()
    assert "Capsule" in html or "胶囊" in html
    assert document.context["sample"]["dosage_form"] == {"zh-hans": "胶囊剂", "en": "Capsule"}
    assert "胶囊剂" in re.sub(r"\s+", "", _text(document))
