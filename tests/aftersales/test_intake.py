"""市场信息反馈记录 and its routing (AS-4.2.1–4.2.5; R-CMP-1; R-ADR-1; R-RET-1; R-UX-2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales import services
from aftersales.models import ADRCase, Complaint, Feedback
from core.roles import ALL_ROLES
from core.workflow import InputError, WorkflowError
from tests.aftersales.conftest import feedback_data
from tests.aftersales.helpers import english_client, field_error

pytestmark = pytest.mark.django_db


def record(users, **overrides) -> Feedback:
    return services.feedback_record(user=users["customer_service"], data=feedback_data(**overrides))


def test_quality_complaint_routes_to_qa_at_once(users, batch):
    """AS-4.2.2, R-CMP-1: a complaint owned by QA, numbered, with the feedback's received time."""
    fb = record(users, batch=batch)
    assert fb.number.startswith("FB-") and fb.product == batch.product
    complaint = fb.complaint
    assert complaint.number.startswith("CMP-") and complaint.triage == Complaint.Triage.QUALITY_DEFECT
    assert complaint.received_at == fb.received_at and complaint.qp_acknowledged_at is None
    assert not ADRCase.objects.exists()
    assert fb.history.count() == 1 and complaint.history.count() == 1


def test_possible_adr_opens_a_case_whose_day0_is_the_feedback_received_time(users, batch):
    """AS-4.2.3, R-ADR-1: day 0 = first awareness in the company, not QA's receipt."""
    received = timezone.now() - timedelta(days=3)
    fb = record(users, batch=batch, classification="possible_adr", patient="Z.M. 60岁 男", received_at=received)
    case = fb.adr_case
    assert case.day0 == received
    assert not Complaint.objects.exists()


def test_return_on_quality_grounds_is_a_complaint_expecting_a_return(users, batch):
    """AS-4.2.4, R-RET-1."""
    complaint = record(users, batch=batch, classification="return_request").complaint
    assert complaint.triage == Complaint.Triage.RETURN and complaint.return_expected


def test_sales_chain_problem_is_a_complaint_with_its_kind(users, batch):
    """AS-4.2.5."""
    complaint = record(
        users, batch=batch, classification="sales_chain", sales_chain_problem="transport_damage"
    ).complaint
    assert complaint.triage == Complaint.Triage.SALES_CHAIN and complaint.sales_chain_problem == "transport_damage"


@pytest.mark.parametrize("cls", ["enquiry", "suggestion"])
def test_enquiry_and_suggestion_are_answered_by_customer_service_only(users, cls):
    fb = record(users, classification=cls)
    assert not Complaint.objects.exists() and not ADRCase.objects.exists()
    assert fb.status == Feedback.Status.OPEN


def test_first_response_is_due_after_the_setting(users, settings):
    """The first-response target is a company setting (default 24 h)."""
    fb = record(users, classification="enquiry")
    assert fb.first_response_due - fb.received_at == timedelta(hours=24)
    settings.AFTERSALES_FIRST_RESPONSE_HOURS = 8
    fb = record(users, classification="enquiry")
    assert fb.first_response_due - fb.received_at == timedelta(hours=8)


def test_overdue_first_response_is_flagged(users):
    fb = record(users, classification="enquiry", received_at=timezone.now() - timedelta(hours=30))
    assert fb.response_overdue
    page = english_client(users["customer_service"]).get(reverse("aftersales:feedback_list")).content.decode()
    assert "Overdue" in page


def test_reply_then_filed_result(users):
    """4.1.1: reply (date, method, content) and result archived."""
    fb = record(users, classification="enquiry")
    fb = services.feedback_reply(
        feedback=fb,
        user=users["customer_service"],
        data={"reply_at": timezone.now(), "reply_method": "phone", "reply_content": "已解答用法用量"},
    )
    assert fb.status == Feedback.Status.ANSWERED and not fb.responded_late
    with pytest.raises(WorkflowError):
        services.feedback_reply(feedback=fb, user=users["customer_service"], data={"reply_at": timezone.now()})
    fb = services.feedback_close(
        feedback=fb, user=users["customer_service"], data={"result": "客户满意", "satisfaction": "satisfied"}
    )
    assert fb.status == Feedback.Status.CLOSED
    assert fb.history.count() == 3


def test_result_cannot_be_filed_before_the_reply(users):
    fb = record(users, classification="enquiry")
    with pytest.raises(WorkflowError):
        services.feedback_close(feedback=fb, user=users["customer_service"], data={"result": "x"})


def test_reply_before_receipt_is_refused(users):
    fb = record(users, classification="enquiry")
    with pytest.raises(InputError):
        services.feedback_reply(
            feedback=fb,
            user=users["customer_service"],
            data={"reply_at": fb.received_at - timedelta(hours=1), "reply_method": "phone", "reply_content": "x"},
        )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"classification": "quality_complaint", "product": None}, "product", "product concerned"),
        ({"classification": "possible_adr", "patient": ""}, "patient", "identifiable patient"),
        ({"classification": "sales_chain", "sales_chain_problem": ""}, "sales_chain_problem", "transport damage"),
    ],
)
def test_bad_intake_is_refused_beside_the_field_on_the_page(users, batch, overrides, field, message):
    """R-UX-2: a clear message beside the field, nothing written, no 500."""
    data = {
        "received_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "channel": "phone",
        "reporter_name": "李女士",
        "reporter_type": "patient",
        "description": "结块",
        "classification": overrides["classification"],
        "product": batch.product_id,
        "patient": "L. 30岁 女",
        "sales_chain_problem": "quality",
    }
    for key, value in overrides.items():
        if value in (None, ""):
            data.pop(key, None)
        else:
            data[key] = value
    response = english_client(users["customer_service"]).post(reverse("aftersales:feedback_create"), data)
    assert response.status_code == 200
    assert message in field_error(response, field)
    assert not Feedback.objects.exists()


