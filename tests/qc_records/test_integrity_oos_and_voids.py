"""Issue 7: QC data integrity — the holes an inspector would cite, each reproduced as a test that
failed before the fix (../shared/reference/sop-checklists.md §A.7 P1–P6; GMP 第一百六十一条,
检验记录书写规程 4.2.4, 检验原始记录管理规程 4.1.4 / 4.2.1, PIC/S PI 041 §9.8, FDA OOS guidance).

This file: OOS the moment a failing value is saved (P1), voids of records with results (P3), and OOS conclusions approved by QA."""

from __future__ import annotations

import pytest

from core.workflow import InputError, WorkflowError
from qc_records import services
from qc_records.models import OOSInvestigation, TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED, assay_result, fill

pytestmark = pytest.mark.django_db


def test_p1_a_failing_value_opens_an_oos_the_moment_it_is_saved(qc, draft_record, instrument, reagent):
    """R-QC-5, P1: assay 93.0 % (spec 95.0–105.0 %) saved in a draft opens OOS at once; correcting
    it to 98.0 with the reason "typo" is refused naming the OOS; the record cannot be approved
    around it."""
    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent, overrides={"含量测定": "93.0"})
    oos = OOSInvestigation.objects.get()
    assay = assay_result(draft_record)
    assert oos.record == draft_record and oos.item == assay.item and oos.is_open
    assert list(oos.results.all()) == [assay]
    assert draft_record.status == TestRecord.Status.DRAFT
    with pytest.raises(InputError) as refused:
        services.record_update(
            record=draft_record,
            user=qc.analyst,
            reason="typo",
            results={assay.pk: services.ResultEntry(value_text="98.0", calculation="按外标法计算")},
        )
    message = refused.value.errors[f"result:{assay.pk}"][0]
    assert oos.number in message and "investigation" in message
    assay.refresh_from_db()
    assert assay.value_text == "93.0" and assay.conclusion == "fail"
    record, opened = services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    assert opened == []
    services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
    with pytest.raises(WorkflowError, match=oos.number):
        services.record_approve(record=record, user=qc.head, password=PASSWORD)


@pytest.mark.parametrize("role", ["reviewer", "head", "qa"])
def test_a_refused_correction_of_an_oos_result_is_kept_beside_the_value(
    qc, client_for, draft_record, instrument, reagent, role
):
    """R-QC-5, R-AT-5, P1 (found by the browser path, issue 7): the analyst's attempt to turn the
    failing 93.0 into 98.0 ("typo") was refused and then left no trace, so the reviewer saw the
    value and the OOS but not the attempt. Now the refused attempt is kept (value tried, reason,
    who, when) and shown beside the value on the record page and the printable raw record, and it
    is on the record's History; nothing else of the refused save is written."""
    from django.urls import reverse

    from qc_records.models import RefusedCorrection

    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent, overrides={"含量测定": "93.0"})
    oos = OOSInvestigation.objects.get()
    assay = assay_result(draft_record)
    with pytest.raises(InputError):
        services.record_update(
            record=draft_record,
            user=qc.analyst,
            reason="typo",
            header={"observations": "refused save must not keep this"},
            results={assay.pk: services.ResultEntry(value_text="98.0", calculation="按外标法计算")},
        )
    attempt = RefusedCorrection.objects.get()
    assert (attempt.result, attempt.attempted_value, attempt.reason, attempt.attempted_by) == (
        assay,
        "98.0",
        "typo",
        qc.analyst,
    )
    draft_record.refresh_from_db()
    assay.refresh_from_db()
    assert draft_record.observations != "refused save must not keep this" and assay.value_text == "93.0"
    client = client_for(getattr(qc, role))
    for url in (draft_record.get_absolute_url(), reverse("qc_records:record_raw", args=[draft_record.pk])):
        html = client.get(url).content.decode()
        shown = html.split('data-testid="refused-correction"')[1].split("</li>")[0]
        assert "Correction refused (result under OOS investigation)" in shown
        assert "tried to change it to <strong>98.0%</strong>" in shown
        assert "typo" in shown and qc.analyst.printed_name in shown and "UTC+08:00" in shown
        assert oos.number in html and "93.0%" in html
        assert 'data-testid="correction-count"' not in html  # an attempt is not a correction
    history = client.get(reverse("qc_records:record_history", args=[draft_record.pk])).content.decode()
    assert "correction of an OOS result refused" in history and "98.0" in history


def test_a_failing_text_result_opens_an_oos_when_saved(qc, draft_record):
    """R-QC-5: "does not comply" on a text item (鉴别) is out of specification as well."""
    ident = draft_record.results.get(item__name="鉴别")
    services.record_update(
        record=draft_record,
        user=qc.analyst,
        results={ident.pk: services.ResultEntry(value_text="未呈正反应", complies=False)},
    )
    oos = OOSInvestigation.objects.get()
    assert oos.item.name == "鉴别" and "when recorded" in oos.history.first().history_change_reason


