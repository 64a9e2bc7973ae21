"""The deadline table page (R-RCL-4: data an administrator revises with a reason, never code) and
the recall plan changed after the proposal, before the decision (R-AT-2, R-SIG-3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core import integrity
from core.models import Signature
from core.workflow import InputError, WorkflowError
from recalls import services
from recalls.models import DeadlineRule, Recall
from tests.aftersales.helpers import english_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

URL = "recalls:deadline_rules"


def _table_post(reason: str, **days) -> dict:
    rules = DeadlineRule.objects.filter(version=1)
    data = {f"rules-days_{r.recall_class}_{r.task}": r.days for r in rules}
    data.update({f"rules-days_{k}": v for k, v in days.items()})
    data["rules-reason"] = reason
    return data


def test_the_administrator_revises_the_table_with_a_reason_as_a_new_version(users):
    """R-RCL-4: a new version of the whole table; the changed rule is no longer marked verified."""
    client = english_client(users["admin"])
    page = client.get(reverse(URL)).content.decode()
    assert "Recall deadline table · version 1" in page and "Save as a new version" in page
    response = client.post(reverse(URL), _table_post("省局通知：二级召回通知时限改为2日", II_notice=2), follow=True)
    assert "Deadline table version 2 saved." in response.content.decode()
    new = DeadlineRule.objects.get(version=2, recall_class="II", task="notice")
    assert (new.days, new.verified, new.reason, new.created_by) == (
        2,
        False,
        "省局通知：二级召回通知时限改为2日",
        users["admin"],
    )
    assert DeadlineRule.objects.filter(version=2).count() == DeadlineRule.objects.filter(version=1).count()
    assert DeadlineRule.objects.get(version=1, recall_class="II", task="notice").days == 3
    assert "省局通知：二级召回通知时限改为2日" in client.get(reverse(URL)).content.decode()


def test_a_revision_without_reason_or_change_or_with_bad_days_is_refused_and_nothing_written(users):
    client = english_client(users["admin"])
    response = client.post(reverse(URL), _table_post("", II_notice=2))
    assert (
        response.status_code == 400
        and "Give a reason for the change: it is recorded in the audit trail." in response.content.decode()
    )
    response = client.post(reverse(URL), _table_post("没有改动"))
    assert response.status_code == 400
    assert "No number of days was changed: nothing to save." in response.content.decode()
    response = client.post(reverse(URL), _table_post("错误", II_notice="zero"))
    assert response.status_code == 400 and "Enter a whole number." in response.content.decode()
    response = client.post(reverse(URL), _table_post("错误", II_notice=0))
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    assert not DeadlineRule.objects.filter(version=2).exists()


@pytest.mark.parametrize("role", ["qa_reviewer", "quality_head", "auditor", "recall_coordinator"])
def test_readers_see_the_table_but_cannot_revise_it(users, role):
    client = english_client(users[role])
    page = client.get(reverse(URL)).content.decode()
    assert "Recall deadline table" in page and "Save as a new version" not in page
    assert client.post(reverse(URL), _table_post("改", II_notice=2)).status_code == 403
    assert not DeadlineRule.objects.filter(version=2).exists()


@pytest.mark.parametrize("role", ["sales", "customer_service", "qc_analyst"])
def test_other_roles_get_403_on_the_deadline_table(users, role):
    assert english_client(users[role]).get(reverse(URL)).status_code == 403


# --- the plan changed after the proposal ------------------------------------------------------


def _plan(recall: Recall, **overrides) -> dict:
    data = {name: getattr(recall, name) for name in Recall.PLAN_FIELDS}
    data.update(overrides)
    return data


def test_qa_changes_the_plan_before_the_decision_with_a_reason_and_signs_it_again(proposed, users):
    recall = services.recall_plan_revise(
        recall=proposed,
        user=users["qa_reviewer"],
        password=PASSWORD,
        data=_plan(proposed, plan_quantity=500, plan_target_percent="98"),
        reason="发货数量核对后增加",
    )
    recall.refresh_from_db()
    assert (recall.plan_quantity, str(recall.plan_target_percent)) == (500, "98.00")
    assert recall.history.first().history_change_reason == "发货数量核对后增加"
    sigs = list(Signature.objects.for_record(recall).order_by("pk"))
    assert [s.meaning for s in sigs] == ["authored", "authored"] and all(s.is_valid() for s in sigs)
    assert (sigs[0].state["plan_quantity"], sigs[1].state["plan_quantity"]) == (390, 500)
    assert integrity.state_problems(recall) == []
    started = services.recall_start(recall=recall, user=users["quality_head"], password=PASSWORD, reason="同意")
    assert Signature.objects.for_record(started).filter(meaning="approved").get().state["plan_quantity"] == 500
    with pytest.raises(WorkflowError) as exc:
        services.recall_plan_revise(
            recall=started, user=users["qa_reviewer"], password=PASSWORD, data=_plan(started), reason="再改"
        )
    assert str(exc.value) == f"The plan of {started.number} can be changed only before the quality head decides."


def test_a_plan_change_needs_a_reason_and_valid_values(proposed, users):
    with pytest.raises(InputError) as exc:
        services.recall_plan_revise(
            recall=proposed, user=users["qa_reviewer"], password=PASSWORD, data=_plan(proposed), reason=" "
        )
    assert exc.value.errors["reason"] == ["Give the reason for changing the plan."]
    with pytest.raises(InputError) as exc:
        services.recall_plan_revise(
            recall=proposed,
            user=users["qa_reviewer"],
            password=PASSWORD,
            data=_plan(proposed, plan_quantity=0, plan_completion_date=timezone.localdate() - timedelta(days=1)),
            reason="改",
        )
    assert exc.value.errors == {
        "plan_quantity": ["Enter the quantity to recover as a whole number greater than zero."],
        "plan_completion_date": ["This date is in the past."],
    }
    assert Recall.objects.get().plan_quantity == 390 and Recall.objects.get().history.count() == 1


def test_a_plan_changed_by_sql_after_the_proposal_is_reported(proposed):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE recalls_recall SET plan_quantity = 1 WHERE id = %s", [proposed.pk])
    problems = integrity.state_problems(proposed)
    assert "quantity to recover is “1” but was “390” when signed “Prepared”" in problems


def test_the_plan_form_on_the_recall_page(proposed, users):
    client = english_client(users["qa_reviewer"])
    url = reverse("recalls:recall_detail", args=[proposed.pk])
    assert "Change the plan and sign" in client.get(url).content.decode()
    data = {f"plan-{k}": v for k, v in _plan(proposed, plan_quantity=420).items()}
    data.update(
        {
            "plan-reason": "复核发货量",
            "plan-password": PASSWORD,
            "plan-plan_completion_date": str(proposed.plan_completion_date),
        }
    )
    response = client.post(reverse("recalls:recall_plan_revise", args=[proposed.pk]), data, follow=True)
    assert "Recall plan changed and signed again." in response.content.decode()
    assert Recall.objects.get().plan_quantity == 420
    response = client.post(reverse("recalls:recall_plan_revise", args=[proposed.pk]), {**data, "plan-reason": ""})
    assert (
        response.status_code == 400
        and "Give a reason for the change: it is recorded in the audit trail." in response.content.decode()
    )
    head = english_client(users["quality_head"])
    assert "Change the plan and sign" not in head.get(url).content.decode()
    assert head.post(reverse("recalls:recall_plan_revise", args=[proposed.pk]), data).status_code == 403
