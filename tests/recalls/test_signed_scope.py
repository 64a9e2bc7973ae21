"""What a recall's signatures vouch for beyond its own columns (R-SIG-3, R-RCL-2, R-RCL-5): the set
of recalled batches (RecallBatch rows) and, from QA's closure on, the reconciliation totals.

A row changed, added or deleted by SQL — which no signature of the recall saw — is reported on the
recall page and by ``verify_integrity``; the application's own later changes (a batch added with
its signature, closure, approval) leave every signature intact and report nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core import integrity
from core.models import Signature
from recalls import services
from recalls.models import Recall, RecallBatch
from tests.aftersales.helpers import english_client
from tests.factories import PASSWORD, BatchFactory

pytestmark = pytest.mark.django_db


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _recall_findings(recall: Recall) -> list[str]:
    report = integrity.run()
    label = f"#{recall.pk} ({recall.number})"
    return [f.message for f in report.findings if f.kind == "state" and label in f.subject]


def _page_problems(recall: Recall, user) -> str:
    response = english_client(user).get(reverse("recalls:recall_detail", args=[recall.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _account_for_everything(recall, coordinator):
    for row in recall.consignees.all():
        services.consignee_notify(consignee=row, user=coordinator, method="phone", notified_at=timezone.now())
        services.consignee_quantities(
            consignee=row,
            user=coordinator,
            data=dict(
                quantity_held=0, quantity_returned=row.quantity_shipped - 10, quantity_used=10, quantity_destroyed=0
            ),
            reason="核实",
        )


def _close(recall, users, coordinator):
    _account_for_everything(recall, coordinator)
    return services.recall_close(
        recall=recall,
        user=users["qa_reviewer"],
        password=PASSWORD,
        effectiveness_evaluation="有效",
        outstanding_justification="",
        hold_disposition="lift",
    )


def test_the_start_signature_records_the_batches_and_nothing_is_reported(started, users):
    """R-SIG-3: the quality head's "Approved" records the recalled batches; intact, no finding."""
    sig = Signature.objects.for_record(started).filter(meaning="approved").get()
    assert sig.state["affected_batches"] == ["K2611001"] and sig.state["reconciliation_at_closure"] is None
    assert _recall_findings(started) == []
    assert "integrity-problems" not in _page_problems(started, users["auditor"])


def test_a_recalled_batch_added_by_sql_is_reported_on_the_page_and_by_the_integrity_check(started, shipped, users):
    """R-SIG-3: a RecallBatch row inserted by SQL (no signature saw it) is a finding."""
    _sql(
        "INSERT INTO recalls_recallbatch (recall_id, batch_id, added_by_id, added_at, added_reason, void_reason)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        [started.pk, shipped[1].pk, users["qa_reviewer"].pk, timezone.now(), "sql", ""],
    )
    expected = "recalled batches is “K2611001, K2611002” but was “K2611001” when signed “Approved”"
    assert expected in _recall_findings(started)
    page = _page_problems(started, users["auditor"])
    assert "This record is not intact" in page and expected in page


def test_a_recalled_batch_deleted_by_sql_is_reported(started, users):
    _sql("DELETE FROM recalls_recallbatch WHERE recall_id = %s", [started.pk])
    expected = "recalled batches is “—” but was “K2611001” when signed “Approved”"
    assert expected in _recall_findings(started)
    assert expected in _page_problems(started, users["qa_reviewer"])


def test_a_recalled_batch_swapped_by_sql_is_reported(started, shipped, users):
    _sql("UPDATE recalls_recallbatch SET batch_id = %s WHERE recall_id = %s", [shipped[1].pk, started.pk])
    assert "recalled batches is “K2611002” but was “K2611001” when signed “Approved”" in _recall_findings(started)


def test_a_batch_of_another_product_put_in_by_sql_is_named_as_such(started, users, admin_user):
    other = BatchFactory(batch_number="K2611001", last_changed_by=admin_user)
    _sql("UPDATE recalls_recallbatch SET batch_id = %s WHERE recall_id = %s", [other.pk, started.pk])
    (finding,) = [f for f in _recall_findings(started) if f.startswith("recalled batches")]
    assert f"K2611001 [product #{other.product_id}]" in finding


