"""Issue 7: QC data integrity — the holes an inspector would cite, each reproduced as a test that
failed before the fix (../shared/reference/sop-checklists.md §A.7 P1–P6; GMP 第一百六十一条,
检验记录书写规程 4.2.4, 检验原始记录管理规程 4.1.4 / 4.2.1, PIC/S PI 041 §9.8, FDA OOS guidance)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.workflow import InputError, WorkflowError
from qc_records import services
from qc_records.models import OOSInvestigation, TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED, fill

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
    services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
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


# --- (2) corrections beside the value; the record's whole timeline ---------------------------------


def _correct_assay(qc, record):
    assay = _assay(record)
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

    _correct_assay(qc, draft_record)
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

    assay = _correct_assay(qc, draft_record)
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


# --- (9) numbers a result can take ---------------------------------------------------------------


def test_impossible_values_are_refused_naming_the_item_and_what_to_do(qc, draft_record):
    """Hole 7: TOC −1.00 mg/L and a microbial count of −5 cfu/ml were saved and judged 符合规定.
    A count or a content cannot be negative; the item's own physical range refuses it too."""
    from qc_records.criteria import Criterion, ResultError

    toc = Criterion(kind="numeric", upper=Decimal("0.50"), decimals=2, unit="mg/L", physical_min=Decimal("0"))
    with pytest.raises(ResultError, match="not a possible value"):
        toc.judge("-1.00")
    assert Criterion(kind="numeric", upper=Decimal("0.50"), decimals=2, unit="mg/L").judge("-1.00")[1] == "pass"
    count = Criterion(kind="report", unit="cfu/ml", physical_min=Decimal("0"))
    with pytest.raises(ResultError, match="≥ 0cfu/ml"):
        count.judge("-5")
    ph = Criterion(kind="numeric", lower=Decimal("5.0"), physical_min=0, physical_max=14)
    with pytest.raises(ResultError, match="0～14"):
        ph.judge("15")
    rotation = Criterion(kind="numeric", lower=Decimal("-15"), upper=Decimal("-10"), unit="°")
    assert rotation.judge("-12")[1] == "pass"  # a negative quantity stays possible where it is
    # Through the service on an item with its range: refused beside the result, nothing written.
    micro = draft_record.results.get(item__name="微生物限度")
    micro_item = micro.item
    micro_item.physical_min = Decimal("0")
    micro_item.save_audited(user=qc.head, reason="test setup: range ≥ 0")
    with pytest.raises(InputError) as refused:
        services.record_update(
            record=draft_record, user=qc.analyst, results={micro.pk: services.ResultEntry(value_text="-5")}
        )
    assert "not a possible value" in refused.value.errors[f"result:{micro.pk}"][0]
    micro.refresh_from_db()
    assert micro.value_text == ""


def test_full_width_digits_and_the_chinese_decimal_point_are_normalised(qc, draft_record):
    """Hole 7: "１２．５" typed with a Chinese IME was "not a number"; so was "99。6"."""
    from qc_records.criteria import Criterion

    assert Criterion(kind="numeric", decimals=1).judge("１２．５")[0] == Decimal("12.5")
    assay = _assay(draft_record)
    services.record_update(
        record=draft_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="９９。６")}
    )
    assay.refresh_from_db()
    assert assay.value_text == "99.6" and assay.conclusion == "pass"


def test_gb_8170_rounding_is_offered_where_more_decimals_are_typed(qc, draft_record):
    """GB/T 8170 四舍六入五成双: 99.45 → 99.4, 99.55 → 99.6, 99.451 → 99.5; offered, never silent."""
    from qc_records.criteria import Criterion, ResultError, round_gb8170

    assert [round_gb8170(Decimal(v), 1) for v in ("99.45", "99.55", "99.451", "99.35")] == [
        Decimal("99.4"),
        Decimal("99.6"),
        Decimal("99.5"),
        Decimal("99.4"),
    ]
    with pytest.raises(ResultError) as refused:
        Criterion(kind="numeric", decimals=1).judge("99.45")
    assert "GB/T 8170" in str(refused.value) and "enter 99.4" in str(refused.value)
    with pytest.raises(ResultError) as fewer:
        Criterion(kind="numeric", decimals=1).judge("99")
    assert "GB/T 8170" not in str(fewer.value)


