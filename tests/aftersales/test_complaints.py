"""Complaints: triage, investigation, recall decision, reply, QP informed, signed closure (R-CMP-1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.models import Complaint
from core.models import AuthEvent, Signature
from core.roles import ALL_ROLES
from core.workflow import InputError, WorkflowError
from tests.aftersales.conftest import complete_investigation, feedback_data
from tests.aftersales.helpers import english_client, field_error, shown_meaning
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_qa_closes_a_complete_complaint_with_a_signature(ready_to_close, users):
    """R-CMP-1, R-SIG-1, R-AT-1: closure signed by QA; history row with the state."""
    complaint = services.complaint_close(
        complaint=ready_to_close, user=users["qa_reviewer"], password=PASSWORD, comment="结案"
    )
    assert complaint.status == Complaint.Status.CLOSED and complaint.closed_by == users["qa_reviewer"]
    sig = Signature.objects.for_record(complaint).get()
    assert sig.meaning == Signature.Meaning.CLOSED and sig.is_valid()
    row = complaint.history.first()
    assert row.status == "closed" and row.history_user == users["qa_reviewer"] and row.history_change_reason == "结案"


def test_closure_page_shows_the_meaning_it_records(ready_to_close, users):
    """R-SIG-2."""
    client = english_client(users["qa_reviewer"])
    url = reverse("aftersales:complaint_close", args=[ready_to_close.pk])
    shown = shown_meaning(client.get(ready_to_close.get_absolute_url()).content.decode(), url)
    assert client.post(url, {"close-password": PASSWORD}).status_code == 302
    sig = Signature.objects.for_record(ready_to_close).get()
    assert shown == Signature.Meaning(sig.meaning).label == "Closed"


def test_wrong_password_is_refused_and_counted(ready_to_close, users):
    """R-SIG-1."""
    response = english_client(users["qa_reviewer"]).post(
        reverse("aftersales:complaint_close", args=[ready_to_close.pk]), {"close-password": "bad"}
    )
    assert response.status_code == 400 and "Wrong password" in response.content.decode()
    ready_to_close.refresh_from_db()
    assert ready_to_close.status == Complaint.Status.INVESTIGATING
    assert AuthEvent.objects.filter(user=users["qa_reviewer"], kind=AuthEvent.Kind.SIGNATURE_FAILED).count() == 1


def test_closing_without_investigation_and_reply_is_refused(investigating, users):
    """R-CMP-1: the predicate names what is missing."""
    with pytest.raises(WorkflowError, match="root cause.*reply to the complainant"):
        services.complaint_close(complaint=investigating, user=users["qa_reviewer"], password=PASSWORD)
    assert not Signature.objects.for_record(investigating).exists()


def test_a_received_complaint_cannot_be_closed_or_investigated(complaint, users):
    """R-SEQ-1: triage comes first."""
    with pytest.raises(WorkflowError):
        services.complaint_close(complaint=complaint, user=users["qa_reviewer"], password=PASSWORD)
    with pytest.raises(WorkflowError):
        services.complaint_record(complaint=complaint, user=users["qa_reviewer"], data={"root_cause": "x"})


def test_a_closed_complaint_cannot_be_closed_again_or_changed(ready_to_close, users, qa_reviewer2):
    services.complaint_close(complaint=ready_to_close, user=users["qa_reviewer"], password=PASSWORD)
    with pytest.raises(WorkflowError):
        services.complaint_close(complaint=ready_to_close, user=qa_reviewer2, password=PASSWORD)
    with pytest.raises(WorkflowError):
        services.complaint_record(
            complaint=ready_to_close, user=users["qa_reviewer"], data={"root_cause": "改"}, reason="r"
        )


def test_triage_twice_is_refused(investigating, users):
    with pytest.raises(WorkflowError):
        services.complaint_triage(
            complaint=investigating, user=users["qa_reviewer"], triage="enquiry", assigned_to=users["qa_reviewer"]
        )


def test_the_investigator_must_be_qa(complaint, users):
    with pytest.raises(InputError):
        services.complaint_triage(
            complaint=complaint, user=users["qa_reviewer"], triage="quality_defect", assigned_to=users["sales"]
        )


def test_the_person_who_recorded_the_complaint_does_not_close_it(make_user, batch, users):
    """R-SEQ-2: closure is an independent QA conclusion; someone holding both roles who logged
    the complaint must leave the closure to another QA reviewer."""
    both = make_user("customer_service", "qa_reviewer", username="cs_and_qa")
    complaint = services.feedback_record(user=both, data=feedback_data(batch=batch)).complaint
    services.complaint_triage(complaint=complaint, user=both, triage="quality_defect", assigned_to=both)
    complete_investigation(complaint, both)
    with pytest.raises(WorkflowError, match="another QA reviewer"):
        services.complaint_close(complaint=complaint, user=both, password=PASSWORD)
    services.complaint_close(complaint=complaint, user=users["qa_reviewer"], password=PASSWORD)


def test_recall_decision_needs_a_rationale(investigating, users):
    with pytest.raises(InputError) as exc:
        services.complaint_record(
            complaint=investigating, user=users["qa_reviewer"], data={"recall_needed": True, "recall_rationale": ""}
        )
    assert "recall_rationale" in exc.value.errors


def test_changing_what_was_recorded_needs_a_reason(ready_to_close, users):
    """R-AT-2: the first entry needs none; an overwrite does."""
    with pytest.raises(InputError):
        services.complaint_record(complaint=ready_to_close, user=users["qa_reviewer"], data={"root_cause": "包装破损"})
    services.complaint_record(
        complaint=ready_to_close, user=users["qa_reviewer"], data={"root_cause": "包装破损"}, reason="复核更正"
    )
    assert ready_to_close.history.first().history_change_reason == "复核更正"


def test_sales_chain_ours_means_replacement_and_is_required_for_closure(users, batch):
    """AS-4.2.5: responsibility ours → replacement shipment needed; closure needs the outcome."""
    complaint = services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(batch=batch, classification="sales_chain", sales_chain_problem="quantity"),
    ).complaint
    services.complaint_triage(
        complaint=complaint, user=users["qa_reviewer"], triage="sales_chain", assigned_to=users["qa_reviewer"]
    )
    complete_investigation(complaint, users["qa_reviewer"])
    with pytest.raises(WorkflowError, match="responsibility"):
        services.complaint_close(complaint=complaint, user=users["qa_reviewer"], password=PASSWORD)
    complaint = services.complaint_record(
        complaint=complaint, user=users["qa_reviewer"], data={"responsibility": "ours", "sales_chain_action": "补发2盒"}
    )
    assert complaint.replacement_needed
    services.complaint_close(complaint=complaint, user=users["qa_reviewer"], password=PASSWORD)


def test_the_qp_is_told_and_records_having_read_it(complaint, users, client_for):
    """R-CMP-1 (GMP 第二百七十二条): quality complaints on the QP's My work until read."""
    qp = users["qualified_person"]
    page = client_for(qp).get(reverse("core:my_work")).content.decode()
    assert complaint.number in page
    response = client_for(qp).post(reverse("aftersales:complaint_acknowledge", args=[complaint.pk]))
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.qp_acknowledged_by == qp
    assert complaint.number not in client_for(qp).get(reverse("core:my_work")).content.decode()
    with pytest.raises(WorkflowError):
        services.complaint_acknowledge(complaint=complaint, user=qp)


