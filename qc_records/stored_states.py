"""States qc_records stores on a row from other records, and the check that they still agree.

A sample's ``test_state`` (waiting for a test record / started) is kept by the services that start
and void records (``services.samples.store_test_state``), so that "waiting" — the analysts' queue,
the QC overview, the sample list's filter — is read from an index (issue 12). A write path that
skipped it would hide a sample from the queue, or leave one there that is being tested;
``verify_integrity`` recomputes the state from the test records and names the samples that
differ (the first ``FINDINGS_SHOWN``, then how many more). ``generate_volume`` sets it on generated samples with ``fill`` (PostgreSQL, set-based).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from core import integrity, volume

FINDINGS_SHOWN = 50


def live_record():
    """Whether the outer sample has a test record that is not voided: what ``test_state`` stores."""
    from qc_records.models import TestRecord

    return Exists(TestRecord._base_manager.filter(sample=OuterRef("pk")).exclude(status=TestRecord.Status.VOIDED))


@integrity.register
def check_test_state(report: integrity.Report) -> None:
    """Every sample's stored test state against its test records (with ``report.limit``, the most
    recent samples); at most ``FINDINGS_SHOWN`` are listed."""
    from qc_records.models import Sample

    samples = Sample._base_manager.all()
    since = integrity.first_of_last(samples, report.limit)
    if since is not None:
        samples = samples.filter(pk__gte=since)
    report.count(_("stored test states of samples"), samples.count())
    Waiting, Started = Sample.TestState.WAITING, Sample.TestState.STARTED
    differing = samples.annotate(live=live_record()).filter(
        Q(test_state=Waiting, live=True) | Q(test_state=Started, live=False)
    )
    wrong = list(differing.order_by("pk").values_list("number", "test_state")[:FINDINGS_SHOWN])
    for number, state in wrong:
        if state == Waiting:
            message = _(
                "stored as “%(state)s”, but the sample has a live test record: the analysts' queue "
                "lists it as waiting although it is being tested"
            )
        else:
            message = _(
                "stored as “%(state)s”, but the sample has no live test record: the analysts' queue "
                "of waiting samples does not list it"
            )
        label = Sample.TestState(state).label
        report.add("stored states", _("sample %(number)s") % {"number": number}, message % {"state": label})
    if len(wrong) == FINDINGS_SHOWN and (more := differing.count() - FINDINGS_SHOWN) > 0:
        report.add(
            "stored states",
            _("samples"),
            _("%(n)s more samples differ in the same way (only the first %(shown)s are listed)")
            % {"n": more, "shown": FINDINGS_SHOWN},
        )


def fill(lo: int, hi: int) -> int:
    """Store the test state of samples ``lo``..``hi`` from their records (set-based; PostgreSQL or
    SQLite), as ``store_test_state`` would have; returns how many samples changed.

    Writes no history row: it is for ``generate_volume``, which sets the state before it writes the
    generated rows' history. Never a repair on a live database (that goes through the services,
    with the audit trail)."""
    from qc_records.models import Sample, TestRecord

    qn = connection.ops.quote_name
    s, r = qn(Sample._meta.db_table), qn(TestRecord._meta.db_table)
    expected = (
        f"CASE WHEN EXISTS (SELECT 1 FROM {r} r WHERE r.sample_id = {s}.id AND r.status <> %s) "  # noqa: S608
        "THEN %s ELSE %s END"
    )
    params = [TestRecord.Status.VOIDED, Sample.TestState.STARTED, Sample.TestState.WAITING]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {s} SET test_state = {expected} WHERE id BETWEEN %s AND %s AND test_state <> {expected}",  # noqa: S608
            [*params, lo, hi, *params],
        )
        return cursor.rowcount


def connect() -> None:
    volume.register_stored_state("qc_records.Sample", fill)
