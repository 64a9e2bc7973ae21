"""Issue 7: QC data integrity — the holes an inspector would cite, each reproduced as a test that
failed before the fix (../shared/reference/sop-checklists.md §A.7 P1–P6; GMP 第一百六十一条,
检验记录书写规程 4.2.4, 检验原始记录管理规程 4.1.4 / 4.2.1, PIC/S PI 041 §9.8, FDA OOS guidance).

This file: corrections beside the value, the record's whole timeline, invalidated runs and discarded data."""

from __future__ import annotations

import pytest

from core.workflow import InputError, WorkflowError
from qc_records import services
from qc_records.models import TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED, assay_result

pytestmark = pytest.mark.django_db


# --- (2) corrections beside the value; the record's whole timeline ---------------------------------


def _correctassay_result(qc, record):
    assay = assay_result(record)
    services.record_update(
        record=record,
        user=qc.analyst,
        results={assay.pk: services.ResultEntry(value_text="99.6", calculation="按外标法计算")},
    )
    services.record_update(
        record=record,
        user=qc.analyst,
        reason="抄写错误，以色谱图为准",
        results={assay.pk: services.ResultEntry(value_text="99.4", calculation="按外标法计算")},
    )
    return assay


@pytest.mark.parametrize("role", ["reviewer", "head", "analyst", "qa", "auditor"])
def test_corrections_are_shown_beside_the_value_on_the_record_and_raw_record(qc, client_for, draft_record, role):
    """R-QC-4, R-AT-5; SOP-R 4.1.4, SOP-W 4.2.4 d (P1): old → new, reason, who and when beside the
    value, on the record page (the reviewer's screen) and on the printable raw record."""
    from django.urls import reverse

    _correctassay_result(qc, draft_record)
    client = client_for(getattr(qc, role))
    for url in (draft_record.get_absolute_url(), reverse("qc_records:record_raw", args=[draft_record.pk])):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-testid="corrections"' in html
        correction = html.split('data-testid="corrections"')[1].split("</ul>")[0]
        assert "<del>99.6%</del>" in correction and "99.4%" in correction
        assert "抄写错误，以色谱图为准" in correction and qc.analyst.printed_name in correction
        assert "UTC+08:00" in correction


