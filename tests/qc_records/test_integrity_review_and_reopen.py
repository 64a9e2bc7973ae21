"""Issue 7: QC data integrity — the holes an inspector would cite, each reproduced as a test that
failed before the fix (../shared/reference/sop-checklists.md §A.7 P1–P6; GMP 第一百六十一条,
检验记录书写规程 4.2.4, 检验原始记录管理规程 4.1.4 / 4.2.1, PIC/S PI 041 §9.8, FDA OOS guidance).

This file: the review checklist, reopening an approved record (report v2), and the smaller defects."""

from __future__ import annotations

import pytest

from core.workflow import InputError, WorkflowError
from qc_records import services
from qc_records.models import OOSInvestigation, TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED, assay_result

pytestmark = pytest.mark.django_db


# --- (7) the second-person review checklist ------------------------------------------------------


def test_the_review_signature_needs_every_checklist_item_answered(qc, client_for, submitted_record):
    """R-QC-4; 检验原始记录管理规程 4.2.1 ①–⑥ + PIC/S PI 041 §9.8 (audit trail reviewed): nothing made
    the reviewer check corrections, calculations or the audit trail. Each item is now answered
    before "Reviewed" is signed, and the signature says what was attested."""
    from django.urls import reverse

    from core.models import Signature
    from tests.qc_records.helpers import REVIEW_POST

    partial = {**ALL_CONFIRMED, "audit_trail": False, "calculations": False}
    with pytest.raises(InputError) as refused:
        services.record_review(record=submitted_record, user=qc.reviewer, password=PASSWORD, checklist=partial)
    assert set(refused.value.errors) == {"audit_trail", "calculations"}
    assert "audit trail" in refused.value.errors["audit_trail"][0] and "send the record back" in str(refused.value)
    submitted_record.refresh_from_db()
    assert submitted_record.status == TestRecord.Status.SUBMITTED
    assert not Signature.objects.for_record(submitted_record).filter(meaning="reviewed").exists()

    client = client_for(qc.reviewer)
    page = client.get(submitted_record.get_absolute_url()).content.decode()
    from django.utils.html import escape

    for _key, label in services.REVIEW_CHECKLIST:
        assert escape(str(label)) in page
    url = reverse("qc_records:record_review", args=[submitted_record.pk])
    missing = client.post(url, {"review-password": PASSWORD})
    assert missing.status_code == 400 and "Confirm this item" in missing.content.decode()
    assert client.post(url, {"review-password": PASSWORD, **REVIEW_POST}).status_code == 302
    signature = Signature.objects.for_record(submitted_record).get(meaning="reviewed")
    assert signature.signer == qc.reviewer and "④" in signature.comment and "⑦" in signature.comment


# --- (5) reopen an approved record: QC head + QA → re-review → re-approval → report v2 ------------


