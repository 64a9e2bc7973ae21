"""Monthly archive (locks), retention and purge (R-REC-2), raw-data files with SHA-256 (R-QC-7)."""

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.models import Signature
from core.workflow import WorkflowError
from qc_records import services
from qc_records.models import Attachment, Category, TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False


def _last_month() -> tuple[int, int]:
    first = timezone.localdate().replace(day=1)
    prev = first - timedelta(days=1)
    return prev.year, prev.month


def _move_to_last_month(record, user):
    year, month = _last_month()
    # A test is never dated before its sample arrived: the sample came last month too.
    services.sample_update(
        sample=record.sample, user=user, data={"received_date": date(year, month, 1)}, reason="收样日期更正"
    )
    record.refresh_from_db()
    return services.record_update(
        record=record,
        user=user,
        header={"test_date": date(year, month, 1)},
        reason="检验日期更正" if record.status != "draft" else "",
    )


def test_archiving_needs_finished_records_then_locks_the_month(qc, filled_record):
    _move_to_last_month(filled_record, qc.analyst)
    year, month = _last_month()
    with pytest.raises(WorkflowError, match="not finished"):
        services.ledger_archive(
            user=qc.head, password=PASSWORD, year=year, month=month, category=Category.FINISHED_PRODUCT
        )
    services.record_submit(record=filled_record, user=qc.analyst, password=PASSWORD)
    services.record_review(checklist=ALL_CONFIRMED, record=filled_record, user=qc.reviewer, password=PASSWORD)
    services.record_approve(record=filled_record, user=qc.head, password=PASSWORD)
    archive = services.ledger_archive(
        user=qc.head, password=PASSWORD, year=year, month=month, category=Category.FINISHED_PRODUCT
    )
    assert archive.status == "archived" and archive.record_count == 1
    assert Signature.objects.for_record(archive).get().meaning == "archived"  # 归档 (issue 7 item 10), was "closed"
    assert services.month_is_archived(Category.FINISHED_PRODUCT, date(year, month, 15))


def test_archived_month_locks_changes_until_reopened_with_signature_and_reason(qc, filled_record):
    _move_to_last_month(filled_record, qc.analyst)
    # It holds results: the QC head voids it (R-QC-9).
    services.record_void(record=filled_record, user=qc.head, password=PASSWORD, reason="样品污染")
    year, month = _last_month()
    archive = services.ledger_archive(
        user=qc.head, password=PASSWORD, year=year, month=month, category=Category.FINISHED_PRODUCT
    )
    # a new record for the same sample cannot be dated into the locked month
    record = services.record_create(sample=filled_record.sample, user=qc.analyst)
    with pytest.raises(services.InputError, match="archived"):
        services.record_update(record=record, user=qc.analyst, header={"test_date": date(year, month, 2)})
    with pytest.raises(services.InputError):
        services.ledger_reopen(archive=archive, user=qc.head, password=PASSWORD, reason="")
    with pytest.raises(WorkflowError, match="permission"):
        services.ledger_reopen(archive=archive, user=qc.qa, password=PASSWORD, reason="补充")
    services.ledger_reopen(archive=archive, user=qc.head, password=PASSWORD, reason="补充检验记录")
    archive.refresh_from_db()
    assert archive.status == "reopened"
    assert [s.meaning for s in Signature.objects.for_record(archive)] == ["archived", "unlocked"]
    services.record_update(record=record, user=qc.analyst, header={"test_date": date(year, month, 2)})


def test_current_month_cannot_be_archived(qc):
    today = timezone.localdate()
    with pytest.raises(services.InputError):
        services.ledger_archive(user=qc.head, password=PASSWORD, year=today.year, month=today.month, category="water")


def test_retention_is_product_expiry_plus_one_year_for_batch_records(approved_record, batch):
    """R-REC-2"""
    assert approved_record.retention_until == date(
        batch.expiry_date.year + 1, batch.expiry_date.month, batch.expiry_date.day
    )


def test_retention_for_records_without_batch_is_a_setting(qc, settings):
    from tests.qc_records.helpers import make_spec

    settings.QC_RECORD_RETENTION_YEARS = 7
    water = make_spec(
        author=qc.head,
        approver=qc.qa,
        code="ZL-BZ-W-001",
        category=Category.WATER,
        material="纯化水",
        items=[("电导率", "numeric", None, Decimal("5.1"), 1, "μS/cm", "", 1)],
    )
    sample = services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.WATER,
            specification=water,
            quantity=Decimal("500"),
            quantity_unit="ml",
            sampling_point="纯化水总回水口",
            received_date=timezone.localdate(),
        ),
    )
    record = services.record_create(sample=sample, user=qc.analyst)
    assert sample.material_name == "纯化水"
    assert record.retention_until == record.test_date.replace(year=record.test_date.year + 7)


def test_purge_is_refused_before_the_retention_date(qc, approved_record):
    keep = approved_record.retention_until
    with pytest.raises(WorkflowError, match=keep.isoformat()):
        services.record_purge(record=approved_record, user=qc.head, password=PASSWORD, reason="到期销毁", today=keep)
    approved_record.refresh_from_db()
    assert approved_record.purged_at is None
    services.record_purge(
        record=approved_record, user=qc.head, password=PASSWORD, reason="到期销毁", today=keep + timedelta(days=1)
    )
    approved_record.refresh_from_db()
    assert approved_record.purged_at is not None
    assert TestRecord.objects.filter(pk=approved_record.pk).exists()  # the record itself stays
    # The signature says what was done: raw data destroyed, not "voided" (R-SIG-2: meaning).
    last = Signature.objects.for_record(approved_record).order_by("-signed_at", "-pk").first()
    assert last.meaning == Signature.Meaning.PURGED and last.signer == qc.head


def test_attachment_keeps_its_sha256_and_a_changed_file_is_detected(qc, draft_record):
    """R-QC-7"""
    content = b"chromatogram data \x00\x01"
    upload = SimpleUploadedFile("含量测定-供试品.cdf", content, content_type="application/octet-stream")
    att = services.attachment_add(record=draft_record, user=qc.analyst, upload=upload, description="供试品色谱图")
    assert att.sha256 == hashlib.sha256(content).hexdigest() and att.size == len(content)
    assert att.is_intact()
    with att.file.storage.open(att.file.name, "wb") as fh:
        fh.write(b"tampered")
    assert not Attachment.objects.get(pk=att.pk).is_intact()


def test_attachment_on_submitted_record_needs_reason_and_returns_to_draft(qc, submitted_record):
    upload = SimpleUploadedFile("a.pdf", b"%PDF-1.4 test")
    with pytest.raises(services.InputError):
        services.attachment_add(record=submitted_record, user=qc.analyst, upload=upload)
    assert not Attachment.objects.exists()
    upload.seek(0)
    services.attachment_add(record=submitted_record, user=qc.analyst, upload=upload, reason="补充图谱")
    submitted_record.refresh_from_db()
    assert submitted_record.status == "draft"


def test_removing_a_file_voids_it(qc, draft_record):
    att = services.attachment_add(record=draft_record, user=qc.analyst, upload=SimpleUploadedFile("x.txt", b"x"))
    services.attachment_remove(attachment=att, user=qc.analyst, reason="上传错误")
    att.refresh_from_db()
    assert att.is_voided and att.void_reason == "上传错误" and att.is_intact()


def test_empty_file_is_refused(qc, draft_record):
    with pytest.raises(services.InputError):
        services.attachment_add(record=draft_record, user=qc.analyst, upload=SimpleUploadedFile("x.txt", b""))
