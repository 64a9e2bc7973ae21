""" "Place a hold?" from a complaint (R-CMP-1, R-SHIP-2, R-SIG-1/2): QA puts the complaint's batch on
release's hold with a reason and a signature "Hold placed"; the complaint shows the hold and its
state; shipping the batch is refused naming the hold; lifting it (release, signed) shows as lifted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import ComplaintHold
from core.models import AuthEvent, Signature
from core.roles import ALL_ROLES, QA_REVIEWER
from core.workflow import InputError, SignatureError, WorkflowError
from release import services as release_services
from release.for_shipping import BatchHold, holds_from
from tests.aftersales.conftest import feedback_data, ship_data
from tests.aftersales.helpers import english_client, shown_meaning
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def released_complaint(users, released):
    fb = services.feedback_record(user=users["customer_service"], data=feedback_data(batch=released))
    return fb.complaint


def test_qa_places_a_hold_from_the_complaint_page(released_complaint, released, qualified_customer, users):
    """R-CMP-1: the form shows the meaning it records; the batch is held (source: the complaint);
    the complaint page shows the hold as active with who placed it; shipping it is refused."""
    complaint = released_complaint
    client = english_client(users["qa_reviewer"])
    url = reverse("aftersales:complaint_place_hold", args=[complaint.pk])
    page = client.get(complaint.get_absolute_url()).content.decode()
    assert "No hold has been placed from this complaint." in page
    shown = shown_meaning(page, url)
    response = client.post(url, {"hold-reason": "胶囊结块，疑似质量缺陷", "hold-password": PASSWORD})
    assert response.status_code == 302
    decision = ComplaintHold.objects.get(complaint=complaint)
    hold = decision.hold
    assert (hold.batch, hold.status, hold.source, hold.reason) == (
        released,
        BatchHold.Status.ACTIVE,
        complaint,
        "胶囊结块，疑似质量缺陷",
    )
    assert list(holds_from(complaint)) == [hold]
    sig = Signature.objects.for_record(decision).get()
    assert sig.meaning == "hold_placed" and sig.is_valid() and sig.comment == "胶囊结块，疑似质量缺陷"
    assert shown == "Hold placed" == Signature.Meaning(sig.meaning).label
    assert decision.history.get().history_change_reason == "hold placed"
    page = client.get(complaint.get_absolute_url()).content.decode()
    assert "Batch S2610001 is on hold: it cannot ship until QA lifts the hold with a signature." in page
    assert "Batch holds placed from this complaint" in page and "胶囊结块，疑似质量缺陷" in page
    assert "Active" in page and f"Placed by {users['qa_reviewer'].printed_name}" in page
    # Placed once: the form is no longer offered while the hold is active.
    assert 'action="' + url not in page
    with pytest.raises(InputError) as exc:
        services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer))
    assert "S2610001 is on hold" in str(exc.value.errors) and "胶囊结块" in str(exc.value.errors)


def test_the_complaint_shows_the_hold_lifted_and_its_signature_still_verifies(released_complaint, users):
    decision = services.complaint_place_hold(
        complaint=released_complaint, user=users["qa_reviewer"], password=PASSWORD, reason="待调查"
    )
    release_services.hold_lift(
        hold=decision.hold, user=users["qa_reviewer"], password=PASSWORD, reason="调查结论：合格"
    )
    page = english_client(users["qa_reviewer"]).get(released_complaint.get_absolute_url()).content.decode()
    assert "Lifted" in page and "调查结论：合格" in page and f"Lifted by {users['qa_reviewer'].printed_name}" in page
    assert Signature.objects.for_record(decision).get().is_valid()
    # Lifted: a new hold may be placed again from the same complaint.
    assert services.cannot_place_hold_from_complaint(released_complaint, users["qa_reviewer"]) is None


def test_hold_without_a_reason_refused_beside_the_field(released_complaint, users):
    client = english_client(users["qa_reviewer"])
    response = client.post(
        reverse("aftersales:complaint_place_hold", args=[released_complaint.pk]),
        {"hold-reason": "  ", "hold-password": PASSWORD},
    )
    assert response.status_code == 400 and "Give the reason for the hold." in response.content.decode()
    assert not BatchHold.objects.exists() and not ComplaintHold.objects.exists()


def test_wrong_password_counted_and_nothing_written(released_complaint, users):
    with pytest.raises(SignatureError, match="Wrong password"):
        services.complaint_place_hold(
            complaint=released_complaint, user=users["qa_reviewer"], password="wrong", reason="待调查"
        )
    assert AuthEvent.objects.filter(username=users["qa_reviewer"].username).exists()
    assert not BatchHold.objects.exists() and not ComplaintHold.objects.exists()


def test_wrong_state_and_missing_batch_refused(released_complaint, complaint, ready_to_close, users):
    qa = users["qa_reviewer"]
    services.complaint_place_hold(complaint=released_complaint, user=qa, password=PASSWORD, reason="待调查")
    with pytest.raises(WorkflowError, match="already on hold from this complaint"):
        services.complaint_place_hold(complaint=released_complaint, user=qa, password=PASSWORD, reason="再次")
    closed = services.complaint_close(complaint=ready_to_close, user=qa, password=PASSWORD)
    assert services.cannot_place_hold_from_complaint(closed, qa) == "The complaint is closed."
    fb = services.feedback_record(
        user=users["customer_service"], data=feedback_data(product=released_complaint.product)
    )
    assert "names no batch" in services.cannot_place_hold_from_complaint(fb.complaint, qa)
    assert BatchHold.objects.count() == 1


def test_enquiry_does_not_offer_a_hold(released_complaint, users):
    services.complaint_triage(
        complaint=released_complaint, user=users["qa_reviewer"], triage="enquiry", assigned_to=users["qa_reviewer"]
    )
    released_complaint.refresh_from_db()
    refusal = services.cannot_place_hold_from_complaint(released_complaint, users["qa_reviewer"])
    assert refusal == "An enquiry does not suggest a quality defect; triage the complaint first."


@pytest.mark.parametrize("role", sorted(set(ALL_ROLES) - {QA_REVIEWER}))
def test_other_roles_cannot_place_a_hold(role, released_complaint, make_user):
    user = make_user(role)
    response = english_client(user).post(
        reverse("aftersales:complaint_place_hold", args=[released_complaint.pk]),
        {"hold-reason": "x", "hold-password": PASSWORD},
    )
    assert response.status_code == 403
    with pytest.raises(WorkflowError):
        services.complaint_place_hold(complaint=released_complaint, user=user, password=PASSWORD, reason="x")
    assert not BatchHold.objects.exists()
