"""OOS investigations (R-QC-5): opened when a failing value is recorded, phase I → phase II → closed with a signature."""

import pytest
from django.utils import timezone

from core.models import Signature
from core.workflow import WorkflowError
from qc_records import services
from qc_records.models import OOSInvestigation, TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED

pytestmark = pytest.mark.django_db


def test_failing_result_opens_an_oos(qc, oos_record):
    oos = OOSInvestigation.objects.get()
    assert oos.record == oos_record and oos.item.name == "含量测定"
    assert oos.number == f"OOS-{timezone.localdate().year}-001"
    assert oos.status == OOSInvestigation.Status.PHASE_1
    assert list(oos.results.values_list("value_text", flat=True)) == ["93.2"]
    assert oos.history.first().history_user == qc.analyst


def test_an_open_oos_blocks_approval(qc, oos_record):
    services.record_review(checklist=ALL_CONFIRMED, record=oos_record, user=qc.reviewer, password=PASSWORD)
    with pytest.raises(WorkflowError, match="OOS-.* is still open"):
        services.record_approve(record=oos_record, user=qc.head, password=PASSWORD)
    oos_record.refresh_from_db()
    assert oos_record.status == TestRecord.Status.REVIEWED and oos_record.report_number is None


def _phase1(oos, user, cause: bool):
    return services.oos_update(
        oos=oos, user=user, data={"phase1_findings": "核对计算、仪器、对照品、溶液配制", "assignable_cause": cause}
    )


def test_lab_error_invalidates_the_item_and_requires_a_retest(qc, oos_record):
    oos = OOSInvestigation.objects.get()
    _phase1(oos, qc.analyst, True)
    services.oos_close(
        oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary="供试品溶液稀释错误（实验室差错）"
    )
    oos.refresh_from_db()
    assert oos.status == "closed" and oos.outcome == "lab_error" and oos.closed_by == qc.qa
    assert Signature.objects.for_record(oos).get().meaning == "closed"
    oos_record.refresh_from_db()
    assert oos_record.status == TestRecord.Status.DRAFT  # back to the analyst for the retest
    assay = oos_record.results.filter(item=oos.item).order_by("attempt")
    first, retest = list(assay)
    assert first.is_invalidated and "OOS-" in first.void_reason and first.value_text == "93.2"
    assert retest.attempt == 2 and retest.value_text == "" and not retest.is_invalidated
    # Submitting without the retest is refused; with it, the record moves on and no new OOS opens.
    with pytest.raises(WorkflowError, match="not entered"):
        services.record_submit(record=oos_record, user=qc.analyst, password=PASSWORD)
    services.record_update(
        record=oos_record, user=qc.analyst, results={retest.pk: services.ResultEntry(value_text="99.1")}
    )
    record, opened = services.record_submit(record=oos_record, user=qc.analyst, password=PASSWORD)
    assert opened == [] and record.status == "submitted"


def test_failing_retest_opens_a_new_oos(qc, oos_record):
    oos = OOSInvestigation.objects.get()
    _phase1(oos, qc.analyst, True)
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary="进样针堵塞")
    retest = oos_record.results.get(item=oos.item, attempt=2)
    services.record_update(
        record=oos_record, user=qc.analyst, results={retest.pk: services.ResultEntry(value_text="93.0")}
    )
    # Opened when the failing retest value was saved (R-QC-5), not only at submission.
    second = OOSInvestigation.objects.open().get()
    assert second.number.endswith("-002") and list(second.results.all()) == [retest]
    _record, opened = services.record_submit(record=oos_record, user=qc.analyst, password=PASSWORD)
    assert opened == [] and OOSInvestigation.objects.open().get() == second


def test_confirmed_oos_needs_phase_two_and_then_the_report_says_fails(qc, oos_record):
    oos = OOSInvestigation.objects.get()
    with pytest.raises(WorkflowError, match="phase II"):
        services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="confirmed", summary="确认")
    with pytest.raises(WorkflowError, match="phase I findings"):
        services.oos_start_phase_two(oos=oos, user=qc.head, reason="无实验室原因")
    _phase1(oos, qc.analyst, False)
    services.oos_start_phase_two(oos=oos, user=qc.head, reason="第一阶段未发现实验室原因")
    with pytest.raises(WorkflowError, match="phase II findings"):
        services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="confirmed", summary="确认")
    services.oos_update(oos=oos, user=qc.qa, data={"phase2_findings": "生产过程调查：投料偏差"})
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="confirmed", summary="OOS成立，批不合格")
    services.record_review(checklist=ALL_CONFIRMED, record=oos_record, user=qc.reviewer, password=PASSWORD)
    record = services.record_approve(record=oos_record, user=qc.head, password=PASSWORD)
    assert record.verdict == TestRecord.Verdict.DOES_NOT_COMPLY and record.report_number


def test_phase_one_with_cause_cannot_go_to_phase_two(qc, oos_record):
    oos = OOSInvestigation.objects.get()
    _phase1(oos, qc.analyst, True)
    with pytest.raises(WorkflowError, match="assignable"):
        services.oos_start_phase_two(oos=oos, user=qc.head, reason="x")


