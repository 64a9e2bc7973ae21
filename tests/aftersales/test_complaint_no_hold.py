""" "Place a hold?" must be answered before a complaint closes (R-CMP-1; GMP 第二百七十三条; issue 10
remainder 2): a hold placed from the complaint, or QA's recorded, reasoned "no hold needed" — with
who and when in the audit trail, shown on the complaint page, covered by the closing signature."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import Complaint
from core.models import Signature
from core.roles import ALL_ROLES
from core.workflow import InputError, WorkflowError
from tests.aftersales.conftest import feedback_data
from tests.aftersales.helpers import english_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

GAP = (
    "the answer to “Place a hold?”: a hold placed from this complaint, or QA's decision that no hold is needed, "
    "with the reason"
)


def _investigated_without_hold_answer(complaint, user):
    """Every other closure item recorded; "place a hold?" left open."""
    from datetime import timedelta

    from django.utils import timezone

    return services.complaint_record(
        complaint=complaint,
        user=user,
        data=dict(
            other_batches_conclusion="其他批次未见同类投诉",
            root_cause="运输途中受潮",
            recall_needed=False,
            recall_rationale="个案",
            reply_at=timezone.now() - timedelta(hours=1),
            reply_content="已电话回复",
        ),
    )


@pytest.fixture
def unanswered(investigating, users):
    return _investigated_without_hold_answer(investigating, users["qa_reviewer"])


def test_closure_is_refused_until_the_hold_question_is_answered(unanswered, users):
    """R-CMP-1: the predicate names the missing answer; the page lists it and says why."""
    qa = users["qa_reviewer"]
    assert services.closure_gaps(unanswered) == [GAP]
    with pytest.raises(WorkflowError) as exc:
        services.complaint_close(complaint=unanswered, user=qa, password=PASSWORD)
    assert str(exc.value) == f"Record {GAP} before closing."
    page = english_client(qa).get(unanswered.get_absolute_url()).content.decode()
    assert "Not answered yet: the complaint cannot close until QA places a hold or records why none is needed." in page
    assert "the answer to “Place a hold?”" in page
    assert 'action="' + reverse("aftersales:complaint_close", args=[unanswered.pk]) + '"' not in page
    response = english_client(qa).post(
        reverse("aftersales:complaint_close", args=[unanswered.pk]), {"close-password": PASSWORD}
    )
    assert response.status_code == 400
    unanswered.refresh_from_db()
    assert unanswered.status == Complaint.Status.INVESTIGATING


def test_qa_records_no_hold_needed_and_then_closes(unanswered, users):
    """Who, when and why: on the complaint, in its audit trail, on the page; the closing signature
    vouches for the answer (its signed state holds it)."""
    qa = users["qa_reviewer"]
    client = english_client(qa)
    url = reverse("aftersales:complaint_no_hold", args=[unanswered.pk])
    page = client.get(unanswered.get_absolute_url()).content.decode()
    assert 'action="' + url + '"' in page and "Why no hold is needed" in page
    response = client.post(url, {"nohold-reason": "留样合格，个案，无需暂停发运"})
    assert response.status_code == 302
    unanswered.refresh_from_db()
    assert unanswered.hold_not_needed_reason == "留样合格，个案，无需暂停发运"
    assert unanswered.hold_not_needed_by == qa and unanswered.hold_not_needed_at is not None
    row = unanswered.history.first()
    assert row.history_change_reason == "no hold needed: 留样合格，个案，无需暂停发运"
    assert row.history_user == qa
    page = client.get(unanswered.get_absolute_url()).content.decode()
    assert "No hold needed</strong> · 留样合格，个案，无需暂停发运" in page
    assert f"Decided by {qa.printed_name}" in page
    assert 'action="' + url + '"' not in page  # answered: the form is no longer offered
    assert services.closure_gaps(unanswered) == []
    closed = services.complaint_close(complaint=unanswered, user=qa, password=PASSWORD)
    signature = Signature.objects.for_record(closed).get()
    assert signature.state["hold_not_needed_reason"] == "留样合格，个案，无需暂停发运"
    assert signature.state["hold_not_needed_by"] == qa.pk


def test_a_hold_placed_answers_the_question(released, users):
    """R-CMP-1: a hold placed from the complaint (even lifted since) is the answer "yes"; "no hold
    needed" is then refused, on the page and by the service."""
    from release import services as release_services

    qa = users["qa_reviewer"]
    fb = services.feedback_record(user=users["customer_service"], data=feedback_data(batch=released))
    complaint = services.complaint_triage(complaint=fb.complaint, user=qa, triage="quality_defect", assigned_to=qa)
    decision = services.complaint_place_hold(complaint=complaint, user=qa, password=PASSWORD, reason="疑似质量缺陷")
    release_services.hold_lift(hold=decision.hold, user=qa, password=PASSWORD, reason="调查结论：非质量问题")
    complaint = _investigated_without_hold_answer(complaint, qa)
    refusal = "A hold was placed from this complaint: the question “Place a hold?” is answered."
    assert services.cannot_decide_no_hold(complaint, qa) == refusal
    response = english_client(qa).post(
        reverse("aftersales:complaint_no_hold", args=[complaint.pk]), {"nohold-reason": "无需"}
    )
    assert response.status_code == 400 and refusal in response.content.decode()
    page = english_client(qa).get(complaint.get_absolute_url()).content.decode()
    assert "Yes: hold placed (above)" in page
    closed = services.complaint_close(complaint=complaint, user=qa, password=PASSWORD)
    assert closed.status == Complaint.Status.CLOSED and closed.hold_not_needed_at is None


def test_no_reason_no_second_answer_and_not_after_closing(unanswered, users):
    qa = users["qa_reviewer"]
    client = english_client(qa)
    url = reverse("aftersales:complaint_no_hold", args=[unanswered.pk])
    response = client.post(url, {"nohold-reason": "   "})
    assert response.status_code == 400 and "Say why no hold is needed." in response.content.decode()
    with pytest.raises(InputError):
        services.complaint_decide_no_hold(complaint=unanswered, user=qa, reason="")
    assert client.post(url, {}).status_code == 400
    unanswered.refresh_from_db()
    assert unanswered.hold_not_needed_at is None
    services.complaint_decide_no_hold(complaint=unanswered, user=qa, reason="个案")
    with pytest.raises(WorkflowError, match=f"{qa.printed_name} already recorded that no hold is needed."):
        services.complaint_decide_no_hold(complaint=unanswered, user=qa, reason="再次")
    closed = services.complaint_close(complaint=unanswered, user=qa, password=PASSWORD)
    assert services.cannot_decide_no_hold(closed, qa) == "The complaint is closed."
    response = client.post(url, {"nohold-reason": "结案后"})
    assert response.status_code == 400 and "The complaint is closed." in response.content.decode()


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != "qa_reviewer"])
def test_other_roles_cannot_record_no_hold(role, unanswered, users):
    response = english_client(users[role]).post(
        reverse("aftersales:complaint_no_hold", args=[unanswered.pk]), {"nohold-reason": "无需"}
    )
    assert response.status_code == 403
    assert services.cannot_decide_no_hold(unanswered, users[role]) == "You do not have permission to do this."
    unanswered.refresh_from_db()
    assert unanswered.hold_not_needed_at is None
