"""What recalls remind people of by e-mail (issue 13 item 3; core.reminders sends and records them),
for recalls in progress only (a recall closed by QA or by the QP reminds nobody):

* each dated task of the recall (R-RCL-4, ``recalls.deadlines``: the notice to every consignee
  and the filing, each progress report, the completion report) falling due
  (``REMIND_RECALL_DAYS_BEFORE`` days ahead; 0 = on the day) and overdue;
* each consignee notified ``REMIND_RECALL_ACK_DAYS`` days ago that has not acknowledged the notice
  (R-RCL-5: chase it);
* the recovery's planned completion date passed with the recall still open: evaluate the
  effectiveness and close it (R-RCL-5).

To the recall's coordinator, the person named on it who runs it (or, when the coordinator cannot
be mailed, everyone who may trace recalls); the planned completion also to QA, who close it.
A fixed number of queries whatever the number of recalls, tasks and consignees.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.reminders import Due, active_with_email, holders_of
from recalls.deadlines import tasks_of_recalls
from recalls.models import Recall, RecallConsignee


class _ProgressLabel:
    """ "Progress report N" translated when it is printed, so each language of the mail has its own."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __str__(self) -> str:
        return gettext("Progress report %(n)s") % {"n": self.n}


def task_label(key: str) -> object:
    """The task's label (the same words as recalls.deadlines), translated when printed."""
    if key == "notice":
        return _("Recall notice issued to every consignee and report, plan and notice filed")
    if key == "completion":
        return _("Completion report to the regulator")
    return _ProgressLabel(int(key.removeprefix("progress-")))


def due_reminders(today: date) -> Iterator[Due]:
    running = list(
        Recall.objects.filter(status=Recall.Status.IN_PROGRESS)
        .select_related("coordinator", "product")
        .order_by("started_at", "pk")
    )
    if not running:
        return
    tracers: list | None = None

    def owners(recall: Recall) -> list:
        nonlocal tracers
        named = active_with_email(recall.coordinator)
        if named:
            return named
        if tracers is None:
            tracers = holders_of("recalls.trace_recall")
        return tracers

    before = settings.REMIND_RECALL_DAYS_BEFORE
    tasks = tasks_of_recalls(running, today)
    for recall in running:
        for task in tasks.get(recall.pk, []):
            if task.done_on is not None or today < task.due - timedelta(days=before):
                continue
            overdue = task.overdue(today)
            values = {
                "item": recall.number,
                "product": recall.product.generic_name,
                "task": task_label(task.key),
                "due": task.due,
            }
            yield Due(
                record=recall,
                threshold=f"{task.key}_{'overdue' if overdue else 'due'}:{task.due.isoformat()}",
                subject=_("Recall task overdue: %(item)s — %(task)s (due %(due)s)")
                if overdue
                else _("Recall task due on %(due)s: %(item)s — %(task)s"),
                body=_(
                    "Recall %(item)s (%(product)s): “%(task)s” was due on %(due)s and is not recorded as done "
                    "(R-RCL-4, the deadline table of the recall's class). Do it now and record it."
                )
                if overdue
                else _(
                    "Recall %(item)s (%(product)s): “%(task)s” is due on %(due)s (R-RCL-4, the deadline table "
                    "of the recall's class). Do it by then and record it."
                ),
                url=recall.get_absolute_url(),
                recipients=owners(recall),
                values=values,
            )

    by_pk = {recall.pk: recall for recall in running}
    # Notified on or before (today - REMIND_RECALL_ACK_DAYS), site time: before the next day's midnight.
    last_day = today - timedelta(days=settings.REMIND_RECALL_ACK_DAYS)
    cutoff = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min))
    silent = RecallConsignee.objects.filter(
        recall_id__in=by_pk, notified_at__isnull=False, notified_at__lt=cutoff, acknowledged_at__isnull=True
    ).order_by("recall_id", "consignee_name", "pk")
    for consignee in silent:
        recall = by_pk[consignee.recall_id]
        notified_on = timezone.localdate(consignee.notified_at)
        yield Due(
            record=consignee,
            threshold=f"ack_missing:{notified_on.isoformat()}",
            subject=_("Recall %(item)s: %(consignee)s has not acknowledged the notice"),
            body=_(
                "Recall %(item)s (%(product)s): %(consignee)s was notified on %(notified)s and has not acknowledged "
                "the recall notice. Contact them again and record the acknowledgement (R-RCL-5)."
            ),
            url=recall.get_absolute_url(),
            recipients=owners(recall),
            values={
                "item": recall.number,
                "product": recall.product.generic_name,
                "consignee": consignee.consignee_name,
                "notified": notified_on,
            },
        )

    closers: list | None = None
    for recall in running:
        planned = recall.plan_completion_date
        if today <= planned:
            continue
        if closers is None:
            closers = holders_of("recalls.close_recall")
        yield Due(
            record=recall,
            threshold=f"completion_passed:{planned.isoformat()}",
            subject=_("Recall %(item)s: planned completion %(due)s has passed"),
            body=_(
                "Recall %(item)s (%(product)s) was planned to be complete by %(due)s and is still in progress. "
                "Reconcile what was recovered, evaluate the effectiveness and close it, or record why it continues "
                "(R-RCL-5)."
            ),
            url=recall.get_absolute_url(),
            recipients=active_with_email(*owners(recall), *closers),
            values={"item": recall.number, "product": recall.product.generic_name, "due": planned},
        )
