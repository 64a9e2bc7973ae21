"""Batch holds and the shipping gate (R-SHIP-2, R-SIG-1, R-AT-1, R-AT-2)."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from core.models import AuthEvent, Signature
from core.roles import ALL_ROLES, QA_REVIEWER, QUALIFIED_PERSON
from release import services
from release.for_shipping import may_ship, shippable_batches
from release.models import Batch, BatchHold

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(approved_product, production_reviewer) -> Batch:
    return services.batch_create(
        user=production_reviewer,
        data=dict(
            product=approved_product,
            batch_number="H2611001",
            batch_size=1000,
            batch_size_unit="capsules",
            manufacture_date=timezone.localdate() - timedelta(days=30),
            site="车间一",
        ),
    )


def _en(fn, *args, **kwargs):
    with translation.override("en"):
        return fn(*args, **kwargs)


def test_gate_refuses_a_batch_that_is_not_released(batch):
    """R-SHIP-2: only a released batch ships; the refusal names the state."""
    (reason,) = _en(may_ship, batch)
    assert "H2611001 is not released" in reason and "Quarantine" in reason
    assert batch not in shippable_batches()


def test_gate_refuses_a_voided_batch(batch, qa_reviewer, password):
    services.batch_void(batch=batch, user=qa_reviewer, password=password, reason="登记错误")
    assert _en(may_ship, batch) == ["Batch H2611001 is voided."]


def test_gate_names_each_active_hold_with_its_source(batch, qa_reviewer):
    """R-SHIP-2: an active hold blocks shipping and is named."""
    services.hold_place(batch=batch, user=qa_reviewer, reason="客户投诉待调查", source_text="CMP-2026-0007")
    reasons = _en(may_ship, batch)
    assert any("on hold" in r and "客户投诉待调查" in r and "CMP-2026-0007" in r for r in reasons)


def test_gate_names_a_linked_source_record(batch, qa_reviewer, approved_product):
    services.hold_place(batch=batch, user=qa_reviewer, reason="召回", source=approved_product)
    hold = batch.holds.get()
    assert hold.source == approved_product
    assert any(str(approved_product) in r for r in _en(may_ship, batch))


def test_holds_from_lists_the_holds_a_record_caused_newest_first(batch, qa_reviewer, password, approved_product):
    """release.for_shipping.holds_from: what a complaint or recall shows about its holds, lifted too."""
    from release.for_shipping import holds_from

    first = services.hold_place(batch=batch, user=qa_reviewer, reason="一", source=approved_product)
    services.hold_place(batch=batch, user=qa_reviewer, reason="其他来源", source_text="DEV-1")
    services.hold_lift(hold=first, user=qa_reviewer, password=password, reason="结论")
    second = services.hold_place(batch=batch, user=qa_reviewer, reason="二", source=approved_product)
    held = list(holds_from(approved_product))
    assert held == [second, first]
    assert [h.status for h in held] == [BatchHold.Status.ACTIVE, BatchHold.Status.LIFTED]
    assert held[1].lifted_by == qa_reviewer


def test_gate_refuses_an_expired_batch(batch):
    reasons = _en(may_ship, batch, on=batch.expiry_date + timedelta(days=1))
    assert f"expired on {batch.expiry_date.isoformat()}" in reasons[-1]
    assert not any("expired" in r for r in _en(may_ship, batch, on=batch.expiry_date))


def test_gate_reads_the_batch_again(batch, qa_reviewer, password):
    """A stale copy (a form loaded before the void) does not fool the gate."""
    stale = Batch.objects.get(pk=batch.pk)
    services.batch_void(batch=batch, user=qa_reviewer, password=password, reason="登记错误")
    assert _en(may_ship, stale) == ["Batch H2611001 is voided."]
    assert _en(may_ship, batch.pk) == ["Batch H2611001 is voided."]


def test_gate_answers_in_three_queries(batch, qa_reviewer, django_assert_max_num_queries):
    """R-PERF-1: the gate costs the same whatever the number of holds (batch, its holds, its product's holds)."""
    for n in range(5):
        services.hold_place(batch=batch, user=qa_reviewer, reason=f"hold {n}")
    with django_assert_max_num_queries(3):
        assert len(may_ship(batch)) == 6


def test_placing_a_hold_writes_history_with_who(batch, qa_reviewer, client_for):
    response = client_for(qa_reviewer).post(
        reverse("release:batch_hold_place", args=[batch.pk]), {"hold-reason": "疑似混批", "hold-source_text": "DEV-1"}
    )
    assert response.status_code == 302
    hold = batch.holds.get()
    assert hold.status == BatchHold.Status.ACTIVE and hold.placed_by == qa_reviewer
    (row,) = hold.history.all()
    assert row.history_user == qa_reviewer and row.history_type == "+"


def test_a_hold_without_a_reason_is_refused_beside_the_field(batch, qa_reviewer, client_for):
    """R-UX-2: a clear message, nothing written, no 500."""
    client = client_for(qa_reviewer)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("release:batch_hold_place", args=[batch.pk]), {"hold-reason": "  "})
    assert response.status_code == 400
    assert "Give the reason for the hold." in response.content.decode()
    assert not BatchHold.objects.exists()


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in (QA_REVIEWER, QUALIFIED_PERSON)])
def test_other_roles_get_403_placing_a_hold(role, users, batch, client_for):
    response = client_for(users[role]).post(reverse("release:batch_hold_place", args=[batch.pk]), {"hold-reason": "x"})
    assert response.status_code == 403
    assert not BatchHold.objects.exists()
    with pytest.raises(services.WorkflowError):
        services.hold_place(batch=batch, user=users[role], reason="x")


