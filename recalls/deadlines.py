"""Recall deadlines from the versioned rule table (R-RCL-4): dated tasks, done or overdue.

``tasks_for(recall, rules, progress, today)`` is pure (no database): the rules of the recall's
class in the version it started with, its progress entries, and today's date give the list of
tasks. Day 0 is the date of the decision (site time zone); a task due on day N is on time when
done on or before day N, overdue from day N + 1.

* notice — due decision + N days; done when the filing is recorded and every consignee notified;
* progress — one report due every N days from the decision until closure (the window
  (due − N, due] needs a progress report); only windows that have started are listed;
* completion — due planned completion + N days; done by a completion report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _


@dataclass
class Task:
    key: str
    label: str
    due: date
    done_on: date | None
    verified: bool
    basis: str

    def overdue(self, today: date) -> bool:
        return self.done_on is None and today > self.due

    def late(self) -> bool:
        return self.done_on is not None and self.done_on > self.due


def _local(dt) -> date:
    return timezone.localtime(dt).date()


def tasks_for(
    *,
    recall_class: str,
    decided_on: date,
    planned_completion: date,
    rules: list,
    filed_on: date | None,
    all_notified_on: date | None,
    progress_reports: list[date],
    completion_reported_on: date | None,
    today: date,
    closed_on: date | None = None,
) -> list[Task]:
    tasks: list[Task] = []
    mine = [r for r in rules if r.recall_class == recall_class]
    for rule in sorted(mine, key=lambda r: ["notice", "progress", "completion"].index(r.task)):
        if rule.task == "notice":
            done = None
            if filed_on and all_notified_on:
                done = max(filed_on, all_notified_on)
            tasks.append(
                Task(
                    "notice",
                    _("Recall notice issued to every consignee and report, plan and notice filed"),
                    decided_on + timedelta(days=rule.days),
                    done,
                    rule.verified,
                    rule.basis,
                )
            )
        elif rule.task == "progress":
            end = closed_on or today
            reports = sorted(progress_reports)
            label = _("Progress report %(n)s")  # looked up once: a forgotten recall has thousands
            k = 1
            j = 0  # the first report not before this period (periods and reports both ascend)
            while True:
                start = decided_on + timedelta(days=rule.days * (k - 1))
                due = decided_on + timedelta(days=rule.days * k)
                if start >= end and k > 1:
                    break
                while j < len(reports) and reports[j] <= start:
                    j += 1
                done = reports[j] if j < len(reports) and reports[j] <= due else None
                tasks.append(
                    Task(
                        f"progress-{k}",
                        label % {"n": k},
                        due,
                        done,
                        rule.verified,
                        rule.basis,
                    )
                )
                k += 1
                if k > 2000:  # a safety bound: ten years of daily reports
                    break
        elif rule.task == "completion":
            tasks.append(
                Task(
                    "completion",
                    _("Completion report to the regulator"),
                    planned_completion + timedelta(days=rule.days),
                    completion_reported_on,
                    rule.verified,
                    rule.basis,
                )
            )
    return tasks


def recall_tasks(recall, today: date | None = None, *, progress=None, consignees=None) -> list[Task]:
    """The tasks of a started recall (three queries; one when the caller gives the recall's
    ``progress`` entries and ``consignees`` rows it has read, every one of each)."""
    return tasks_of_recalls([recall], today, progress=progress, consignees=consignees).get(recall.pk, [])


def tasks_of_recalls(recalls, today: date | None = None, *, progress=None, consignees=None) -> dict[int, list[Task]]:
    """{recall pk: tasks} for started recalls, in three queries whatever their number (rules,
    progress entries, consignee notices), or one when ``progress`` and ``consignees`` (every
    progress entry and every consignee row of these recalls, as read by the caller) are given."""
    from collections import defaultdict

    from django.db.models import Count, Max

    from recalls.models import DeadlineRule, ProgressEntry, RecallConsignee

    started = [r for r in recalls if r.started_at is not None]
    if not started:
        return {}
    today = today or timezone.localdate()
    ids = [r.pk for r in started]
    rules = defaultdict(list)
    for rule in DeadlineRule.objects.filter(version__in={r.deadline_version for r in started}):
        rules[(rule.version, rule.recall_class)].append(rule)
    entries = defaultdict(list)
    if progress is None:
        progress_rows = (
            ProgressEntry.objects.filter(recall_id__in=ids)
            .order_by("occurred_at")
            .values_list("recall_id", "kind", "occurred_at")
        )
    else:
        progress_rows = sorted(((e.recall_id, e.kind, e.occurred_at) for e in progress), key=lambda row: row[2])
    for recall_id, kind, at in progress_rows:
        entries[recall_id].append((kind, at))
    # Every consignee notified, and when the last was: counted by the database, one row per recall.
    if consignees is None:
        counted = (
            RecallConsignee.objects.filter(recall_id__in=ids)
            .values("recall_id")
            .order_by()
            .annotate(rows=Count("id"), notified=Count("notified_at"), last=Max("notified_at"))
            .values_list("recall_id", "rows", "notified", "last")
        )
    else:
        by_recall = defaultdict(list)
        for row in consignees:
            by_recall[row.recall_id].append(row.notified_at)
        counted = [
            (recall_id, len(times), sum(t is not None for t in times), max((t for t in times if t), default=None))
            for recall_id, times in by_recall.items()
        ]
    all_notified = {recall_id: last for recall_id, rows, notified, last in counted if rows == notified}
    out = {}
    for recall in started:
        mine = entries[recall.pk]
        filed = [_local(at) for kind, at in mine if kind == ProgressEntry.Kind.FILING]
        reports = [_local(at) for kind, at in mine if kind == ProgressEntry.Kind.PROGRESS_REPORT]
        completion = [_local(at) for kind, at in mine if kind == ProgressEntry.Kind.COMPLETION_REPORT]
        last_notice = all_notified.get(recall.pk)
        out[recall.pk] = tasks_for(
            recall_class=recall.recall_class,
            decided_on=_local(recall.started_at),
            planned_completion=recall.plan_completion_date,
            rules=rules[(recall.deadline_version, recall.recall_class)],
            filed_on=filed[0] if filed else None,
            all_notified_on=_local(last_notice) if last_notice else None,
            progress_reports=reports,
            completion_reported_on=completion[0] if completion else None,
            today=today,
            closed_on=_local(recall.approved_at) if recall.approved_at else None,
        )
    return out
