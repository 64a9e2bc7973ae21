"""Demo data (issue 11 item 9): one recall in progress with consignees overdue, one mock recall."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core.models import Signature
from recalls.deadlines import recall_tasks
from recalls.models import MockRecall, Recall
from tests.aftersales.helpers import english_client

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