def test_reply_is_tracked_against_the_target(users, batch):
    complaint = services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(batch=batch, received_at=timezone.now() - timedelta(hours=30)),
    ).complaint
    assert complaint.reply_overdue
    page = english_client(users["qa_reviewer"]).get(reverse("aftersales:complaint_list")).content.decode()
    assert "Overdue" in page


def test_reply_in_the_future_is_refused_beside_the_field(investigating, users):
    """R-UX-2."""
    response = english_client(users["qa_reviewer"]).post(
        reverse("aftersales:complaint_reply", args=[investigating.pk]),
        {
            "reply-reply_at": (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "reply-reply_content": "x",
        },
    )
    assert response.status_code == 400
    assert "future" in field_error(response, "reply_at")


def test_empty_decision_shows_required_errors(investigating, users):
    response = english_client(users["qa_reviewer"]).post(
        reverse("aftersales:complaint_decide", args=[investigating.pk]), {}
    )
    assert response.status_code == 400
    assert "Decide whether a recall is needed" in field_error(response, "recall_needed")


def test_full_path_through_the_pages(complaint, users):
    client = english_client(users["qa_reviewer"])
    pk = complaint.pk
    assert (
        client.post(
            reverse("aftersales:complaint_triage", args=[pk]),
            {"triage-triage": "quality_defect", "triage-assigned_to": users["qa_reviewer"].pk},
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("aftersales:complaint_investigate", args=[pk]),
            {"inv-root_cause": "受潮", "inv-other_batches_considered": "A1", "inv-other_batches_conclusion": "无影响"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("aftersales:complaint_decide", args=[pk]),
            {"decision-recall_needed": "no", "decision-recall_rationale": "个案"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("aftersales:complaint_reply", args=[pk]),
            {"reply-reply_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "reply-reply_content": "已回复"},
        ).status_code
        == 302
    )
    assert (
        client.post(reverse("aftersales:complaint_close", args=[pk]), {"close-password": PASSWORD}).status_code == 400
    )
    assert (
        client.post(reverse("aftersales:complaint_no_hold", args=[pk]), {"nohold-reason": "留样合格，个案"}).status_code
        == 302
    )
    assert (
        client.post(reverse("aftersales:complaint_close", args=[pk]), {"close-password": PASSWORD}).status_code == 302
    )
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.CLOSED and complaint.recall_needed is False


QA = {"qa_reviewer"}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize(
    "action",
    [
        "complaint_triage",
        "complaint_investigate",
        "complaint_decide",
        "complaint_reply",
        "complaint_no_hold",
        "complaint_close",
    ],
)
def test_qa_actions_are_403_for_other_roles(role, action, complaint, users):
    response = english_client(users[role]).post(reverse(f"aftersales:{action}", args=[complaint.pk]), {})
    assert (response.status_code == 403) == (role not in QA)


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in QA])
def test_services_refuse_other_roles(role, ready_to_close, users):
    user = users[role]
    with pytest.raises(WorkflowError, match="permission"):
        services.complaint_close(complaint=ready_to_close, user=user, password=PASSWORD)
    with pytest.raises(WorkflowError, match="permission"):
        services.complaint_record(complaint=ready_to_close, user=user, data={"capa_reference": "CAPA-1"})
    with pytest.raises(WorkflowError, match="permission"):
        services.complaint_decide_no_hold(complaint=ready_to_close, user=user, reason="无需")


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != "qualified_person"])
def test_only_the_qp_acknowledges(role, complaint, users):
    response = english_client(users[role]).post(reverse("aftersales:complaint_acknowledge", args=[complaint.pk]))
    assert response.status_code == 403


