"""Every recall action posted by a wrong role or in a wrong state, through its page (R-SEQ-1,
R-SEQ-2, R-UX-2): a wrong role gets 403 with the "not allowed" page; a wrong state re-shows the
record with the reason a person can act on. Nothing is written either way.

The roles holding each action are written out here, independently of core/roles.py."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Signature
from core.roles import ALL_ROLES
from recalls import services
from recalls.models import MockRecall, Recall, RecallInformation
from tests.aftersales.helpers import english_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NOT_ALLOWED = "Your role does not allow this page or action."


def _now() -> str:
    # To the second: the steps refuse a time before the recall started (seconds ago).
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S")


def _data(action: str, recall: Recall | None = None, batch=None) -> dict:
    """A complete, valid submission of the action's form (so only the role or the state refuses)."""
    sign = {"password": PASSWORD}
    if action == "information_analyse":
        return {
            "analyse-scope": "general",
            "analyse-analysis": "普遍",
            "analyse-proposal": "召回",
            "analyse-password": PASSWORD,
        }
    if action == "information_narrow":
        return {"narrow-batches": [batch.pk], "narrow-reason": "缩小", "narrow-password": PASSWORD}
    if action == "information_decide":
        return {"decide-reason": "无需召回", "decide-password": PASSWORD}
    if action == "recall_plan_revise":
        data = {f"plan-{n}": getattr(recall, n) for n in Recall.PLAN_FIELDS}
        return {**data, "plan-reason": "改", "plan-password": PASSWORD}
    if action == "recall_start":
        return {"start-reason": "同意", "start-password": PASSWORD}
    if action == "recall_add_batch":
        return {"add-batch": batch.pk, "add-reason": "追加", "add-password": PASSWORD}
    if action == "progress_add":
        return {"progress-kind": "note", "progress-occurred_at": _now(), "progress-text": "进展"}
    if action == "recovered_add":
        return {
            "recovered-batch": recall.batches.first().batch_id,
            "recovered-quantity": 1,
            "recovered-quarantine_location": "退货隔离库",
            "recovered-decision": "destroy",
            "recovered-supervisor_kind": "authority",
            "recovered-supervisor_name": "区市场监管局",
            "recovered-password": PASSWORD,
        }
    if action == "recall_close":
        return {
            "close-effectiveness_evaluation": "有效",
            "close-outstanding_justification": "已用完",
            "close-hold_disposition": "keep",
            "close-password": PASSWORD,
        }
    if action == "recall_approve":
        return {"approve-reason": "同意", "approve-password": PASSWORD}
    if action == "mock_recall_complete":
        return {"complete-conclusion": "清单完整", "complete-password": PASSWORD}
    if action == "notify":
        return {"notify-method": "phone", "notify-notified_at": _now()}
    if action == "quantities":
        return {
            "qty-quantity_held": 0,
            "qty-quantity_returned": 1,
            "qty-quantity_used": 0,
            "qty-quantity_destroyed": 0,
            "qty-reason": "核实",
        }
    return sign


# action: (URL name, roles that hold it, which record the URL takes)
ACTIONS = {
    "information_analyse": ("recalls:information_analyse", {"qa_reviewer"}, "information"),
    "information_narrow": ("recalls:information_narrow", {"qa_reviewer"}, "information"),
    "information_decide": ("recalls:information_decide", {"quality_head"}, "information"),
    "recall_propose": ("recalls:recall_propose", {"qa_reviewer"}, "information"),
    "recall_plan_revise": ("recalls:recall_plan_revise", {"qa_reviewer"}, "recall"),
    "recall_start": ("recalls:recall_start", {"quality_head"}, "recall"),
    "recall_add_batch": ("recalls:recall_add_batch", {"qa_reviewer", "quality_head"}, "recall"),
    "progress_add": ("recalls:progress_add", {"recall_coordinator"}, "recall"),
    "recovered_add": ("recalls:recovered_add", {"qa_reviewer"}, "recall"),
    "recall_close": ("recalls:recall_close", {"qa_reviewer"}, "recall"),
    "recall_approve": ("recalls:recall_approve", {"qualified_person"}, "recall"),
    "notify": ("recalls:consignee_step", {"recall_coordinator"}, "consignee"),
    "quantities": ("recalls:consignee_step", {"recall_coordinator"}, "consignee"),
    "mock_recall_complete": ("recalls:mock_complete", {"qa_reviewer", "recall_coordinator"}, "mock"),
}


def _url(action: str, recall: Recall, mock: MockRecall | None = None) -> str:
    name, _roles, target = ACTIONS[action]
    if target == "mock":
        return reverse(name, args=[mock.pk])
    if target == "information":
        return reverse(name, args=[recall.information_id])
    if target == "recall":
        return reverse(name, args=[recall.pk])
    step = {"notify": "notify", "quantities": "quantities"}[action]
    return reverse(name, args=[recall.consignees.order_by("pk").first().pk, step])


