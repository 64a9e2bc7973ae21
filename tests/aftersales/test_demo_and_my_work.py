"""Demo data (idempotent, every class, blocked customers) and the after-sales My-work queues (R-UX-3)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from aftersales.for_shipping import customer_may_buy
from aftersales.models import ADRCase, Complaint, Customer, Feedback, FeedbackClass
from core.models import Signature, User
from release.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(demo_seeded_module, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)  # for the tests that seed again


def _counts():
    return [m.objects.count() for m in (Customer, Feedback, Complaint, ADRCase, Signature)] + [
        m.history.count() for m in (Customer, Feedback, Complaint, ADRCase)
    ]


def test_seed_twice_changes_nothing(seeded):
    before = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == before


def test_demo_has_feedback_of_every_class_and_an_overdue_adr(seeded):
    assert set(Feedback.objects.values_list("classification", flat=True)) == set(FeedbackClass.values)
    assert ADRCase.objects.overdue().exists()
    closed = Complaint.objects.get(status=Complaint.Status.CLOSED)
    (sig,) = Signature.objects.for_record(closed)
    assert sig.is_valid() and sig.signer.username == "qa_reviewer"


def test_demo_customers_include_blocked_ones(seeded):
    product = Product.objects.get(approval_number="国药准字H20000001")
    today = timezone.localdate()
    assert customer_may_buy(Customer.objects.get(name="华东医药有限公司"), product, today) == []
    assert customer_may_buy(Customer.objects.get(name="仁心大药房有限公司"), product, today)  # expired licence
    (reason,) = customer_may_buy(Customer.objects.get(customer_type="chain_outlet"), product, today)
    assert "chain" in reason or "连锁" in reason


@pytest.mark.parametrize(
    ("username", "queue_text"),
    [
        ("customer_service", "待首次答复的市场信息反馈"),
        ("qa_reviewer", "待报告的不良反应病例"),
        ("qa_reviewer", "未关闭的投诉"),
        ("qualified_person", "待阅读的质量投诉"),
        ("finance", "待您审批的新客户"),
    ],
)
def test_each_role_sees_its_queue(seeded, client, username, queue_text):
    """R-UX-3: customer service — intake due; QA — complaints and ADR by due date; QP — complaints to read."""
    client.force_login(User.objects.get(username=username))
    page = client.get(reverse("core:my_work")).content.decode()
    assert queue_text in page


def test_hospital_in_approval_is_on_finance_queue_but_not_on_sales(seeded, client):
    """Sales has already approved the hospital: its queue is empty of it; finance's is not."""
    hospital = Customer.objects.get(name="杭州市第一人民医院")
    client.force_login(User.objects.get(username="finance"))
    assert hospital.name in client.get(reverse("core:my_work")).content.decode()
    client.force_login(User.objects.get(username="sales"))
    assert hospital.name not in client.get(reverse("core:my_work")).content.decode()


def test_demo_ships_released_batches_and_has_a_return_awaiting_qa(seeded):
    """R-SHIP-1, R-RET-1: demo distribution records of released batches, one return in quarantine;
    seeding again adds none."""
    from aftersales.models import GoodsReturn, Shipment
    from release.models import Batch

    shipments = Shipment.objects.all()
    assert shipments.count() >= 3
    assert set(shipments.values_list("batch__status", flat=True)) == {Batch.Status.RELEASED}
    assert shipments.filter(purpose=Shipment.Purpose.SAMPLE).exists()
    assert GoodsReturn.objects.get().status == GoodsReturn.Status.QUARANTINE
    counts = (Shipment.objects.count(), GoodsReturn.objects.count(), Shipment.history.count())
    call_command("seed_demo", stdout=StringIO())
    assert (Shipment.objects.count(), GoodsReturn.objects.count(), Shipment.history.count()) == counts
