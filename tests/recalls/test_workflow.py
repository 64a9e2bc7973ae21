"""Recall information, the product lock, the decision, the recall and its consignees, closure
(R-RCL-1, R-RCL-2, R-RCL-3, R-RCL-5, R-SIG-1, R-AT-2). States reached through the real services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales import services as aftersales_services
from aftersales.models import Shipment
from core.models import Signature
from core.workflow import InputError, WorkflowError
from recalls import services
from recalls.models import Recall, RecallBatch, RecallInformation
from recalls.reconciliation import reconcile
from release import services as release_services
from release.for_shipping import may_ship
from release.models import BatchHold, ProductHold
from tests.aftersales.conftest import ship_data
from tests.factories import PASSWORD
from tests.recalls.conftest import info_data, recall_data, record_figures

pytestmark = pytest.mark.django_db


def meanings(record) -> list[str]:
    return [s.meaning for s in Signature.objects.for_record(record).order_by("pk")]


# --- recall information and the product lock ----------------------------------------------------


def test_recording_information_locks_the_whole_product_at_once(information, shipped, customers, users):
    """R-RCL-2 / 追回操作规程 3.1: saving the information locks every batch of the product; a
    shipment of any batch is refused with the lock's reason and nothing is written."""
    hold = ProductHold.objects.get(product=shipped[0].product, status=ProductHold.Status.ACTIVE)
    assert hold.source == information and information.number in hold.reason
    assert information.status == RecallInformation.Status.RECEIVED
    assert information.number.startswith(f"RCI-{timezone.localdate().year}-")
    assert information.history.get().history_user == users["qa_reviewer"]
    before = Shipment.objects.count()
    for batch in shipped:
        with pytest.raises(InputError) as exc:
            aftersales_services.shipment_create(user=users["sales"], data=ship_data(batch, customers[1]))
        (reason,) = exc.value.errors[""]
        assert f"every batch, including {batch.batch_number}" in reason and information.number in reason
    assert Shipment.objects.count() == before


def test_information_with_bad_input_is_refused_field_by_field_and_nothing_is_written(shipped, users):
    """Bad input: a clear message beside each field; no record and no hold written."""
    with pytest.raises(InputError) as exc:
        services.information_record(
            user=users["qa_reviewer"],
            data=info_data(
                None, source="gossip", form="", description=" ", received_at=timezone.now() + timedelta(hours=2)
            ),
        )
    errors = exc.value.errors
    assert errors["source"] == ["Choose where the information came from."]
    assert errors["form"] == ["Choose the form the information arrived in."]
    assert errors["product"] == ["Choose the product concerned."]
    assert errors["description"] == ["Describe the information received."]
    assert errors["received_at"] == ["This time is in the future."]
    assert not RecallInformation.objects.exists() and not ProductHold.objects.exists()


@pytest.mark.parametrize("role", ["sales", "customer_service", "recall_coordinator", "quality_head", "auditor"])
def test_only_qa_records_recall_information(shipped, users, role):
    with pytest.raises(WorkflowError, match="permission"):
        services.information_record(user=users[role], data=info_data(shipped[0].product))
    assert not ProductHold.objects.exists()


def test_qa_analysis_is_signed_reviewed_and_cannot_be_repeated(analysed, users):
    assert analysed.status == RecallInformation.Status.ANALYSED
    assert analysed.proposed_by == users["qa_reviewer"] and analysed.scope == "general"
    assert meanings(analysed) == [Signature.Meaning.REVIEWED]
    with pytest.raises(WorkflowError, match="already been analysed"):
        services.information_analyse(
            information=analysed,
            user=users["qa_reviewer"],
            password=PASSWORD,
            scope="local",
            analysis="a",
            proposal="p",
        )


def test_the_quality_head_decides_no_recall_and_the_lock_is_lifted_with_signatures(analysed, shipped, users):
    """RCL-3.2: the quality head decides; the lock is lifted only with a signature."""
    info = services.information_decide_no_recall(
        information=analysed, user=users["quality_head"], password=PASSWORD, reason="局部储存问题，个案退货处理"
    )
    assert info.status == RecallInformation.Status.NO_RECALL and info.decided_by == users["quality_head"]
    assert meanings(info) == [Signature.Meaning.REVIEWED, Signature.Meaning.APPROVED]
    hold = ProductHold.objects.get(source_id=info.pk)
    assert hold.status == ProductHold.Status.LIFTED and hold.lifted_by == users["quality_head"]
    assert meanings(hold) == [Signature.Meaning.LIFTED]
    assert may_ship(shipped[0]) == []


