"""Second-person review by every path: whoever did any of the testing never reviews or approves
the record (R-QC-4, R-SEQ-2). The people come from the audit trail, so a later overwrite,
invalidation or resubmission hides no one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.workflow import WorkflowError
from qc_records import services
from qc_records.models import OOSInvestigation, TestRecord
from tests.factories import PASSWORD, InstrumentFactory
from tests.qc_records.helpers import ALL_CONFIRMED, fill

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False


@pytest.fixture
def helper(make_user):
    """A colleague who holds the analyst and the reviewer role."""
    return make_user("qc_analyst", "qc_reviewer", username="helper")


def _submit(record, qc):
    # Every other analyst with a current result signs "Tested" for it first (issue 7 deliverable 6).
    others = (
        record.results.filter(voided_at__isnull=True, entered_by__isnull=False)
        .exclude(entered_by=qc.analyst)
        .values_list("entered_by", flat=True)
    )
    for uid in sorted(set(others)):
        services.record_sign_tested(record=record, user=type(qc.analyst).objects.get(pk=uid), password=PASSWORD)
    services.record_submit(record=record, user=qc.analyst, password=PASSWORD)


def _refused_review(record, user):
    with pytest.raises(WorkflowError, match="different person"):
        services.record_review(checklist=ALL_CONFIRMED, record=record, user=user, password=PASSWORD)
    record.refresh_from_db()
    assert record.status == TestRecord.Status.SUBMITTED


def test_who_only_chose_the_instruments_and_wrote_the_conditions_cannot_review(
    qc, draft_record, helper, instrument, reagent
):
    services.record_update(
        record=draft_record,
        user=helper,
        header={"temperature": Decimal("21.0"), "humidity": Decimal("45.0")},
        instruments=[instrument],
        reagents=[reagent],
    )
    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent)
    _submit(draft_record, qc)
    _refused_review(draft_record, helper)
    services.record_review(checklist=ALL_CONFIRMED, record=draft_record, user=qc.reviewer, password=PASSWORD)


def test_who_attached_a_chromatogram_cannot_review(qc, filled_record, helper):
    services.attachment_add(record=filled_record, user=helper, upload=SimpleUploadedFile("hplc.cdf", b"chromatogram"))
    _submit(filled_record, qc)
    _refused_review(filled_record, helper)


def test_who_entered_a_result_later_corrected_by_someone_else_cannot_review(qc, filled_record, helper):
    assay = filled_record.results.get(item__name="含量测定")
    services.record_update(
        record=filled_record,
        user=helper,
        reason="第二次进样",
        results={assay.pk: services.ResultEntry(value_text="99.9")},
    )
    services.record_update(
        record=filled_record,
        user=qc.analyst,
        reason="抄写错误",
        results={assay.pk: services.ResultEntry(value_text="99.6")},
    )
    assay.refresh_from_db()
    assert assay.entered_by == qc.analyst  # the helper's entry is only in the history now
    _submit(filled_record, qc)
    _refused_review(filled_record, helper)


def test_whose_result_was_invalidated_by_an_oos_cannot_review_the_retest(qc, draft_record, helper, instrument, reagent):
    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent)
    assay = draft_record.results.get(item__name="含量测定")
    services.record_update(
        record=draft_record,
        user=helper,
        reason="由 helper 检验含量",
        results={assay.pk: services.ResultEntry(value_text="93.2")},
    )
    _submit(draft_record, qc)
    oos = OOSInvestigation.objects.get()
    services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "稀释错误", "assignable_cause": True})
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary="稀释错误")
    retest = draft_record.results.get(item=assay.item, attempt=2)
    services.record_update(
        record=draft_record, user=qc.analyst, results={retest.pk: services.ResultEntry(value_text="99.4")}
    )
    _submit(draft_record, qc)
    _refused_review(draft_record, helper)
    # The QC head who closed the OOS (and so wrote the invalidation) may still approve.
    services.record_review(checklist=ALL_CONFIRMED, record=draft_record, user=qc.reviewer, password=PASSWORD)
    services.record_approve(record=draft_record, user=qc.head, password=PASSWORD)
    assert services.testers(draft_record) == {qc.analyst.pk, helper.pk}


def test_a_reviewer_who_sent_the_record_back_may_review_it_again(qc, submitted_record):
    services.record_send_back(record=submitted_record, user=qc.reviewer, reason="计算过程不完整")
    assay = submitted_record.results.get(item__name="含量测定")
    services.record_update(
        record=submitted_record,
        user=qc.analyst,
        reason="补充计算过程",
        results={assay.pk: services.ResultEntry(value_text=assay.value_text, calculation="按外标法计算，W=50.12mg")},
    )
    _submit(submitted_record, qc)
    services.record_review(checklist=ALL_CONFIRMED, record=submitted_record, user=qc.reviewer, password=PASSWORD)


def test_a_qc_head_who_changed_the_header_cannot_approve(qc, filled_record, make_user):
    head_analyst = make_user("qc_analyst", "qc_head", username="head_analyst")
    services.record_update(record=filled_record, user=head_analyst, header={"observations": "补充：溶液澄清"})
    _submit(filled_record, qc)
    services.record_review(checklist=ALL_CONFIRMED, record=filled_record, user=qc.reviewer, password=PASSWORD)
    with pytest.raises(WorkflowError, match="another person must approve"):
        services.record_approve(record=filled_record, user=head_analyst, password=PASSWORD)


def test_the_record_page_offers_no_review_button_to_a_tester(qc, client_for, filled_record, helper):
    other = InstrumentFactory(code="QC-PH-09", last_changed_by=qc.head)
    services.record_update(record=filled_record, user=helper, instruments=[other])
    _submit(filled_record, qc)
    page = client_for(helper).get(reverse("qc_records:record_detail", args=[filled_record.pk]))
    assert page.context["can_review"] is False
    assert (
        client_for(qc.reviewer).get(reverse("qc_records:record_detail", args=[filled_record.pk])).context["can_review"]
        is True
    )
