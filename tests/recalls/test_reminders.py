"""Recall reminders by e-mail (issue 13 item 3; R-RCL-4, R-RCL-5, R-UX-3): each dated task of a
recall in progress falling due and overdue, consignees that have not acknowledged the notice, the
planned completion passed — to the recall's coordinator, once per item and threshold, retried
after a refused send, nothing for recalls not in progress, a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from smtplib import SMTPException

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Reminder
from core.reminders import send_due_reminders
from recalls import reminders, services
from recalls.deadlines import recall_tasks
from recalls.models import Recall
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://release.example.com"
    settings.REMIND_RECALL_DAYS_BEFORE = 1
    settings.REMIND_RECALL_ACK_DAYS = 2


def _sent(outcome, prefix: str) -> list[str]:
    """Thresholds sent about recalls whose key starts with ``prefix``."""
    return [label.rsplit(" · ", 1)[1] for label in outcome.sent if label.rsplit(" · ", 1)[1].startswith(prefix)]


def _task(recall, key):
    return next(t for t in recall_tasks(recall) if t.key == key)


def test_the_notice_task_falling_due_then_overdue_is_mailed_once_each_to_the_coordinator(started, coordinator):
    """R-RCL-4: class II — notice and filing within 3 days of the decision."""
    due = _task(started, "notice").due
    assert due == timezone.localdate(started.started_at) + timedelta(days=3)
    assert _sent(send_due_reminders(due - timedelta(days=2)), "notice") == []
    assert _sent(send_due_reminders(due - timedelta(days=1)), "notice") == [f"notice_due:{due.isoformat()}"]
    (message,) = [m for m in mail.outbox if "Recall notice issued" in m.body]
    assert message.to == [coordinator.email]
    assert f"Recall task due on {due.isoformat()}: {started.number}" in message.subject
    assert "召回任务" in message.subject  # 简体中文 first, then English
    # Each language names the task in its own words.
    zh, en = message.body.split("\n\n", 1)
    assert "Recall notice issued to every consignee" in en and "Recall notice" not in zh
    assert f"https://release.example.com{started.get_absolute_url()}" in message.body
    assert _sent(send_due_reminders(due), "notice") == []
    assert _sent(send_due_reminders(due + timedelta(days=1)), "notice") == [f"notice_overdue:{due.isoformat()}"]
    assert _sent(send_due_reminders(due + timedelta(days=2)), "notice") == []
    assert Reminder.objects.filter(threshold__startswith="notice").count() == 2


def test_each_progress_report_window_is_its_own_reminder(started):
    """R-RCL-4: class II progress reports every 3 days (2007 measures, marked unverified)."""
    first = _task(started, "progress-1").due
    assert _sent(send_due_reminders(first - timedelta(days=1)), "progress") == [f"progress-1_due:{first.isoformat()}"]
    assert "Progress report 1" in mail.outbox[-1].body and "第 1 次进展报告" in mail.outbox[-1].body
    outcome = send_due_reminders(first + timedelta(days=2))  # report 1 missed; report 2 due the next day
    assert _sent(outcome, "progress") == [
        f"progress-1_overdue:{first.isoformat()}",
        f"progress-2_due:{(first + timedelta(days=3)).isoformat()}",
    ]


def test_a_consignee_that_has_not_acknowledged_is_chased_once(started, coordinator):
    """R-RCL-5: notified, no acknowledgement after REMIND_RECALL_ACK_DAYS days."""
    row = started.consignees.order_by("pk").first()
    services.consignee_notify(consignee=row, user=coordinator, method="phone", notified_at=timezone.now())
    notified = timezone.localdate()
    assert _sent(send_due_reminders(notified + timedelta(days=1)), "ack") == []
    assert _sent(send_due_reminders(notified + timedelta(days=2)), "ack") == [f"ack_missing:{notified.isoformat()}"]
    (message,) = [m for m in mail.outbox if "acknowledged" in m.subject]
    assert f"Recall {started.number}: {row.consignee_name} has not acknowledged the notice" in message.subject
    assert message.to == [coordinator.email]
    assert _sent(send_due_reminders(notified + timedelta(days=3)), "ack") == []
    # An acknowledged consignee is not chased.
    other = started.consignees.order_by("pk")[1]
    other = services.consignee_notify(consignee=other, user=coordinator, method="fax", notified_at=timezone.now())
    services.consignee_acknowledge(
        consignee=other, user=coordinator, acknowledged_at=timezone.now(), acknowledged_by_name="药房经理"
    )
    assert _sent(send_due_reminders(notified + timedelta(days=5)), "ack") == []


def test_the_planned_completion_passed_goes_to_the_coordinator_and_qa(started, coordinator, users):
    planned = started.plan_completion_date
    assert _sent(send_due_reminders(planned), "completion_passed") == []
    assert _sent(send_due_reminders(planned + timedelta(days=1)), "completion_passed") == [
        f"completion_passed:{planned.isoformat()}"
    ]
    (message,) = [m for m in mail.outbox if "planned completion" in m.subject]
    assert {coordinator.email, users["qa_reviewer"].email} <= set(message.to)
    assert "evaluate the effectiveness and close it" in message.body


def test_a_coordinator_without_an_address_leaves_it_to_everyone_who_traces_recalls(started, coordinator, make_user):
    coordinator.email = ""
    coordinator.save(update_fields=["email"])
    deputy = make_user("recall_coordinator", username="deputy_coordinator")
    due = _task(started, "notice").due
    send_due_reminders(due + timedelta(days=1))
    (message,) = [m for m in mail.outbox if "notice" in m.body and "overdue" in m.subject]
    assert deputy.email in message.to and "" not in message.to


def test_a_refused_recall_reminder_is_not_recorded_and_goes_out_next_run(started, monkeypatch):
    due = _task(started, "notice").due

    def refuse(self, fail_silently=False):
        raise SMTPException("450 mailbox busy")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    outcome = send_due_reminders(due + timedelta(days=1))
    assert f"{started} · notice_overdue:{due.isoformat()}" in outcome.failed
    assert Reminder.objects.count() == 0
    monkeypatch.undo()
    assert _sent(send_due_reminders(due + timedelta(days=1)), "notice") == [f"notice_overdue:{due.isoformat()}"]


def test_a_recall_closed_by_qa_reminds_nobody(started, users, coordinator):
    """Nothing once QA has closed it (R-RCL-5), though its planned completion and tasks are past."""
    for row in started.consignees.all():
        services.consignee_notify(consignee=row, user=coordinator, method="phone", notified_at=timezone.now())
        services.consignee_quantities(
            consignee=row,
            user=coordinator,
            data=dict(quantity_held=0, quantity_returned=row.quantity_shipped, quantity_used=0, quantity_destroyed=0),
            reason="全部退回",
        )
    closed = services.recall_close(
        recall=started,
        user=users["qa_reviewer"],
        password=PASSWORD,
        effectiveness_evaluation="收回率100%，有效",
        outstanding_justification="",
        hold_disposition="lift",
    )
    assert closed.status == Recall.Status.CLOSING
    far = started.plan_completion_date + timedelta(days=30)
    assert list(reminders.due_reminders(far)) == []


def test_recall_reminders_cost_the_same_queries_for_few_or_many_consignees(started, coordinator):
    today = started.plan_completion_date + timedelta(days=1)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            dues = list(reminders.due_reminders(today))
        return len(ctx.captured_queries), len(dues)

    n_one, dues_one = queries()
    for row in started.consignees.all():
        services.consignee_notify(consignee=row, user=coordinator, method="phone", notified_at=timezone.now())
    n_more, dues_more = queries()
    assert dues_more == dues_one + started.consignees.count()  # one chase per silent consignee
    assert n_more == n_one
