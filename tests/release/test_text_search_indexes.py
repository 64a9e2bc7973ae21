"""The material lot list's search (part of the lot number, material name or code, supplier or
supplier's lot) reads a pg_trgm index per column on PostgreSQL (issue 12), each on the expression
Django's ``icontains`` writes (``UPPER(column::text)``); without one of them the OR reads every
lot. Checked on the plan PostgreSQL makes for the page's own filter, without the list's order
(sequential scans disfavoured: a test database is too small for the planner to prefer an index)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q

from release.models import MaterialLot

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="index use is read from PostgreSQL's plan"),
]

COLUMNS = ("lot_number", "material_name", "material_code", "supplier", "supplier_lot")


def test_the_material_lot_search_reads_a_trigram_index_per_column():
    search = Q()
    for column in COLUMNS:
        search |= Q(**{f"{column}__icontains": "V4242"})
    sql, params = MaterialLot.objects.filter(search).order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert [c for c in COLUMNS if f"release_materiallot_{c}_trgm" not in plan] == []
    assert "Seq Scan" not in plan
