"""The complaint queues of "My work" (open by reply deadline, unread by the QP) are read from their
own partial indexes (issue 12): the index's condition must be the one the queue's query writes, or
PostgreSQL cannot use it and scans every complaint of ten years. Checked on the plan PostgreSQL
makes for the queue's own query (sequential scans disfavoured: a test database is too small for
the planner to prefer an index on its own)."""

from __future__ import annotations

import pytest
from django.db import connection

from aftersales.models import Complaint

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partial index use is read from PostgreSQL's plan"),
]


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_open_complaints_queue_reads_its_partial_index():
    plan = _plan(Complaint.objects.open().select_related("product").order_by("reply_due", "pk")[:10])
    assert "aftersales_complaint_open" in plan
    assert "Sort" not in plan.split("aftersales_complaint_open")[0]


def test_the_qp_unread_queue_reads_its_partial_index():
    plan = _plan(Complaint.objects.unread_by_qp().select_related("product").order_by("received_at", "pk")[:10])
    assert "aftersales_complaint_unread" in plan
    assert "Sort" not in plan.split("aftersales_complaint_unread")[0]
