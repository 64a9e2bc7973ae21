"""Issue 8 reproductions 1, 2 and 4 on a QC test record (R-SIG-3, R-QC-5, R-REL-4): what a signature
vouches for is checked, on the record's page, by the integrity check and by what release reads."""

from __future__ import annotations

import pytest
from django.db import connection

from core import integrity
from core.models import Signature
from qc_records.for_release import BatchQCSummary, batch_qc_summary
from qc_records.models import Sample, TestRecord
from tests.core.helpers import qn
from tests.factories import BatchFactory

pytestmark = pytest.mark.django_db


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _summary(batch) -> BatchQCSummary:
    return batch_qc_summary(batch.pk)


def test_the_approval_vouches_for_verdict_number_people_and_the_samples_batch(approved_record):
    record = TestRecord.objects.select_related("sample").get(pk=approved_record.pk)
    assert integrity.state_problems(record) == []
    sig = Signature.objects.for_record(record).filter(meaning="approved").get()
    assert sig.state["verdict"] == "complies" and sig.state["report_number"] == record.report_number
    assert sig.state["sample.batch"] == record.sample.batch_id and sig.state["approved_by"] == record.approved_by_id


def test_a_verdict_flipped_by_sql_is_reported_and_release_no_longer_counts_the_report(approved_record, batch):
    """Reproduction 1: before, the signature stayed valid and the batch's QC summary flipped."""
    assert _summary(batch).status == "passed"
    _sql(f"UPDATE {qn(TestRecord._meta.db_table)} SET verdict = 'does_not_comply' WHERE id = %s", [approved_record.pk])
    problems = integrity.state_problems(approved_record)
    assert (
        "conclusion is “Does not comply with the specification” but was “Complies with the specification” when signed “Approved”"
        in problems
    )
    assert any(p.startswith("changed without an audit-trail entry") for p in problems)
    summary = _summary(batch)
    assert summary.status != "passed"
    intact = summary.finding(BatchQCSummary.RECORDS_INTACT)
    assert not intact.ok and approved_record.report_number in intact.message


def test_a_record_set_to_approved_by_sql_is_not_approved_for_release(reviewed_record, batch):
    """Reproduction 2: before, the batch showed "QC passed" with no "Approved" signature."""
    _sql(
        f"UPDATE {qn(TestRecord._meta.db_table)} SET status = 'approved', verdict = 'complies', "
        "report_number = 'QC-2026-9999' WHERE id = %s",
        [reviewed_record.pk],
    )
    summary = _summary(batch)
    assert summary.status != "passed"
    assert "without a valid “Approved” signature" in summary.finding(BatchQCSummary.RECORDS_INTACT).message


def test_a_sample_moved_to_another_batch_by_sql_is_reported(approved_record, batch):
    """Reproduction 4: the record's hash covered only the sample's id, not what the sample is."""
    other = BatchFactory(product=batch.product, last_changed_by=approved_record.approved_by)
    _sql(f"UPDATE {qn(Sample._meta.db_table)} SET batch_id = %s WHERE id = %s", [other.pk, approved_record.sample_id])
    record = TestRecord.objects.select_related("sample").get(pk=approved_record.pk)
    problems = integrity.state_problems(record)
    assert any(p.startswith("sample · batch is") for p in problems), problems
    assert not _summary(other).finding(BatchQCSummary.RECORDS_INTACT).ok
    findings = [f.message for f in integrity.run().findings if f.kind == "state"]
    assert any("sample · batch is" in m for m in findings)


def test_the_record_page_shows_it(approved_record, qc, client_for):
    _sql(f"UPDATE {qn(TestRecord._meta.db_table)} SET verdict = 'does_not_comply' WHERE id = %s", [approved_record.pk])
    page = client_for(qc.head).get(approved_record.get_absolute_url()).content.decode()
    assert 'data-testid="integrity-problems"' in page and "when signed “Approved”" in page