def _shown(response) -> str:
    return html.unescape(response.content.decode())


def _written() -> tuple[int, ...]:
    """What any of the actions would write: history rows of the records and signatures."""
    return (
        Recall.history.count(),
        RecallInformation.history.count(),
        MockRecall.history.count(),
        Signature.objects.count(),
    )


@pytest.fixture
def mock(shipped, coordinator):
    return services.mock_recall_start(user=coordinator, product=shipped[0].product, batches=[shipped[0]])


@pytest.fixture
def mock_complete(mock, coordinator):
    return services.mock_recall_complete(mock=mock, user=coordinator, password=PASSWORD, conclusion="清单完整")


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_wrong_role_gets_403_and_nothing_changes(action, started, mock, shipped, users):
    """R-SEQ-2: each role that does not hold the action is refused by the page itself."""
    _name, holders, _target = ACTIONS[action]
    url = _url(action, started, mock)
    data = _data(action, started, shipped[1])
    before = _written()
    wrong = [role for role in ALL_ROLES if role not in holders]
    assert wrong
    for role in wrong:
        response = english_client(users[role]).post(url, data)
        assert response.status_code == 403, role
        assert NOT_ALLOWED in _shown(response), role
    assert _written() == before
    assert MockRecall.objects.get().status == MockRecall.Status.RUNNING


@pytest.fixture
def closing(started, users, coordinator):
    for row in started.consignees.all():
        services.consignee_notify(consignee=row, user=coordinator, method="phone", notified_at=timezone.now())
    return services.recall_close(
        recall=started,
        user=users["qa_reviewer"],
        password=PASSWORD,
        effectiveness_evaluation="有效",
        outstanding_justification="客户已用完",
        hold_disposition="keep",
    )


# action: (the state it is posted in, who posts it, the message shown)
WRONG_STATES = {
    "information_analyse": ("analysed", "qa_reviewer", "{info} has already been analysed."),
    "information_narrow": ("started", "qa_reviewer", "{info} is decided; its holds follow the decision."),
    "information_decide": ("received", "quality_head", "QA has not yet analysed {info} and proposed."),
    "recall_propose": ("started", "qa_reviewer", "{info} is already decided."),
    "recall_plan_revise": (
        "started",
        "qa_reviewer",
        "The plan of {recall} can be changed only before the quality head decides.",
    ),
    "recall_start": ("started", "quality_head", "{recall} has already been started."),
    "recall_add_batch": ("closing", "quality_head", "Batches are added only to a recall in progress."),
    "progress_add": ("closed", "recall_coordinator", "{recall} is not in progress."),
    "recovered_add": ("closed", "qa_reviewer", "{recall} is not in progress."),
    "recall_close": ("closing", "qa_reviewer", "{recall} is not in progress."),
    "recall_approve": ("started", "qualified_person", "QA has not closed {recall} yet."),
    "notify": ("closing", "recall_coordinator", "{recall} is not in progress."),
    "quantities": ("closing", "recall_coordinator", "{recall} is not in progress."),
    "mock_recall_complete": (
        "mock_complete",
        "qa_reviewer",
        "Mock recall {mock} is already complete: its time is recorded.",
    ),
}


@pytest.mark.parametrize("action", list(WRONG_STATES))
def test_every_action_in_a_wrong_state_says_why_and_writes_nothing(action, request, shipped, users):
    """R-SEQ-1: the URL of a step that is not due now is refused with the reason shown."""
    state, role, message = WRONG_STATES[action]
    if state == "mock_complete":
        mock = request.getfixturevalue("mock_complete")
        url = _url(action, None, mock)
        data = _data(action)
        number = {"mock": mock.number}
    elif state == "received":
        information = request.getfixturevalue("information")
        url = reverse(ACTIONS[action][0], args=[information.pk])
        data = _data(action)
        number = {"info": information.number, "recall": ""}
    else:
        recall = request.getfixturevalue({"analysed": "proposed", "closed": "closing"}.get(state, state))
        if state == "closed":
            recall = services.recall_approve(
                recall=recall, user=users["qualified_person"], password=PASSWORD, reason="同意"
            )
        url = _url(action, recall)
        data = _data(action, recall, shipped[1])
        number = {"info": recall.information.number, "recall": recall.number}
        if state == "analysed":
            number["info"] = recall.information.number
    before = _written()
    response = english_client(users[role]).post(url, data, follow=True)
    assert response.status_code in (200, 400)
    assert message.format(**number) in _shown(response)
    assert _written() == before
