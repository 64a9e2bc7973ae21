"""Demo recall data for ``manage.py seed_demo`` (idempotent; through the same services the pages use,
so holds, history and signatures are real): one class II recall in progress with some consignees
overdue, and one completed mock recall.

The recall is recorded as it would have happened over the last days: the service calls run with
the clock set back (every timestamp, history row and signature consistently), so the demo shows
overdue notices and progress reports today. Nothing else is back-dated.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

from django.db.models import Count
from django.utils import timezone

from aftersales.models import Shipment
from recalls import services
from recalls.models import MockRecall, RecallInformation
from release.models import Batch

SEED_AFTER = ("aftersales",)


@contextmanager
def _days_ago(days: int, hours: int = 0):
    moment = timezone.now() - timedelta(days=days, hours=hours)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def _shipped_batches() -> list[Batch]:
    ids = (
        Shipment.objects.active()
        .values("batch_id")
        .annotate(n=Count("id"))
        .order_by("batch_id")
        .values_list("batch_id", flat=True)
    )
    return list(Batch.objects.filter(pk__in=list(ids)).select_related("product").order_by("batch_number"))


def seed(*, users, password: str, stdout) -> None:
    """Nothing before the shipments exist: the recall is traced from them (``seed_late``)."""


def seed_late(*, users, password: str, stdout) -> None:
    """After after-sales' late seed has shipped the released batches."""
    if RecallInformation.objects.exists():
        return
    batches = _shipped_batches()
    if not batches:
        stdout.write("no shipped batch: no demo recall")
        return
    qa, head, coordinator = users["qa_reviewer"], users["quality_head"], users["recall_coordinator"]
    recalled = batches[0]
    product = recalled.product
    with _days_ago(6):
        info = services.information_record(
            user=qa,
            data=dict(
                source="market_sampling",
                form="document",
                received_at=timezone.now() - timedelta(hours=2),
                product=product,
                batch_numbers=recalled.batch_number,
                description="省药品检验研究院监督抽验报告：溶出度不符合规定（演示数据）",
            ),
        )
    with _days_ago(5, hours=20):
        info = services.information_analyse(
            information=info,
            user=qa,
            password=password,
            scope="general",
            analysis="留样复检溶出度同样不合格，非储存原因，属普遍性质量问题（追回操作规程 3.3）",
            proposal=f"建议对 {recalled.batch_number} 启动二级召回",
        )
    with _days_ago(5, hours=18):
        recall = services.recall_propose(
            information=info,
            user=qa,
            password=password,
            data=dict(
                kind="voluntary",
                order_reference="",
                recall_class="II",
                reason="溶出度不符合规定",
                hazard_evaluation="可能导致疗效降低；危害暂时且可逆，评估为二级",
                depth="users",
                coordinator=coordinator,
                qualified_person=users["qualified_person"],
                plan_quantity=800,
                plan_measures="质量管理部组织，销售部配合提供客户信息；7日内完成全部通知",
                plan_publication="公司网站公告；通知各经营企业和医疗机构",
                plan_expected_effect="收回全部在库及未使用药品",
                plan_target_percent="95",
                plan_completion_date=timezone.localdate() + timedelta(days=30),
                plan_handling="隔离存放于不合格品库，监督销毁",
                plan_contact="黄召回 0571-88880000",
            ),
            batches=[recalled],
        )
    with _days_ago(5, hours=16):
        recall = services.recall_start(recall=recall, user=head, password=password, reason="同意启动二级召回")
    rows = list(recall.consignees.order_by("pk"))
    if rows:
        with _days_ago(4):
            row = services.consignee_notify(
                consignee=rows[0], user=coordinator, method="fax", notified_at=timezone.now()
            )
            row = services.consignee_acknowledge(
                consignee=row, user=coordinator, acknowledged_at=timezone.now(), acknowledged_by_name="陈经理"
            )
            services.consignee_quantities(
                consignee=row,
                user=coordinator,
                data=dict(
                    quantity_held=rows[0].quantity_shipped // 2,
                    quantity_returned=rows[0].quantity_shipped // 4,
                    quantity_used=0,
                    quantity_destroyed=0,
                ),
                reason="电话核实库存，部分已退回",
            )
    stdout.write(f"recall {recall.number} in progress (class II, started 5 days ago; notices and reports overdue)")
    if not MockRecall.objects.exists():
        other = batches[-1]
        with _days_ago(30):
            mock_recall = services.mock_recall_start(user=coordinator, product=other.product, batches=[other])
        with _days_ago(30) as started:
            with mock.patch("django.utils.timezone.now", return_value=started + timedelta(minutes=18)):
                services.mock_recall_complete(
                    mock=mock_recall,
                    user=coordinator,
                    password=password,
                    conclusion="18分钟内得到完整的收货单位清单及联系方式，召回系统有效（GMP 第三百零五条）",
                )
        stdout.write(f"mock recall {mock_recall.number} complete")