def test_received_in_the_future_is_refused(users):
    with pytest.raises(InputError) as exc:
        record(users, classification="enquiry", received_at=timezone.now() + timedelta(days=1))
    assert "received_at" in exc.value.errors


def test_batch_of_another_product_is_refused(users, batch, make_user):
    from tests.factories import ProductFactory

    other = ProductFactory(last_changed_by=users["admin"])
    with pytest.raises(InputError) as exc:
        record(users, product=other, batch=batch)
    assert "batch" in exc.value.errors


def test_intake_through_the_page_routes_and_redirects(users, batch):
    data = {
        "received_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "channel": "phone",
        "reporter_name": "李女士",
        "reporter_type": "patient",
        "description": "结块",
        "classification": "quality_complaint",
        "batch": batch.pk,
    }
    response = english_client(users["customer_service"]).post(reverse("aftersales:feedback_create"), data)
    assert response.status_code == 302
    fb = Feedback.objects.get()
    page = english_client(users["customer_service"]).get(fb.get_absolute_url()).content.decode()
    assert fb.complaint.number in page


LOGGERS = {"customer_service", "cs_manager"}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_customer_service_records_feedback(role, users):
    client = english_client(users[role])
    assert client.get(reverse("aftersales:feedback_create")).status_code == (200 if role in LOGGERS else 403)
    if role not in LOGGERS:
        with pytest.raises(WorkflowError, match="permission"):
            services.feedback_record(user=users[role], data=feedback_data(classification="enquiry"))


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_customer_service_records_the_reply(role, users):
    fb = record(users, classification="enquiry")
    response = english_client(users[role]).post(
        reverse("aftersales:feedback_reply", args=[fb.pk]),
        {
            "reply-reply_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "reply-reply_method": "phone",
            "reply-reply_content": "x",
        },
    )
    assert response.status_code == (302 if role in LOGGERS else 403)


def _answered(users) -> Feedback:
    fb = record(users, classification="enquiry")
    return services.feedback_reply(
        feedback=fb,
        user=users["customer_service"],
        data={"reply_at": timezone.now(), "reply_method": "phone", "reply_content": "已解答用法用量"},
    )


def test_result_filed_through_the_page(users):
    """4.1.1 处理结果归档 on the page: result and satisfaction filed, history says so; an empty
    result is refused beside the field and nothing changes."""
    fb = _answered(users)
    client = english_client(users["customer_service"])
    url = reverse("aftersales:feedback_close", args=[fb.pk])
    response = client.post(url, {"close-result": "  ", "close-satisfaction": "satisfied"})
    assert response.status_code == 400 and field_error(response, "result")
    fb.refresh_from_db()
    assert fb.status == Feedback.Status.ANSWERED
    response = client.post(url, {"close-result": "客户已了解", "close-satisfaction": "satisfied"})
    assert response.status_code == 302
    fb.refresh_from_db()
    assert (fb.status, fb.result, fb.satisfaction) == (Feedback.Status.CLOSED, "客户已了解", "satisfied")
    assert fb.history.first().history_change_reason == "result filed"


def test_filing_the_result_of_unanswered_feedback_says_why_on_the_page(users):
    """Wrong state through the page: the close form is not offered, so the refusal is said as a
    message (R-UX-2) and nothing changes; filing twice is refused the same way."""
    fb = record(users, classification="enquiry")
    client = english_client(users["customer_service"])
    url = reverse("aftersales:feedback_close", args=[fb.pk])
    response = client.post(url, {"close-result": "客户已了解"})
    assert response.status_code == 400
    assert "Record the reply before filing the result." in response.content.decode()
    fb.refresh_from_db()
    assert fb.status == Feedback.Status.OPEN and fb.result == ""
    fb = _answered(users)
    assert client.post(reverse("aftersales:feedback_close", args=[fb.pk]), {"close-result": "一"}).status_code == 302
    response = client.post(reverse("aftersales:feedback_close", args=[fb.pk]), {"close-result": "二"})
    assert response.status_code == 400 and "The result has already been filed." in response.content.decode()
    fb.refresh_from_db()
    assert fb.result == "一"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_customer_service_files_the_result(role, users):
    fb = _answered(users)
    response = english_client(users[role]).post(
        reverse("aftersales:feedback_close", args=[fb.pk]), {"close-result": "客户已了解"}
    )
    assert response.status_code == (302 if role in LOGGERS else 403)
    if role not in LOGGERS:
        with pytest.raises(WorkflowError, match="permission"):
            services.feedback_close(feedback=fb, user=users[role], data={"result": "x"})
