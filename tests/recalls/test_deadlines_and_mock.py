"""Recall deadlines from the versioned rule table, per class and at the boundaries (R-RCL-4), the
table changed as data with a reason, and the mock recall (R-RCL-6)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.models import Signature
from core.workflow import InputError, WorkflowError
from recalls import services
from recalls.deadlines import tasks_for
from recalls.models import DeadlineRule, MockRecall
from release.models import BatchHold, ProductHold
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

DAY0 = date(2026, 11, 2)


def _tasks(cls, today, **kw):
    rules = list(DeadlineRule.objects.filter(version=1))
    args = dict(
        recall_class=cls,
        decided_on=DAY0,
        planned_completion=DAY0 + timedelta(days=30),
        rules=rules,
        filed_on=None,
        all_notified_on=None,
        progress_reports=[],
        completion_reported_on=None,
        today=today,
    )
    args.update(kw)
    return {t.key: t for t in tasks_for(**args)}


@pytest.mark.parametrize(("cls", "days"), [("I", 1), ("II", 3), ("III", 7)])
def test_the_notice_is_due_1_3_7_days_after_the_decision_and_overdue_the_day_after(cls, days):
    """R-RCL-4 (药品召回管理办法 2022): notice and filing within 1 / 3 / 7 days of the decision."""
    due = DAY0 + timedelta(days=days)
    notice = _tasks(cls, due)["notice"]
    assert notice.due == due and notice.verified
    assert not notice.overdue(due)  # on the last day: on time
    assert notice.overdue(due + timedelta(days=1))  # the day after: overdue


def test_the_notice_is_done_when_filed_and_every_consignee_notified(cls="II"):
    due = DAY0 + timedelta(days=3)
    late = _tasks(
        cls, due + timedelta(days=5), filed_on=DAY0 + timedelta(days=1), all_notified_on=due + timedelta(days=1)
    )
    assert late["notice"].done_on == due + timedelta(days=1) and late["notice"].late()
    half = _tasks(cls, due + timedelta(days=5), filed_on=DAY0 + timedelta(days=1))
    assert half["notice"].done_on is None and half["notice"].overdue(due + timedelta(days=5))


@pytest.mark.parametrize(("cls", "every"), [("I", 1), ("II", 3), ("III", 7)])
def test_progress_reports_fall_due_every_1_3_7_days_and_are_marked_unverified(cls, every):
    """R-RCL-4: the frequencies are verified only for the 2007 measures — shown so."""
    today = DAY0 + timedelta(days=every * 2)
    tasks = _tasks(cls, today)
    first, second = tasks["progress-1"], tasks["progress-2"]
    assert (first.due, second.due) == (DAY0 + timedelta(days=every), DAY0 + timedelta(days=2 * every))
    assert not first.verified and "2007" in first.basis
    assert first.overdue(today) and not second.overdue(today)
    assert "progress-3" not in tasks  # a window not yet started is not listed


def test_a_report_inside_its_window_satisfies_it_and_not_the_next():
    tasks = _tasks("II", DAY0 + timedelta(days=9), progress_reports=[DAY0 + timedelta(days=3)])
    assert tasks["progress-1"].done_on == DAY0 + timedelta(days=3)
    assert tasks["progress-2"].done_on is None and tasks["progress-2"].overdue(DAY0 + timedelta(days=9))


def test_the_completion_report_is_due_after_the_planned_completion():
    tasks = _tasks("III", DAY0 + timedelta(days=41))
    assert tasks["completion"].due == DAY0 + timedelta(days=40)
    assert tasks["completion"].overdue(DAY0 + timedelta(days=41))


def test_the_table_is_changed_as_a_new_version_with_a_reason(users):
    """R-RCL-4: data, versioned, changed with a reason — a running recall keeps its version."""
    admin = users["admin"]
    with pytest.raises(InputError) as exc:
        services.deadline_rule_revise(user=admin, changes={("I", "progress"): 2}, reason="")
    assert exc.value.errors["reason"] == ["Give the reason for changing the deadline table."]
    version = services.deadline_rule_revise(user=admin, changes={("I", "progress"): 2}, reason="省局要求每2日报告")
    assert version == 2
    new = DeadlineRule.objects.get(version=2, recall_class="I", task="progress")
    assert (new.days, new.reason, new.created_by) == (2, "省局要求每2日报告", admin)
    assert DeadlineRule.objects.get(version=1, recall_class="I", task="progress").days == 1
    assert DeadlineRule.objects.filter(version=2).count() == 9
    with pytest.raises(WorkflowError, match="permission"):
        services.deadline_rule_revise(user=users["qa_reviewer"], changes={}, reason="x")


def test_a_recall_keeps_the_table_version_it_started_with(started, users):
    services.deadline_rule_revise(user=users["admin"], changes={("II", "notice"): 5}, reason="测试")
    assert started.deadline_version == 1


# --- mock recall --------------------------------------------------------------------------------


def test_a_mock_recall_traces_without_holding_or_notifying_and_is_timed(shipped, coordinator):
    """R-RCL-6 / GMP 第三百零五条: same trace, no hold, no notice; timed; kept as evidence."""
    mock = services.mock_recall_start(user=coordinator, product=shipped[0].product, batches=[shipped[0]])
    assert mock.status == MockRecall.Status.RUNNING
    assert (mock.consignee_count, mock.quantity_shipped) == (3, 390)
    assert {r["customer"] for r in mock.trace} == {"华东医药有限公司", "杭州第一人民医院", "钱塘大药房"}
    assert not BatchHold.objects.exists() and not ProductHold.objects.exists()
    mock = services.mock_recall_complete(
        mock=mock, user=coordinator, password=PASSWORD, conclusion="15分钟内得到完整清单"
    )
    assert mock.status == MockRecall.Status.COMPLETE and mock.duration is not None
    assert [s.meaning for s in Signature.objects.for_record(mock)] == [Signature.Meaning.VERIFIED]
    with pytest.raises(WorkflowError):
        services.mock_recall_complete(mock=mock, user=coordinator, password=PASSWORD, conclusion="again")


def test_only_recall_roles_run_mock_recalls(shipped, users):
    with pytest.raises(WorkflowError, match="permission"):
        services.mock_recall_start(user=users["sales"], product=shipped[0].product, batches=[shipped[0]])
    with pytest.raises(InputError) as exc:
        services.mock_recall_start(user=users["recall_coordinator"], product=shipped[0].product, batches=[])
    assert exc.value.errors["batches"] == ["Choose at least one batch."]
