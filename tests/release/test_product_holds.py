"""Product-wide holds (该品种锁定): recall information locks every batch of a product until it is
lifted with a signature (R-RCL-2, R-SHIP-2, 药品售后追回操作规程 3.1)."""

from __future__ import annotations

import pytest
from django.utils import translation

from core.models import Signature
from core.workflow import WorkflowError
from release import services
from release.for_shipping import may_ship, shippable_batches
from release.models import Batch, ProductHold
from tests.factories import PASSWORD, BatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def released_pair(approved_product, admin_user):
    return [
        BatchFactory(product=approved_product, batch_number=n, status=Batch.Status.RELEASED, last_changed_by=admin_user)
        for n in ("P2611001", "P2611002")
    ]


def test_a_product_hold_stops_every_batch_of_the_product_and_is_named(released_pair, qa_reviewer):
    """R-RCL-2: the whole product is locked, each batch's refusal names the lock and who placed it."""
    assert set(shippable_batches()) >= set(released_pair)
    services.product_hold_place(
        product=released_pair[0].product, user=qa_reviewer, reason="药监抽验不合格", source_text="通告 2026-15"
    )
    for batch in released_pair:
        with translation.override("en"):
            (reason,) = may_ship(batch)
        assert f"every batch, including {batch.batch_number}" in reason
        assert "药监抽验不合格 — 通告 2026-15" in reason and qa_reviewer.printed_name in reason
        assert batch not in shippable_batches()


def test_lifting_a_product_hold_needs_a_reason_and_a_signature(released_pair, qa_reviewer):
    hold = services.product_hold_place(product=released_pair[0].product, user=qa_reviewer, reason="待调查")
    with translation.override("en"), pytest.raises(WorkflowError, match="Wrong password"):
        services.product_hold_lift(hold=hold, user=qa_reviewer, password="wrong", reason="调查结束")
    assert ProductHold.objects.get(pk=hold.pk).status == ProductHold.Status.ACTIVE
    services.product_hold_lift(hold=hold, user=qa_reviewer, password=PASSWORD, reason="调查结束，非质量问题")
    hold.refresh_from_db()
    assert hold.status == ProductHold.Status.LIFTED and hold.lifted_by == qa_reviewer
    (sig,) = Signature.objects.for_record(hold)
    assert sig.meaning == Signature.Meaning.LIFTED and sig.comment == "调查结束，非质量问题"
    assert hold.history.first().history_change_reason == "调查结束，非质量问题"
    assert may_ship(released_pair[0]) == []


def test_a_role_without_the_permission_cannot_place_or_lift(released_pair, users, qa_reviewer):
    with pytest.raises(WorkflowError):
        services.product_hold_place(product=released_pair[0].product, user=users["sales"], reason="x")
    hold = services.product_hold_place(product=released_pair[0].product, user=qa_reviewer, reason="待调查")
    with pytest.raises(WorkflowError):
        services.product_hold_lift(hold=hold, user=users["qualified_person"], password=PASSWORD, reason="r")
    assert ProductHold.objects.get(pk=hold.pk).status == ProductHold.Status.ACTIVE
