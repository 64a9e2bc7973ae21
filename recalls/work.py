"""Recall queues on the "My work" page (R-UX-3, R-RCL-4): information awaiting analysis or a
decision, recalls awaiting a start, closure or the QP, and recall tasks overdue.

A queue is counted with every other queue of the page and read only when it has rows
(core.work.queues_for); the overdue tasks of every recall in progress cost four queries whatever
their number (recalls.deadlines)."""

from __future__ import annotations

import heapq

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.work import QUEUE_LENGTH, WorkItem, WorkQueue
from recalls.deadlines import tasks_of_recalls
from recalls.models import Recall, RecallInformation


def queues(user) -> list[WorkQueue]:
    out: list[WorkQueue] = []
    if user.has_perm("recalls.analyse_recallinformation") or user.has_perm("recalls.decide_recallinformation"):
        status = (
            RecallInformation.Status.RECEIVED
            if user.has_perm("recalls.analyse_recallinformation")
            else RecallInformation.Status.ANALYSED
        )
        waiting = (
            RecallInformation.objects.filter(status=status).select_related("product").order_by("received_at", "pk")
        )
        out.append(
            WorkQueue(
                key="recall_information",
                title=_("Recall information to analyse")
                if status == RecallInformation.Status.RECEIVED
                else _("Recall information awaiting your decision"),
                rows=waiting,
                item=lambda i: WorkItem(
                    title=f"{i.number} · {i.product.generic_name}",
                    url=i.get_absolute_url(),
                    since=i.received_at,
                    note=str(_("Product locked")),
                ),
                more_url=reverse("recalls:recall_list"),
                empty_text=_("No recall information is waiting."),
            )
        )
    if user.has_perm("recalls.start_recall"):
        proposed = (
            Recall.objects.filter(status=Recall.Status.PROPOSED).select_related("product").order_by("proposed_at")
        )
        out.append(
            WorkQueue(
                key="recalls_to_start",
                title=_("Recalls proposed by QA"),
                rows=proposed,
                item=lambda r: WorkItem(
                    title=f"{r.number} · {r.product.generic_name}", url=r.get_absolute_url(), since=r.proposed_at
                ),
                more_url=reverse("recalls:recall_list"),
                empty_text=_("No recall is waiting to be started."),
            )
        )
    if user.has_perm("recalls.trace_recall"):
        today = timezone.localdate()
        running = list(Recall.objects.filter(status=Recall.Status.IN_PROGRESS).order_by("started_at", "pk"))
        tasks = tasks_of_recalls(running, today)
        # Every overdue task counts; only the QUEUE_LENGTH most overdue become items (a recall left
        # running for years has thousands of missed progress reports, issue 12).
        overdue = [
            (task.due, i, recall, task)
            for i, recall in enumerate(running)
            for task in tasks.get(recall.pk, [])
            if task.overdue(today)
        ]
        note = str(_("Overdue"))
        items = [
            WorkItem(
                title=f"{recall.number} · {task.label}",
                url=recall.get_absolute_url(),
                since=recall.started_at,
                due=task.due,
                note=note,
            )
            for _due, _i, recall, task in heapq.nsmallest(QUEUE_LENGTH, overdue, key=lambda t: (t[0], t[1]))
        ]
        out.append(
            WorkQueue(
                key="recall_tasks_overdue",
                title=_("Recall tasks overdue"),
                items=items,
                total=len(overdue),
                more_url=reverse("recalls:recall_list"),
                empty_text=_("No recall task is overdue."),
            )
        )
    if user.has_perm("recalls.approve_recall"):
        closing = Recall.objects.filter(status=Recall.Status.CLOSING).select_related("product").order_by("closed_at")
        out.append(
            WorkQueue(
                key="recalls_to_approve",
                title=_("Recall final reports to approve"),
                rows=closing,
                item=lambda r: WorkItem(
                    title=f"{r.number} · {r.product.generic_name}", url=r.get_absolute_url(), since=r.closed_at
                ),
                more_url=reverse("recalls:recall_list"),
                empty_text=_("No final report is waiting."),
            )
        )
    return out