def test_no_decision_before_analysis_nor_by_qa_nor_with_a_wrong_password(information, users):
    with pytest.raises(WorkflowError, match="not yet analysed"):
        services.information_decide_no_recall(
            information=information, user=users["quality_head"], password=PASSWORD, reason="r"
        )
    with pytest.raises(WorkflowError, match="permission"):
        services.information_decide_no_recall(
            information=information, user=users["qa_reviewer"], password=PASSWORD, reason="r"
        )
    with pytest.raises(WorkflowError, match="Wrong password"):
        services.information_decide_no_recall(
            information=information, user=users["quality_head"], password="x", reason="r"
        )
    assert ProductHold.objects.get(source_id=information.pk).status == ProductHold.Status.ACTIVE


def test_narrowing_the_lock_needs_a_signature_and_then_holds_only_the_batches(information, shipped, users):
    """R-RCL-2: the product lock narrows to batches only with a signature; without it nothing changes."""
    with pytest.raises(InputError) as exc:
        services.information_narrow(
            information=information, user=users["qa_reviewer"], password="", batches=[shipped[0]], reason="仅一批"
        )
    assert exc.value.errors["password"] == ["Narrowing the product lock needs your signature: enter your password."]
    assert not BatchHold.objects.exists()
    assert ProductHold.objects.get().status == ProductHold.Status.ACTIVE
    services.information_narrow(
        information=information, user=users["qa_reviewer"], password=PASSWORD, batches=[shipped[0]], reason="仅一批"
    )
    assert ProductHold.objects.get().status == ProductHold.Status.LIFTED
    assert meanings(ProductHold.objects.get()) == [Signature.Meaning.LIFTED]
    assert any("on hold" in r for r in may_ship(shipped[0]))
    assert may_ship(shipped[1]) == []


# --- the recall ---------------------------------------------------------------------------------


def test_starting_a_recall_without_batches_or_class_is_refused_and_nothing_written(analysed, users):
    with pytest.raises(InputError) as exc:
        services.recall_propose(
            information=analysed,
            user=users["qa_reviewer"],
            password=PASSWORD,
            data=recall_data(users, recall_class=""),
            batches=[],
        )
    assert exc.value.errors["recall_class"] == ["Choose the recall class (I, II or III)."]
    assert exc.value.errors["batches"] == ["Choose at least one batch."]
    assert not Recall.objects.exists()


def test_the_coordinator_cannot_come_from_sales_and_an_ordered_recall_names_the_order(analysed, shipped, users):
    with pytest.raises(InputError) as exc:
        services.recall_propose(
            information=analysed,
            user=users["qa_reviewer"],
            password=PASSWORD,
            data=recall_data(users, coordinator=users["sales"], kind="ordered"),
            batches=[shipped[0]],
        )
    assert exc.value.errors["coordinator"] == [
        "The recall coordinator must be independent of sales (GMP 第二百九十八条)."
    ]
    assert exc.value.errors["order_reference"] == ["An ordered recall names the regulator's order."]


def test_starting_holds_the_batches_narrows_the_product_lock_and_lists_every_consignee(started, shipped, users):
    """R-RCL-1/2/3: the quality head's signature starts the recall; the recalled batch is held, the
    product lock is lifted with a signature (the other batch ships again); the consignee list comes
    from the distribution records."""
    recall = started
    assert recall.status == Recall.Status.IN_PROGRESS and recall.started_by == users["quality_head"]
    assert meanings(recall) == [Signature.Meaning.AUTHORED, Signature.Meaning.APPROVED]
    assert recall.information.status == RecallInformation.Status.RECALL
    hold = BatchHold.objects.get(batch=shipped[0], status=BatchHold.Status.ACTIVE)
    assert hold.source == recall and "class II" in hold.reason
    product_hold = ProductHold.objects.get()
    assert product_hold.status == ProductHold.Status.LIFTED and meanings(product_hold) == [Signature.Meaning.LIFTED]
    assert may_ship(shipped[1]) == []
    assert any("on hold" in r for r in may_ship(shipped[0]))
    rows = {r.consignee_name: r for r in recall.consignees.all()}
    assert {n: r.quantity_shipped for n, r in rows.items()} == {
        "华东医药有限公司": 150,
        "杭州第一人民医院": 120,
        "钱塘大药房": 120,
    }
    assert rows["华东医药有限公司"].shipments == 2 and rows["华东医药有限公司"].is_distributor


