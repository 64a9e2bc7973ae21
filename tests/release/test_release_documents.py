"""The 放行审核单 (ZL-086) certificate and the 不合格品报告单: issued after the QP's decision, fonts
embedded, the stamp wording, every signature manifested, tamper shows (R-REL-6, R-SIG-2, R-SIG-3)."""

import re
import shutil
import subprocess
from io import BytesIO

import pytest
from pypdf import PdfReader

from core.models import Document
from core.pdf import check_document
from release import pdf, services
from release.models import ReviewStep, Stage
from tests.factories import PASSWORD
from tests.release.review_helpers import to_stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://release.example.com"


def _text(document) -> str:
    with document.file.open("rb") as fh:
        data = fh.read()
    return re.sub(r"\s+", "", "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages))


@pytest.fixture
def certificate(review_batch, p, designation, django_capture_on_commit_callbacks):
    to_stage(review_batch, p, Stage.QP)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD, comment="同意放行")
    step = ReviewStep.objects.get(stage="qp")
    return Document.objects.for_record(step).get(kind=pdf.CERTIFICATE)


def test_release_issues_the_certificate_with_every_signature_and_the_stamp(certificate, p, review_batch):
    text = _text(certificate)
    for expected in (
        "药品经质量受权人批准准予放行",
        "真实性、完整性",
        review_batch.batch_number,
        "P-4.2.14",
        "QC-4.3.2.6",
        "GMP-230.1.6",
        "ZL-086",
    ):
        assert expected in text, expected
    for person in (p.production, p.qc, p.qa, p.stamp, p.qp):
        assert person.printed_name in text
    assert len(certificate.context["signatures"]) == 5
    assert {s["meaning"] for s in certificate.context["signatures"]} >= {"reviewed", "verified", "stamped", "released"}


def test_certificate_fonts_are_embedded(certificate):
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) is not installed")
    out = subprocess.run(["pdffonts", certificate.file.path], capture_output=True, text=True, check=True).stdout
    fonts = [line for line in out.splitlines()[2:] if line.strip()]
    assert fonts and all(re.search(r"\syes\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", f) for f in fonts), out


def test_a_tampered_certificate_shows_as_not_intact(certificate):
    assert check_document(certificate).ok
    with open(certificate.file.path, "ab") as fh:
        fh.write(b"%tampered")
    assert not check_document(Document.objects.get(pk=certificate.pk)).file_intact


def test_a_review_step_changed_after_signing_breaks_the_certificates_signature(certificate, p):
    """R-SIG-3: the verification of the certificate shows the changed record."""
    step = ReviewStep.objects.get(stage="qa")
    step.lot_release_number = "伪造"
    step.save_audited(user=p.qa, reason="篡改")
    check = check_document(Document.objects.get(pk=certificate.pk))
    assert not check.signatures_ok and not check.ok


def test_rejection_issues_the_nonconforming_report_signed_by_the_qp(
    review_batch, p, designation, django_capture_on_commit_callbacks
):
    to_stage(review_batch, p, Stage.QP)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_reject(batch=review_batch, user=p.qp, password=PASSWORD, reason="装量差异不合格")
    step = ReviewStep.objects.get(stage="qp")
    document = Document.objects.for_record(step).get(kind=pdf.NONCONFORMING)
    text = _text(document)
    assert "装量差异不合格" in text and p.qp.printed_name in text and review_batch.batch_number in text


def test_the_review_page_issues_a_missing_document(review_batch, p, designation, client_for):
    """A failed after-commit issue is made good on the first visit."""
    to_stage(review_batch, p, Stage.QP)
    services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    page = client_for(p.qa).get(f"/release/batches/{review_batch.pk}/review/")
    assert [d.kind for d in page.context["documents"]] == [pdf.CERTIFICATE]


def test_the_certificate_prints_the_material_balance_table(
    review_batch, p, designation, django_capture_on_commit_callbacks
):
    """B.1.8, R-REL-8 (issue 9 item 6): the certificate has a material-balance table — each step's
    figures, the balance the system computed, the limits and the formula version."""
    from decimal import Decimal

    services.material_balance_add(
        batch=review_batch,
        user=p.production,
        data=dict(
            step="制粒",
            theoretical=Decimal("100.000"),
            actual=Decimal("97.555"),
            samples=Decimal("0.3"),
            waste=Decimal("0.12"),
            unit="kg",
        ),
    )
    to_stage(review_batch, p, Stage.QP)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    document = Document.objects.get(kind=pdf.CERTIFICATE)
    (row,) = document.context["material_balances"]
    assert (row["step"], row["theoretical"], row["percent"], row["limits"]) == ("制粒", "100", "97.98", "95.00–101.00")
    assert row["within_limits"] and row["formula_version"] == 1
    text = _text(document)
    assert "物料平衡" in text and "97.98" in text and "95.00–101.00" in text
