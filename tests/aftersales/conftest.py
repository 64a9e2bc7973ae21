"""After-sales fixtures: states reached through the real services (signatures and history included)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from aftersales import services
from aftersales.models import ApprovalRole, Customer, CustomerType, LicenceKind
from release.models import Batch
from tests.factories import PASSWORD, BatchFactory


@pytest.fixture(autouse=True)
def english():
    """Messages are matched in English (the site's default language is 简体中文)."""
    with translation.override("en"):
        yield


@pytest.fixture
def batch(approved_product, admin_user):
    return BatchFactory(product=approved_product, last_changed_by=admin_user)


def customer_data(**overrides):
    data = dict(
        name="华东医药有限公司",
        customer_type=CustomerType.DISTRIBUTOR,
        registered_address="杭州市拱墅区莫干山路1号",
        delivery_address="杭州市余杭区仓前街道2号",
        contact_person="陈经理",
        phone="0571-00000000",
        seal_name="华东医药有限公司",
        notes="",
    )
    data.update(overrides)
    return data


def licence_data(kind=LicenceKind.DRUG_BUSINESS, **overrides):
    data = dict(
        kind=kind,
        number=f"浙AA{kind[:3]}0001",
        name_on_licence="华东医药有限公司",
        seal_matches=True,
        scope="化学药制剂、抗生素制剂",
        scope_dosage_forms=["capsule", "tablet"],
        valid_from=date(2024, 1, 1),
        valid_to=date(2099, 12, 31),
    )
    data.update(overrides)
    return data


@pytest.fixture
def draft_customer(users):
    customer = services.customer_create(user=users["sales"], data=customer_data())
    services.licence_add(customer=customer, user=users["sales"], data=licence_data())
    services.licence_add(
        customer=customer, user=users["sales"], data=licence_data(LicenceKind.BUSINESS, scope_dosage_forms=[])
    )
    return customer


@pytest.fixture
def submitted_customer(draft_customer, users):
    return services.customer_submit(customer=draft_customer, user=users["sales"])


APPROVERS = {
    ApprovalRole.SALES: "sales",
    ApprovalRole.QA: "qa_reviewer",
    ApprovalRole.FINANCE: "finance",
    ApprovalRole.QUALITY_HEAD: "quality_head",
}


@pytest.fixture
def qualified_customer(submitted_customer, users) -> Customer:
    customer = submitted_customer
    for role, username in APPROVERS.items():
        customer = services.customer_approve(customer=customer, user=users[username], role=role, password=PASSWORD)
    assert customer.status == Customer.Status.QUALIFIED
    return customer


def feedback_data(**overrides):
    data = dict(
        received_at=timezone.now() - timedelta(hours=2),
        channel="phone",
        customer=None,
        reporter_name="李女士",
        reporter_type="patient",
        reporter_contact="138-0000-0000",
        product=None,
        batch=None,
        batch_number="",
        description="胶囊内容物结块变色",
        classification="quality_complaint",
        sales_chain_problem="",
        patient="",
    )
    data.update(overrides)
    return data


def aware(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


@pytest.fixture
def complaint(users, batch):
    fb = services.feedback_record(user=users["customer_service"], data=feedback_data(batch=batch))
    return fb.complaint


@pytest.fixture
def investigating(complaint, users):
    return services.complaint_triage(
        complaint=complaint, user=users["qa_reviewer"], triage="quality_defect", assigned_to=users["qa_reviewer"]
    )


def complete_investigation(complaint, user):
    """Everything closure needs (R-CMP-1), "place a hold?" answered "no" unless a hold was placed."""
    if services.cannot_decide_no_hold(complaint, user) is None:
        services.complaint_decide_no_hold(complaint=complaint, user=user, reason="留样合格，个案，无需暂停发运")
    return services.complaint_record(
        complaint=complaint,
        user=user,
        data=dict(
            retained_sample_result="留样检验合格",
            batch_record_review="批记录无异常",
            other_batches_considered="A2410001, A2411002",
            other_batches_conclusion="其他批次未见同类投诉",
            root_cause="运输途中受潮",
            recall_needed=False,
            recall_rationale="个案，留样合格，不涉及其他批次",
            reply_at=timezone.now() - timedelta(hours=1),
            reply_content="已电话回复，安排更换",
        ),
    )


@pytest.fixture
def ready_to_close(investigating, users):
    return complete_investigation(investigating, users["qa_reviewer"])


@pytest.fixture
def adr_case(users, batch):
    fb = services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(
            batch=batch, classification="possible_adr", patient="W.L., 45岁, 女", description="服药后皮疹"
        ),
    )
    return fb.adr_case


# --- distribution records (R-SHIP-1) ---------------------------------------------------------------

TODAY = timezone.localdate


@pytest.fixture
def released(approved_product, admin_user) -> Batch:
    return BatchFactory(
        product=approved_product, batch_number="S2610001", status=Batch.Status.RELEASED, last_changed_by=admin_user
    )


def qualify(users, name="华北医药有限公司", **licence_overrides) -> Customer:
    customer = services.customer_create(user=users["sales"], data=customer_data(name=name, seal_name=name))
    services.licence_add(
        customer=customer, user=users["sales"], data=licence_data(name_on_licence=name, **licence_overrides)
    )
    services.licence_add(
        customer=customer,
        user=users["sales"],
        data=licence_data(LicenceKind.BUSINESS, name_on_licence=name, scope_dosage_forms=[]),
    )
    services.customer_submit(customer=customer, user=users["sales"])
    for role, username in APPROVERS.items():
        customer = services.customer_approve(customer=customer, user=users[username], role=role, password=PASSWORD)
    return customer


def ship_data(batch, customer, **overrides):
    data = dict(
        purpose="sale",
        batch=batch,
        customer=customer,
        quantity=120,
        unit_price=Decimal("18.50"),
        dispatch_date=TODAY(),
        transport_mode="carrier",
        delivery_note="",
        pickup_person=None,
        complaint=None,
        notes="",
    )
    data.update(overrides)
    return data
