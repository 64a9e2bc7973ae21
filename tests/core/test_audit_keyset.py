"""The global audit search pages by keyset, not OFFSET (issue 12 item 4, R-AT-5, R-PERF-1):
walking every page shows each change exactly once, newest first; a deep page costs the queries a
first page does; a tampered link shows the first page, never an error."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import audit_trail
from core.audit_trail import Cursor, SearchFilter
from release import services
from tests.core.audit_helpers import history_models
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _churn(product, n, editor, approver):
    for i in range(n):
        services.product_update(product=product, user=editor, data={"pack_size": f"{i}粒/盒"}, reason=f"change {i}")
        services.product_approve(product=product, user=approver, password=PASSWORD)


def _all_history() -> list[tuple]:
    rows = []
    for hm in history_models():
        key = hm.instance_type._meta.label_lower
        rows += [(d, key, hid) for hid, d in hm.objects.values_list("history_id", "history_date")]
    return sorted(rows, reverse=True)


def test_walking_the_pages_shows_every_change_once_newest_first(approved_product, qa_reviewer, qa_reviewer2):
    """R-AT-5: seven pages of three cover exactly the stored history rows, in order, no repeats."""
    _churn(approved_product, 4, qa_reviewer, qa_reviewer2)
    expected = _all_history()
    seen, cursor, pages = [], None, 0
    while True:
        entries, cursor = audit_trail.search_page(SearchFilter(), cursor, per_page=3)
        pages += 1
        seen += [(e.when, e.record_key) for e in entries]
        if cursor is None:
            break
        assert pages < 200
    assert seen == [(d, key) for d, key, _hid in expected]
    assert pages == -(-len(expected) // 3)


def test_the_older_link_on_the_page_opens_the_next_page(
    approved_product, qa_reviewer, qa_reviewer2, auditor, client_for
):
    """R-AT-5: the page's "Older" link carries the last entry shown; following it continues the list."""
    _churn(approved_product, 30, qa_reviewer, qa_reviewer2)
    client = client_for(auditor)
    first = client.get(reverse("core:audit_search"), {"record_type": "release.product"})
    assert first.status_code == 200
    assert "Newest" not in first.content.decode() and "最新" not in first.content.decode()
    cursor = first.context["next_cursor"]
    assert cursor and f"after={cursor.replace(':', '%3A').replace('+', '%2B')}" in first.content.decode()
    second = client.get(reverse("core:audit_search"), {"record_type": "release.product", "after": cursor})
    firsts = [(e.when, e.object_id) for e in first.context["entries"]]
    seconds = [(e.when, e.object_id) for e in second.context["entries"]]
    assert len(firsts) == 50 and seconds
    assert max(w for w, _o in seconds) <= min(w for w, _o in firsts)
    assert not set(firsts) & set(seconds)
    assert second.context["not_first"]


@pytest.mark.parametrize(
    "after", ["nonsense", "2026-01-01T00:00:00~no.such~1", "2026-01-01T00:00:00~release.product~x", "~~"]
)
def test_a_tampered_cursor_shows_the_first_page(after, approved_product, auditor, client_for):
    """R-AT-5: an edited link is not an error: the newest changes are shown."""
    response = client_for(auditor).get(reverse("core:audit_search"), {"after": after})
    assert response.status_code == 200
    assert response.context["entries"]
    assert not response.context["not_first"]


def test_a_deep_page_costs_the_same_queries_as_the_first(approved_product, qa_reviewer, qa_reviewer2):
    """R-PERF-1 / issue 12: the cursor's page needs no more queries than page one (no OFFSET)."""
    _churn(approved_product, 20, qa_reviewer, qa_reviewer2)
    with CaptureQueriesContext(connection) as first:
        _entries, cursor = audit_trail.search_page(SearchFilter(), None, per_page=5)
    heads = 1 if connection.vendor == "postgresql" else len(history_models())
    bound = heads + 2 * 5 + 4
    assert len(first) <= bound
    depth = 0
    while cursor is not None and depth < 8:
        with CaptureQueriesContext(connection) as deep:
            _entries, cursor = audit_trail.search_page(SearchFilter(), cursor, per_page=5)
        # Heads (one query on PostgreSQL, one per table on SQLite) + 2 per record type on the
        # page + users and related names: the same bound as page one, whatever the depth.
        assert len(deep) <= bound
        assert "OFFSET" not in " ".join(q["sql"] for q in deep.captured_queries)
        depth += 1
    assert depth == 8


