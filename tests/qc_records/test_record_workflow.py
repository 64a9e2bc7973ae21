"""Test record workflow: enter results → submit (Tested) → review (Reviewed) → approve (report number)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import AuthEvent, Signature
from core.workflow import WorkflowError
from qc_records import services
from qc_records.criteria import Conclusion
from qc_records.models import OOSInvestigation, TestRecord
from tests.factories import PASSWORD, InstrumentFactory, ReagentFactory
from tests.qc_records.helpers import ALL_CONFIRMED, entries_for, fill

pytestmark = pytest.mark.django_db


def test_record_starts_against_the_specification_in_force_with_a_blank_result_per_replicate(draft_record, spec):
    """R-QC-1: the specification version in force is stored on the record."""
    assert draft_record.specification == spec and draft_record.status == TestRecord.Status.DRAFT
    assert draft_record.results.count() == 8  # 5 single items + dissolution × 3
    assert set(draft_record.results.values_list("conclusion", flat=True)) == {Conclusion.PENDING}


def test_results_are_judged_individually_as_they_are_saved(qc, draft_record, instrument, reagent):
    """R-QC-2: one failing dissolution unit fails the item although the mean complies."""
    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent, overrides={"溶出度": {2: "75"}})
    blocks = {b.item.name: b for b in draft_record.item_blocks()}
    dissolution = blocks["溶出度"]
    assert [r.conclusion for r in dissolution.current] == ["pass", "fail", "pass"]
    assert dissolution.mean == Decimal("86")  # (92 + 75 + 92) / 3 complies, the item does not
    assert dissolution.conclusion == Conclusion.FAIL
    assert blocks["含量测定"].conclusion == Conclusion.PASS
    assert blocks["微生物限度"].conclusion == Conclusion.REPORT


def test_submit_signs_tested_and_freezes_the_results(qc, submitted_record):
    """R-SIG-1, R-AT-1: the tester's signature and a history row."""
    assert submitted_record.status == TestRecord.Status.SUBMITTED
    assert submitted_record.submitted_by == qc.analyst
    sig = Signature.objects.for_record(submitted_record).get()
    assert sig.meaning == Signature.Meaning.TESTED and sig.is_valid()
    assert submitted_record.content_digest == submitted_record.compute_content_digest()
    assert submitted_record.history.first().status == "submitted"
    assert not OOSInvestigation.objects.exists()


def test_submit_refuses_missing_results_and_environment(qc, draft_record):
    with pytest.raises(WorkflowError, match="not entered") as exc:
        services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    assert "temperature" in str(exc.value)
    draft_record.refresh_from_db()
    assert draft_record.status == TestRecord.Status.DRAFT
    assert not Signature.objects.for_record(draft_record).exists()


def test_submit_with_wrong_password_is_refused_and_counted(qc, filled_record):
    """R-SIG-1"""
    with pytest.raises(WorkflowError, match="Wrong password"):
        services.record_submit(record=filled_record, user=qc.analyst, password="nope")
    filled_record.refresh_from_db()
    assert filled_record.status == TestRecord.Status.DRAFT
    assert AuthEvent.objects.filter(user=qc.analyst, kind=AuthEvent.Kind.SIGNATURE_FAILED).count() == 1


def test_reviewer_signs_reviewed(qc, reviewed_record):
    assert reviewed_record.status == TestRecord.Status.REVIEWED and reviewed_record.reviewed_by == qc.reviewer
    meanings = [s.meaning for s in Signature.objects.for_record(reviewed_record)]
    assert meanings == ["tested", "reviewed"]
    assert all(s.is_valid() for s in Signature.objects.for_record(reviewed_record))


def test_the_tester_cannot_review_their_own_record(qc, submitted_record, make_user):
    """R-QC-4, R-SEQ-2: second-person review, even when the tester also holds the reviewer role."""
    from django.contrib.auth.models import Group

    both = make_user("qc_analyst", "qc_reviewer")
    record = submitted_record

    qc.analyst.groups.add(Group.objects.get(name="qc_reviewer"))
    analyst = type(qc.analyst).objects.get(pk=qc.analyst.pk)
    with pytest.raises(WorkflowError, match="different person"):
        services.record_review(checklist=ALL_CONFIRMED, record=record, user=analyst, password=PASSWORD)
    record.refresh_from_db()
    assert record.status == TestRecord.Status.SUBMITTED
    assert both.pk  # a person holding both roles may review someone else's record
    services.record_review(checklist=ALL_CONFIRMED, record=record, user=both, password=PASSWORD)


