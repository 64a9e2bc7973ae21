"""The read function release calls for a batch (R-REL-3, R-REL-4, R-QC-5)."""

from datetime import timedelta

import pytest

from qc_records import services
from qc_records.for_release import BatchQCSummary, batch_has_open_oos, batch_qc_summary
from qc_records.models import OOSInvestigation
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED

pytestmark = pytest.mark.django_db


def test_batch_without_records_is_pending_with_missing_tests(spec, batch):
    summary = batch_qc_summary(batch)
    assert summary.status == "pending" and not summary.ok
    required = summary.finding(BatchQCSummary.REQUIRED_TESTS)
    assert not required.ok and spec.code in required.message
    assert required.evidence[0].url == spec.get_absolute_url()


def test_approved_complying_record_passes_with_evidence(approved_record, batch):
    summary = batch_qc_summary(batch.pk)
    assert summary.status == "passed" and summary.ok and summary.blockers == []
    assert summary.finding(BatchQCSummary.REQUIRED_TESTS).evidence[0].url == approved_record.get_absolute_url()
    assert approved_record.report_number in summary.records[0].label


def test_open_oos_blocks_and_is_linked(oos_record, batch):
    summary = batch_qc_summary(batch)
    oos = OOSInvestigation.objects.get()
    assert summary.has_open_oos and batch_has_open_oos(batch.pk)
    assert summary.finding(BatchQCSummary.OPEN_OOS).evidence[0].url == oos.get_absolute_url()
    assert not summary.finding(BatchQCSummary.FAILING_RESULTS).ok
    assert summary.status == "pending"


def test_confirmed_oos_fails_the_batch(qc, oos_record, batch):
    oos = OOSInvestigation.objects.get()
    services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "未发现", "assignable_cause": False})
    services.oos_start_phase_two(oos=oos, user=qc.head, reason="无实验室原因")
    services.oos_update(oos=oos, user=qc.qa, data={"phase2_findings": "生产偏差"})
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="confirmed", summary="OOS成立")
    summary = batch_qc_summary(batch)
    assert summary.status == "failed" and not summary.has_open_oos
    assert not summary.finding(BatchQCSummary.CONFIRMED_OOS).ok


def test_invalidated_result_does_not_count_after_a_passing_retest(qc, oos_record, batch, settings):
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    oos = OOSInvestigation.objects.get()
    services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "稀释错误", "assignable_cause": True})
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary="实验室差错")
    retest = oos_record.results.get(item=oos.item, attempt=2)
    services.record_update(
        record=oos_record, user=qc.analyst, results={retest.pk: services.ResultEntry(value_text="99.0")}
    )
    services.record_submit(record=oos_record, user=qc.analyst, password=PASSWORD)
    services.record_review(checklist=ALL_CONFIRMED, record=oos_record, user=qc.reviewer, password=PASSWORD)
    services.record_approve(record=oos_record, user=qc.head, password=PASSWORD)
    assert batch_qc_summary(batch).status == "passed"


def test_instrument_out_of_calibration_on_the_test_date_is_reported(qc, approved_record, batch):
    use = approved_record.instrument_uses.get()
    # The calibration date recorded when the instrument was chosen decides (here set before the test date).
    use.calibration_due = approved_record.test_date - timedelta(days=1)
    use.save_audited(user=qc.head, reason="test fixture: snapshot before the test date")
    summary = batch_qc_summary(batch)
    finding = summary.finding(BatchQCSummary.INSTRUMENTS)
    assert not finding.ok and use.instrument.code in finding.evidence[0].label
    assert finding.evidence[0].url == use.instrument.get_absolute_url()


def test_read_function_uses_a_fixed_number_of_queries(qc, approved_record, batch, django_assert_num_queries):
    """R-PERF-1, issue 12: the records (with which kinds of finding each has), the specifications
    in force and the failing results, plus 2 for whether each approved report's approval still
    holds (its signatures and newest audit-trail rows: issue 8 item 3) — the same for one report or
    fifty. A clean batch pays no query for OOS, instrument, reagent or discarded-data rows it does
    not have (each kind present costs one more, for every record at once)."""
    from django.utils import translation

    with django_assert_num_queries(5), translation.override("en"):
        batch_qc_summary(batch)


