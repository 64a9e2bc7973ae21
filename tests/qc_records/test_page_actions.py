"""The QC forms through HTTP: each calls its service, refusals come back beside the fields (R-UX-2)."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.models import Signature
from qc_records.models import Attachment, Instrument, LedgerArchive, OOSInvestigation, Reagent, Sample, Specification
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False


def test_specification_written_and_approved_through_the_pages(qc, client_for, approved_product):
    head, qa = client_for(qc.head), client_for(qc.qa)
    response = head.post(
        reverse("qc_records:spec_create"),
        {
            "code": "ZL-BZ-T-9",
            "title": "测试标准",
            "category": "finished_product",
            "product": approved_product.pk,
            "material_name": "",
            "standard_reference": "中国药典2025年版二部",
        },
    )
    spec = Specification.objects.get(code="ZL-BZ-T-9")
    assert response.status_code == 302 and response.url == spec.get_absolute_url()
    bad = head.post(
        reverse("qc_records:spec_item_add", args=[spec.pk]),
        {
            "item-name": "含量",
            "item-criterion_kind": "numeric",
            "item-replicates": "1",
            "item-lower_inclusive": "on",
            "item-upper_inclusive": "on",
        },
    )
    assert bad.status_code == 400 and "needs a lower limit" in bad.content.decode()
    ok = head.post(
        reverse("qc_records:spec_item_add", args=[spec.pk]),
        {
            "item-name": "含量",
            "item-criterion_kind": "numeric",
            "item-lower_limit": "95.0",
            "item-upper_limit": "105.0",
            "item-decimals": "1",
            "item-unit": "%",
            "item-replicates": "1",
            "item-lower_inclusive": "on",
            "item-upper_inclusive": "on",
        },
    )
    assert ok.status_code == 302 and spec.items.count() == 1
    own = head.post(reverse("qc_records:spec_approve", args=[spec.pk]), {"approve-password": PASSWORD})
    assert own.status_code == 400 and "another person must approve" in own.content.decode()
    assert (
        qa.post(reverse("qc_records:spec_approve", args=[spec.pk]), {"approve-password": PASSWORD}).status_code == 302
    )
    spec.refresh_from_db()
    assert spec.status == "approved" and Signature.objects.for_record(spec).get().signer == qc.qa


def test_instrument_and_reagent_registers_refuse_bad_input_by_the_field(qc, client_for, instrument):
    head = client_for(qc.head)
    dup = head.post(
        reverse("qc_records:instrument_create"),
        {
            "code": instrument.code,
            "name": "x",
            "model": "y",
            "kind": "instrument",
            "location": "z",
            "calibration_due": "2027-01-01",
            "status": "in_service",
        },
    )
    assert dup.status_code == 400 and dup.context["form"].errors["code"]
    edit = head.post(
        reverse("qc_records:instrument_edit", args=[instrument.pk]),
        {
            "code": instrument.code,
            "name": instrument.name,
            "model": instrument.model,
            "kind": "instrument",
            "location": instrument.location,
            "calibration_due": "2027-06-30",
            "last_calibrated": "2026-06-30",
            "status": "in_service",
            "reason": "年度校准，证书号 JZ-2026-118",
        },
    )
    assert edit.status_code == 302
    assert (
        Instrument.objects.get(pk=instrument.pk).history.first().history_change_reason == "年度校准，证书号 JZ-2026-118"
    )
    today = timezone.localdate()
    bad = client_for(qc.analyst).post(
        reverse("qc_records:reagent_create"),
        {
            "kind": "titrant",
            "name": "盐酸滴定液",
            "lot_number": "T9",
            "source": "自配",
            "received_date": today.isoformat(),
            "expiry_date": (today - timedelta(days=1)).isoformat(),
            "status": "in_use",
        },
    )
    assert bad.status_code == 400 and "expiry date" in str(bad.context["form"].errors["expiry_date"])
    assert not Reagent.objects.filter(lot_number="T9").exists()


def test_sample_registered_and_record_started_through_the_pages(qc, client_for, spec, batch):
    analyst = client_for(qc.analyst)
    response = analyst.post(
        reverse("qc_records:sample_create"),
        {
            "category": "finished_product",
            "specification": spec.pk,
            "batch": batch.pk,
            "quantity": "60",
            "quantity_unit": "粒",
            "received_date": timezone.localdate().isoformat(),
        },
    )
    sample = Sample.objects.get()
    assert response.status_code == 302 and sample.lot_number == batch.batch_number
    started = analyst.post(reverse("qc_records:record_start", args=[sample.pk]))
    record = sample.records.get()
    assert started.url == reverse("qc_records:record_edit", args=[record.pk])
    again = analyst.post(reverse("qc_records:record_start", args=[sample.pk]))
    assert again.status_code == 302 and sample.records.count() == 1


def test_raw_data_file_uploaded_and_downloaded_with_its_hash(qc, users, client_for, draft_record):
    analyst = client_for(qc.analyst)
    content = "色谱图 chromatogram".encode()
    response = analyst.post(
        reverse("qc_records:attachment_add", args=[draft_record.pk]),
        {"file-file": SimpleUploadedFile("chrom.txt", content), "file-description": "含量测定 供试品"},
    )
    assert response.status_code == 302
    att = Attachment.objects.get()
    assert att.sha256 == hashlib.sha256(content).hexdigest()
    download = client_for(qc.auditor).get(reverse("qc_records:attachment_download", args=[att.pk]))
    assert b"".join(download.streaming_content) == content and download["X-Content-SHA256"] == att.sha256
    page = analyst.get(draft_record.get_absolute_url()).content.decode()
    assert "File intact" in page
    assert (
        client_for(users["customer_service"]).get(reverse("qc_records:attachment_download", args=[att.pk])).status_code
        == 403
    )


def test_oos_investigated_and_closed_through_the_pages(qc, client_for, oos_record):
    oos = OOSInvestigation.objects.get()
    head = client_for(qc.head)
    assert (
        head.post(
            reverse("qc_records:oos_update", args=[oos.pk]),
            {"phase": "1", "p1-phase1_findings": "稀释倍数计算错误", "p1-assignable_cause": "yes"},
        ).status_code
        == 302
    )
    qa = client_for(qc.qa)  # QA approves the conclusion (R-QC-5)
    missing = qa.post(
        reverse("qc_records:oos_close", args=[oos.pk]),
        {"close-password": PASSWORD, "close-outcome": "lab_error", "close-summary": ""},
    )
    assert missing.status_code == 400
    closed = qa.post(
        reverse("qc_records:oos_close", args=[oos.pk]),
        {"close-password": PASSWORD, "close-outcome": "lab_error", "close-summary": "实验室差错，复测"},
    )
    assert closed.status_code == 302
    oos.refresh_from_db()
    assert oos.status == "closed" and oos_record.results.filter(voided_at__isnull=False).count() == 1


def test_archive_and_reopen_through_the_ledger(qc, client_for):
    head = client_for(qc.head)
    first = timezone.localdate().replace(day=1)
    last_month = first - timedelta(days=1)
    month = last_month.strftime("%Y-%m")
    response = head.post(
        reverse("qc_records:ledger_archive"), {"arch-month": month, "arch-category": "water", "arch-password": PASSWORD}
    )
    assert response.status_code == 302
    archive = LedgerArchive.objects.get()
    assert archive.status == "archived" and archive.record_count == 0
    refused = head.post(
        reverse("qc_records:ledger_reopen", args=[archive.pk]), {"reopen-password": PASSWORD, "reopen-reason": ""}
    )
    assert refused.status_code == 302 and LedgerArchive.objects.get().status == "archived"
    head.post(
        reverse("qc_records:ledger_reopen", args=[archive.pk]), {"reopen-password": PASSWORD, "reopen-reason": "补录"}
    )
    assert LedgerArchive.objects.get().status == "reopened"
