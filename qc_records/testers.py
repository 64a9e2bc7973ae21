"""Who did some of the testing of a test record (R-QC-4, R-SEQ-2): the one definition, read from
the audit trail, and the stored answer every queue, predicate and page uses (``RecordTester``).

A person tested a record when they started it or signed it "Tested"; entered or corrected any
result, including one later overwritten or invalidated by an OOS investigation; chose or removed an
instrument or reagent; attached or removed a raw-data file; recorded a discarded run; or changed the
test date, conditions, observations or procedure notes (``TestRecord.EDITABLE_FIELDS``). Reviewers
sending a record back and OOS closers invalidating results change none of these, so they stay free
to review or approve it.

Asking eight history tables that question for every record of a queue cost each My-work page of a
QC reviewer or QC head ~8 ms of query building and planning at ten-year volume (issue 12), so the
answer is stored:

* **written with the fact** — a receiver of every history row of the record's tables and of every
  "Tested" signature adds the person in the same transaction (``note_history_row``,
  ``note_signature``); whatever path writes (service, admin, API, command) goes through ``save()``,
  which is what writes history and signatures, so no path skips it;
* **only ever added** — the audit trail only grows, so a tester stays a tester; the table is
  append-only in the database like the history tables;
* **checked against the audit trail** — ``audit_trail_sql`` is the definition as one set-based
  query; ``manage.py verify_integrity`` compares the stored rows with it both ways
  (``check_testers``), the migration that added the table and ``generate_volume`` fill it from it.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as installed_apps
from django.db import connections
from django.db.models.signals import post_save
from simple_history.signals import post_create_historical_record

from core import integrity, volume

# The history tables whose rows make their author a tester (the row's ``history_user``), besides
# the record's own (a header change) and the results' (their ``entered_by``).
AUTHOR_TABLES = ("InstrumentUse", "ReagentUse", "Attachment", "DiscardedRun")
# Frozen here (not read from TestRecord) so that the migration filling the table keeps meaning what
# it meant; ``tests/qc_records/test_testers.py`` checks it equals ``TestRecord.EDITABLE_FIELDS``.
HEADER_FIELDS = ("test_date", "temperature", "humidity", "observations", "method_notes")


def audit_trail_sql(using: str = "default", registry: Any = installed_apps, since_record: int | None = None):
    """(sql, params): the (record_id, user_id) pairs of every record's testers as the audit trail
    says, one row per pair. ``registry`` is the app registry (a migration passes its own);
    ``since_record`` keeps only records with an id from it on."""
    connection = connections[using]
    qn = connection.ops.quote_name

    def table(name: str) -> str:
        return qn(registry.get_model("qc_records", name)._meta.db_table)

    content_type = registry.get_model("contenttypes", "ContentType")
    record_type = (
        content_type.objects.using(using)
        .filter(app_label="qc_records", model="testrecord")
        .values_list("pk", flat=True)
        .first()
    )
    signature = qn(registry.get_model("core", "Signature")._meta.db_table)
    since = "" if since_record is None else f" AND {{record}} >= {int(since_record)}"
    parts = [
        f"SELECT id AS record_id, created_by_id AS user_id FROM {table('TestRecord')} "  # noqa: S608
        f"WHERE created_by_id IS NOT NULL{since.format(record='id')}",
        f"SELECT id, submitted_by_id FROM {table('TestRecord')} "  # noqa: S608
        f"WHERE submitted_by_id IS NOT NULL{since.format(record='id')}",
        f"SELECT object_id, signer_id FROM {signature} "  # noqa: S608
        f"WHERE content_type_id = {int(record_type or 0)} AND meaning = 'tested'{since.format(record='object_id')}",
        f"SELECT record_id, entered_by_id FROM {table('HistoricalTestResult')} "  # noqa: S608
        f"WHERE entered_by_id IS NOT NULL{since.format(record='record_id')}",
    ]
    parts += [
        f"SELECT record_id, history_user_id FROM {table('Historical' + name)} "  # noqa: S608
        f"WHERE history_user_id IS NOT NULL{since.format(record='record_id')}"
        for name in AUTHOR_TABLES
    ]
    # A change of the record's header: a history row whose field differs from the row before it
    # (NULL and a value differ; two NULLs do not).
    lags = ", ".join(f"LAG({qn(f)}) OVER w AS {qn('was_' + f)}" for f in HEADER_FIELDS)
    differs = " OR ".join(
        f"(CASE WHEN {qn(f)} = {qn('was_' + f)} OR ({qn(f)} IS NULL AND {qn('was_' + f)} IS NULL) THEN 0 ELSE 1 END) = 1"
        for f in HEADER_FIELDS
    )
    columns = ", ".join(qn(f) for f in HEADER_FIELDS)
    parts.append(
        f"SELECT id, history_user_id FROM (SELECT id, history_user_id, {columns}, "  # noqa: S608
        f"LAG(history_id) OVER w AS earlier, {lags} FROM {table('HistoricalTestRecord')} "
        f"WHERE 1 = 1{since.format(record='id')} "
        "WINDOW w AS (PARTITION BY id ORDER BY history_date, history_id)) AS header_rows "
        f"WHERE earlier IS NOT NULL AND history_user_id IS NOT NULL AND ({differs})"
    )
    return " UNION ".join(parts), []


def fill(using: str = "default", registry: Any = installed_apps) -> int:
    """Add every tester the audit trail names and the table lacks; returns how many were added.
    Set-based: used by the migration that added the table and by ``generate_volume``."""
    connection = connections[using]
    qn = connection.ops.quote_name
    stored = qn(registry.get_model("qc_records", "RecordTester")._meta.db_table)
    sql, params = audit_trail_sql(using, registry)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {stored} (record_id, user_id) SELECT t.record_id, t.user_id FROM ({sql}) AS t "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {stored} s WHERE s.record_id = t.record_id AND s.user_id = t.user_id) "
            "ORDER BY t.record_id, t.user_id",
            params,
        )
        return cursor.rowcount


def _add(pairs: list[tuple[int | None, int | None]], using: str) -> None:
    from qc_records.models import RecordTester

    rows = [RecordTester(record_id=r, user_id=u) for r, u in set(pairs) if r is not None and u is not None]
    if rows:
        RecordTester.objects.using(using).bulk_create(rows, ignore_conflicts=True)


def note_history_row(sender, history_instance, using=None, **kwargs) -> None:
    """A history row of a record's table was written: its author (or a result's ``entered_by``,
    or the record's starter and submitter) is a tester of its record."""
    from qc_records.models import TestRecord, TestResult

    using = using or "default"
    row = history_instance
    if sender is TestResult.history.model:
        _add([(row.record_id, row.entered_by_id)], using)
    elif sender is TestRecord.history.model:
        pairs = [(row.id, row.created_by_id), (row.id, row.submitted_by_id)]
        if row.history_user_id is not None and _header_changed(row, using):
            pairs.append((row.id, row.history_user_id))
        _add(pairs, using)
    else:
        _add([(row.record_id, row.history_user_id)], using)


