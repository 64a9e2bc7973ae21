"""Demo data (issue 11 item 9): one recall in progress with consignees overdue, one mock recall."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core.models import Signature
from core.work import QUEUE_LENGTH
from recalls.deadlines import recall_tasks
from recalls.models import MockRecall, Recall
from tests.aftersales.helpers import english_client
from tests.core.helpers import deferred_loads

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_recall_in_progress_with_overdue_tasks_and_a_mock_recall(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo", stdout=StringIO())
    recall = Recall.objects.get()
    assert recall.status == Recall.Status.IN_PROGRESS and recall.recall_class == "II"
    today = timezone.localdate()
    overdue = [t.key for t in recall_tasks(recall, today) if t.overdue(today)]
    assert "progress-1" in overdue
    assert all(s.is_valid() for s in Signature.objects.for_record(recall))
    mock = MockRecall.objects.get()
    assert mock.status == MockRecall.Status.COMPLETE and round(mock.duration.total_seconds() / 60) == 18
    from core.models import User

    page = english_client(User.objects.get(username="recall_coordinator")).get(reverse("core:my_work")).content.decode()
    assert "Recall tasks overdue" in page and recall.number in page


def test_a_recall_left_running_for_a_year_lists_three_overdue_tasks_and_counts_the_rest(monkeypatch):
    """Issue 12: a recall in progress for a year has hundreds of missed progress reports; the recall
    list shows the three most overdue and says how many more (it rendered every one), and My work
    lists a queue's worth with the true total."""
    from django.db import connection

    from core.models import User

    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo", stdout=StringIO())
    recall = Recall.objects.get()
    with connection.cursor() as cursor:  # a year back, as if started then (the test's own data)
        cursor.execute(
            "UPDATE recalls_recall SET started_at = started_at - INTERVAL '365 days' WHERE id = %s"
            if connection.vendor == "postgresql"
            else "UPDATE recalls_recall SET started_at = datetime(started_at, '-365 days') WHERE id = %s",
            [recall.pk],
        )
    recall.refresh_from_db()
    today = timezone.localdate()
    overdue = [t for t in recall_tasks(recall, today) if t.overdue(today)]
    assert len(overdue) > 20
    client = english_client(User.objects.get(username="recall_coordinator"))
    with deferred_loads() as loaded:  # the list reads only its columns (.only()), none row by row
        page = client.get(reverse("recalls:recall_list")).content.decode()
    assert loaded == []
    assert f"and {len(overdue) - 3} more overdue" in page
    assert page.count("text-bg-danger") == 3
    work = client.get(reverse("core:my_work"))
    queue = next(q for q in work.context["queues"] if q.key == "recall_tasks_overdue")
    assert len(queue.items) == QUEUE_LENGTH and queue.total == len(overdue)
    assert [i.due for i in queue.items] == sorted(t.due for t in overdue)[:QUEUE_LENGTH]