def test_only_reviewers_review(qc, submitted_record):
    with pytest.raises(WorkflowError, match="permission"):
        services.record_review(checklist=ALL_CONFIRMED, record=submitted_record, user=qc.head, password=PASSWORD)


def test_qc_head_approves_and_the_report_gets_its_number(qc, approved_record):
    """R-QC-6"""
    year = timezone.localdate().year
    assert approved_record.status == TestRecord.Status.APPROVED
    assert approved_record.report_number == f"QC-{year}-0001"
    assert approved_record.verdict == TestRecord.Verdict.COMPLIES
    sigs = list(Signature.objects.for_record(approved_record))
    assert [s.meaning for s in sigs] == ["tested", "reviewed", "approved"]
    assert all(s.is_valid() for s in sigs)
    assert {s.signer for s in sigs} == {qc.analyst, qc.reviewer, qc.head}


def test_approving_an_unreviewed_record_is_refused(qc, submitted_record):
    """R-SEQ-1: steps cannot be skipped."""
    with pytest.raises(WorkflowError, match="cannot become"):
        services.record_approve(record=submitted_record, user=qc.head, password=PASSWORD)
    submitted_record.refresh_from_db()
    assert submitted_record.report_number is None


def test_approving_twice_is_refused_and_uses_no_number(qc, approved_record, make_user):
    head2 = make_user("qc_head")
    with pytest.raises(WorkflowError):
        services.record_approve(record=approved_record, user=head2, password=PASSWORD)
    from core.models import NumberCounter

    assert NumberCounter.objects.get(series="QC").last == 1


def test_reviewer_cannot_approve_what_they_reviewed(qc, reviewed_record, make_user):
    reviewer_head = type(qc.reviewer).objects.get(pk=qc.reviewer.pk)
    from django.contrib.auth.models import Group

    reviewer_head.groups.add(Group.objects.get(name="qc_head"))
    reviewer_head = type(qc.reviewer).objects.get(pk=qc.reviewer.pk)
    with pytest.raises(WorkflowError, match="another person"):
        services.record_approve(record=reviewed_record, user=reviewer_head, password=PASSWORD)


def test_editing_a_submitted_record_needs_a_reason_and_returns_it_to_draft(qc, reviewed_record):
    """R-QC-4"""
    assay = reviewed_record.results.get(item__name="含量测定")
    with pytest.raises(services.InputError) as exc:
        services.record_update(
            record=reviewed_record,
            user=qc.analyst,
            results={assay.pk: services.ResultEntry(value_text="99.8", calculation="重新计算")},
        )
    assert "reason" in exc.value.errors
    reviewed_record.refresh_from_db()
    assert reviewed_record.status == TestRecord.Status.REVIEWED
    services.record_update(
        record=reviewed_record,
        user=qc.analyst,
        reason="计算错误，更正",
        results={assay.pk: services.ResultEntry(value_text="99.8", calculation="重新计算")},
    )
    reviewed_record.refresh_from_db()
    assert reviewed_record.status == TestRecord.Status.DRAFT
    assert reviewed_record.reviewed_by is None and reviewed_record.submitted_by is None
    assay.refresh_from_db()
    assert assay.value_text == "99.8"
    assert assay.history.first().history_change_reason == "计算错误，更正"
    # The earlier signatures no longer match the changed results.
    assert not any(s.is_valid() for s in Signature.objects.for_record(reviewed_record))


def test_correcting_a_draft_result_needs_a_reason(qc, filled_record):
    """检验原始记录管理规程 4.1.4: corrections stay traceable."""
    assay = filled_record.results.get(item__name="含量测定")
    with pytest.raises(services.InputError) as exc:
        services.record_update(
            record=filled_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="98.1")}
        )
    assert f"result:{assay.pk}" in exc.value.errors
    assay.refresh_from_db()
    assert assay.value_text == "99.6"


def test_bad_values_are_refused_and_nothing_is_written(qc, draft_record, instrument):
    """R-UX-2: non-numeric and wrong decimals; nothing half-written."""
    entries = entries_for(draft_record, {"含量测定": "abc", "有关物质": "0.25"})
    before = draft_record.history.count()
    with pytest.raises(services.InputError) as exc:
        services.record_update(record=draft_record, user=qc.analyst, results=entries, instruments=[instrument])
    messages = " ".join(m for ms in exc.value.errors.values() for m in ms)
    assert "not a number" in messages and "1 decimal place" in messages
    assert draft_record.history.count() == before
    assert not draft_record.results.exclude(value_text="").exists()
    assert not draft_record.instrument_uses.exists()


