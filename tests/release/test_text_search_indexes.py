"""The material lot list's search (part of the lot number, material name or code, supplier or
supplier's lot) reads a pg_trgm index per column on PostgreSQL (issue 12), each on the expression
Django's ``icontains`` writes (``UPPER(column::text)``); without one of them the OR reads every
lot. Checked on the plan PostgreSQL makes for the page's own filter, without the list's order
(sequential and plain index scans disfavoured: a test database is too small for the planner to
prefer an index on its own)."""

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
        # Only a bitmap scan left to choose: an empty table's B-tree on the name, walked whole with the
        # search as a filter, costs about the same as the trigram index and was chosen on one run.
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert [c for c in COLUMNS if f"release_materiallot_{c}_trgm" not in plan] == []
    assert "Seq Scan" not in plan
