"""A sample's stored test state against its test records (issue 12; R-AT-3, R-QC-1): the analysts'
queue of waiting samples reads the stored state, so ``verify_integrity`` recomputes it from the
records and names a sample whose stored state a write path left wrong."""

from __future__ import annotations

import pytest
from django.db import connection

from core import integrity
from qc_records import stored_states
from qc_records.models import Sample

pytestmark = pytest.mark.django_db


def force_state(sample: Sample, state: str) -> None:
    """What a write path that skipped ``store_test_state`` would leave (no history row)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE qc_records_sample SET test_state = %s WHERE id = %s", [state, sample.pk])


def another_sample(qc, like: Sample, spec, batch) -> Sample:
    """A second sample of the same batch, registered as the analyst would (waiting)."""
    from qc_records import services

    return services.sample_create(
        user=qc.analyst,
        data=dict(
            category=like.category,
            specification=spec,
            batch=batch,
            quantity=like.quantity,
            quantity_unit=like.quantity_unit,
            received_date=like.received_date,
        ),
    )


def findings() -> list[str]:
    report = integrity.Report()
    stored_states.check_test_state(report)
    return [str(f) for f in report.findings]


def test_a_sample_left_waiting_with_a_live_record_is_named_and_fill_recomputes_it(qc, draft_record):
    """R-AT-3: the sample is being tested (a draft record) but stored as waiting: the finding names
    the sample, the stored state as the page shows it, and what it does to the queue."""
    sample = draft_record.sample
    assert findings() == []
    force_state(sample, "waiting")
    assert findings() == [
        f"[stored states] sample {sample.number}: stored as “Waiting for a test record”, but the sample "
        "has a live test record: the analysts' queue lists it as waiting although it is being tested"
    ]
    assert stored_states.fill(sample.pk, sample.pk) == 1
    sample.refresh_from_db()
    assert sample.test_state == "started" and findings() == []
    assert stored_states.fill(sample.pk, sample.pk) == 0  # only changed rows are written


def test_a_sample_stored_as_started_without_a_record_is_named(qc, sample):
    """R-AT-3: a sample with no live record stored as started is missing from the queue."""
    force_state(sample, "started")
    assert findings() == [
        f"[stored states] sample {sample.number}: stored as “Test record started”, but the sample "
        "has no live test record: the analysts' queue of waiting samples does not list it"
    ]


def test_the_nightly_run_finds_a_wrong_state_written_with_its_audit_trail_row(qc, sample, spec, batch):
    """The check is registered with ``core.integrity`` (``verify_integrity`` and the Integrity check
    page run it). A wrong state saved *with* a history row (a service with a wrong rule) passes the
    audit-trail comparison, so only this check names it; with a limit only the most recent samples
    are read."""
    from core.workflow import save_step

    newer = another_sample(qc, sample, spec, batch)
    sample.test_state = Sample.TestState.STARTED
    save_step(sample, qc.analyst, "started")
    report = integrity.run()
    assert report.checked["stored test states of samples"] == 2
    assert [f.subject for f in report.findings] == [f"sample {sample.number}"]
    recent = integrity.run(limit=1)
    assert recent.checked["stored test states of samples"] == 1 and recent.ok
    assert newer.test_state == "waiting"


def test_past_the_findings_shown_it_says_how_many_more(qc, draft_record, spec, batch, monkeypatch):
    """The first ``FINDINGS_SHOWN`` are named, then how many more differ."""
    sample = draft_record.sample
    other = another_sample(qc, sample, spec, batch)
    monkeypatch.setattr(stored_states, "FINDINGS_SHOWN", 1)
    force_state(sample, "waiting")
    force_state(other, "started")
    assert [f.split(":")[0] for f in findings()] == [
        f"[stored states] sample {sample.number}",
        "[stored states] samples",
    ]
    assert findings()[1] == (
        "[stored states] samples: 1 more samples differ in the same way (only the first 1 are listed)"
    )
