"""R-AT-3 on a full data set: with the demo loaded, every audit table has rows, and raw SQL can
neither change nor delete any of them — on SQLite and on PostgreSQL."""

import pytest
from django.core.management import call_command

from core.audit import append_only_models
from tests.core.helpers import qn, raw_sql_refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_loaded(settings, tmp_path):
    # on_commit callbacks (PDF issue) do not run inside the test transaction: the records, their
    # history and signatures are all there, rendering is skipped.
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    # The demo has no raw-data file and no archived month: add one of each.
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.models import User
    from qc_records import services
    from qc_records.models import TestRecord

    analyst, head = User.objects.get(username="qc_analyst"), User.objects.get(username="qc_head")
    record = TestRecord.objects.filter(status="draft").first()
    services.attachment_add(
        record=record,
        user=analyst,
        upload=SimpleUploadedFile("hplc.txt", b"chromatogram"),
        description="HPLC",
        reason="原始图谱",
    )
    services.ledger_archive(user=head, password="ReleaseDesk-2026!", year=2025, month=1, category="water")
    # Reminders (issue 13 item 3): ten years on, every demo instrument and reagent is past due.
    from datetime import timedelta

    from django.utils import timezone

    from core.reminders import send_due_reminders

    assert send_due_reminders(timezone.localdate() + timedelta(days=3650)).sent


def test_every_audit_table_refuses_raw_update_and_delete(demo_loaded):
    """R-AT-3, R-SIG-4: raw UPDATE and DELETE fail on every history, signature and event table."""
    empty = []
    checked = 0
    for model in append_only_models():
        table = qn(model._meta.db_table)
        pk = model._meta.pk
        row = model._base_manager.order_by("pk").values_list(pk.attname, flat=True).first()
        if row is None:
            empty.append(model._meta.label)
            continue
        raw_sql_refused(f"UPDATE {table} SET {qn(pk.column)} = {qn(pk.column)} WHERE {qn(pk.column)} = %s", [row])
        raw_sql_refused(f"DELETE FROM {table} WHERE {qn(pk.column)} = %s", [row])
        assert model._base_manager.filter(pk=row).exists()
        checked += 1
    # Documents are rendered after commit, which a test transaction never reaches; their trigger
    # is exercised in tests/core/test_documents.py.
    assert set(empty) <= {"core.Document"}, empty
    assert checked == len(append_only_models()) - len(empty) >= 18
