"""Report numbers under concurrency (R-QC-6): unique and gap-free, on PostgreSQL.

SQLite serialises writers (transaction_mode IMMEDIATE), so the race only exists on PostgreSQL;
these tests need committed data seen by several connections, hence transaction=True (on
PostgreSQL the flush uses TRUNCATE, which the append-only row triggers allow).
"""

import threading

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from core.models import NumberCounter
from core.workflow import WorkflowError
from qc_records import services
from qc_records.models import TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED

IS_POSTGRES = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL (SQLite serialises writers)"),
    pytest.mark.django_db(transaction=True),
]


def _reviewed_records(qc, spec, batch, instrument, reagent, n):
    from decimal import Decimal

    from qc_records.models import Category
    from tests.qc_records.helpers import fill

    out = []
    for _ in range(n):
        sample = services.sample_create(
            user=qc.analyst,
            data=dict(
                category=Category.FINISHED_PRODUCT,
                specification=spec,
                batch=batch,
                quantity=Decimal("10"),
                quantity_unit="粒",
                received_date=timezone.localdate(),
            ),
        )
        record = services.record_create(sample=sample, user=qc.analyst)
        fill(record, qc.analyst, instrument=instrument, reagent=reagent)
        services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
        services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
        out.append(record)
    return out


def _race(calls):
    """Run the callables at the same moment, each on its own database connection."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait(timeout=10)
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


def test_many_approvals_at_once_get_unique_gap_free_numbers(qc, spec, batch, instrument, reagent, make_user, settings):
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    heads = [qc.head] + [make_user("qc_head") for _ in range(3)]
    records = _reviewed_records(qc, spec, batch, instrument, reagent, 12)
    calls = [
        (lambda r=r, h=heads[i % len(heads)]: services.record_approve(record=r, user=h, password=PASSWORD))  # noqa: B008
        for i, r in enumerate(records)
    ]
    outcomes = _race(calls)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    year = timezone.localdate().year
    numbers = sorted(TestRecord.objects.filter(status="approved").values_list("report_number", flat=True))
    assert numbers == [f"QC-{year}-{n:04d}" for n in range(1, 13)]
    assert NumberCounter.objects.get(series="QC", year=year).last == 12


def test_a_second_approval_racing_the_first_is_refused_and_takes_no_number(
    qc, spec, batch, instrument, reagent, make_user, settings
):
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    head2 = make_user("qc_head")
    (record,) = _reviewed_records(qc, spec, batch, instrument, reagent, 1)
    outcomes = _race(
        [
            lambda: services.record_approve(record=record, user=qc.head, password=PASSWORD),
            lambda: services.record_approve(record=record, user=head2, password=PASSWORD),
        ]
    )
    assert sum(isinstance(o, TestRecord) for o in outcomes) == 1
    assert sum(isinstance(o, WorkflowError) for o in outcomes) == 1
    record.refresh_from_db()
    assert record.report_number == f"QC-{timezone.localdate().year}-0001"
    assert NumberCounter.objects.get(series="QC").last == 1
    assert record.history.filter(status="approved").count() == 1
