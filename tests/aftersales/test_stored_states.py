"""A customer's stored last approved visit against the approved visits (issue 12; R-VIS-1, R-AT-3):
the visit due list reads the stored time, so ``verify_integrity`` recomputes it from the visits
and names a customer whose stored time a write path left wrong."""

from __future__ import annotations

import pytest
from django.db import connection

from aftersales import services, stored_states
from core import integrity
from tests.aftersales.conftest import aware, customer_data
from tests.aftersales.test_visits_and_ledger import visit_data
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def force_last_visit(customer, value) -> None:
    """What a write path that skipped ``store_last_visit`` would leave (no history row), stored as
    the ORM stores a time on this database."""
    value = connection.ops.adapt_datetimefield_value(value)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE aftersales_customer SET last_visit_at = %s WHERE id = %s", [value, customer.pk])


def findings() -> list[str]:
    report = integrity.Report()
    stored_states.check_last_visit(report)
    return [str(f) for f in report.findings]


@pytest.fixture
def visited(qualified_customer, users):
    visit = services.visit_record(
        user=users["customer_service"], data=visit_data(qualified_customer, visited_at=aware(2026, 6, 1, 9, 30))
    )
    services.visit_approve(visit=visit, user=users["cs_manager"], password=PASSWORD)
    return qualified_customer


def test_a_lost_last_visit_is_named_with_both_times_and_fill_recomputes_it(visited):
    """R-AT-3: the stored time lost (as a path that skipped it would leave it) is named with the
    customer, the stored and the approved times in the plant's time zone, and the consequence."""
    name, pk = visited.name, visited.pk
    assert findings() == []
    force_last_visit(visited, None)
    assert findings() == [
        f"[stored states] customer {name} (#{pk}): the stored last approved visit is none, but the approved "
        "visits say 2026-06-01 09:30:00 CST: the visit due list places this customer by the stored one"
    ]
    assert stored_states.fill(pk, pk) == 1
    visited.refresh_from_db()
    assert visited.last_visit_at == aware(2026, 6, 1, 9, 30) and findings() == []
    assert stored_states.fill(pk, pk) == 0  # only a customer whose stored time differs is written


def test_a_wrong_or_invented_last_visit_is_named(visited, users):
    """R-AT-3: a stored time earlier than the latest approved visit, and one taken from a later
    draft visit (not approved, so not a visit yet), are both findings; times differing by seconds
    read differently."""
    force_last_visit(visited, aware(2026, 5, 1, 8))
    assert findings() == [
        f"[stored states] customer {visited.name} (#{visited.pk}): the stored last approved visit is "
        "2026-05-01 08:00:00 CST, but the approved visits say 2026-06-01 09:30:00 CST: the visit due list places this "
        "customer by the stored one"
    ]
    force_last_visit(visited, aware(2026, 6, 1, 9, 30))
    services.visit_record(user=users["customer_service"], data=visit_data(visited, visited_at=aware(2026, 7, 1, 9)))
    force_last_visit(visited, aware(2026, 7, 1, 9))  # the draft's time: not an approved visit
    assert findings() == [
        f"[stored states] customer {visited.name} (#{visited.pk}): the stored last approved visit is "
        "2026-07-01 09:00:00 CST, but the approved visits say 2026-06-01 09:30:00 CST: the visit due list places this "
        "customer by the stored one"
    ]


def test_a_last_visit_stored_for_a_customer_never_visited_is_named(draft_customer):
    """R-AT-3: a stored time with no approved visit at all would drop the customer from the top of
    the due list (never visited = due now)."""
    force_last_visit(draft_customer, aware(2026, 4, 2, 14, 5))
    assert findings() == [
        f"[stored states] customer {draft_customer.name} (#{draft_customer.pk}): the stored last approved "
        "visit is 2026-04-02 14:05:00 CST, but the approved visits say none: the visit due list places this "
        "customer by the stored one"
    ]


def test_the_nightly_run_finds_a_wrong_time_written_with_its_audit_trail_row(visited, users):
    """The check is registered with ``core.integrity`` (``verify_integrity`` and the Integrity
    check page run it). A wrong time saved *with* a history row (a service with a wrong rule)
    passes the audit-trail comparison, so only this check names it."""
    from core.workflow import save_step

    visited.last_visit_at = aware(2026, 8, 1, 10)
    save_step(visited, users["cs_manager"], "last approved visit recorded")
    report = integrity.run()
    assert report.checked["stored last visits of customers"] == 1
    assert [str(f) for f in report.findings] == [
        f"[stored states] customer {visited.name} (#{visited.pk}): the stored last approved visit is "
        "2026-08-01 10:00:00 CST, but the approved visits say 2026-06-01 09:30:00 CST: the visit due list places this "
        "customer by the stored one"
    ]


def test_a_few_seconds_off_is_named_with_both_times_to_the_second(visited):
    force_last_visit(visited, aware(2026, 6, 1, 9, 30, 7))
    assert findings() == [
        f"[stored states] customer {visited.name} (#{visited.pk}): the stored last approved visit is "
        "2026-06-01 09:30:07 CST, but the approved visits say 2026-06-01 09:30:00 CST: the visit due "
        "list places this customer by the stored one"
    ]


def test_a_limited_run_checks_the_customers_of_the_latest_approved_visits(visited, users):
    """``verify_integrity --limit``: an old customer whose visit was approved lately is checked
    with the newest customers (its stored time is what a recent approval wrote)."""
    newer = services.customer_create(user=users["sales"], data=customer_data(name="浙江新特药有限公司"))
    force_last_visit(visited, None)
    report = integrity.run(limit=1)
    assert report.checked["stored last visits of customers"] == 2
    assert [f.subject for f in report.findings if f.kind == "stored states"] == [
        f"customer {visited.name} (#{visited.pk})"
    ]
    assert newer.pk > visited.pk


def test_past_the_findings_shown_it_says_how_many_more(visited, users, monkeypatch):
    """The first ``FINDINGS_SHOWN`` are named, then how many more differ: the report never
    understates the damage."""
    monkeypatch.setattr(stored_states, "FINDINGS_SHOWN", 1)
    other = services.customer_create(user=users["sales"], data=customer_data(name="浙江新特药有限公司"))
    force_last_visit(visited, None)
    force_last_visit(other, aware(2026, 1, 1, 8))
    assert findings()[1:] == [
        "[stored states] customers: 1 more customers differ in the same way (only the first 1 are listed)"
    ]