def test_p2_an_approved_record_is_reopened_corrected_and_reissued_as_version_2(
    qc, client_for, approved_record, settings, tmp_path
):
    """R-QC-10, P2: approved was terminal. Now the QC head asks with a signed reason, QA co-signs,
    the record goes back to draft; the correction is made with its reason, re-reviewed and
    re-approved under the same report number; version 2 supersedes version 1, whose verification
    page says so and links version 2."""
    from django.urls import reverse

    from core.models import Document, Signature
    from qc_records import pdf

    settings.MEDIA_ROOT = tmp_path
    v1 = pdf.issue_report(approved_record, qc.head)
    number = approved_record.report_number
    # Wrong roles and the wrong order are refused.
    with pytest.raises(WorkflowError, match="permission"):
        services.record_reopen_request(record=approved_record, user=qc.analyst, password=PASSWORD, reason="x")
    with pytest.raises(WorkflowError, match="QC head must first"):
        services.record_reopen(record=approved_record, user=qc.qa, password=PASSWORD)
    with pytest.raises(InputError):
        services.record_reopen_request(record=approved_record, user=qc.head, password=PASSWORD, reason=" ")
    services.record_reopen_request(
        record=approved_record, user=qc.head, password=PASSWORD, reason="观察记录漏记供试品溶液颜色"
    )
    with pytest.raises(WorkflowError, match="permission"):
        services.record_reopen(record=approved_record, user=qc.head, password=PASSWORD)
    page = client_for(qc.qa).get(approved_record.get_absolute_url()).content.decode()
    assert reverse("qc_records:record_reopen", args=[approved_record.pk]) in page
    services.record_reopen(record=approved_record, user=qc.qa, password=PASSWORD)
    record = TestRecord.objects.get(pk=approved_record.pk)
    assert record.status == TestRecord.Status.DRAFT and record.report_number == number
    reopen_signatures = Signature.objects.for_record(record).filter(meaning="unlocked")
    assert [s.signer for s in reopen_signatures] == [qc.head, qc.qa]
    assert "观察记录漏记供试品溶液颜色" in record.history.first().history_change_reason
    # Correct, re-test, re-review, re-approve.
    services.record_update(
        record=record, user=qc.analyst, header={"observations": "供试品溶液澄清无色"}, reason="补记颜色"
    )
    services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
    record = services.record_approve(record=record, user=qc.head, password=PASSWORD)
    assert record.report_number == number
    v2 = pdf.issue_report(record, qc.head)
    assert v2.version == 2 and v2.supersedes == v1
    assert Document.objects.for_record(record).count() == 2
    verify = client_for(qc.qa).get(v1.get_absolute_url()).content.decode()
    assert 'data-state="superseded"' in verify and v2.get_absolute_url() in verify
    # Found by the browser path (issue 7): v1's verdict said "can no longer be trusted" because its
    # signatures were checked against the corrected record. A superseded version's signatures are
    # checked against the record as the audit trail holds it when each was signed.
    verdict = verify.split('data-testid="verdict"')[1].split("</div>")[0]
    assert 'data-state="superseded"' in verdict and "a newer version replaces it" in verdict
    assert 'data-state="invalid"' not in verify and verify.count('data-state="valid_as_signed"') == 3
    assert "Signature valid for this version, as signed" in verify
    current = client_for(qc.qa).get(v2.get_absolute_url()).content.decode()
    assert 'data-state="ok"' in current and current.count('data-state="valid"') == 3


def test_the_corrected_report_names_the_version_it_supersedes(qc, approved_record, settings, tmp_path):
    """R-QC-10: the report printed after reopening says "supersedes QC-…-v1"."""
    from qc_records import pdf

    settings.MEDIA_ROOT = tmp_path
    pdf.issue_report(approved_record, qc.head)
    services.record_reopen_request(record=approved_record, user=qc.head, password=PASSWORD, reason="更正")
    services.record_reopen(record=approved_record, user=qc.qa, password=PASSWORD)
    record = TestRecord.objects.get(pk=approved_record.pk)
    services.record_update(record=record, user=qc.analyst, header={"observations": "更正"}, reason="更正")
    services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
    record = services.record_approve(record=record, user=qc.head, password=PASSWORD)
    context = pdf.report_context(record)
    assert context["supersedes"] == f"{record.report_number}-v1" and context["reopen_reason"] == "更正"


def test_the_ledger_shows_that_the_report_was_reissued(qc, client_for, approved_record, settings, tmp_path):
    """R-QC-10, R-QC-8: the ledger row of a reopened and re-approved record shows version 2."""
    from django.urls import reverse

    from qc_records import pdf

    settings.MEDIA_ROOT = tmp_path
    pdf.issue_report(approved_record, qc.head)
    services.record_reopen_request(record=approved_record, user=qc.head, password=PASSWORD, reason="更正")
    services.record_reopen(record=approved_record, user=qc.qa, password=PASSWORD)
    record = TestRecord.objects.get(pk=approved_record.pk)
    services.record_update(record=record, user=qc.analyst, header={"observations": "更正"}, reason="更正")
    services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
    record = services.record_approve(record=record, user=qc.head, password=PASSWORD)
    pdf.issue_report(record, qc.head)
    month = record.test_date.strftime("%Y-%m")
    html = client_for(qc.head).get(reverse("qc_records:ledger") + f"?month={month}").content.decode()
    assert 'data-testid="report-versions"' in html and "version 2" in html


# --- (10) smaller defects -------------------------------------------------------------------------