def test_the_proposer_cannot_start_and_qa_cannot_start(proposed, users):
    with pytest.raises(WorkflowError, match="permission"):
        services.recall_start(recall=proposed, user=users["qa_reviewer"], password=PASSWORD, reason="r")
    assert Recall.objects.get().status == Recall.Status.PROPOSED
    with pytest.raises(WorkflowError, match="already been started"):
        services.recall_start(recall=proposed, user=users["quality_head"], password=PASSWORD, reason="r")
        services.recall_start(recall=proposed, user=users["quality_head"], password=PASSWORD, reason="r")


def test_a_recall_hold_cannot_be_lifted_outside_closure(started, shipped, users):
    hold = BatchHold.objects.get(batch=shipped[0], status=BatchHold.Status.ACTIVE)
    with pytest.raises(WorkflowError, match="lifted only when that recall is decided or closed"):
        release_services.hold_lift(hold=hold, user=users["qa_reviewer"], password=PASSWORD, reason="想发货")
    assert BatchHold.objects.get(pk=hold.pk).status == BatchHold.Status.ACTIVE


def test_a_batch_added_later_is_held_at_once_and_traced(started, shipped, users):
    services.recall_add_batch(
        recall=started, batch=shipped[1], user=users["qa_reviewer"], password=PASSWORD, reason="同原料批次"
    )
    assert RecallBatch.objects.filter(recall=started).count() == 2
    assert any("on hold" in r for r in may_ship(shipped[1]))
    assert started.consignees.get(batch=shipped[1]).quantity_shipped == 50
    with pytest.raises(InputError) as exc:
        services.recall_add_batch(
            recall=started, batch=shipped[1], user=users["qa_reviewer"], password=PASSWORD, reason="再加"
        )
    assert exc.value.errors["batch"] == ["Batch K2611002 is already in this recall."]


# --- per consignee and reconciliation -----------------------------------------------------------


def test_recovering_more_than_shipped_is_refused_and_nothing_written(started, coordinator):
    row = started.consignees.get(consignee_name="钱塘大药房")
    data = dict(quantity_held=50, quantity_returned=60, quantity_used=10, quantity_destroyed=1)
    with pytest.raises(InputError) as exc:
        services.consignee_quantities(consignee=row, user=coordinator, data=data, reason="电话核实")
    assert exc.value.errors[""] == [
        "Held, returned, used and destroyed add up to 121, more than the 120 shipped to 钱塘大药房 of this batch."
    ]
    row.refresh_from_db()
    assert (row.quantity_held, row.quantity_returned, row.history.count()) == (0, 0, 1)


def test_notification_acknowledgement_pass_on_and_quantities_are_recorded_with_who_and_when(started, coordinator):
    row = started.consignees.get(consignee_name="华东医药有限公司")
    now = timezone.now()
    with pytest.raises(WorkflowError, match="Record the notice first"):
        services.consignee_acknowledge(consignee=row, user=coordinator, acknowledged_at=now, acknowledged_by_name="陈")
    row = services.consignee_notify(consignee=row, user=coordinator, method="fax", notified_at=now)
    row = services.consignee_acknowledge(
        consignee=row, user=coordinator, acknowledged_at=now, acknowledged_by_name="陈经理"
    )
    row = services.consignee_pass_on(consignee=row, user=coordinator, passed_on_at=now)
    row = services.consignee_quantities(
        consignee=row,
        user=coordinator,
        data=dict(quantity_held=20, quantity_returned=100, quantity_used=10, quantity_destroyed=5),
        reason="退回100，现场销毁5",
    )
    assert (row.notified_by, row.notice_method, row.acknowledged_by_name) == (coordinator, "fax", "陈经理")
    assert (row.recovered, row.outstanding) == (105, 15)
    assert row.history.first().history_change_reason == "退回100，现场销毁5"


