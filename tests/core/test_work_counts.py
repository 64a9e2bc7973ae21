"""My work counts every full queue of the page in one query (issue 12, R-PERF-1, R-UX-3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core import work
from core.work import QUEUE_LENGTH, count_together
from qc_records.models import Instrument
from release.models import Product
from tests.factories import InstrumentFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _drafts(n: int, by, start: int = 0) -> None:
    for i in range(start, start + n):
        when = timezone.now() - timedelta(days=100 - i)
        ProductFactory(name=f"品种{by.username}{i:02d}", last_changed_by=by, created_at=when, updated_at=when)


def test_count_together_answers_what_each_count_would(admin_user, django_assert_num_queries):
    """The combined query gives each queryset's own count: a filter, an OR of two querysets, an
    ordered and select_related queryset, and one that matches nothing."""
    _drafts(3, admin_user)
    InstrumentFactory(code="HPLC-01", calibration_due=timezone.localdate() - timedelta(days=1))
    InstrumentFactory(code="HPLC-02", calibration_due=timezone.localdate() + timedelta(days=400))
    querysets = [
        Product.objects.filter(last_changed_by=admin_user),
        Instrument.objects.due_within(30) | Instrument.objects.calibration_expired(),
        Product.objects.select_related("last_changed_by").order_by("-name"),
        Product.objects.filter(Q(name="无此品种") | Q(generic_name="无此品种")),
    ]
    expected = [qs.count() for qs in querysets]
    assert expected[0] == 3 and expected[1] == 1 and expected[3] == 0
    with django_assert_num_queries(1):
        assert count_together(querysets) == expected
    with django_assert_num_queries(0):
        assert count_together([]) == []


def test_queues_are_counted_together_and_only_those_with_rows_are_read(
    admin_user, monkeypatch, django_assert_num_queries
):
    """Issue 12, R-PERF-1: one query counts every queue; a queue with rows costs one query more
    (its first QUEUE_LENGTH), an empty one none; a short queue's total is its rows, a full one's
    the count; a queue shown only while it holds something is left out when empty."""
    _drafts(2, admin_user)
    _drafts(QUEUE_LENGTH + 3, admin_user, start=2)
    mine = Product.objects.filter(name__startswith=f"品种{admin_user.username}").order_by("pk")
    short = Product.objects.filter(pk__in=list(mine.values_list("pk", flat=True)[:2])).order_by("pk")
    item = lambda p: work.WorkItem(title=p.name, url="/")  # noqa: E731
    declared = [
        work.WorkQueue(key="full", title="t", rows=mine, item=item),
        work.WorkQueue(key="short", title="t", rows=short, item=item),
        work.WorkQueue(key="empty", title="t", rows=Product.objects.none().order_by("pk"), item=item),
        work.WorkQueue(
            key="hidden", title="t", rows=Product.objects.filter(name="无").order_by("pk"), item=item, hide_empty=True
        ),
    ]
    monkeypatch.setattr(work, "_providers", [lambda user: declared])
    with django_assert_num_queries(3):  # the count, the full queue's rows, the short queue's
        queues = {q.key: q for q in work.queues_for(admin_user)}
    assert set(queues) == {"full", "short", "empty"}
    assert (len(queues["full"].items), queues["full"].total) == (QUEUE_LENGTH, QUEUE_LENGTH + 5)
    assert [i.title for i in queues["short"].items] == [p.name for p in short] and queues["short"].total == 2
    assert (queues["empty"].items, queues["empty"].total) == ([], 0)


def test_full_queues_cost_no_more_than_short_ones(admin_user, qa_reviewer, client_for, django_assert_max_num_queries):
    """The QA reviewer's "products to approve" and "your product drafts" queues: with one item
    each, then with more than a queue shows each. The page costs the same queries (every queue is
    counted in one query either way) and says each queue's own total."""
    client = client_for(qa_reviewer)
    _drafts(1, admin_user)
    _drafts(1, qa_reviewer)
    client.get(reverse("core:my_work"))
    with django_assert_max_num_queries(40) as short:
        client.get(reverse("core:my_work"))
    _drafts(QUEUE_LENGTH + 2, admin_user, start=1)
    _drafts(QUEUE_LENGTH + 4, qa_reviewer, start=1)
    with django_assert_max_num_queries(len(short.captured_queries)) as full:
        response = client.get(reverse("core:my_work"))
    assert len(full.captured_queries) == len(short.captured_queries)
    queues = {q.key: q for q in response.context["queues"]}
    assert (len(queues["product_approval"].items), queues["product_approval"].total) == (QUEUE_LENGTH, QUEUE_LENGTH + 3)
    assert (len(queues["my_product_drafts"].items), queues["my_product_drafts"].total) == (
        QUEUE_LENGTH,
        QUEUE_LENGTH + 5,
    )
    page = response.content.decode()
    for total in (QUEUE_LENGTH + 3, QUEUE_LENGTH + 5):
        assert f'<span class="badge text-bg-primary">{total}</span>' in page