def test_the_result_form_says_the_oos_was_opened(qc, client_for, draft_record):
    """R-QC-5, R-UX-2: the analyst reads at once that the failing value opened an OOS."""
    from django.urls import reverse

    assay = assay_result(draft_record)
    client = client_for(qc.analyst)
    response = client.post(
        reverse("qc_records:record_edit", args=[draft_record.pk]),
        {
            "test_date": draft_record.test_date.isoformat(),
            "temperature": "22.5",
            "humidity": "55.0",
            f"r{assay.pk}_value": "93.0",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert OOSInvestigation.objects.get().number in response.content.decode()


# --- (4) void and restart: P3 ------------------------------------------------------------------


def test_p3_an_analyst_cannot_void_a_draft_holding_a_failing_result(qc, draft_record, batch):
    """R-QC-9, R-REC-1, P3: the analyst enters 90.0 (fail) and tries to void the draft "started in
    error" with their own password: refused, naming the values and who may void it."""
    assay = assay_result(draft_record)
    services.record_update(
        record=draft_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="90.0")}
    )
    with pytest.raises(WorkflowError) as refused:
        services.record_void(record=draft_record, user=qc.analyst, password=PASSWORD, reason="started in error")
    draft_record.refresh_from_db()
    assert draft_record.status == TestRecord.Status.DRAFT and "OOS" in str(refused.value)


def test_voiding_a_record_with_results_needs_the_qc_head_signature(qc, draft_record):
    """R-QC-9: a passing value recorded is evidence too: the analyst is refused with the values and
    what to do; the QC head signs the void with a reason; the replacement links to it."""
    from core.models import Signature

    assay = assay_result(draft_record)
    services.record_update(
        record=draft_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="99.0")}
    )
    with pytest.raises(WorkflowError) as refused:
        services.record_void(record=draft_record, user=qc.analyst, password=PASSWORD, reason="started in error")
    message = str(refused.value)
    assert "含量测定 99.0%" in message and "QC head" in message
    assert services.cannot_void_record(draft_record, qc.analyst) == message
    services.record_void(record=draft_record, user=qc.head, password=PASSWORD, reason="样品编号错误")
    draft_record.refresh_from_db()
    assert draft_record.status == TestRecord.Status.VOIDED
    signature = Signature.objects.for_record(draft_record).get()
    assert signature.signer == qc.head and signature.meaning == "voided" and signature.comment == "样品编号错误"
    replacement = services.record_create(sample=draft_record.sample, user=qc.analyst)
    assert replacement.replaces == draft_record and list(draft_record.replaced_by.all()) == [replacement]


def test_an_empty_draft_is_still_voided_by_the_analyst(qc, draft_record):
    """R-REC-1: a draft with no value recorded was only started in error; the analyst may void it."""
    assert services.cannot_void_record(draft_record, qc.analyst) is None
    services.record_void(record=draft_record, user=qc.analyst, password=PASSWORD, reason="重复登记")
    draft_record.refresh_from_db()
    assert draft_record.status == TestRecord.Status.VOIDED


def test_a_qc_head_who_tested_the_record_cannot_void_it(qc, draft_record):
    """R-SEQ-2, R-QC-9: the approval of a void is a second person's."""
    from django.contrib.auth.models import Group

    qc.analyst.groups.add(Group.objects.get(name="qc_head"))
    analyst = type(qc.analyst).objects.get(pk=qc.analyst.pk)
    assay = assay_result(draft_record)
    services.record_update(
        record=draft_record, user=analyst, results={assay.pk: services.ResultEntry(value_text="99.0")}
    )
    with pytest.raises(WorkflowError, match="another QC head"):
        services.record_void(record=draft_record, user=analyst, password=PASSWORD, reason="x")


def test_release_sees_voided_records_with_their_values(qc, draft_record, batch):
    """R-QC-9, R-REL-4, P3: batch_qc_summary lists the voided record and its values as a finding."""
    from qc_records.for_release import BatchQCSummary, batch_qc_summary

    assay = assay_result(draft_record)
    services.record_update(
        record=draft_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="99.0")}
    )
    assert batch_qc_summary(batch).finding(BatchQCSummary.VOIDED_WITH_RESULTS).ok
    services.record_void(record=draft_record, user=qc.head, password=PASSWORD, reason="样品编号错误")
    finding = batch_qc_summary(batch).finding(BatchQCSummary.VOIDED_WITH_RESULTS)
    assert not finding.ok and "1 voided" in finding.message
    assert "含量测定 #1 99.0%" in finding.evidence[0].label and "样品编号错误" in finding.evidence[0].label
    assert finding.evidence[0].url == draft_record.get_absolute_url()