def test_the_sales_role_cannot_record_consignee_steps(started, users):
    row = started.consignees.first()
    with pytest.raises(WorkflowError, match="permission"):
        services.consignee_notify(consignee=row, user=users["sales"], method="fax", notified_at=timezone.now())


def test_reconciliation_arithmetic(started, coordinator):
    """R-RCL-5: shipped − (held + returned + used + destroyed) = outstanding; effectiveness =
    recovered ÷ (shipped − used)."""
    record_figures(started, coordinator)
    totals = reconcile(started.consignees.select_related("batch"))
    assert (totals.shipped, totals.recovered, totals.outstanding) == (390, 215, 135)
    assert str(totals.effectiveness) == "58.1"  # 215 / 370 = 0.5811
    assert totals.by_batch["K2611001"].shipped == 390


# --- closure -------------------------------------------------------------------------------------


def _account_for_everything(recall, coordinator):
    for row in recall.consignees.all():
        services.consignee_notify(consignee=row, user=coordinator, method="phone", notified_at=timezone.now())
        services.consignee_quantities(
            consignee=row,
            user=coordinator,
            data=dict(quantity_held=0, quantity_returned=row.quantity_shipped, quantity_used=0, quantity_destroyed=0),
            reason="全部退回",
        )


def test_closing_needs_every_notice_the_evaluation_and_a_justified_outstanding_quantity(started, users, coordinator):
    qa = users["qa_reviewer"]
    with pytest.raises(InputError) as exc:
        services.recall_close(
            recall=started,
            user=qa,
            password=PASSWORD,
            effectiveness_evaluation="",
            outstanding_justification="",
            hold_disposition="lift",
        )
    assert exc.value.errors["effectiveness_evaluation"] == ["Write the effectiveness evaluation: closing requires it."]
    assert exc.value.errors["outstanding_justification"] == [
        "390 units are still outstanding: justify closing with them outstanding."
    ]
    with pytest.raises(WorkflowError, match="3 consignee\\(s\\) have not been notified"):
        services.recall_close(
            recall=started,
            user=qa,
            password=PASSWORD,
            effectiveness_evaluation="有效",
            outstanding_justification="已用完",
            hold_disposition="lift",
        )
    assert Recall.objects.get().status == Recall.Status.IN_PROGRESS


def test_closed_by_qa_then_the_qp_approves_and_the_holds_are_lifted_with_signatures(
    started, shipped, users, coordinator
):
    _account_for_everything(started, coordinator)
    recall = services.recall_close(
        recall=started,
        user=users["qa_reviewer"],
        password=PASSWORD,
        effectiveness_evaluation="收回率100%，有效",
        outstanding_justification="",
        hold_disposition="lift",
    )
    assert recall.status == Recall.Status.CLOSING
    with pytest.raises(WorkflowError, match="permission"):
        services.recall_approve(recall=recall, user=users["qa_reviewer"], password=PASSWORD, reason="r")
    assert any("on hold" in r for r in may_ship(shipped[0]))
    recall = services.recall_approve(
        recall=recall, user=users["qualified_person"], password=PASSWORD, reason="同意关闭"
    )
    assert recall.status == Recall.Status.CLOSED and recall.approved_by == users["qualified_person"]
    assert meanings(recall) == [
        Signature.Meaning.AUTHORED,
        Signature.Meaning.APPROVED,
        Signature.Meaning.CLOSED,
        Signature.Meaning.APPROVED,
    ]
    hold = BatchHold.objects.get(batch=shipped[0])
    assert hold.status == BatchHold.Status.LIFTED and meanings(hold) == [Signature.Meaning.LIFTED]
    assert may_ship(shipped[0]) == []
    assert all(s.is_valid() for s in Signature.objects.for_record(recall))


def test_keeping_the_batches_as_rejected_leaves_the_holds(started, shipped, users, coordinator):
    _account_for_everything(started, coordinator)
    recall = services.recall_close(
        recall=started,
        user=users["qa_reviewer"],
        password=PASSWORD,
        effectiveness_evaluation="有效",
        outstanding_justification="",
        hold_disposition="keep",
    )
    services.recall_approve(recall=recall, user=users["qualified_person"], password=PASSWORD, reason="不合格品销毁")
    assert BatchHold.objects.get(batch=shipped[0]).status == BatchHold.Status.ACTIVE
