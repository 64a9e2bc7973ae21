"""A recall closed keeping its batches as rejected goods (issue 11 item 7, R-RCL-5, R-SIG-1,
R-AT-2): each recalled batch still released moves to "Rejected" with its own "Rejected" signature
by the approving QP on a release ``BatchRejection`` naming the recall; the holds stay; the batch
page and the final report say so. No other path moves a released batch to rejected, and the
integrity check tells a batch rejected this way from one rejected by SQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core import integrity
from core.models import Document, Signature
from core.workflow import WorkflowError
from recalls import services
from recalls.models import Recall
from release import services as release_services
from release.for_shipping import may_ship
from release.models import Batch, BatchHold, BatchRejection
from release.services.rejections import recalled_batches_reject
from tests.aftersales.helpers import english_client
from tests.core.test_documents import pdf_text
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _account_and_close(recall, users, coordinator, disposition: str) -> Recall:
    for row in recall.consignees.all():
        services.consignee_notify(consignee=row, user=coordinator, method="phone", notified_at=timezone.now())
        services.consignee_quantities(
            consignee=row,
            user=coordinator,
            data=dict(quantity_held=0, quantity_returned=row.quantity_shipped, quantity_used=0, quantity_destroyed=0),
            reason="全部退回",
        )
    return services.recall_close(
        recall=recall,
        user=users["qa_reviewer"],
        password=PASSWORD,
        effectiveness_evaluation="收回率100%，有效",
        outstanding_justification="",
        hold_disposition=disposition,
    )


@pytest.fixture
def rejected(started, users, coordinator, django_capture_on_commit_callbacks):
    recall = _account_and_close(started, users, coordinator, "keep")
    with django_capture_on_commit_callbacks(execute=True):
        return services.recall_approve(
            recall=recall, user=users["qualified_person"], password=PASSWORD, reason="不合格品，监督销毁"
        )


def test_keeping_the_batches_rejects_each_with_the_qps_signature_and_keeps_the_holds(rejected, shipped, users):
    qp = users["qualified_person"]
    recalled, other = Batch.objects.get(pk=shipped[0].pk), Batch.objects.get(pk=shipped[1].pk)
    assert recalled.status == Batch.Status.REJECTED
    assert other.status == Batch.Status.RELEASED  # not in the recall: untouched
    rejection = BatchRejection.objects.get(batch=recalled)
    assert (rejection.source, rejection.rejected_by, rejection.source_text) == (rejected, qp, rejected.number)
    assert rejected.number in rejection.reason and "不合格品，监督销毁" in rejection.reason
    [signature] = Signature.objects.for_record(rejection)
    assert (signature.meaning, signature.signer, signature.is_valid()) == (Signature.Meaning.REJECTED, qp, True)
    assert signature.state == {"status": "rejected", "batch.status": "rejected"}
    # The batch's own history: released → rejected, by the QP, with the reason naming the recall.
    last = recalled.history.order_by("-history_id").first()
    assert (last.status, last.history_user, last.prev_record.status) == ("rejected", qp, "released")
    assert rejected.number in last.history_change_reason
    assert rejection.history.count() == 1
    # The recall: Prepared, Approved (start), Closed, Approved (final report); every one valid.
    assert [s.meaning for s in Signature.objects.for_record(rejected).order_by("pk")][-1] == Signature.Meaning.APPROVED
    # The holds stay active; the gate refuses the batch twice over.
    hold = BatchHold.objects.get(batch=recalled)
    assert hold.status == BatchHold.Status.ACTIVE
    reasons = may_ship(recalled)
    assert any("on hold" in r for r in reasons) and len(reasons) >= 2
    assert may_ship(other) == []


def test_the_batch_page_says_rejected_after_the_recall_by_whom_and_when(rejected, shipped, users):
    qp = users["qualified_person"]
    rejection = BatchRejection.objects.get(batch=shipped[0])
    when = timezone.localtime(rejection.rejected_at).strftime("%Y-%m-%d %H:%M")
    page = english_client(users["auditor"]).get(reverse("release:batch_detail", args=[shipped[0].pk]))
    text = page.content.decode()
    assert f"Rejected after recall {rejected.number}, by {qp.printed_name}, {when}" in text
    assert "Kept active: the batch was rejected when this recall closed" in text
    assert "No nonconforming-product report is issued for a rejection after a recall" in text
    recall_page = english_client(users["auditor"]).get(reverse("recalls:recall_detail", args=[rejected.pk]))
    assert f"K2611001</a>: Rejected after recall {rejected.number}, by {qp.printed_name}, {when}" in (
        recall_page.content.decode()
    )
    other = english_client(users["auditor"]).get(reverse("release:batch_detail", args=[shipped[1].pk]))
    assert "Rejected after recall" not in other.content.decode()


def test_the_final_report_lists_each_batch_rejected_with_the_qps_signature(rejected, shipped, users):
    qp = users["qualified_person"]
    report = Document.objects.get(kind="recall_final_report")
    [row] = report.context["dispositions"]
    assert (row["batch"], row["what"]["en"], row["by"]) == ("K2611001", "Rejected", qp.printed_name)
    text = re.sub(r"\s+", " ", pdf_text(report))
    assert "Disposition of the batches" in text and "批次处理" in text
    assert re.search(rf"K2611001 .*Rejected.* {re.escape(qp.printed_name)}", text)


def test_lifting_the_holds_still_leaves_the_batches_released(started, shipped, users, coordinator):
    recall = _account_and_close(started, users, coordinator, "lift")
    services.recall_approve(recall=recall, user=users["qualified_person"], password=PASSWORD, reason="危害已消除")
    assert Batch.objects.get(pk=shipped[0].pk).status == Batch.Status.RELEASED
    assert not BatchRejection.objects.exists()
    assert BatchHold.objects.get(batch=shipped[0]).status == BatchHold.Status.LIFTED
    assert may_ship(shipped[0]) == []


def test_the_qp_is_told_before_signing_that_the_approval_rejects_the_batches(started, shipped, users, coordinator):
    """R-SIG-2: the meaning of every signature the password writes is shown before signing."""
    recall = _account_and_close(started, users, coordinator, "keep")
    page = english_client(users["qualified_person"]).get(reverse("recalls:recall_detail", args=[recall.pk]))
    text = page.content.decode()
    assert "your password also signs each batch still released as “Rejected” (K2611001)" in text
    assert "K2611002" not in text.split('data-testid="approval-rejects"')[1].split("</p>")[0]


def test_a_wrong_password_or_role_rejects_nothing(started, shipped, users, coordinator):
    recall = _account_and_close(started, users, coordinator, "keep")
    with pytest.raises(WorkflowError):
        services.recall_approve(recall=recall, user=users["qualified_person"], password="wrong", reason="同意")
    with pytest.raises(WorkflowError, match="permission"):
        services.recall_approve(recall=recall, user=users["quality_head"], password=PASSWORD, reason="同意")
    with pytest.raises(WorkflowError, match="permission"):
        recalled_batches_reject(
            batches=[shipped[0]],
            source=recall,
            user=users["qa_reviewer"],
            credentials=[object()],
            reason="x",
            permission="recalls.approve_recall",
        )
    assert Batch.objects.get(pk=shipped[0].pk).status == Batch.Status.RELEASED
    assert not BatchRejection.objects.exists()
    assert Recall.objects.get(pk=recall.pk).status == Recall.Status.CLOSING


def test_only_a_released_batch_is_rejected_after_a_recall(started, shipped, users, admin_user):
    """Wrong state: the release function refuses a batch that is not released (still in review,
    already rejected, voided) with the reason, and writes nothing."""
    from core.signatures import verify_signer
    from tests.factories import BatchFactory

    quarantined = BatchFactory(product=shipped[0].product, batch_number="Q2611009", last_changed_by=admin_user)
    qp = users["qualified_person"]
    credential = verify_signer(user=qp, password=PASSWORD)
    with pytest.raises(WorkflowError, match="Batch Q2611009 is “Quarantine”: only a released batch is rejected"):
        recalled_batches_reject(
            batches=[quarantined],
            source=started,
            user=qp,
            credentials=[credential],
            reason="召回后判不合格",
            permission="recalls.approve_recall",
        )
    assert Batch.objects.get(pk=quarantined.pk).status == Batch.Status.QUARANTINE
    assert not BatchRejection.objects.exists()


# --- no other path -------------------------------------------------------------------------------


def test_the_release_review_cannot_reject_a_released_batch(shipped, users):
    with pytest.raises(WorkflowError):
        release_services.review_reject(batch=shipped[0], user=users["qualified_person"], password=PASSWORD, reason="x")
    assert Batch.objects.get(pk=shipped[0].pk).status == Batch.Status.RELEASED


def test_admin_and_api_cannot_change_a_batchs_status(shipped, users, client):
    from django.contrib.auth import get_user_model

    from api.services import api_token_issue, system_account_create
    from tests.api.conftest import token_client

    superuser = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(superuser)
    url = reverse("admin:release_batch_change", args=[shipped[0].pk])
    response = client.post(url, {"status": "rejected", "batch_number": shipped[0].batch_number})
    assert response.status_code in (200, 302, 403)
    account = system_account_create(user=users["admin"], name="ERP", scopes=["shipments"], reason="go-live")
    _token, key = api_token_issue(user=users["admin"], account=account)
    api = token_client(key)
    for method in (api.put, api.patch, api.post):
        response = method(
            reverse("api:batch", args=[shipped[0].pk]), {"status": "rejected"}, content_type="application/json"
        )
        assert response.status_code in (403, 405), method
    assert Batch.objects.get(pk=shipped[0].pk).status == Batch.Status.RELEASED


def test_only_the_review_and_the_recall_closure_move_a_batch_to_rejected():
    """Every ``move`` of a batch to rejected in the application's code: the release review's QP
    decision (from under review / factory released) and ``recalled_batches_reject`` (from released).
    A new path that rejects a batch fails here and has to say why."""
    found = set()
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "var/", "node_modules/")) or "/migrations/" in relative:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"Batch\.Status\.REJECTED\s*\)", text) and re.search(r"\bmove\(|_decide\(", text):
            for match in re.finditer(r"Batch\.Status\.REJECTED\s*\)", text):
                line = text[: match.start()].count("\n") + 1
                found.add((relative, line))
    assert {f for f, _line in found} == {"release/services/reviews.py", "release/services/rejections.py"}, found


# --- integrity ------------------------------------------------------------------------------------


def _findings_for(report, batch: Batch) -> list[str]:
    return [f.message for f in report.findings if f"({batch.batch_number})" in f.subject]


def test_a_batch_rejected_after_a_recall_is_intact(rejected, shipped):
    """The whole integrity check passes: the rejection's "Rejected" signature verifies, what it
    vouched for (the batch rejected) holds, and every change has its audit-trail row."""
    rejection = BatchRejection.objects.get(batch=shipped[0])
    assert integrity.missing_signatures(rejection) == []
    assert integrity.state_problems(rejection) == [] and integrity.state_problems(shipped[0]) == []
    report = integrity.run()
    assert report.ok, [str(f) for f in report.findings]


def test_a_released_batch_set_to_rejected_by_sql_is_a_finding(shipped):
    """No rejection record, no signature, no audit-trail row: reported."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE release_batch SET status = 'rejected' WHERE id = %s", [shipped[1].pk])
    messages = _findings_for(integrity.run(), shipped[1])
    assert "changed without an audit-trail entry: disposition" in messages, messages


def test_a_rejected_batch_moved_back_by_sql_breaks_what_the_rejection_vouched_for(rejected, shipped):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE release_batch SET status = 'released' WHERE id = %s", [shipped[0].pk])
    rejection = BatchRejection.objects.get(batch=shipped[0])
    assert any("was “Rejected” when signed “Rejected”" in p for p in integrity.state_problems(rejection))
    assert "changed without an audit-trail entry: disposition" in _findings_for(integrity.run(), shipped[0])


def test_a_rejection_record_changed_by_sql_is_a_finding(rejected, shipped):
    rejection = BatchRejection.objects.get(batch=shipped[0])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE release_batchrejection SET reason = 'edited' WHERE id = %s", [rejection.pk])
    rejection.refresh_from_db()
    assert integrity.missing_signatures(rejection) == [Signature.Meaning.REJECTED]
    messages = [f.message for f in integrity.run().findings if f"#{rejection.pk} ({rejection})" in f.subject]
    assert "status “Rejected” without a valid “Rejected” signature" in messages, messages