def test_a_physical_range_on_the_item_is_part_of_the_signed_specification(qc, approved_product):
    """The range is specification content: a version approved before the field existed still
    verifies (the empty range is not in its payload); a range set changes the digest."""
    from tests.qc_records.helpers import make_spec

    spec = make_spec(author=qc.head, approver=None, product=approved_product, code="ZL-BZ-PHYS-1")
    item = spec.items.get(name="含量测定")
    assert "physical_min" not in item.signed_payload()
    before = spec.compute_content_digest() if hasattr(spec, "compute_content_digest") else None
    services.specification_item_update(
        item=item, user=qc.head, data={"physical_min": Decimal("0")}, reason="含量不能为负"
    )
    item.refresh_from_db()
    assert item.signed_payload()["physical_min"] == "0.000000"
    if before is not None:
        spec.refresh_from_db()
        assert spec.compute_content_digest() != before


# --- (6) evidence the specification requires; per-item date and analyst; co-analysts sign; back-filling


def _require_evidence(qc, spec, **flags):
    """A new version of ``spec`` whose assay requires ``flags``, approved by QA (test setup)."""
    new = services.specification_new_version(spec=spec, user=qc.head)
    assay = new.items.get(name="含量测定")
    services.specification_item_update(item=assay, user=qc.head, data=flags, reason="证据要求")
    return services.specification_approve(spec=new, user=qc.qa, password=PASSWORD)