def test_the_analyst_cannot_close_their_own_oos(qc, oos_record, make_user):
    oos = OOSInvestigation.objects.get()
    _phase1(oos, qc.analyst, True)
    with pytest.raises(WorkflowError, match="permission"):
        services.oos_close(oos=oos, user=qc.analyst, password=PASSWORD, outcome="lab_error", summary="x")
    from django.contrib.auth.models import Group

    qc.analyst.groups.add(Group.objects.get(name="qa_reviewer"))
    analyst = type(qc.analyst).objects.get(pk=qc.analyst.pk)
    with pytest.raises(WorkflowError, match="another person"):
        services.oos_close(oos=oos, user=analyst, password=PASSWORD, outcome="lab_error", summary="x")


def test_closing_needs_a_summary_and_overwriting_findings_a_reason(qc, oos_record):
    oos = OOSInvestigation.objects.get()
    with pytest.raises(services.InputError):
        services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary=" ")
    _phase1(oos, qc.analyst, True)
    with pytest.raises(services.InputError) as exc:
        services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "改写"})
    assert "reason" in exc.value.errors
    services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "改写"}, reason="补充")


def test_closed_oos_is_final(qc, oos_record):
    oos = OOSInvestigation.objects.get()
    _phase1(oos, qc.analyst, True)
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary="差错")
    with pytest.raises(WorkflowError):
        services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "x"}, reason="x")
    with pytest.raises(WorkflowError):
        services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="confirmed", summary="x")


def test_only_new_failures_open_investigations(qc, draft_record, instrument, reagent):
    """Resubmitting after a confirmed OOS does not open a second one for the same results."""
    from tests.qc_records.helpers import fill

    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent, overrides={"有关物质": "1.4"})
    services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    oos = OOSInvestigation.objects.get()
    services.record_send_back(record=draft_record, user=qc.reviewer, reason="补充观察记录")
    services.record_update(record=draft_record, user=qc.analyst, header={"observations": "补充"})
    _r, opened = services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    assert opened == [] and OOSInvestigation.objects.get() == oos


def _assay(record):
    return record.results.get(item__name="含量测定", voided_at__isnull=True)


def test_a_result_under_an_open_oos_cannot_be_overwritten_even_with_a_reason(qc, oos_record):
    """R-QC-5, R-QC-4: the OOS result stands until the investigation invalidates it. Before, the
    analyst could 'correct' 93.2 to 99.6 with a reason, resubmit, and a later 'confirmed' OOS sat
    beside a report saying "complies" (testing into compliance)."""
    assay = _assay(oos_record)
    with pytest.raises(services.InputError) as refused:
        services.record_update(
            record=oos_record,
            user=qc.analyst,
            reason="重新积分",
            results={assay.pk: services.ResultEntry(value_text="99.6")},
        )
    assert "OOS-" in refused.value.errors[f"result:{assay.pk}"][0]
    oos_record.refresh_from_db()
    assay.refresh_from_db()
    assert (
        oos_record.status == TestRecord.Status.SUBMITTED and assay.value_text == "93.2" and assay.conclusion == "fail"
    )


def test_a_result_of_a_confirmed_oos_cannot_be_overwritten_afterwards(qc, oos_record):
    """R-QC-5: a confirmed OOS result is final; the report can never say "complies" beside it."""
    oos = OOSInvestigation.objects.get()
    _phase1(oos, qc.analyst, False)
    services.oos_start_phase_two(oos=oos, user=qc.analyst, reason="无实验室原因")
    services.oos_update(oos=oos, user=qc.analyst, data={"phase2_findings": "生产过程调查：混合不均"})
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="confirmed", summary="确认超标")
    assay = _assay(oos_record)
    with pytest.raises(services.InputError):
        services.record_update(
            record=oos_record,
            user=qc.analyst,
            reason="更正",
            results={assay.pk: services.ResultEntry(value_text="99.6", calculation="x")},
        )
    assay.refresh_from_db()
    assert assay.value_text == "93.2"


def test_the_result_form_shows_an_oos_result_read_only_and_ignores_a_posted_change(qc, client_for, oos_record):
    """R-QC-5, R-UX-2: the field is disabled with the OOS named; a forged POST changes nothing, is
    refused beside the field and kept as a refused correction the reviewer sees (issue 7)."""
    from django.urls import reverse

    client = client_for(qc.analyst)
    url = reverse("qc_records:record_edit", args=[oos_record.pk])
    page = client.get(url)
    assay = _assay(oos_record)
    field = page.context["form"].fields[f"r{assay.pk}_value"]
    assert field.disabled and OOSInvestigation.objects.get().number in page.content.decode()
    response = client.post(
        url,
        {
            "test_date": oos_record.test_date.isoformat(),
            "temperature": "22.5",
            "humidity": "55.0",
            f"r{assay.pk}_value": "99.6",
            "reason": "改",
        },
    )
    assay.refresh_from_db()
    assert assay.value_text == "93.2"
    assert response.status_code == 400
    assert "cannot be changed; only the investigation can invalidate it" in response.content.decode()
    from qc_records.models import RefusedCorrection

    attempt = RefusedCorrection.objects.get()
    assert (attempt.result_id, attempt.attempted_value, attempt.reason) == (assay.pk, "99.6", "改")
