"""Data the recall path starts from, written into the browser server's database (run there by
``manage.py shell``, see ``test_recall_path.py``): two released batches of the demo's amoxicillin
capsules that no other test touches, the first shipped to two consignees, and a customer's quality
complaint on it. The demo's only released batch is already held by its own recall; releasing two
batches through the review pages is walked by ``test_release_path.py``, so here the batches are
registered released directly, as the in-process recall tests' factories do. Everything the recall
path itself does goes through the pages.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone


def _qualify(users, name: str):
    """A pharmacy qualified through after-sales' services (GSP 5.5: sales, QA, finance and the
    quality head approve), as the in-process tests do."""
    import os

    from aftersales import services
    from aftersales.models import LicenceKind
    from tests.aftersales.conftest import APPROVERS, customer_data, licence_data

    password = os.environ["DEMO_PASSWORD"]
    customer = services.customer_create(
        user=users["sales"], data=customer_data(name=name, seal_name=name, customer_type="pharmacy")
    )
    services.licence_add(customer=customer, user=users["sales"], data=licence_data(name_on_licence=name))
    services.licence_add(
        customer=customer,
        user=users["sales"],
        data=licence_data(LicenceKind.BUSINESS, name_on_licence=name, scope_dosage_forms=[]),
    )
    services.customer_submit(customer=customer, user=users["sales"])
    for role, username in APPROVERS.items():
        customer = services.customer_approve(customer=customer, user=users[username], role=role, password=password)
    return customer


RECALLED = "R2611901"
OTHER = "R2611902"
# The demo's qualified distributor, and a pharmacy qualified here (the demo's other customers are
# still in approval or hold an expired licence, on purpose).
CONSIGNEES = ("华东医药有限公司", "浏览器召回测试大药房")
COMPLAINT_TEXT = "浏览器召回测试：胶囊溶出度明显偏慢"


@transaction.atomic
def prepare() -> None:
    from aftersales import services as aftersales
    from aftersales.models import Customer
    from core.models import User
    from release.models import Batch, Product

    if Batch.objects.filter(batch_number=RECALLED).exists():
        return
    users = {u.username: u for u in User.objects.all()}
    _qualify(users, CONSIGNEES[1])
    admin = users["admin"]
    product = Product.objects.get(approval_number="国药准字H20000001")
    batches = []
    for number in (RECALLED, OTHER):
        batch = Batch(
            product=product,
            batch_number=number,
            batch_size=Decimal("100000"),
            batch_size_unit="capsules",
            manufacture_date=timezone.localdate() - timedelta(days=40),
            expiry_date=timezone.localdate() + timedelta(days=700),
            site="固体制剂车间一",
            status=Batch.Status.RELEASED,
            last_changed_by=admin,
        )
        batch.save_audited(user=admin, reason="created")
        batches.append(batch)
    sales = User.objects.get(username="sales")
    for name, quantity in zip(CONSIGNEES, (200, 100), strict=True):
        aftersales.shipment_create(
            user=sales,
            data=dict(
                purpose="sale",
                batch=batches[0],
                customer=Customer.objects.get(name=name),
                quantity=quantity,
                unit_price=Decimal("18.50"),
                dispatch_date=timezone.localdate() - timedelta(days=3),
                transport_mode="carrier",
                delivery_note="",
                pickup_person=None,
                complaint=None,
                notes="",
            ),
        )
    aftersales.feedback_record(
        user=User.objects.get(username="customer_service"),
        data=dict(
            received_at=timezone.now() - timedelta(hours=2),
            channel="phone",
            customer=Customer.objects.get(name=CONSIGNEES[0]),
            reporter_name="华东医药有限公司质管部",
            reporter_type="distributor",
            reporter_contact="0571-88880000",
            product=None,
            batch=batches[0],
            batch_number="",
            description=COMPLAINT_TEXT,
            classification="quality_complaint",
            sales_chain_problem="",
            patient="",
        ),
    )