def _set_use_date(use, field: str, value, qc, **extra) -> None:
    setattr(use, field, value)
    for k, v in extra.items():
        setattr(use, k, v)
    use.save_audited(user=qc.head, reason="test fixture: the date recorded when it was chosen")


def test_each_kind_of_finding_present_costs_one_query_for_all_records(
    qc, approved_record, batch, django_assert_num_queries
):
    """Issue 12: an instrument past calibration and a reagent past expiry on the test date are read
    (one query each, for every record at once) and reported; nothing else is read."""
    from django.utils import translation

    test_date = approved_record.test_date
    _set_use_date(approved_record.instrument_uses.get(), "calibration_due", test_date - timedelta(days=1), qc)
    reagent_use = approved_record.reagent_uses.get()
    _set_use_date(reagent_use, "expiry_date", test_date - timedelta(days=1), qc)
    with django_assert_num_queries(7), translation.override("en"):
        summary = batch_qc_summary(batch)
    assert not summary.finding(BatchQCSummary.INSTRUMENTS).ok
    finding = summary.finding(BatchQCSummary.REAGENTS)
    assert finding.message == "Reagent or reference standard used after its expiry date."
    day_before = test_date - timedelta(days=1)
    assert finding.evidence[0].label == f"{reagent_use.reagent}: {day_before:%Y-%m-%d} < {test_date:%Y-%m-%d}"
    assert finding.evidence[0].url == reagent_use.reagent.get_absolute_url()


def test_a_reagent_expiring_on_the_test_date_or_a_voided_use_is_not_reported(qc, approved_record, batch):
    """The comparison is strict (in date on its expiry day), and a use struck out of the record
    (voided, with its reason) is no longer the record's."""
    from django.utils import timezone, translation

    test_date = approved_record.test_date
    _set_use_date(approved_record.reagent_uses.get(), "expiry_date", test_date, qc)
    _set_use_date(
        approved_record.instrument_uses.get(),
        "calibration_due",
        test_date - timedelta(days=30),
        qc,
        voided_at=timezone.now(),
        void_reason="wrong instrument chosen",
    )
    with translation.override("en"):
        summary = batch_qc_summary(batch)
    reagents = summary.finding(BatchQCSummary.REAGENTS).message
    assert reagents == "Every reagent and reference standard was in date on its test date."
    instruments = summary.finding(BatchQCSummary.INSTRUMENTS).message
    assert instruments == "Every instrument was in calibration on its test date."


def test_an_open_oos_on_an_intermediate_of_the_batch_blocks_too(
    qc, approved_record, batch, approved_product, instrument, reagent
):
    """R-QC-5, R-REL-4: the summary asked an OOS question about finished-product records only, so
    an open OOS on an intermediate sampled from the same batch answered "no open OOS" and the batch
    "passed" (batch_has_open_oos said the opposite)."""
    from decimal import Decimal

    from django.utils import timezone

    from qc_records.models import Category
    from tests.qc_records.helpers import fill, make_spec

    spec = make_spec(
        author=qc.head,
        approver=qc.qa,
        product=approved_product,
        category=Category.INTERMEDIATE,
        code="ZL-BZ-ZJ-001",
        items=[("含量测定", "numeric", Decimal("95.0"), Decimal("105.0"), 1, "%", "", 1)],
    )
    sample = services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.INTERMEDIATE,
            specification=spec,
            batch=batch,
            quantity=Decimal("50"),
            quantity_unit="g",
            received_date=timezone.localdate(),
        ),
    )
    record = services.record_create(sample=sample, user=qc.analyst)
    fill(record, qc.analyst, instrument=instrument, reagent=reagent, overrides={"含量测定": "90.1"})
    services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    summary = batch_qc_summary(batch)
    assert batch_has_open_oos(batch.pk) and summary.has_open_oos
    assert summary.status == "pending" and not summary.finding(BatchQCSummary.FAILING_RESULTS).ok
    assert summary.finding(BatchQCSummary.REQUIRED_TESTS).ok  # required tests stay the finished-product ones
