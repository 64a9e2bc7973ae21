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
    add_what_the_demo_does_not_show()
    add_recall_rows_the_demo_does_not_show()
    add_an_api_call()


def add_an_api_call():
    """The integration API's call log (R-API-1): the ERP's system account, its token, one call."""
    from django.test import Client

    from api.services import api_token_issue, system_account_create
    from core.models import User

    admin = User.objects.get(username="admin")
    account = system_account_create(user=admin, name="ERP", scopes=["shipments"], reason="ERP 上线")
    _token, key = api_token_issue(user=admin, account=account)
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/products/").status_code == 200


def add_what_the_demo_does_not_show():
    """One row for each audit table the demo leaves empty: a refused correction of an OOS result, a
    prepared correction of a decided review, a hold placed from a complaint, an ADR follow-up, a
    customer licence scan — each through its real service."""
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from aftersales import services as aftersales_services
    from aftersales.models import ADRCase, Complaint, CustomerLicence
    from core.models import User
    from qc_records import services as qc_services
    from qc_records.models import TestResult
    from release import services as release_services
    from release.models import ReleaseReview

    password = "ReleaseDesk-2026!"
    users = {u.username: u for u in User.objects.all()}
    # An attempt to change a result under OOS investigation: refused, kept beside the value.
    result = TestResult.objects.filter(oos__isnull=False).select_related("record").first()
    try:
        qc_services.record_update(
            record=result.record,
            user=users["qc_analyst"],
            results={result.pk: qc_services.ResultEntry(value_text="99.0")},
            reason="录入笔误",
        )
    except (qc_services.InputError, qc_services.WorkflowError):
        pass
    # A correction of a decided review, prepared by QA.
    review = ReleaseReview.objects.filter(status__in=["released", "rejected"]).select_related("batch").first()
    release_services.review_correction_request(
        batch=review.batch,
        user=users["qa_reviewer"],
        password=password,
        item_key="DECISION",
        correction="更正：放行日期",
        reason="笔误更正",
    )
    # A hold placed from a complaint.
    complaint = Complaint.objects.exclude(status="closed").exclude(batch=None).first()
    aftersales_services.complaint_place_hold(
        complaint=complaint, user=users["qa_reviewer"], password=password, reason="投诉调查期间暂停发货"
    )
    # A follow-up of a reported ADR case.
    case = ADRCase.objects.filter(status="reported").first()
    aftersales_services.adr_followup_record(
        case=case,
        user=users["qa_reviewer"],
        data={
            "information": "患者已痊愈",
            "received_at": timezone.now() - timedelta(hours=1),
            "outcome": ADRCase.Outcome.values[0],
        },
    )
    # A licence scan.
    licence = CustomerLicence.objects.first()
    aftersales_services.licence_scan_add(
        licence=licence,
        user=users["sales"],
        upload=SimpleUploadedFile("licence.pdf", b"%PDF-1.4 scan"),
    )


def add_recall_rows_the_demo_does_not_show():
    """A progress entry and a supervised destruction on the demo recall, and a revised deadline table."""
    from django.utils import timezone

    from core.models import User
    from recalls import services as recall_services
    from recalls.models import ProgressEntry, Recall, RecoveredGoods

    password = "ReleaseDesk-2026!"
    users = {u.username: u for u in User.objects.all()}
    recall = Recall.objects.filter(status=Recall.Status.IN_PROGRESS).first()
    recall_services.progress_add(
        recall=recall,
        user=users["recall_coordinator"],
        kind=ProgressEntry.Kind.NOTE,
        occurred_at=timezone.now(),
        text="已电话确认全部经销商收到召回通知",
    )
    consignee = recall.consignees.filter(quantity_returned__gt=0).first()
    recall_services.recovered_goods_decide(
        recall=recall,
        user=users["qa_reviewer"],
        password=password,
        data={
            "batch": consignee.batch,
            "quantity": 1,
            "quarantine_location": "不合格品库 B-01",
            "decision": RecoveredGoods.Decision.DESTROY,
            "supervisor_kind": RecoveredGoods.Supervisor.AUTHORITY,
            "supervisor_name": "区市场监督管理局",
        },
    )
    recall_services.deadline_rule_revise(user=users["admin"], changes={("I", "progress"): 1}, reason="省局要求每日报告")
    # A batch rejected after a recall (what the QP's approval does when QA keeps the batches).
    from core.signatures import verify_signer
    from release.models import Batch
    from release.services.rejections import recalled_batches_reject

    batch = Batch.objects.get(pk=recall.batches.filter(batch__status=Batch.Status.RELEASED).first().batch_id)
    qp = users["qualified_person"]
    recalled_batches_reject(
        batches=[batch],
        source=recall,
        user=qp,
        credentials=[verify_signer(user=qp, password=password)],
        reason="召回结束，该批作不合格品处理",
        permission="recalls.approve_recall",
    )


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