def test_p4_submission_without_the_evidence_the_item_requires_is_refused_naming_it(
    qc, spec, sample, instrument, reagent, settings, tmp_path
):
    """R-QC-1, R-QC-7, P4: a record with no HPLC, no reference standard, no chromatogram and no
    calculation passed submit, review and approval. Now "Tested" is refused, naming the item and
    each missing piece; with them it passes."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qc_records.models import Reagent

    settings.MEDIA_ROOT = tmp_path
    _require_evidence(
        qc,
        spec,
        required_instrument="高效液相色谱仪",
        requires_reference_standard=True,
        requires_raw_data_file=True,
        requires_calculation=True,
    )
    record = services.record_create(sample=sample, user=qc.analyst)
    services.record_update(
        record=record,
        user=qc.analyst,
        header=dict(temperature=Decimal("22.5"), humidity=Decimal("55.0")),
        results={
            k: services.ResultEntry(value_text=v.value_text, complies=v.complies, calculation="")
            for k, v in __import__("tests.qc_records.helpers", fromlist=["entries_for"]).entries_for(record).items()
        },
    )
    with pytest.raises(WorkflowError) as refused:
        services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    message = str(refused.value)
    assert "含量测定 needs" in message and "高效液相色谱仪" in message and "reference standard" in message
    assert "raw-data file attached to this item" in message and "calculation of every result" in message
    record.refresh_from_db()
    assert record.status == TestRecord.Status.DRAFT
    # With the evidence: an HPLC, a reference standard, the chromatogram, the calculation.
    reagent.kind = Reagent.Kind.REFERENCE_STANDARD
    reagent.save_audited(user=qc.head, reason="test setup")
    instrument.name = "高效液相色谱仪"
    instrument.save_audited(user=qc.head, reason="test setup")
    assay = _assay(record)
    services.record_update(
        record=record,
        user=qc.analyst,
        instruments=[instrument],
        reagents=[reagent],
        results={assay.pk: services.ResultEntry(value_text=assay.value_text, calculation="外标法")},
    )
    services.attachment_add(
        record=record, user=qc.analyst, upload=SimpleUploadedFile("assay.cdf", b"chromatogram"), item=assay.item
    )
    record, _ = services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    assert record.status == TestRecord.Status.SUBMITTED


def test_every_analyst_who_entered_results_signs_tested(qc, make_user, client_for, filled_record):
    """检验记录和检验报告管理规程 1.2′.9: only the submitter signed "Tested"; a second analyst's results
    carried no signature. Now submission is refused naming them until they sign."""
    from django.urls import reverse

    from core.models import Signature

    second = make_user("qc_analyst", username="second_analyst", full_name="王二")
    micro = filled_record.results.get(item__name="微生物限度")
    services.record_update(
        record=filled_record,
        user=second,
        reason="微生物限度由王二检验",
        results={micro.pk: services.ResultEntry(value_text="<20")},
    )
    with pytest.raises(WorkflowError, match="王二 entered results and must sign"):
        services.record_submit(record=filled_record, user=qc.analyst, password=PASSWORD)
    assert services.cannot_sign_tested(filled_record, qc.reviewer)
    page = client_for(second).get(filled_record.get_absolute_url()).content.decode()
    assert reverse("qc_records:record_sign_tested", args=[filled_record.pk]) in page
    services.record_sign_tested(record=filled_record, user=second, password=PASSWORD)
    record, _ = services.record_submit(record=filled_record, user=qc.analyst, password=PASSWORD)
    tested = Signature.objects.for_record(record).filter(meaning="tested")
    assert {s.signer for s in tested} == {second, qc.analyst}
    assert "微生物限度" in tested.get(signer=second).comment


def test_per_item_test_date_and_analyst_are_recorded_and_shown(qc, client_for, filled_record):
    """R-QC-1, SOP-W 4.2.4 a: microbial limits finish days after the assay."""
    from datetime import timedelta

    from django.utils import timezone

    micro = filled_record.results.get(item__name="微生物限度")
    day = timezone.localdate()
    services.record_update(
        record=filled_record,
        user=qc.analyst,
        results={
            micro.pk: services.ResultEntry(value_text=micro.value_text, calculation=micro.calculation, tested_on=day)
        },
        header={"test_date": day - timedelta(days=1)},
    )
    micro.refresh_from_db()
    assert micro.tested_on == day and micro.test_day == day
    html = client_for(qc.reviewer).get(filled_record.get_absolute_url()).content.decode()
    row = html.split('data-item="微生物限度"')[1].split("</tr>")[0]
    assert day.isoformat() in row and qc.analyst.printed_name in row
    with pytest.raises(InputError):
        services.record_update(
            record=filled_record,
            user=qc.analyst,
            results={
                micro.pk: services.ResultEntry(
                    value_text=micro.value_text, calculation=micro.calculation, tested_on=day + timedelta(days=3)
                )
            },
        )


def test_p5_results_entered_long_after_their_test_date_are_flagged_to_the_reviewer(
    qc, client_for, spec, batch, settings
):
    """SOP-W 4.2.4 c (事后补记), P5: sample received 45 days ago, test date 40 days ago, results typed
    today: accepted before with nothing shown. Now flagged beside each value on the review screen."""
    from datetime import timedelta

    from django.utils import timezone

    from qc_records.models import Category

    settings.QC_BACKFILL_DAYS = 1
    today = timezone.localdate()
    sample = services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.FINISHED_PRODUCT,
            specification=spec,
            batch=batch,
            quantity=Decimal("60"),
            quantity_unit="粒",
            received_date=today - timedelta(days=45),
        ),
    )
    record = services.record_create(sample=sample, user=qc.analyst)
    services.record_update(record=record, user=qc.analyst, header={"test_date": today - timedelta(days=40)})
    fill(record, qc.analyst)
    record.refresh_from_db()
    assay = _assay(record)
    assert (assay.test_day, timezone.localdate(assay.entered_at)) == (today - timedelta(days=40), today)
    assert assay.entered_days_late == 40
    html = client_for(qc.reviewer).get(record.get_absolute_url()).content.decode()
    assert 'data-testid="backfilled"' in html and "entered 40 days after its test date" in html
    settings.QC_BACKFILL_DAYS = 60
    assert _assay(record).entered_days_late == 0


# --- (7) the second-person review checklist ------------------------------------------------------


def test_the_review_signature_needs_every_checklist_item_answered(qc, client_for, submitted_record):
    """R-QC-4; 检验原始记录管理规程 4.2.1 ①–⑥ + PIC/S PI 041 §9.8 (audit trail reviewed): nothing made
    the reviewer check corrections, calculations or the audit trail. Each item is now answered
    before "Reviewed" is signed, and the signature says what was attested."""
    from django.urls import reverse

    from core.models import Signature
    from tests.qc_records.helpers import ALL_CONFIRMED, REVIEW_POST

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
    from tests.qc_records.helpers import ALL_CONFIRMED

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


def test_the_corrected_report_names_the_version_it_supersedes(qc, approved_record, settings, tmp_path):
    """R-QC-10: the report printed after reopening says "supersedes QC-…-v1"."""
    from qc_records import pdf
    from tests.qc_records.helpers import ALL_CONFIRMED

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
    from tests.qc_records.helpers import ALL_CONFIRMED

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
    assay = _assay(filled_record)
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
    from tests.qc_records.helpers import ALL_CONFIRMED

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
    option = html.split(f'value="{old.pk}"')[1].split("</option>")[0]
    assert "disabled" in option and "EXPIRED" in option
    option = html.split(f'value="{stale.pk}"')[1].split("</option>")[0]
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
    from tests.qc_records.helpers import ALL_CONFIRMED

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