def test_cursor_round_trips():
    from datetime import UTC, datetime

    c = Cursor(datetime(2026, 3, 1, 8, 30, 0, 123456, tzinfo=UTC), "release.product", 42)
    assert Cursor.decode(c.encode()) == c
    assert Cursor.decode("2026-03-01T08:30:00~release.product~42") is None  # no time zone: refused


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL reads every table's newest rows in one query")
def test_on_postgresql_the_newest_rows_of_every_table_come_in_one_query(approved_product, qa_reviewer, qa_reviewer2):
    """Issue 12 item 4: the global search merges the history tables in one UNION ALL with per-table limits."""
    _churn(approved_product, 3, qa_reviewer, qa_reviewer2)
    with CaptureQueriesContext(connection) as q:
        audit_trail._heads(SearchFilter(), None, 51)
    assert len(q) == 1
    assert q.captured_queries[0]["sql"].count("UNION ALL") == len(history_models()) - 1


def _copy_at(hm, when) -> None:
    """A copy of the table's newest history row stamped ``when`` (INSERT only: the append-only
    triggers refuse UPDATE and DELETE, not this)."""
    table = connection.ops.quote_name(hm._meta.db_table)
    columns = [f.column for f in hm._meta.concrete_fields if f.column != "history_id"]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    select = ", ".join("%s" if c == "history_date" else connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {select} FROM {table} "  # noqa: S608
            "ORDER BY history_id DESC LIMIT 1",
            [connection.ops.adapt_datetimefield_value(when)],
        )


def test_changes_at_the_same_moment_in_several_tables_come_in_the_cursor_order(
    approved_product, qa_reviewer, qa_reviewer2
):
    """Issue 12 item 4: the newest rows are chosen in the database (PostgreSQL: one ordered union),
    in the order the cursor compares them: time, then the record type's key by code point, then
    the history id. Three tables with changes at one instant, two in one table: every page of two,
    walked by its cursor, is the next two of that order."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import InstrumentFactory

    _churn(approved_product, 1, qa_reviewer, qa_reviewer2)
    InstrumentFactory(code="HPLC-09")
    with_rows = [hm for hm in history_models() if hm.objects.exists()]
    assert len(with_rows) >= 3
    instant = timezone.now() + timedelta(days=1)
    for hm in with_rows[:3]:
        _copy_at(hm, instant)
    _copy_at(with_rows[0], instant)
    expected = _all_history()
    assert [row[0] for row in expected[:4]] == [instant] * 4
    cursor = None
    for start in range(0, 8, 2):
        heads = audit_trail._heads(SearchFilter(), cursor, 2)
        assert heads == expected[start : start + 2]
        cursor = Cursor(*heads[-1])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the merged first page is PostgreSQL's union")
def test_the_first_page_merges_the_tables_and_a_later_page_or_one_person_keeps_per_table_limits(
    approved_product, qa_reviewer, qa_reviewer2
):
    """Issue 12 item 4: the first page of everyone's changes is one ORDER BY … LIMIT over the union
    (PostgreSQL merges the history_date indexes); past a cursor, or for one person, each table
    keeps its own limit (the merge is the plan PostgreSQL got wrong there). Both give the order the
    cursor walks (test above) and the same rows as the per-table form."""
    _churn(approved_product, 3, qa_reviewer, qa_reviewer2)
    expected = _all_history()
    with CaptureQueriesContext(connection) as first:
        heads = audit_trail._heads(SearchFilter(), None, 4)
    assert heads == expected[:4]
    assert "MATERIALIZED" not in first.captured_queries[0]["sql"]
    assert first.captured_queries[0]["sql"].count("LIMIT") == 1
    with CaptureQueriesContext(connection) as later:
        assert audit_trail._heads(SearchFilter(), Cursor(*heads[-1]), 4) == expected[4:8]
    assert "MATERIALIZED" in later.captured_queries[0]["sql"]
    with CaptureQueriesContext(connection) as mine:
        audit_trail._heads(SearchFilter(user_id=qa_reviewer.pk), None, 4)
    assert "MATERIALIZED" in mine.captured_queries[0]["sql"]
