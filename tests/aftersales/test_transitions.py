"""The after-sales state tables as designed, written out independently of the models (R-SEQ-1)."""

from itertools import product as pairs

import pytest

from aftersales.models import ADRCase, Complaint, Customer, Feedback
from core.workflow import WorkflowError, check_transition

C, F, K, A = Customer.Status, Feedback.Status, Complaint.Status, ADRCase.Status
ALLOWED = {
    Customer: {
        ("draft", "in_approval"),
        ("draft", "voided"),
        ("in_approval", "qualified"),
        ("in_approval", "draft"),
        ("in_approval", "voided"),
        ("qualified", "draft"),
        ("qualified", "voided"),
    },
    Feedback: {("open", "answered"), ("answered", "closed")},
    Complaint: {("received", "investigating"), ("investigating", "closed")},
    ADRCase: {("open", "reported")},
}
MODELS = list(ALLOWED)
MATRIX = [
    pytest.param(model, cur, tgt, (cur, tgt) in ALLOWED[model], id=f"{model.__name__}:{cur}->{tgt}")
    for model in MODELS
    for cur, tgt in pairs(model.Status.values, repeat=2)
]


@pytest.mark.parametrize(("model", "current", "target", "allowed"), MATRIX)
def test_transition_matrix(model, current, target, allowed):
    """R-SEQ-1: every (from, to) pair, including staying put."""
    obj = model(status=current)
    if allowed:
        check_transition(obj, target)
    else:
        with pytest.raises(WorkflowError):
            check_transition(obj, target)


@pytest.mark.parametrize("model", MODELS)
def test_every_status_has_a_row(model):
    assert set(model.TRANSITIONS) == set(model.Status.values)
    for targets in model.TRANSITIONS.values():
        assert set(targets) <= set(model.Status.values)
