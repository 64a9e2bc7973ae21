"""The stored testers of a record (issue 12) against the audit trail's definition (R-QC-4, R-SEQ-2):
written with each history row and "Tested" signature, equal to what the audit trail says, and
checked by ``verify_integrity`` both ways."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from simple_history.signals import post_create_historical_record

from core import integrity
from core.models import Signature
from core.signatures import sign, verify_signer
from qc_records import services, testers
from qc_records.models import RecordTester, TestRecord, TestResult
from tests.factories import PASSWORD, InstrumentFactory
from tests.qc_records.helpers import ALL_CONFIRMED, fill

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False


def stored(record) -> set[str]:
    ids = RecordTester.objects.filter(record=record).values_list("user_id", flat=True)
    return set(type(record.created_by).objects.filter(pk__in=ids).values_list("username", flat=True))


def from_audit_trail(record) -> set[int]:
    sql, params = testers.audit_trail_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT user_id FROM ({sql}) AS t WHERE record_id = %s", [*params, record.pk])  # noqa: S608
        return {row[0] for row in cursor.fetchall()}


def findings() -> list[str]:
    report = integrity.Report()
    testers.check_testers(report)
    return [str(f) for f in report.findings]


def test_the_frozen_header_fields_are_the_records_editable_fields():
    """R-QC-4: the audit-trail definition (and the migration that filled the table) compares the
    fields a person can change on a record; a field added there must be added here."""
    assert testers.HEADER_FIELDS == TestRecord.EDITABLE_FIELDS


def test_every_kind_of_testing_is_stored_as_it_happens_and_equals_the_audit_trail(qc, filled_record, make_user):
    """R-QC-4, R-SEQ-2: the header, an instrument, a file, a corrected result and a "Tested"
    signature each make their author a tester in the same transaction; a reviewer who sends the
    record back and an unchanged save make no one a tester. The stored rows equal the audit trail's
    definition, and the integrity check finds nothing."""
    record = filled_record
    header = make_user("qc_analyst", username="header_writer")
    instrument_chooser = make_user("qc_analyst", username="instrument_chooser")
    filer = make_user("qc_analyst", username="filer")
    corrector = make_user("qc_analyst", username="corrector")
    assert stored(record) == {qc.analyst.username}

    services.record_update(record=record, user=header, header={"observations": "溶液澄清"})
    assert "header_writer" in stored(record)
    services.record_update(
        record=record,
        user=instrument_chooser,
        instruments=[*(use.instrument for use in record.instrument_uses.all()), InstrumentFactory()],
    )
    services.attachment_add(record=record, user=filer, upload=SimpleUploadedFile("hplc.cdf", b"chromatogram"))
    assay = record.results.get(item__name="含量测定")
    services.record_update(
        record=record, user=corrector, reason="第二次进样", results={assay.pk: services.ResultEntry(value_text="99.9")}
    )
    services.record_update(
        record=record, user=qc.analyst, reason="抄写错误", results={assay.pk: services.ResultEntry(value_text="99.6")}
    )
    services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    services.record_send_back(record=record, user=qc.reviewer, reason="计算过程不完整")

    assert stored(record) == {qc.analyst.username, "header_writer", "instrument_chooser", "filer", "corrector"}
    assert qc.reviewer.username not in stored(record)
    assert from_audit_trail(record) == set(RecordTester.objects.filter(record=record).values_list("user_id", flat=True))
    assert findings() == []


def test_a_tested_signature_makes_its_signer_a_tester_and_another_meaning_does_not(qc, filled_record, make_user):
    """R-QC-4: a "Tested" signature however it is written (here straight through core.signatures)
    stores its signer; a "Reviewed" one does not."""
    tester = make_user("qc_analyst", username="signs_tested")
    other = make_user("qc_reviewer", username="signs_reviewed")
    for person, meaning in ((tester, Signature.Meaning.TESTED), (other, Signature.Meaning.REVIEWED)):
        credential = verify_signer(user=person, password=PASSWORD)
        sign(credential=credential, record=filled_record, meaning=meaning)
    assert stored(filled_record) == {qc.analyst.username, "signs_tested"}
    assert from_audit_trail(filled_record) == {qc.analyst.pk, tester.pk}


def test_the_review_queue_and_service_read_the_stored_testers(qc, submitted_record, make_user, client_for):
    """R-QC-4: a reviewer who corrected a result sees no record to review in My work, and the
    service refuses them, both from the stored row."""
    corrector = make_user("qc_analyst", "qc_reviewer", username="corrector")
    services.record_send_back(record=submitted_record, user=qc.reviewer, reason="重新进样")
    assay = submitted_record.results.get(item__name="含量测定")
    services.record_update(
        record=submitted_record,
        user=corrector,
        reason="第二次进样",
        results={assay.pk: services.ResultEntry(value_text="99.8")},
    )
    services.record_sign_tested(record=submitted_record, user=corrector, password=PASSWORD)
    services.record_submit(record=submitted_record, user=qc.analyst, password=PASSWORD)
    assert RecordTester.objects.filter(record=submitted_record, user=corrector).exists()
    page = client_for(corrector).get(reverse("core:my_work")).content.decode()
    assert "No test record is waiting for your review." in page
    assert str(submitted_record.sample.number) not in page
    with pytest.raises(Exception, match="different person"):
        services.record_review(checklist=ALL_CONFIRMED, record=submitted_record, user=corrector, password=PASSWORD)


def test_the_integrity_check_finds_a_tester_missing_from_the_table_and_fill_adds_it(qc, filled_record, make_user):
    """R-QC-4, R-AT-3: a result entered while the table was not written (as a write path that
    skipped it would leave it) is named by ``verify_integrity`` with the person; ``fill`` adds it."""
    helper = make_user("qc_analyst", username="unlisted_helper")
    assay = filled_record.results.get(item__name="含量测定")
    sender = TestResult.history.model
    post_create_historical_record.disconnect(sender=sender, dispatch_uid="qc_testers_TestResult")
    try:
        services.record_update(
            record=filled_record,
            user=helper,
            reason="第二次进样",
            results={assay.pk: services.ResultEntry(value_text="99.7")},
        )
    finally:
        testers.connect()
    assert "unlisted_helper" not in stored(filled_record)
    assert findings() == [
        f"[testers] test record #{filled_record.pk}: the audit trail shows unlisted_helper did some of the testing, "
        "but the stored testers (which keep testers from reviewing or approving their own record) do not list them"
    ]
    assert testers.fill() == 1
    assert "unlisted_helper" in stored(filled_record)
    assert findings() == []


def test_the_integrity_check_finds_a_stored_tester_the_audit_trail_does_not_name(qc, filled_record, make_user):
    """R-QC-4: a row written by something other than this module (here an INSERT) is reported."""
    stranger = make_user("qc_reviewer", username="stranger")
    RecordTester.objects.create(record=filled_record, user=stranger)
    assert findings() == [
        f"[testers] test record #{filled_record.pk}: the stored testers list stranger, "
        "but nothing in the audit trail shows them testing"
    ]


def test_stored_testers_are_only_added(qc, filled_record):
    """R-AT-3: a tester stays a tester; the ORM and the database refuse changing or removing one."""
    row = RecordTester.objects.get(record=filled_record)
    with pytest.raises(Exception, match="only added"):
        row.save()
    with pytest.raises(Exception, match="only added"):
        row.delete()
    table = connection.ops.quote_name(RecordTester._meta.db_table)
    for sql in (f"UPDATE {table} SET user_id = user_id", f"DELETE FROM {table}"):  # noqa: S608
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert RecordTester.objects.filter(record=filled_record).count() == 1


def test_the_audit_trail_query_compares_decimals_dates_and_nulls_as_the_record_does(qc, draft_record, make_user):
    """R-QC-4: the set-based definition finds a temperature typed for the first time (NULL → value),
    a changed temperature (decimals) and a changed test date; a reviewer's send-back, a history row
    of the record that changes none of them, makes no one a tester."""
    first = make_user("qc_analyst", username="first_temperature")
    second = make_user("qc_analyst", username="second_temperature")
    dater = make_user("qc_analyst", username="dater")
    assert draft_record.temperature is None
    services.record_update(record=draft_record, user=first, header={"temperature": Decimal("19.5")})
    services.record_update(record=draft_record, user=second, header={"temperature": Decimal("19.6")})
    services.record_update(
        record=draft_record, user=dater, header={"test_date": draft_record.test_date - timedelta(days=1)}
    )
    fill(draft_record, qc.analyst)
    services.record_submit(record=draft_record, user=qc.analyst, password=PASSWORD)
    services.record_send_back(record=draft_record, user=qc.reviewer, reason="请补充计算过程")
    people = {first.pk, second.pk, dater.pk, qc.reviewer.pk}
    assert from_audit_trail(draft_record) & people == {first.pk, second.pk, dater.pk}
    assert set(RecordTester.objects.filter(record=draft_record).values_list("user_id", flat=True)) == (
        from_audit_trail(draft_record)
    )
    assert findings() == []