@pytest.mark.parametrize("role", ["reviewer", "head", "qa", "qp", "auditor"])
def test_every_reviewing_role_reads_the_result_history_and_the_merged_timeline(qc, client_for, draft_record, role):
    """R-AT-5, P1: the result's own history answered 403 to the QC reviewer and QC head; the
    record's History showed "reason: typo" with no values. Now both read the result's history, and
    the record's timeline merges its results', instruments', reagents' and files' changes."""
    from django.urls import reverse

    assay = _correctassay_result(qc, draft_record)
    client = client_for(getattr(qc, role))
    response = client.get(reverse("core:record_history", args=["qc_records.testresult", assay.pk]))
    assert response.status_code == 200 and "抄写错误，以色谱图为准" in response.content.decode()
    response = client.get(reverse("qc_records:record_history", args=[draft_record.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "抄写错误，以色谱图为准" in html and "99.6" in html and "99.4" in html


def test_the_merged_timeline_includes_instruments_files_and_signatures(qc, client_for, filled_record):
    """R-AT-5: instruments, reagents, files and the "Tested" signature are on the record's timeline."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    services.attachment_add(
        record=filled_record, user=qc.analyst, upload=SimpleUploadedFile("chrom.txt", b"peak"), description="色谱图"
    )
    services.record_submit(record=filled_record, user=qc.analyst, password=PASSWORD)
    html = client_for(qc.reviewer).get(reverse("qc_records:record_history", args=[filled_record.pk])).content.decode()
    assert "chrom.txt" in html and 'data-testid="timeline-signature"' in html
    assert "instrument used" in html.lower() and "reagent used" in html.lower()


def test_the_timeline_is_refused_to_roles_without_qc_access(users, client_for, draft_record):
    """R-AUTH-1 / 6.3 security: production and customer service do not read QC records."""
    from django.urls import reverse

    for role in ("production_reviewer", "customer_service"):
        response = client_for(users[role]).get(reverse("qc_records:record_history", args=[draft_record.pk]))
        assert response.status_code == 403


# --- (3) invalidated runs and discarded data -------------------------------------------------------


def _discard(qc, record, **kw):
    item = record.specification.items.get(name="含量测定")
    return services.discarded_run_add(
        record=record,
        user=qc.analyst,
        item=item,
        data=kw.get("data", "第1针进样：93.1%"),
        cause=kw.get("cause", "系统适用性不符合要求（理论板数低于2000）"),
        reason=kw.get("reason", ""),
    )


def test_a_discarded_run_is_recorded_reviewed_reported_and_seen_by_release(
    qc, client_for, filled_record, batch, settings
):
    """R-QC-9, 检验记录书写规程 4.2.4 e: item, data, cause, who, when; the reviewer's signature
    stamps it; the record page, the report and batch_qc_summary show it."""
    from django.urls import reverse

    from core.models import Signature
    from qc_records import pdf
    from qc_records.for_release import BatchQCSummary, batch_qc_summary

    run = _discard(qc, filled_record)
    assert run.recorded_by == qc.analyst and run.recorded_at and run.reviewed_by is None
    assert run.history.get().history_user == qc.analyst
    page = client_for(qc.reviewer).get(filled_record.get_absolute_url()).content.decode()
    assert "第1针进样：93.1%" in page and "系统适用性不符合要求" in page and "not reviewed yet" in page
    record, _ = services.record_submit(record=filled_record, user=qc.analyst, password=PASSWORD)
    services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
    run.refresh_from_db()
    assert run.reviewed_by == qc.reviewer and run.reviewed_at
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    record = services.record_approve(record=record, user=qc.head, password=PASSWORD)
    assert Signature.objects.for_record(record).filter(meaning="reviewed").exists()
    context = pdf.report_context(record)
    assert context["discarded"] == [
        {
            "item": "含量测定",
            "data": "第1针进样：93.1%",
            "cause": "系统适用性不符合要求（理论板数低于2000）",
            "by": qc.analyst.printed_name,
        }
    ]
    finding = batch_qc_summary(batch).finding(BatchQCSummary.DISCARDED_DATA)
    assert not finding.ok and "第1针进样：93.1%" in finding.evidence[0].label
    assert batch_qc_summary(batch).status == "passed"  # QC's own answer; release reviews the finding
    raw = client_for(qc.head).get(reverse("qc_records:record_raw", args=[record.pk])).content.decode()
    assert "系统适用性不符合要求" in raw


def test_a_discarded_run_needs_item_data_and_cause(qc, filled_record):
    """Bad input: every refusal names the field and what to do; nothing is written."""
    from qc_records.models import DiscardedRun

    with pytest.raises(InputError) as refused:
        services.discarded_run_add(record=filled_record, user=qc.analyst, item=None, data=" ", cause="")
    assert set(refused.value.errors) == {"item", "data", "cause"}
    assert not DiscardedRun.objects.exists()


def test_a_discarded_run_on_a_submitted_record_needs_a_reason_and_breaks_the_tested_signature(qc, submitted_record):
    """R-QC-4, R-QC-9: recording discarded data after "Tested" sends the record back to draft; the
    digest covers discarded data, so it is part of what the next signature vouches for."""
    before = submitted_record.content_digest
    with pytest.raises(InputError):
        _discard(qc, submitted_record)
    _discard(qc, submitted_record, reason="补记无效进样")
    submitted_record.refresh_from_db()
    assert submitted_record.status == TestRecord.Status.DRAFT
    assert submitted_record.compute_content_digest() != before


def test_whoever_records_discarded_data_is_a_tester(qc, make_user, submitted_record):
    """R-QC-4, R-SEQ-2: recording discarded data is testing; that person does not review."""
    other = make_user("qc_analyst", "qc_reviewer", username="discarder")
    item = submitted_record.specification.items.get(name="含量测定")
    services.discarded_run_add(
        record=submitted_record, user=other, item=item, data="第2针", cause="进样针堵塞", reason="补记"
    )
    assert services.cannot_review_record(submitted_record, other)


def test_wrong_roles_cannot_record_discarded_data(qc, filled_record):
    item = filled_record.specification.items.get(name="含量测定")
    for user in (qc.reviewer, qc.head, qc.qa, qc.auditor):
        with pytest.raises(WorkflowError, match="permission"):
            services.discarded_run_add(record=filled_record, user=user, item=item, data="x", cause="y")