def test_p6_a_signer_without_a_full_name_cannot_sign(qc, make_user, filled_record):
    """R-SIG-2, P6: a user created without full_name signed as the username. Now refused, saying
    what to do; nothing is signed."""
    from core.models import Signature
    from core.workflow import SignatureError

    nameless = make_user("qc_analyst", username="probe_nofullname", full_name="")
    assay = assay_result(filled_record)
    services.record_update(
        record=filled_record,
        user=nameless,
        reason="复测",
        results={assay.pk: services.ResultEntry(value_text="99.1", calculation="外标法")},
    )
    with pytest.raises(SignatureError, match="no full name"):
        services.record_submit(record=filled_record, user=nameless, password=PASSWORD)
    assert not Signature.objects.for_record(filled_record).exists()


def test_a_refused_double_signature_says_who_already_signed_and_when(qc, make_user, reviewed_record):
    """Issue 7 (10): "Reviewed" twice used to say only that the status cannot change."""

    other = make_user("qc_reviewer", username="second_reviewer", full_name="孙复核")
    with pytest.raises(WorkflowError) as refused:
        services.record_review(checklist=ALL_CONFIRMED, record=reviewed_record, user=other, password=PASSWORD)
    message = str(refused.value)
    assert "already signed “Reviewed” by" in message and qc.reviewer.printed_name in message
    assert "UTC+08:00" in message


def test_expired_instruments_and_reagents_are_marked_and_not_selectable(qc, client_for, draft_record):
    """R-QC-3, issue 7 (10): past-due items are marked and disabled in the pickers; a forged POST
    choosing one is refused beside the field with its name and date."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from tests.factories import InstrumentFactory, ReagentFactory

    old = InstrumentFactory(
        last_changed_by=qc.head, code="QC-UV-09", calibration_due=timezone.localdate() - timedelta(days=3)
    )
    stale = ReagentFactory(last_changed_by=qc.head, expiry_date=timezone.localdate() - timedelta(days=1))
    url = reverse("qc_records:record_edit", args=[draft_record.pk])
    client = client_for(qc.analyst)
    html = client.get(url).content.decode()
    option = html.split(f'<option value="{old.pk}"')[1].split("</option>")[0]
    assert "disabled" in option and "EXPIRED" in option
    option = html.split(f'<option value="{stale.pk}"')[1].split("</option>")[0]
    assert "disabled" in option and "EXPIRED" in option
    response = client.post(
        url,
        {
            "test_date": draft_record.test_date.isoformat(),
            "temperature": "22.5",
            "humidity": "55.0",
            "instruments": [old.pk],
        },
    )
    assert response.status_code == 400 and "QC-UV-09" in response.content.decode()
    assert not draft_record.instrument_uses.exists()


def test_my_work_says_an_expired_instrument_is_expired_not_due_soon(qc, client_for):
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from tests.factories import InstrumentFactory

    InstrumentFactory(
        last_changed_by=qc.head, code="QC-OLD-1", calibration_due=timezone.localdate() - timedelta(days=2)
    )
    html = client_for(qc.head).get(reverse("core:my_work")).content.decode()
    row = html.split("QC-OLD-1")[1].split("</tr>")[0]
    assert "Calibration expired — cannot be used" in row


def test_history_times_show_the_utc_offset_never_cst(qc, client_for, approved_record):
    """Issue 7 (10): history diffs printed "2026-11-30 22:14:23 CST"."""
    from django.urls import reverse

    html = client_for(qc.auditor).get(reverse("qc_records:record_history", args=[approved_record.pk])).content.decode()
    assert "UTC+08:00" in html and " CST" not in html


def test_the_report_names_the_company_laboratory_and_the_seal_statement(qc, approved_record, settings):
    """检验记录和检验报告管理规程 2.2: company / laboratory name and the explicit seal line (a setting)."""
    from qc_records import pdf

    settings.QC_COMPANY_NAME = "示例制药有限公司"
    settings.QC_LABORATORY_NAME = "质量控制室"
    settings.QC_REPORT_SEAL_STATEMENT = "电子签名代替质检公章"
    issuer = pdf.report_context(approved_record)["issuer"]
    assert issuer == {
        "company": "示例制药有限公司",
        "laboratory": "质量控制室",
        "seal_statement": "电子签名代替质检公章",
    }


def test_changing_the_record_date_on_the_form_does_not_pin_the_items_to_the_old_date(qc, client_for, filled_record):
    """SOP-W 4.2.4 a: only an item date the analyst changed is stored as the item's own date."""
    from datetime import timedelta

    from django.urls import reverse

    new_date = filled_record.test_date - timedelta(days=1)
    page = client_for(qc.analyst).get(reverse("qc_records:record_edit", args=[filled_record.pk]))
    data = {k: v for k, v in page.context["form"].initial.items() if k in ("temperature", "humidity")}
    form = page.context["form"]
    post = {name: form[name].value() or "" for name in form.fields if not form.fields[name].disabled}
    post.update({k: str(v) for k, v in data.items()})
    post["instruments"] = [str(v) for v in (form["instruments"].value() or [])]
    post["reagents"] = [str(v) for v in (form["reagents"].value() or [])]
    post["test_date"] = new_date.isoformat()
    for block in form.blocks:
        post[f"i{block.item.pk}_date"] = filled_record.test_date.isoformat()
    response = client_for(qc.analyst).post(reverse("qc_records:record_edit", args=[filled_record.pk]), post)
    assert response.status_code == 302, response.content.decode()[:3000]
    filled_record.refresh_from_db()
    assert filled_record.test_date == new_date
    assert not filled_record.results.filter(tested_on__isnull=False).exists()