def _header_changed(row, using: str) -> bool:
    """Whether this history row of a record changed a header field against the row before it."""
    from django.db.models import Q

    earlier = (
        type(row)
        .objects.using(using)
        .filter(id=row.id)
        .filter(Q(history_date__lt=row.history_date) | Q(history_date=row.history_date, history_id__lt=row.history_id))
        .order_by("-history_date", "-history_id")
        .values(*HEADER_FIELDS)
        .first()
    )
    return earlier is not None and any(earlier[f] != getattr(row, f) for f in HEADER_FIELDS)


def note_signature(sender, instance, created: bool, using=None, **kwargs) -> None:
    """A "Tested" signature on a record makes its signer a tester."""
    from django.contrib.contenttypes.models import ContentType

    from qc_records.models import TestRecord

    if not created or instance.meaning != "tested":
        return
    if instance.content_type_id == ContentType.objects.get_for_model(TestRecord).pk:
        _add([(instance.object_id, instance.signer_id)], using or "default")


def connect() -> None:
    from core.models import Signature
    from qc_records import models

    for name in ("TestRecord", "TestResult", *AUTHOR_TABLES):
        post_create_historical_record.connect(
            note_history_row, sender=getattr(models, name).history.model, dispatch_uid=f"qc_testers_{name}"
        )
    post_save.connect(note_signature, sender=Signature, dispatch_uid="qc_testers_signature")
    volume.register_derived("qc_records.RecordTester", fill)


FINDINGS_SHOWN = 50


@integrity.register
def check_testers(report: integrity.Report) -> None:
    """The stored testers against the audit trail, both ways: a tester missing from the table
    could review or approve their own record; one the audit trail does not name was written by
    something other than this module. At most ``FINDINGS_SHOWN`` of each kind are listed."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils.translation import gettext as _

    from qc_records.models import RecordTester, TestRecord

    since = None
    if report.limit is not None:
        since = (
            TestRecord._base_manager.order_by("-pk")
            .values_list("pk", flat=True)[report.limit - 1 : report.limit]
            .first()
        )
    derived, params = audit_trail_sql(since_record=since)
    stored = f"SELECT record_id, user_id FROM {connection.ops.quote_name(RecordTester._meta.db_table)}"  # noqa: S608
    if since is not None:
        stored += f" WHERE record_id >= {int(since)}"
    found = []
    with connection.cursor() as cursor:
        for sql, missing in (
            (f"SELECT * FROM ({derived}) AS d EXCEPT SELECT * FROM ({stored}) AS s", True),  # noqa: S608
            (f"SELECT * FROM ({stored}) AS s EXCEPT SELECT * FROM ({derived}) AS d", False),  # noqa: S608
        ):
            cursor.execute(f"SELECT * FROM ({sql}) AS f ORDER BY 1, 2 LIMIT {FINDINGS_SHOWN}", params)  # noqa: S608
            found += [(record_id, user_id, missing) for record_id, user_id in cursor.fetchall()]
        cursor.execute(f"SELECT COUNT(*) FROM ({stored}) AS s")  # noqa: S608
        report.count(_("testers of test records"), cursor.fetchone()[0])
    names = dict(get_user_model()._base_manager.filter(pk__in={u for _r, u, _m in found}).values_list("pk", "username"))
    for record_id, user_id, missing in found:
        person = names.get(user_id, f"#{user_id}")
        if missing:
            message = _(
                "the audit trail shows %(user)s did some of the testing, but the stored testers "
                "(which keep testers from reviewing or approving their own record) do not list them"
            )
        else:
            message = _("the stored testers list %(user)s, but nothing in the audit trail shows them testing")
        report.add("testers", _("test record #%(id)s") % {"id": record_id}, message % {"user": person})
