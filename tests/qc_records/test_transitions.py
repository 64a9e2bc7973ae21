"""Every model's TRANSITIONS table, walked completely (R-SEQ-1)."""

import itertools

import pytest

from core.workflow import WorkflowError, check_transition
from qc_records import services
from qc_records.models import Instrument, LedgerArchive, OOSInvestigation, Reagent, Specification, TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED

MODELS = [Specification, Instrument, Reagent, TestRecord, OOSInvestigation, LedgerArchive]


def _pairs():
    for model in MODELS:
        states = model.Status.values
        for current, target in itertools.product(states, states):
            yield pytest.param(model, current, target, id=f"{model.__name__}:{current}->{target}")


@pytest.mark.parametrize("model, current, target", list(_pairs()))
def test_check_transition_follows_the_table(model, current, target):
    obj = model(status=current, **({"year": 2026, "month": 1} if model is LedgerArchive else {}))
    allowed = target in model.TRANSITIONS[current]
    if allowed:
        check_transition(obj, target)
    else:
        with pytest.raises(WorkflowError):
            check_transition(obj, target)


def test_every_state_has_a_row():
    for model in MODELS:
        assert set(model.TRANSITIONS) == set(model.Status.values), model


# --- the test record's actions, from every state, through the services ----------------------------

STATE_FIXTURES = {
    "draft": "filled_record",
    "submitted": "submitted_record",
    "reviewed": "reviewed_record",
    "approved": "approved_record",
    "voided": "voided_record",
}

ACTIONS = {
    # action → target status
    "submit": "submitted",
    "review": "reviewed",
    "approve": "approved",
    "send_back": "draft",
    "void": "voided",
    "reopen": "draft",
}

# Which action is allowed from which state, written out independently of the model (an approved
# record goes back to draft only by reopening, QC head + QA, never by "send back"; R-QC-10).
ALLOWED = {
    ("draft", "submit"),
    ("draft", "void"),
    ("submitted", "review"),
    ("submitted", "send_back"),
    ("reviewed", "approve"),
    ("reviewed", "send_back"),
    ("approved", "reopen"),
}


@pytest.fixture
def voided_record(qc, filled_record):
    # It holds results: only the QC head may void it (R-QC-9).
    return services.record_void(record=filled_record, user=qc.head, password=PASSWORD, reason="登记错误")


def _run(action, record, qc):
    if action == "submit":
        services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    elif action == "review":
        services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
    elif action == "approve":
        services.record_approve(record=record, user=qc.head, password=PASSWORD)
    elif action == "send_back":
        services.record_send_back(record=record, user=qc.head, reason="退回")
    elif action == "void":
        services.record_void(record=record, user=qc.head, password=PASSWORD, reason="作废")
    elif action == "reopen":
        services.record_reopen_request(record=record, user=qc.head, password=PASSWORD, reason="更正")
        services.record_reopen(record=record, user=qc.qa, password=PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize("state, action", list(itertools.product(STATE_FIXTURES, ACTIONS)))
def test_record_actions_follow_the_table(request, qc, settings, state, action):
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    record = request.getfixturevalue(STATE_FIXTURES[state])
    target = ACTIONS[action]
    allowed = (state, action) in ALLOWED
    assert not allowed or target in TestRecord.TRANSITIONS[state]  # the table and the services agree
    if allowed:
        _run(action, record, qc)
        record.refresh_from_db()
        assert record.status == target
    else:
        history_rows = record.history.count()
        with pytest.raises(WorkflowError):
            _run(action, record, qc)
        record.refresh_from_db()
        assert record.status == state and record.history.count() == history_rows