def test_the_report_keeps_an_invalidated_failing_value_with_its_reason(qc, oos_record, settings):
    """Issue 7 hole 1: the PDF never showed 93.x; an invalidated value stays, struck through."""
    from qc_records import pdf

    oos = OOSInvestigation.objects.get()
    services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "稀释错误", "assignable_cause": True})
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary="稀释错误，复测")
    retest = oos_record.results.get(item=oos.item, attempt=2)
    services.record_update(
        record=oos_record,
        user=qc.analyst,
        results={retest.pk: services.ResultEntry(value_text="99.2", calculation="外标法")},
    )
    services.record_submit(record=oos_record, user=qc.analyst, password=PASSWORD)
    services.record_review(checklist=ALL_CONFIRMED, record=oos_record, user=qc.reviewer, password=PASSWORD)
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    record = services.record_approve(record=oos_record, user=qc.head, password=PASSWORD)
    assay = next(i for i in pdf.report_context(record)["items"] if i["name"] == "含量测定")
    assert assay["invalidated"][0]["value"] == "93.2%" and oos.number in assay["invalidated"][0]["reason"]


def test_a_reopened_records_earlier_signatures_are_superseded_not_findings_but_an_sql_change_still_is(
    qc, approved_record
):
    """R-QC-10, R-SIG-3, R-AT-3 (found by the browser path, issues 7 and 8): after a signed
    reopening and re-approval, ``verify_integrity`` reported the first round's five signatures as
    "does not verify" (exit 1 every night) although every change since was made through the
    application. They verify against the record as the audit trail held it when signed, so they
    are counted as superseded; the record page still says they no longer cover the record
    (DESIGN.md). An UPDATE by SQL afterwards is a finding for every signature of the record."""
    from django.db import connection

    from core import integrity

    services.record_reopen_request(record=approved_record, user=qc.head, password=PASSWORD, reason="补记颜色")
    services.record_reopen(record=approved_record, user=qc.qa, password=PASSWORD)
    services.record_update(
        record=approved_record, user=qc.analyst, header={"observations": "供试品溶液澄清无色"}, reason="补记颜色"
    )
    services.record_submit(record=approved_record, user=qc.analyst, password=PASSWORD)
    services.record_review(checklist=ALL_CONFIRMED, record=approved_record, user=qc.reviewer, password=PASSWORD)
    services.record_approve(record=approved_record, user=qc.head, password=PASSWORD)
    report = integrity.run()
    assert report.ok, [str(f) for f in report.findings]
    assert report.checked["of them superseded by a later audited change"] == 5

    with connection.cursor() as cursor:
        cursor.execute("UPDATE qc_records_testrecord SET observations = %s WHERE id = %s", ["篡改", approved_record.pk])
    report = integrity.run()
    broken = [f for f in report.findings if f.kind == "signature"]
    assert len(broken) == 8 and all("does not verify" in f.message for f in broken)
