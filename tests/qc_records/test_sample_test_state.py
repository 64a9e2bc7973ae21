"""The sample's stored test state ("waiting for a test record") follows every transition of its
test records (issue 12: stored and indexed so that My work, the QC overview and the sample list's
filter do not compare every sample with the records table). R-UX-3, R-QC-9, R-QC-10, R-AT-1."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse

from core.integrity import problems_by_record
from qc_records import services
from qc_records.models import OOSInvestigation, Sample, TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED, assay_result, fill

pytestmark = pytest.mark.django_db

WAITING, STARTED = Sample.TestState.WAITING, Sample.TestState.STARTED


def state(sample: Sample) -> str:
    """The stored state, checked against the one audit-trail row that must match it."""
    stored = Sample.objects.get(pk=sample.pk)
    assert problems_by_record([stored]) == {}, "the sample differs from its newest audit-trail row"
    assert stored.history.order_by("-history_id").first().test_state == stored.test_state
    return stored.test_state


def waiting_numbers() -> set[str]:
    return set(Sample.objects.awaiting_test().values_list("number", flat=True))


def test_a_registered_sample_waits_and_starting_its_record_ends_the_wait(qc, sample):
    assert state(sample) == WAITING and waiting_numbers() == {sample.number}
    services.record_create(sample=sample, user=qc.analyst)
    assert state(sample) == STARTED and waiting_numbers() == set()
    newest = sample.history.order_by("-history_id").first()
    assert newest.history_change_reason == "test record started" and newest.history_user == qc.analyst


def test_the_state_stays_started_through_review_approval_sending_back_and_reopening(
    qc, draft_record, instrument, reagent, settings
):
    """R-QC-4, R-QC-10: the record is live in every one of these states, so the sample never waits."""
    sample = draft_record.sample
    record = fill(draft_record, qc.analyst, instrument=instrument, reagent=reagent)
    record, _opened = services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    assert state(sample) == STARTED
    services.record_send_back(record=record, user=qc.reviewer, reason="温度未记录")
    record, _opened = services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    record = services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    record = services.record_approve(record=record, user=qc.head, password=PASSWORD)
    assert state(sample) == STARTED
    services.record_reopen_request(record=record, user=qc.head, password=PASSWORD, reason="补记颜色")
    record = services.record_reopen(record=record, user=qc.qa, password=PASSWORD)
    assert record.status == TestRecord.Status.DRAFT and state(sample) == STARTED
    assert waiting_numbers() == set()


def test_a_retest_after_a_laboratory_error_keeps_the_sample_started(qc, oos_record):
    """R-QC-5: the retest is recorded in the same record; the sample does not wait again."""
    oos = OOSInvestigation.objects.get()
    services.oos_update(oos=oos, user=qc.analyst, data={"phase1_findings": "稀释错误", "assignable_cause": True})
    services.oos_close(oos=oos, user=qc.qa, password=PASSWORD, outcome="lab_error", summary="稀释错误，复测")
    retest = oos_record.results.get(item=oos.item, attempt=2)
    services.record_update(
        record=oos_record,
        user=qc.analyst,
        results={retest.pk: services.ResultEntry(value_text="99.2", calculation="外标法")},
    )
    assert state(oos_record.sample) == STARTED and waiting_numbers() == set()


def test_voiding_the_record_makes_the_sample_wait_again_until_its_replacement_starts(qc, draft_record):
    """R-QC-9: a voided record is replaced by a new one; meanwhile the sample is in the queue."""
    sample = draft_record.sample
    assay = assay_result(draft_record)
    services.record_update(
        record=draft_record, user=qc.analyst, results={assay.pk: services.ResultEntry(value_text="99.0")}
    )
    with pytest.raises(services.WorkflowError):  # refused: the analyst may not void recorded values
        services.record_void(record=draft_record, user=qc.analyst, password=PASSWORD, reason="样品编号错误")
    assert state(sample) == STARTED
    services.record_void(record=draft_record, user=qc.head, password=PASSWORD, reason="样品编号错误")
    assert state(sample) == WAITING and waiting_numbers() == {sample.number}
    newest = sample.history.order_by("-history_id").first()
    assert newest.history_change_reason == "test record voided: 样品编号错误" and newest.history_user == qc.head
    replacement = services.record_create(sample=sample, user=qc.analyst)
    assert replacement.replaces == draft_record
    assert state(sample) == STARTED and waiting_numbers() == set()


def test_a_refused_start_changes_nothing(qc, draft_record):
    """A second record for the same sample is refused; the state and its history stay as they were."""
    sample = draft_record.sample
    rows = sample.history.count()
    with pytest.raises(services.WorkflowError):
        services.record_create(sample=sample, user=qc.analyst)
    assert state(sample) == STARTED and sample.history.count() == rows


def test_my_work_the_sample_list_and_the_overview_read_the_stored_state(
    qc, client_for, sample, django_assert_max_num_queries
):
    """R-UX-3: the analyst's queue, the list's "waiting" filter and the overview's figure."""
    client = client_for(qc.analyst)
    listed = client.get(reverse("qc_records:sample_list"), {"waiting": "on"})
    assert [s.number for s in listed.context["rows"]] == [sample.number]
    assert sample.number in client.get(reverse("core:my_work")).content.decode()
    services.record_create(sample=sample, user=qc.analyst)
    listed = client.get(reverse("qc_records:sample_list"), {"waiting": "on"})
    assert list(listed.context["rows"]) == []
    assert "No sample is waiting." in client.get(reverse("core:my_work")).content.decode()
    with django_assert_max_num_queries(20) as ctx:
        client.get(reverse("qc_records:sample_list"), {"waiting": "on"})
    waiting_sql = [q["sql"] for q in ctx.captured_queries if "qc_records_sample" in q["sql"]]
    assert waiting_sql and all("qc_records_testrecord" not in q for q in waiting_sql)


def test_the_migration_fills_the_state_from_the_records_with_an_audit_trail_row(qc, sample, draft_record):
    """Existing samples: those with a live record are set to "started", each with a history row
    that says why, so the integrity check finds the sample and its audit trail in agreement."""
    other = services.sample_create(
        user=qc.analyst,
        data={f: getattr(sample, f) for f in ("category", "specification", "batch", "quantity", "quantity_unit")}
        | {"received_date": sample.received_date},
    )
    # As a database migrated from before the field existed: every sample at the column's default.
    with connection.cursor() as cur:
        cur.execute("UPDATE qc_records_sample SET test_state = 'waiting'")
    migration = importlib.import_module("qc_records.migrations.0011_sample_test_state")
    from django.apps import apps

    # The function reads only the editor's connection (SQLite refuses a real schema editor inside
    # the test's transaction).
    migration.fill_test_state(apps, SimpleNamespace(connection=connection))
    assert state(sample) == STARTED and state(other) == WAITING
    assert sample.history.order_by("-history_id").first().history_change_reason == migration.REASON
