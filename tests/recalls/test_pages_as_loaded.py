"""The recall page and the batch page check the record they read for the request, not a second
copy (issue 12: two queries less on each), and still show a state changed by SQL in red
(issue 8 item 3, R-SIG-3, R-AT-1): what they read is what the database holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recalls.models import Recall
from release.models import Batch
from tests.aftersales.helpers import english_client

pytestmark = pytest.mark.django_db


def _sql(table: str, column: str, value: str, pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(table)} SET {connection.ops.quote_name(column)} = %s WHERE id = %s",  # noqa: S608
            [value, pk],
        )


def _reads_of(table: str, queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith(f'SELECT "{table}"."id"'))


def test_the_recall_page_reads_the_recall_once_and_shows_a_status_set_by_sql(started, users):
    client = english_client(users["recall_coordinator"])
    with CaptureQueriesContext(connection) as queries:
        page = client.get(started.get_absolute_url()).content.decode()
    assert 'data-testid="integrity-problems"' not in page
    assert _reads_of(Recall._meta.db_table, queries.captured_queries) == 1
    _sql(Recall._meta.db_table, "status", Recall.Status.CLOSING, started.pk)
    page = client.get(started.get_absolute_url()).content.decode()
    assert 'data-testid="integrity-problems"' in page
    assert "changed without an audit-trail entry: status" in page
    assert "status “Closed by QA — awaiting the QP” without a valid" in page


def test_the_batch_page_reads_the_batch_for_the_page_and_the_gate_only_and_shows_a_status_set_by_sql(batches, users):
    batch = batches[0]
    client = english_client(users["qa_reviewer"])
    with CaptureQueriesContext(connection) as queries:
        page = client.get(batch.get_absolute_url()).content.decode()
    # The page's read and the shipping gate's own (release.gate.may_ship reads the batch again by
    # design); no more for the banner or the signatures.
    assert _reads_of(Batch._meta.db_table, queries.captured_queries) == 2
    _sql(Batch._meta.db_table, "status", Batch.Status.REJECTED, batch.pk)
    page = client.get(batch.get_absolute_url()).content.decode()
    assert 'data-testid="integrity-problems"' in page
    assert "changed without an audit-trail entry: disposition" in page
