"""Recall fixtures: a product with two released batches shipped to three consignees, reached
through the real services (signatures and history included)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from aftersales import services as aftersales_services
from recalls import services
from release.models import Batch
from tests.aftersales.conftest import qualify, ship_data
from tests.factories import PASSWORD, BatchFactory


@pytest.fixture(autouse=True)
def english():
    """Messages are matched in English (the site's default language is 简体中文)."""
    with translation.override("en"):
        yield


@pytest.fixture
def coordinator(users):
    return users["recall_coordinator"]


@pytest.fixture
def batches(approved_product, admin_user):
    return [
        BatchFactory(product=approved_product, batch_number=n, status=Batch.Status.RELEASED, last_changed_by=admin_user)
        for n in ("K2611001", "K2611002")
    ]


@pytest.fixture
def customers(users):
    return [
        qualify(users, name="华东医药有限公司"),
        qualify(users, name="杭州第一人民医院"),
        qualify(users, name="钱塘大药房"),
    ]


@pytest.fixture
def shipped(batches, customers, users):
    """K2611001: 120 to each of three consignees (two shipments to the first); K2611002: 50 to the first."""
    sales = users["sales"]
    yesterday = timezone.localdate() - timedelta(days=1)
    for customer in customers:
        aftersales_services.shipment_create(user=sales, data=ship_data(batches[0], customer, dispatch_date=yesterday))
    aftersales_services.shipment_create(user=sales, data=ship_data(batches[0], customers[0], quantity=30))
    aftersales_services.shipment_create(user=sales, data=ship_data(batches[1], customers[0], quantity=50))
    return batches


def info_data(product, **overrides):
    data = dict(
        source="market_sampling",
        form="document",
        received_at=timezone.now() - timedelta(hours=1),
        product=product,
        batch_numbers="K2611001",
        description="省药检所抽验：溶出度不合格",
    )
    data.update(overrides)
    return data


@pytest.fixture
def information(shipped, users):
    return services.information_record(user=users["qa_reviewer"], data=info_data(shipped[0].product))


@pytest.fixture
def analysed(information, users):
    return services.information_analyse(
        information=information,
        user=users["qa_reviewer"],
        password=PASSWORD,
        scope="general",
        analysis="多个储存点均不合格，属普遍性质量问题",
        proposal="建议启动二级召回 K2611001",
    )


def recall_data(users, **overrides):
    data = dict(
        kind="voluntary",
        order_reference="",
        recall_class="II",
        reason="溶出度不合格",
        hazard_evaluation="可能导致疗效降低，危害可逆",
        depth="users",
        coordinator=users["recall_coordinator"],
        qualified_person=users["qualified_person"],
        plan_quantity=390,
        plan_measures="质量部组织，7日内完成",
        plan_publication="公司网站",
        plan_expected_effect="全部收回",
        plan_target_percent="95",
        plan_completion_date=timezone.localdate() + timedelta(days=14),
        plan_handling="隔离存放，监督销毁",
        plan_contact="王经理 0571-1234567",
    )
    data.update(overrides)
    return data


@pytest.fixture
def proposed(analysed, shipped, users):
    return services.recall_propose(
        information=analysed,
        user=users["qa_reviewer"],
        password=PASSWORD,
        data=recall_data(users),
        batches=[shipped[0]],
    )


@pytest.fixture
def started(proposed, users):
    return services.recall_start(recall=proposed, user=users["quality_head"], password=PASSWORD, reason="同意召回")


# Held, returned, used and destroyed at each consignee of the ``started`` recall (R-RCL-5): 390
# shipped, 215 recovered, 135 outstanding, effectiveness 215 ÷ 370 = 58.1 %.
FIGURES = {
    "华东医药有限公司": (20, 100, 10, 5),
    "杭州第一人民医院": (0, 110, 10, 0),
    "钱塘大药房": (0, 0, 0, 0),
}


def record_figures(recall, coordinator) -> None:
    """Record ``FIGURES`` at the recall's consignees, through the service."""
    for row in recall.consignees.all():
        held, returned, used, destroyed = FIGURES[row.consignee_name]
        services.consignee_quantities(
            consignee=row,
            user=coordinator,
            data=dict(quantity_held=held, quantity_returned=returned, quantity_used=used, quantity_destroyed=destroyed),
            reason="核实",
        )