def test_trend_counts_per_product_and_month(users, batch, client_for, django_assert_max_num_queries):
    """B.2.3 periodic trend review: complaints per product per month, in a fixed number of queries."""
    for _ in range(3):
        # Received now: the current local month (two hours ago may be last month in Asia/Shanghai).
        services.feedback_record(
            user=users["customer_service"], data=feedback_data(batch=batch, received_at=timezone.now())
        )
    client = client_for(users["qa_reviewer"])
    with django_assert_max_num_queries(12):
        response = client.get(reverse("aftersales:complaint_trend"))
    ((name, counts, total),) = response.context["table"]
    assert total == 3 and counts[-1] == 3 and str(batch.product.name) in name


def test_the_complaint_page_names_its_people_from_one_query(investigating, users, django_assert_max_num_queries):
    """Issue 12: the complaint's people come in one query of their own (joined with the complaint
    they made an 8-table join PostgreSQL took ~6 ms to plan); the page still names the investigator."""
    client = english_client(users["qa_reviewer"])
    with django_assert_max_num_queries(30) as ctx:
        page = client.get(investigating.get_absolute_url()).content.decode()
    assert users["qa_reviewer"].printed_name in page
    accounts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "core_user"')]
    assert len(accounts) == 2, accounts
    main = next(q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "aftersales_complaint"."id"'))
    assert main.count(" JOIN ") == 3  # its feedback, product and batch
