"""After-sales returns recorded while a recall runs follow into the recall's consignee rows
(R-RCL-5: "returned" comes from the after-sales returns where they exist; issue 11)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from aftersales import services as aftersales_services
from recalls import services
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _return(batch, customer, users, quantity: int, channel: str = "recall"):
    return aftersales_services.return_record(
        user=users["customer_service"],
        data=dict(
            customer=customer,
            batch=batch,
            quantity=quantity,
            channel=channel,
            quality_reason=False,
            reason="召回退回",
            received_on=timezone.localdate(),
            condition="外包装完好",
            storage_history="常温储存",
            storage_conditions="met",
            complaint=None,
        ),
    )


def test_a_return_recorded_after_the_start_updates_the_consignee_with_who_and_why(started, shipped, customers, users):
    row = started.consignees.get(customer=customers[1], batch=shipped[0])
    assert row.quantity_returned == 0
    goods = _return(shipped[0], customers[1], users, 40)
    row.refresh_from_db()
    assert (row.quantity_returned, row.outstanding) == (40, 80)
    latest = row.history.first()
    assert latest.history_change_reason == f"after-sales return {goods.number} recorded"
    assert latest.history_user == users["customer_service"]
    _return(shipped[0], customers[1], users, 30)
    row.refresh_from_db()
    assert row.quantity_returned == 70


def test_a_return_on_another_channel_during_the_recall_counts_too(started, shipped, customers, users):
    _return(shipped[0], customers[2], users, 25, channel="customer")
    assert started.consignees.get(customer=customers[2], batch=shipped[0]).quantity_returned == 25


def test_goods_the_consignee_held_leave_held_when_they_come_back_and_nothing_is_counted_twice(
    started, shipped, customers, users, coordinator
):
    row = started.consignees.get(customer=customers[2], batch=shipped[0])
    services.consignee_quantities(
        consignee=row,
        user=coordinator,
        data=dict(quantity_held=100, quantity_returned=10, quantity_used=10, quantity_destroyed=0),
        reason="电话核实",
    )
    _return(shipped[0], customers[2], users, 10)  # the 10 already recorded by the coordinator
    row.refresh_from_db()
    assert (row.quantity_held, row.quantity_returned) == (100, 10)
    _return(shipped[0], customers[2], users, 90)  # 100 returned in all: out of what was held
    row.refresh_from_db()
    assert (row.quantity_held, row.quantity_returned, row.quantity_used, row.outstanding) == (10, 100, 10, 0)


def test_a_batch_not_in_a_recall_and_a_recall_closed_by_qa_are_left_alone(
    started, shipped, customers, users, coordinator
):
    _return(shipped[1], customers[0], users, 5)  # K2611002 is not recalled
    assert not started.consignees.filter(batch=shipped[1]).exists()
    for row in started.consignees.all():
        services.consignee_notify(consignee=row, user=coordinator, method="phone", notified_at=timezone.now())
    recall = services.recall_close(
        recall=started,
        user=users["qa_reviewer"],
        password=PASSWORD,
        effectiveness_evaluation="有效",
        outstanding_justification="客户已用完",
        hold_disposition="keep",
    )
    _return(shipped[0], customers[0], users, 5)
    assert recall.consignees.get(customer=customers[0], batch=shipped[0]).quantity_returned == 0