def test_the_voided_record_page_shows_its_values_and_replacement(qc, client_for, draft_record):
    """R-QC-9: the reviewer and QC head read what the voided record held and what replaced it."""
    assay = assay_result(draft_record)
    services.record_update(
        record=draft_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="99.0")}
    )
    analyst_page = client_for(qc.analyst).get(draft_record.get_absolute_url()).content.decode()
    assert "only the QC head can void it" in analyst_page
    services.record_void(record=draft_record, user=qc.head, password=PASSWORD, reason="样品编号错误")
    replacement = services.record_create(sample=draft_record.sample, user=qc.analyst)
    page = client_for(qc.reviewer).get(draft_record.get_absolute_url()).content.decode()
    assert "99.0%" in page and replacement.get_absolute_url() in page
    assert (
        draft_record.get_absolute_url() in client_for(qc.reviewer).get(replacement.get_absolute_url()).content.decode()
    )


# --- (8) OOS: QA approves the conclusion; phase deadlines; the report names the OOS ---------------


def test_the_qc_head_alone_can_no_longer_close_an_oos_as_laboratory_error(qc, client_for, oos_record):
    """R-QC-5 (hole 6): closing as laboratory error invalidates results; it needs QA's signature."""
    from django.urls import reverse

    from core.models import Signature

    oos = OOSInvestigation.objects.get()
    services.oos_update(oos=oos, user=qc.head, data={"phase1_findings": "稀释倍数计算错误", "assignable_cause": True})
    with pytest.raises(WorkflowError, match="permission"):
        services.oos_close(oos=oos, user=qc.head, password=PASSWORD, outcome="lab_error", summary="实验室差错")
    head_page = client_for(qc.head).get(oos.get_absolute_url()).content.decode()
    assert 'data-testid="close-by-qa"' in head_page
    assert reverse("qc_records:oos_close", args=[oos.pk]) not in head_page
    oos.refresh_from_db()
    assert oos.is_open and not _assay_all(oos_record).filter(voided_at__isnull=False).exists()
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary="实验室差错，复测")
    signature = Signature.objects.for_record(oos).get()
    assert signature.signer == qc.qa and signature.meaning == "closed"
    assert oos.history.first().history_user == qc.qa


def _assay_all(record):
    return record.results.filter(item__name="含量测定")


def test_oos_phase_deadlines_are_settings_and_overdue_shows_on_my_work(
    qc, client_for, oos_record, settings, monkeypatch
):
    """R-QC-5, R-UX-3: phase I due QC_OOS_PHASE_1_DAYS after opening, phase II QC_OOS_PHASE_2_DAYS
    after it starts; an overdue investigation says so on My work and on its page."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    oos = OOSInvestigation.objects.get()
    settings.QC_OOS_PHASE_1_DAYS = 3
    assert oos.due_date == timezone.localdate(oos.created_at) + timedelta(days=3) and not oos.is_overdue
    settings.QC_OOS_PHASE_1_DAYS = 1
    real_localdate = timezone.localdate

    def five_days_later(value=None, timezone=None):
        return real_localdate(value, timezone) if value is not None else real_localdate() + timedelta(days=5)

    monkeypatch.setattr("django.utils.timezone.localdate", five_days_later)
    assert oos.is_overdue
    work = client_for(qc.head).get(reverse("core:my_work")).content.decode()
    assert oos.number in work and "OVERDUE" in work
    assert "Overdue" in client_for(qc.qa).get(oos.get_absolute_url()).content.decode()
    monkeypatch.undo()
    services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "未发现原因", "assignable_cause": False})
    services.oos_start_phase_two(oos=oos, user=qc.head, reason="无实验室原因")
    oos.refresh_from_db()
    settings.QC_OOS_PHASE_2_DAYS = 30
    assert oos.phase2_started_at and oos.due_date == timezone.localdate(oos.phase2_started_at) + timedelta(days=30)
    assert not oos.is_overdue


def test_the_report_names_the_oos_and_its_conclusion(qc, oos_record, settings):
    """R-QC-5 (deliverable 8): the 检验报告书 names the OOS number and its conclusion."""
    from qc_records import pdf

    oos = OOSInvestigation.objects.get()
    services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "未发现原因", "assignable_cause": False})
    services.oos_start_phase_two(oos=oos, user=qc.head, reason="无实验室原因")
    services.oos_update(oos=oos, user=qc.head, data={"phase2_findings": "投料偏差"})
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="confirmed", summary="OOS成立，批不合格")
    services.record_review(checklist=ALL_CONFIRMED, record=oos_record, user=qc.reviewer, password=PASSWORD)
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    record = services.record_approve(record=oos_record, user=qc.head, password=PASSWORD)
    context = pdf.report_context(record)
    assert context["oos"] == [
        {
            "number": oos.number,
            "item": "含量测定",
            "status": "Closed",
            "outcome": "OOS confirmed — batch fails",
            "summary": "OOS成立，批不合格",
        }
    ]