def test_a_backlog_is_counted_up_to_the_cap_and_shown_with_a_plus(
    admin_user, qa_reviewer, client_for, monkeypatch, django_assert_num_queries
):
    """Issue 12: a queue's count stops at core.work.COUNT_CAP ("1000+"), so a backlog of any size
    costs the same; below the cap the count is exact."""
    _drafts(QUEUE_LENGTH + 5, admin_user)
    with django_assert_num_queries(1):
        assert count_together([Product.objects.all()], cap=QUEUE_LENGTH + 1) == [QUEUE_LENGTH + 2]
    assert count_together([Product.objects.all()], cap=100) == [QUEUE_LENGTH + 5]
    monkeypatch.setattr(work, "COUNT_CAP", QUEUE_LENGTH + 1)
    response = client_for(qa_reviewer).get(reverse("core:my_work"))
    queue = {q.key: q for q in response.context["queues"]}["product_approval"]
    assert (queue.total, queue.more_than_total) == (QUEUE_LENGTH + 1, True)
    assert f'<span class="badge text-bg-primary">{QUEUE_LENGTH + 1}+</span>' in response.content.decode()


def test_a_work_item_prints_its_dates_in_the_site_zone():
    """R-UX-3: "waiting since" is the site's local time to the minute, a due date is a day, and a
    date with no time prints as the day (the template's date filter printed nothing for it)."""
    from datetime import UTC, date, datetime

    item = work.WorkItem(title="t", url="/", since=datetime(2026, 11, 30, 16, 30, tzinfo=UTC), due=date(2026, 12, 3))
    assert (item.since_text, item.due_text) == ("2026-12-01 00:30", "2026-12-03")  # Asia/Shanghai is UTC+8
    assert work.WorkItem(title="t", url="/", since=date(2026, 11, 2)).since_text == "2026-11-02"
    due_at = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 01:00 the next day in Shanghai
    assert work.WorkItem(title="t", url="/", due=due_at).due_text == "2026-12-02"
    assert work.WorkItem(title="t", url="/").since_text == work.WorkItem(title="t", url="/").due_text == ""


def test_queue_rows_escape_every_value_and_show_a_dash_for_no_due_date():
    """Issue 12: My work's rows are built in Python (not a template loop); every value a person or
    import typed is escaped exactly as a template would, and an item without a due date reads "—"."""
    from datetime import UTC, date, datetime

    queue = work.WorkQueue(
        key="k",
        title="t",
        items=[
            work.WorkItem(
                title='<script>alert("x")</script> & Co',
                url='/x/?a=1&b="2"',
                since=datetime(2026, 11, 30, 2, 5, tzinfo=UTC),
                due=date(2026, 12, 9),
                note="<b>急</b>",
            ),
            work.WorkItem(title="无期限", url="/y/"),
        ],
    )
    html = str(queue.rows_html())
    assert (
        '<a href="/x/?a=1&amp;b=&quot;2&quot;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</a>' in html
    )
    assert "<td>2026-11-30 10:05</td><td>2026-12-09</td>" in html  # Asia/Shanghai
    assert '<td class="text-muted small">&lt;b&gt;急&lt;/b&gt;</td>' in html
    assert '<tr><td><a href="/y/">无期限</a></td><td></td><td>—</td><td class="text-muted small"></td></tr>' in html
    assert "<script>" not in html and "<b>" not in html


def test_my_work_names_the_persons_roles_in_order(make_user, client_for):
    """R-UX-3: My work says which roles the person holds (their groups, by name)."""
    person = make_user("qc_reviewer", "qa_reviewer", username="two_roles")
    client = client_for(person)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("core:my_work")).content.decode()
    assert "Roles: QA reviewer, QC reviewer</p>" in page
