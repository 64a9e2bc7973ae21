"""Create a large volume of distribution records for the recall-trace benchmark (issue 11, Scale).

    DEBUG=1 .venv/bin/python manage.py create_trace_volume --records 1000000 --batches 1000 --customers 300

Synthetic data for a benchmark database only: the rows are bulk-inserted *around* the audited
services (no history rows, no gate), so the command refuses to run unless DEBUG is on. It clones
an existing released batch and a qualified customer (run ``seed_demo`` first) into ``--batches``
batches and ``--customers`` customers, then spreads ``--records`` shipments over them.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.utils import timezone

from aftersales.models import Customer, Shipment
from release.models import Batch

CHUNK = 5000


def _plain(model):
    # The audited managers refuse bulk writes on purpose (they bypass history); a benchmark
    # database is the one place where rows without history are wanted.
    return models.QuerySet(model=model)


class Command(BaseCommand):
    help = "Bulk-create synthetic distribution records for the recall-trace benchmark (DEBUG databases only)."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=1_000_000)
        parser.add_argument("--batches", type=int, default=1000)
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args, records: int, batches: int, customers: int, seed: int, **options):
        if not settings.DEBUG:
            raise CommandError("Synthetic rows without history: run this only on a benchmark database (DEBUG=1).")
        template_batch = Batch.objects.filter(status=Batch.Status.RELEASED).select_related("product").first()
        template_customer = Customer.objects.filter(status=Customer.Status.QUALIFIED).first()
        if template_batch is None or template_customer is None:
            raise CommandError("Run seed_demo first: a released batch and a qualified customer are cloned.")
        rng = random.Random(seed)
        stamp = timezone.now().strftime("%H%M%S")
        with transaction.atomic():
            new_batches = []
            for n in range(batches):
                b = Batch.objects.get(pk=template_batch.pk)
                b.pk = None
                b.batch_number = f"BM{stamp}{n:05d}"
                new_batches.append(b)
            new_batches = _plain(Batch).bulk_create(new_batches, batch_size=CHUNK)
            new_customers = []
            for n in range(customers):
                c = Customer.objects.get(pk=template_customer.pk)
                c.pk = None
                c.name = f"基准客户{stamp}-{n:04d}"
                c.seal_name = c.name
                new_customers.append(c)
            new_customers = _plain(Customer).bulk_create(new_customers, batch_size=CHUNK)
        product = template_batch.product
        today = timezone.localdate()
        made = 0
        while made < records:
            rows = []
            for _i in range(min(CHUNK, records - made)):
                batch = rng.choice(new_batches)
                customer = rng.choice(new_customers)
                n = made + len(rows)
                rows.append(
                    Shipment(
                        number=f"BMS-{stamp}-{n:08d}",
                        purpose=Shipment.Purpose.SALE,
                        batch=batch,
                        product=product,
                        generic_name=product.generic_name,
                        strength=product.strength,
                        dosage_form=product.get_dosage_form_display(),
                        batch_number=batch.batch_number,
                        expiry_date=batch.expiry_date,
                        manufacturer=product.manufacturer,
                        quantity=rng.randint(1, 500),
                        unit=product.pack_size,
                        unit_price="18.50",
                        amount="18.50",
                        customer=customer,
                        consignee_name=customer.name,
                        consignee_address=customer.delivery_address or customer.registered_address,
                        consignee_contact=customer.contact_person,
                        dispatch_date=today - timedelta(days=rng.randint(0, 3650)),
                        transport_mode="carrier",
                        recorded_by_id=template_batch.last_changed_by_id,
                        last_changed_by_id=template_batch.last_changed_by_id,
                    )
                )
            with transaction.atomic():
                _plain(Shipment).bulk_create(rows, batch_size=CHUNK)
            made += len(rows)
            self.stdout.write(f"{made} distribution records")
        self.stdout.write(self.style.SUCCESS(f"{records} records over {batches} batches and {customers} customers"))
