"""Recall information recorded while a shipment of the same product is being recorded, on
PostgreSQL (R-RCL-2, R-RCL-3, R-SHIP-2): the shipment is refused or the trace includes it — never
a shipment that escapes both.

Why it holds: recording the information locks the product row (``product_hold_place``) and a
shipment locks its batch *with its product* (``select_for_update`` over the join) before asking
the gate. Whichever commits first, the other waits: a shipment that waited then sees the lock;
a lock that waited comes after a committed shipment, which every trace reads.

SQLite serialises writers, so the race only exists on PostgreSQL; committed data must be seen by
several connections, hence transaction=True.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import translation

from aftersales import services as aftersales_services
from aftersales.for_recalls import consignees
from aftersales.models import Shipment
from core.workflow import InputError
from recalls import services
from tests.aftersales.conftest import ship_data
from tests.recalls.conftest import info_data

IS_POSTGRES = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL (SQLite serialises writers)"),
    pytest.mark.django_db(transaction=True),
]


def _run(calls):
    outcomes: list = [None] * len(calls)

    def run(i, fn):
        try:
            with translation.override("en"):
                outcomes[i] = fn()
        except Exception as exc:  # collected and asserted on by the test
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _never_escapes(outcome, batch):
    """The invariant: a shipment either was refused with the lock's reason, or is in the trace."""
    if isinstance(outcome, InputError):
        assert "every batch, including" in " ".join(outcome.errors[""]), outcome.errors
        return "refused"
    assert isinstance(outcome, Shipment), outcome
    traced = {(r["customer_id"], r["batch_id"]): r["shipments"] for r in consignees([batch])}
    assert (outcome.customer_id, batch.pk) in traced
    return "traced"


def test_information_first_the_waiting_shipment_is_refused(shipped, customers, users):
    batch = shipped[1]
    locked = threading.Event()

    def record():
        with transaction.atomic():
            info = services.information_record(user=users["qa_reviewer"], data=info_data(batch.product))
            locked.set()
            time.sleep(1.0)  # the shipment is waiting on the product row meanwhile
        return info

    def ship():
        locked.wait(10)
        return aftersales_services.shipment_create(user=users["sales"], data=ship_data(batch, customers[2], quantity=7))

    info, outcome = _run([record, ship])
    assert not isinstance(info, Exception), info
    assert _never_escapes(outcome, batch) == "refused"


def test_shipment_first_the_lock_waits_and_the_trace_includes_the_shipment(shipped, customers, users):
    batch = shipped[1]
    shipping = threading.Event()

    def ship():
        with transaction.atomic():
            shipment = aftersales_services.shipment_create(
                user=users["sales"], data=ship_data(batch, customers[2], quantity=7)
            )
            shipping.set()
            time.sleep(1.0)  # the information is waiting on the product row meanwhile
        return shipment

    def record():
        shipping.wait(10)
        return services.information_record(user=users["qa_reviewer"], data=info_data(batch.product))

    outcome, info = _run([ship, record])
    assert not isinstance(info, Exception), info
    assert _never_escapes(outcome, batch) == "traced"


@pytest.mark.parametrize("attempt", range(3))
def test_at_the_same_moment_no_shipment_escapes_both(shipped, customers, users, attempt):
    batch = shipped[1]
    barrier = threading.Barrier(2)

    def record():
        barrier.wait(10)
        return services.information_record(user=users["qa_reviewer"], data=info_data(batch.product))

    def ship():
        barrier.wait(10)
        return aftersales_services.shipment_create(user=users["sales"], data=ship_data(batch, customers[2], quantity=7))

    info, outcome = _run([record, ship])
    assert not isinstance(info, Exception), info
    _never_escapes(outcome, batch)