def test_expired_instrument_and_reagent_are_refused_with_name_and_date(qc, draft_record):
    """R-QC-3"""
    today = timezone.localdate()
    old = InstrumentFactory(
        code="QC-UV-09", model="UV-2600", calibration_due=today - timedelta(days=3), last_changed_by=qc.head
    )
    stale = ReagentFactory(
        name="氢氧化钠滴定液",
        lot_number="T-2409",
        kind="titrant",
        expiry_date=today - timedelta(days=1),
        received_date=today - timedelta(days=90),
        last_changed_by=qc.head,
    )
    with pytest.raises(services.InputError) as exc:
        services.record_update(record=draft_record, user=qc.analyst, instruments=[old], reagents=[stale])
    assert any(
        "QC-UV-09" in m and (today - timedelta(days=3)).isoformat() in m for m in exc.value.errors["instruments"]
    )
    assert any("T-2409" in m and (today - timedelta(days=1)).isoformat() in m for m in exc.value.errors["reagents"])
    assert not draft_record.instrument_uses.exists() and not draft_record.reagent_uses.exists()


def test_instrument_removed_from_a_draft_is_voided_not_deleted(qc, filled_record, instrument):
    services.record_update(record=filled_record, user=qc.analyst, instruments=[])
    use = filled_record.instrument_uses.get()
    assert use.is_voided and use.instrument == instrument


def test_moving_the_test_date_past_calibration_is_refused(qc, filled_record, instrument):
    from qc_records.models import Instrument

    ins = Instrument.objects.get(pk=instrument.pk)
    services.instrument_update(
        instrument=ins, user=qc.head, data={"calibration_due": timezone.localdate()}, reason="校准证书"
    )
    # The snapshot taken when the instrument was chosen is what counts (far future): fine.
    services.record_update(
        record=filled_record, user=qc.analyst, header={"test_date": timezone.localdate() - timedelta(days=1)}
    )


def test_send_back_needs_a_reason_and_returns_to_draft(qc, submitted_record):
    with pytest.raises(services.InputError):
        services.record_send_back(record=submitted_record, user=qc.reviewer, reason=" ")
    services.record_send_back(record=submitted_record, user=qc.reviewer, reason="溶出度计算公式有误")
    submitted_record.refresh_from_db()
    assert submitted_record.status == TestRecord.Status.DRAFT
    assert "溶出度计算公式有误" in submitted_record.history.first().history_change_reason


def test_analyst_cannot_send_back(qc, submitted_record):
    with pytest.raises(WorkflowError, match="permission"):
        services.record_send_back(record=submitted_record, user=qc.analyst, reason="x")


def test_void_a_draft_with_signature(qc, draft_record):
    services.record_void(record=draft_record, user=qc.analyst, password=PASSWORD, reason="样品登记错误")
    draft_record.refresh_from_db()
    assert draft_record.status == TestRecord.Status.VOIDED and draft_record.void_reason == "样品登记错误"
    assert Signature.objects.for_record(draft_record).get().meaning == "voided"


def test_one_live_record_per_sample(qc, draft_record):
    with pytest.raises(WorkflowError, match="already has a test record"):
        services.record_create(sample=draft_record.sample, user=qc.analyst)


def test_record_uses_the_version_in_force_when_it_starts(qc, sample, spec):
    new = services.specification_new_version(spec=spec, user=qc.head)
    services.specification_approve(spec=new, user=qc.qa, password=PASSWORD)
    record = services.record_create(sample=sample, user=qc.analyst)
    assert record.specification == new and record.specification.version == 2


def test_someone_who_entered_a_result_cannot_review_it(qc, filled_record, make_user, password):
    """R-SEQ-2: every person who entered a result that counts is a tester, not only the one who signed."""
    helper = make_user("qc_analyst", "qc_reviewer")
    assay = filled_record.results.get(item__name="含量测定")
    services.record_update(
        record=filled_record,
        user=helper,
        results={assay.pk: services.ResultEntry(value_text="99.9")},
        reason="第二次进样",
    )
    # Every analyst who entered results signs "Tested" for them (issue 7 deliverable 6).
    services.record_sign_tested(record=filled_record, user=helper, password=password)
    services.record_submit(record=filled_record, user=qc.analyst, password=password)
    with pytest.raises(WorkflowError, match="different person"):
        services.record_review(checklist=ALL_CONFIRMED, record=filled_record, user=helper, password=password)
    services.record_review(checklist=ALL_CONFIRMED, record=filled_record, user=qc.reviewer, password=password)