def test_a_batch_removed_by_sql_before_the_start_is_reported_against_qa_s_proposal(proposed, users):
    """The proposal's "Prepared" signature vouches for the batches too (status proposed)."""
    _sql("DELETE FROM recalls_recallbatch WHERE recall_id = %s", [proposed.pk])
    assert "recalled batches is “—” but was “K2611001” when signed “Prepared”" in _recall_findings(proposed)


def test_adding_a_batch_later_through_the_application_is_signed_and_breaks_nothing(
    started, shipped, users, coordinator
):
    """A batch added later comes with its own "Approved" signature, which vouches for the new set;
    the start signature stays valid; closure and approval then report nothing (normal flow)."""
    services.recall_add_batch(
        recall=started, batch=shipped[1], user=users["quality_head"], password=PASSWORD, reason="同原料批次"
    )
    sigs = list(Signature.objects.for_record(started).order_by("pk"))
    assert [s.meaning for s in sigs] == ["authored", "approved", "approved"]
    assert sigs[-1].state["affected_batches"] == ["K2611001", "K2611002"]
    assert "Batch K2611002 added: 同原料批次" == sigs[-1].comment
    assert all(s.is_valid() for s in sigs)
    assert _recall_findings(started) == []
    recall = _close(started, users, coordinator)
    closed_sig = Signature.objects.for_record(recall).get(meaning="closed")
    assert closed_sig.state["affected_batches"] == ["K2611001", "K2611002"]
    assert closed_sig.state["reconciliation_at_closure"] == {
        "consignees": 4,
        "shipped": 440,
        "held": 0,
        "returned": 400,
        "used": 40,
        "destroyed": 0,
    }
    assert _recall_findings(recall) == []
    recall = services.recall_approve(recall=recall, user=users["qualified_person"], password=PASSWORD, reason="同意")
    assert _recall_findings(recall) == []
    report = integrity.run()
    assert [f for f in report.findings if "signature" in f.kind] == []
    assert "integrity-problems" not in _page_problems(recall, users["auditor"])


def test_adding_a_batch_needs_the_password(started, shipped, users):
    from core.workflow import SignatureError

    with pytest.raises(SignatureError, match="Wrong password"):
        services.recall_add_batch(
            recall=started, batch=shipped[1], user=users["qa_reviewer"], password="wrong", reason="同原料批次"
        )
    assert RecallBatch.objects.filter(recall=started).count() == 1


def test_reconciliation_changed_by_sql_after_closure_is_reported(started, users, coordinator):
    """R-RCL-5: the closure and the final report vouch for the totals; a quantity changed by SQL
    afterwards is reported against the QP's approval."""
    recall = _close(started, users, coordinator)
    recall = services.recall_approve(recall=recall, user=users["qualified_person"], password=PASSWORD, reason="同意")
    row = recall.consignees.order_by("pk").first()
    _sql(
        "UPDATE recalls_recallconsignee SET quantity_returned = quantity_returned - 50 WHERE id = %s",
        [row.pk],
    )
    findings = _recall_findings(recall)
    (finding,) = [f for f in findings if f.startswith("reconciliation at closure")]
    assert "returned 310" in finding and "returned 360" in finding and "“Approved”" in finding
    assert "reconciliation at closure is" in _page_problems(recall, users["auditor"])


def test_reconciliation_changed_by_sql_while_awaiting_the_qp_is_reported_against_qa_s_closure(
    started, users, coordinator
):
    recall = _close(started, users, coordinator)
    _sql("UPDATE recalls_recallconsignee SET quantity_used = 0 WHERE recall_id = %s", [recall.pk])
    (finding,) = [f for f in _recall_findings(recall) if f.startswith("reconciliation at closure")]
    assert "used 0" in finding and "used 30" in finding and "“Closed”" in finding
