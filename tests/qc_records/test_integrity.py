"""Issue 7: QC data integrity — the holes an inspector would cite, each reproduced as a test that
failed before the fix (../shared/reference/sop-checklists.md §A.7 P1–P6; GMP 第一百六十一条,
检验记录书写规程 4.2.4, 检验原始记录管理规程 4.1.4 / 4.2.1, PIC/S PI 041 §9.8, FDA OOS guidance)."""

from __future__ import annotations

import pytest

from core.workflow import InputError, WorkflowError
from qc_records import services
from qc_records.models import OOSInvestigation, TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import fill

pytestmark = pytest.mark.django_db


def _assay(record):
    return record.results.get(item__name="含量测定", voided_at__isnull=True)


def test_p1_a_failing_value_opens_an_oos_the_moment_it_is_saved(qc, draft_record, instrument, reagent):
    """R-QC-5, P1: assay 93.0 % (spec 95.0–105.0 %) saved in a draft opens OOS at once; correcting
    it to 98.0 with the reason "typo" is refused naming the OOS; the record cannot be approved
    around it."""
    fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent, overrides={"含量测定": "93.0"})
    oos = OOSInvestigation.objects.get()
    assay = _assay(draft_record)
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
    services.record_review(record=record, user=qc.reviewer, password=PASSWORD)
    with pytest.raises(WorkflowError, match=oos.number):
        services.record_approve(record=record, user=qc.head, password=PASSWORD)


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

    assay = _assay(draft_record)
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
    assay = _assay(draft_record)
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

    assay = _assay(draft_record)
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
    assay = _assay(draft_record)
    services.record_update(
        record=draft_record, user=analyst, results={assay.pk: services.ResultEntry(value_text="99.0")}
    )
    with pytest.raises(WorkflowError, match="another QC head"):
        services.record_void(record=draft_record, user=analyst, password=PASSWORD, reason="x")


def test_release_sees_voided_records_with_their_values(qc, draft_record, batch):
    """R-QC-9, R-REL-4, P3: batch_qc_summary lists the voided record and its values as a finding."""
    from qc_records.for_release import BatchQCSummary, batch_qc_summary

    assay = _assay(draft_record)
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
    assay = _assay(draft_record)
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
