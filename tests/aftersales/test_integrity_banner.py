"""After-sales records whose state no signature supports show as not intact on their page
(issue 8 item 3; R-SIG-3, GSP-5.5: a customer is qualified only by its four signed approvals)."""

from __future__ import annotations

import pytest
from django.db import connection

from aftersales.models import Customer
from tests.aftersales.helpers import english_client
from tests.core.helpers import qn

pytestmark = pytest.mark.django_db


def test_a_customer_set_to_qualified_by_sql_is_shown_not_intact(draft_customer, users):
    page = english_client(users["qa_reviewer"]).get(draft_customer.get_absolute_url()).content.decode()
    assert 'data-testid="integrity-problems"' not in page
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(Customer._meta.db_table)} SET status = 'qualified' WHERE id = %s", [draft_customer.pk]
        )
    page = english_client(users["qa_reviewer"]).get(draft_customer.get_absolute_url()).content.decode()
    assert 'data-testid="integrity-problems"' in page
    assert "without a valid “Approved” signature" in page and "changed without an audit-trail entry" in page