@pytest.fixture
def hold(batch, users):
    return services.hold_place(batch=batch, user=users[QUALIFIED_PERSON], reason="稳定性数据异常")


def test_qa_lifts_a_hold_with_reason_and_signature(hold, qa_reviewer, client_for, password):
    """R-SIG-1, R-SIG-2, R-AT-2: lifting re-asks the password; the meaning shown is the one stored."""
    page = client_for(qa_reviewer).get(hold.batch.get_absolute_url())
    form = page.context["holds"][0].lift_form
    assert form.meaning == services.hold_lift.meaning
    response = client_for(qa_reviewer).post(
        reverse("release:hold_lift", args=[hold.pk]),
        {f"lift{hold.pk}-reason": "调查结论：数据有效", f"lift{hold.pk}-password": password},
    )
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.status == BatchHold.Status.LIFTED and hold.lifted_by == qa_reviewer
    sig = Signature.objects.for_record(hold).get()
    assert sig.meaning == form.meaning == Signature.Meaning.LIFTED and sig.is_valid()
    last = hold.history.first()
    assert last.history_change_reason == "调查结论：数据有效" and last.history_user == qa_reviewer
    assert not any("on hold" in r for r in _en(may_ship, hold.batch))


def test_lifting_without_the_password_is_refused_and_counted(hold, qa_reviewer, client_for):
    response = client_for(qa_reviewer).post(
        reverse("release:hold_lift", args=[hold.pk]),
        {f"lift{hold.pk}-reason": "结论", f"lift{hold.pk}-password": "wrong"},
    )
    assert response.status_code == 400
    hold.refresh_from_db()
    assert hold.status == BatchHold.Status.ACTIVE
    assert not Signature.objects.for_record(hold).exists()
    assert AuthEvent.objects.filter(user=qa_reviewer, kind=AuthEvent.Kind.SIGNATURE_FAILED).count() == 1


def test_lifting_without_a_reason_is_refused(hold, qa_reviewer, password):
    with pytest.raises(services.InputError):
        services.hold_lift(hold=hold, user=qa_reviewer, password=password, reason=" ")
    hold.refresh_from_db()
    assert hold.status == BatchHold.Status.ACTIVE


def test_a_lifted_hold_cannot_be_lifted_again(hold, qa_reviewer, qa_reviewer2, password):
    """R-SEQ-1."""
    services.hold_lift(hold=hold, user=qa_reviewer, password=password, reason="结论")
    with pytest.raises(services.WorkflowError):
        services.hold_lift(hold=hold, user=qa_reviewer2, password=password, reason="再次")
    assert Signature.objects.for_record(hold).count() == 1


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != QA_REVIEWER])
def test_other_roles_get_403_lifting_a_hold(role, users, hold, client_for, password):
    response = client_for(users[role]).post(
        reverse("release:hold_lift", args=[hold.pk]),
        {f"lift{hold.pk}-reason": "x", f"lift{hold.pk}-password": password},
    )
    assert response.status_code == 403
    with pytest.raises(services.WorkflowError):
        services.hold_lift(hold=hold, user=users[role], password=password, reason="x")
    hold.refresh_from_db()
    assert hold.status == BatchHold.Status.ACTIVE


def test_holds_cannot_be_updated_or_deleted_in_bulk(hold):
    """R-AT-4."""
    from core.audit import AuditError

    with pytest.raises(AuditError):
        BatchHold.objects.filter(pk=hold.pk).update(status="lifted")
    with pytest.raises(AuditError):
        hold.delete()


def test_batch_page_says_why_it_may_not_ship(hold, auditor, client_for):
    client = client_for(auditor)
    client.cookies["django_language"] = "en"
    page = client.get(hold.batch.get_absolute_url()).content.decode()
    assert 'data-testid="ship-refusals"' in page and "稳定性数据异常" in page
    assert "Lift this hold" not in page


def test_shippable_batches_matches_the_gate_for_unreleased_and_held(batch, qa_reviewer):
    services.hold_place(batch=batch, user=qa_reviewer, reason="x")
    assert not shippable_batches(date(2000, 1, 1)).filter(pk=batch.pk).exists()
