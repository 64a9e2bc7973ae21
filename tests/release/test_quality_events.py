"""Deviations and change controls (light): raise, change, close with QA's signature (R-REL-4, R-SIG-1,
R-AT-1, R-AT-2, R-SEQ-1)."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from core.models import AuthEvent, Signature
from core.roles import ALL_ROLES, QA_REVIEWER
from release import services
from release.models import Batch, ChangeControl, Deviation

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(approved_product, production_reviewer) -> Batch:
    return services.batch_create(
        user=production_reviewer,
        data=dict(
            product=approved_product,
            batch_number="D2611001",
            batch_size=1000,
            batch_size_unit="capsules",
            manufacture_date=date(2026, 11, 2),
            site="车间一",
        ),
    )


DATA = {"title": "压片机转速偏离", "description": "第3批次压片工序转速低于工艺规程下限", "classification": "major"}


@pytest.fixture
def deviation(batch, production_reviewer) -> Deviation:
    return services.deviation_create(user=production_reviewer, data=DATA, batches=[batch])


def test_raising_a_deviation_numbers_it_and_links_the_batch(batch, production_reviewer, client_for):
    """R-AT-1; core numbering (gap-free)."""
    response = client_for(production_reviewer).post(
        reverse("release:deviation_create"), {**DATA, "batch_numbers": "d2611001"}
    )
    assert response.status_code == 302
    dev = Deviation.objects.get()
    year = timezone.localdate().year
    assert dev.number == f"DEV-{year}-0001"
    assert list(dev.batches.all()) == [batch] and dev.batch_ids == [batch.pk]
    assert dev.status == Deviation.Status.OPEN and dev.raised_by == production_reviewer
    assert list(Deviation.objects.open().affecting(batch)) == [dev]
    second = services.deviation_create(user=production_reviewer, data=DATA)
    assert second.number == f"DEV-{year}-0002"
    cc = services.change_control_create(user=production_reviewer, data=DATA, batches=[batch])
    assert cc.number == f"CC-{year}-0001"


def test_an_unknown_batch_number_is_refused_beside_the_field(production_reviewer, client_for):
    """R-UX-2."""
    client = client_for(production_reviewer)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("release:deviation_create"), {**DATA, "batch_numbers": "NOPE1"})
    assert response.status_code == 200
    assert "No batch with the number: NOPE1." in response.content.decode()
    assert not Deviation.objects.exists()


def test_missing_fields_are_refused_and_no_number_is_used(production_reviewer, client_for):
    response = client_for(production_reviewer).post(reverse("release:deviation_create"), {"title": ""})
    assert response.status_code == 200 and response.context["form"].errors
    assert not Deviation.objects.exists()
    with pytest.raises(services.InputError):
        services.deviation_create(user=production_reviewer, data={**DATA, "title": " "})
    dev = services.deviation_create(user=production_reviewer, data=DATA)
    assert dev.number.endswith("-0001")  # the refused one gave its number back


def test_changing_an_open_deviation_needs_a_reason(deviation, production_reviewer):
    """R-AT-2."""
    with pytest.raises(services.InputError):
        services.deviation_update(deviation=deviation, user=production_reviewer, data={"investigation": "x"}, reason="")
    services.deviation_update(
        deviation=deviation, user=production_reviewer, data={"investigation": "调查"}, reason="补充调查"
    )
    assert deviation.history.first().history_change_reason == "补充调查"


def _investigate(deviation, user):
    return services.deviation_update(
        deviation=deviation,
        user=user,
        data={"investigation": "根因：变频器故障；同期其他批次未受影响", "conclusion": "不影响产品质量"},
        reason="调查完成",
    )


def test_qa_closes_a_deviation_with_a_signature(deviation, production_reviewer, qa_reviewer, client_for, password):
    """R-SIG-1, R-SIG-2: the meaning shown on the form is the meaning stored."""
    _investigate(deviation, production_reviewer)
    page = client_for(qa_reviewer).get(deviation.get_absolute_url())
    shown = page.context["close_form"].meaning
    response = client_for(qa_reviewer).post(
        reverse("release:deviation_close", args=[deviation.pk]), {"close-password": password}
    )
    assert response.status_code == 302
    deviation.refresh_from_db()
    assert deviation.status == Deviation.Status.CLOSED and deviation.closed_by == qa_reviewer
    sig = Signature.objects.for_record(deviation).get()
    assert sig.meaning == shown == services.deviation_close.meaning and sig.is_valid()
    assert deviation.history.first().history_user == qa_reviewer
    assert not Deviation.objects.open().affecting(deviation.batches.get()).exists()


def test_closing_without_investigation_and_conclusion_is_refused(deviation, qa_reviewer, password):
    with translation.override("en"), pytest.raises(services.InputError, match="other batches"):
        services.deviation_close(deviation=deviation, user=qa_reviewer, password=password)
    deviation.refresh_from_db()
    assert deviation.is_open and not Signature.objects.for_record(deviation).exists()


def test_closing_with_a_wrong_password_is_refused_and_counted(deviation, production_reviewer, qa_reviewer, client_for):
    _investigate(deviation, production_reviewer)
    response = client_for(qa_reviewer).post(
        reverse("release:deviation_close", args=[deviation.pk]), {"close-password": "wrong"}
    )
    assert response.status_code == 400
    deviation.refresh_from_db()
    assert deviation.is_open
    assert AuthEvent.objects.filter(user=qa_reviewer, kind=AuthEvent.Kind.SIGNATURE_FAILED).exists()


def test_a_closed_deviation_cannot_be_closed_again_or_changed(
    deviation, production_reviewer, qa_reviewer, qa_reviewer2, password
):
    """R-SEQ-1."""
    _investigate(deviation, production_reviewer)
    services.deviation_close(deviation=deviation, user=qa_reviewer, password=password)
    with pytest.raises(services.WorkflowError):
        services.deviation_close(deviation=deviation, user=qa_reviewer2, password=password)
    with pytest.raises(services.WorkflowError):
        services.deviation_update(deviation=deviation, user=production_reviewer, data={"title": "x"}, reason="x")
    assert Signature.objects.for_record(deviation).count() == 1


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != QA_REVIEWER])
def test_other_roles_get_403_closing(role, users, deviation, production_reviewer, client_for, password):
    _investigate(deviation, production_reviewer)
    response = client_for(users[role]).post(
        reverse("release:deviation_close", args=[deviation.pk]), {"close-password": password}
    )
    assert response.status_code == 403
    with pytest.raises(services.WorkflowError):
        services.deviation_close(deviation=deviation, user=users[role], password=password)
    deviation.refresh_from_db()
    assert deviation.is_open


@pytest.mark.parametrize("role", ["customer_service", "auditor", "qc_analyst", "qualified_person"])
def test_roles_without_it_cannot_raise(role, users, client_for):
    assert client_for(users[role]).post(reverse("release:deviation_create"), DATA).status_code == 403
    with pytest.raises(services.WorkflowError):
        services.change_control_create(user=users[role], data=DATA)


def test_change_control_closes_like_a_deviation(batch, production_reviewer, qa_reviewer, password):
    cc = services.change_control_create(user=production_reviewer, data=DATA, batches=[batch])
    services.change_control_update(
        change_control=cc, user=production_reviewer, data={"investigation": "评估", "conclusion": "批准"}, reason="评估"
    )
    services.change_control_close(change_control=cc, user=qa_reviewer, password=password)
    cc.refresh_from_db()
    assert cc.status == ChangeControl.Status.CLOSED


def test_list_pages_use_a_bounded_number_of_queries(deviation, auditor, client_for, django_assert_max_num_queries):
    """R-PERF-1."""
    for n in range(5):
        services.deviation_create(user=deviation.raised_by, data={**DATA, "title": f"偏差{n}"})
    client = client_for(auditor)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("release:deviation_list"))
    assert response.status_code == 200 and len(response.context["page_obj"]) == 6
    assert client.get(deviation.get_absolute_url()).status_code == 200
    assert client.get(reverse("release:changecontrol_list")).status_code == 200
