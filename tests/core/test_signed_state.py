"""A signature vouches for the record's state, and a state no signature or audit-trail row supports
is shown on the record's page and by the integrity check (issue 8 items 1 and 3; R-SIG-3, R-AT-1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from core import integrity
from core.models import Signature, signed_state
from release import services
from release.models import Product
from tests.core.helpers import qn
from tests.factories import PASSWORD, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_the_approval_signature_records_the_state_it_vouches_for(approved_product):
    sig = Signature.objects.for_record(approved_product).get()
    assert sig.state == signed_state(approved_product) and sig.state["status"] == "approved"
    assert integrity.state_problems(approved_product) == []


def test_the_recorded_state_is_covered_by_the_keyed_hash(approved_product):
    """Editing the stored state on the signature row (to match a tampered record) breaks it."""
    sig = Signature.objects.for_record(approved_product).get()
    assert sig.is_valid()
    sig.state = {"status": "draft"}
    assert sig.expected_hash(approved_product) != sig.record_hash


def test_a_draft_set_to_approved_by_sql_is_shown_on_its_page(draft_product, users, client_for):
    """Reproduction 3: not noticed anywhere before; now the page says so in red, naming why."""
    _sql(f"UPDATE {qn(Product._meta.db_table)} SET status = 'approved' WHERE id = %s", [draft_product.pk])
    stored = Product.objects.get(pk=draft_product.pk)
    problems = integrity.state_problems(stored)
    assert "status “Approved” without a valid “Approved” signature" in problems
    assert "changed without an audit-trail entry: status" in problems
    page = client_for(users["auditor"]).get(stored.get_absolute_url()).content.decode()
    assert 'data-testid="integrity-problems"' in page
    assert "This record is not intact" in page and "without an audit-trail entry: status" in page


def test_an_intact_record_shows_no_banner(approved_product, users, client_for):
    page = client_for(users["auditor"]).get(approved_product.get_absolute_url()).content.decode()
    assert 'data-testid="integrity-problems"' not in page


def test_a_change_by_sql_to_an_unsigned_field_is_still_reported(approved_product):
    """Fields outside the signed content (here who changed it last) cannot move silently either."""
    other = ProductFactory(last_changed_by=approved_product.last_changed_by).last_changed_by
    _sql(
        f"UPDATE {qn(Product._meta.db_table)} SET updated_at = '2030-01-01 00:00:00' WHERE id = %s",
        [approved_product.pk],
    )
    assert other  # a second user exists; the record itself is what changed
    problems = integrity.state_problems(Product.objects.get(pk=approved_product.pk))
    assert problems == ["changed without an audit-trail entry: last changed at"]
    findings = [f.message for f in integrity.run().findings if f.kind == "state"]
    assert "changed without an audit-trail entry: last changed at" in findings


def test_the_state_check_of_the_integrity_run_reads_in_chunks(users, monkeypatch):
    """Ten-year volume: queries grow with chunks of records, not with records."""
    qa = users["qa_reviewer"]
    for _ in range(3):
        product = ProductFactory(last_changed_by=users["admin"])
        services.product_approve(product=product, user=qa, password=PASSWORD)
    monkeypatch.setattr(integrity.chunks, "__kwdefaults__", {"limit": None, "size": 5})

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            report = integrity.Report()
            integrity.check_signed_state(report)
        assert report.ok, [f.message for f in report.findings]
        return len(ctx.captured_queries)

    few = queries()
    for _ in range(10):
        product = ProductFactory(last_changed_by=users["admin"])
        services.product_approve(product=product, user=qa, password=PASSWORD)
    more = queries()
    assert more - few <= 2 * 5, (few, more)  # 2 more chunks of 5, at most 5 queries each
