"""The after-sales text searches — the shipment list's customer filter (part of a name), the
customer list's search (name or registered address), the feedback and complaint lists' searches —
read pg_trgm indexes on PostgreSQL (issue 12): each index must be on the expression Django's
``icontains`` writes (``UPPER(column::text)``), or the search reads every record. Checked on the
plan PostgreSQL makes for the pages' own filters, without the list's order (sequential and plain
index scans disfavoured: a test database is too small for the planner to prefer an index on its
own). The terms have three characters or more: pg_trgm finds no trigram in a shorter one, and
PostgreSQL then reads the table as before (no faster, no slower)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q

from aftersales.models import Complaint, Customer, Feedback

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="index use is read from PostgreSQL's plan"),
]


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Only a bitmap scan left to choose: an empty table's B-tree on the name, walked whole with the
        # search as a filter, costs about the same as the trigram index and was chosen on one run.
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_part_of_a_customer_name_reads_the_trigram_index():
    plan = _plan(Customer.objects.filter(name__icontains="华东医药").values("pk")[:5001])
    assert "aftersales_customer_name_trgm" in plan and "Seq Scan" not in plan


def test_the_customer_list_search_reads_both_trigram_indexes():
    """The filter alone: in an empty test table the planner walks the name index for the list's
    order instead (at scale 1.0 it reads both trigram indexes and sorts what they find)."""
    search = Q(name__icontains="华东医药") | Q(registered_address__icontains="杭州市")
    plan = _plan(Customer.objects.filter(search).order_by().values("pk"))
    assert "aftersales_customer_name_trgm" in plan and "aftersales_customer_address_trgm" in plan
    assert "Seq Scan" not in plan


def test_the_feedback_search_reads_a_trigram_index_per_column():
    search = (
        Q(number__icontains="FB-2026") | Q(reporter_name__icontains="王小明") | Q(description__icontains="头晕恶心")
    )
    plan = _plan(Feedback.objects.filter(search).order_by().values("pk"))
    for column in ("number", "reporter_name", "description"):
        assert f"aftersales_feedback_{column}_trgm" in plan
    assert "Seq Scan" not in plan


def test_the_complaint_search_reads_a_trigram_index_per_column():
    search = Q(number__icontains="CP-2026") | Q(description__icontains="包装破损")
    plan = _plan(Complaint.objects.filter(search).order_by().values("pk"))
    assert "aftersales_complaint_number_trgm" in plan and "aftersales_complaint_description_trgm" in plan
    assert "Seq Scan" not in plan
