"""The volume generator for the benchmarks (issue 12 item 1): copies of the demo's records that
pass every constraint, with history rows and valid chained signatures; refused where it would
do harm."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core import integrity
from core.audit import history_index_name, tables_with_append_only_triggers
from core.models import Signature

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is for SQLite")
def test_refused_on_sqlite_with_the_reason(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("generate_volume", "--scale", "0.001", stdout=StringIO())


def test_refused_outside_debug_without_the_scratch_flag(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="scratch database"):
        call_command("generate_volume", "--scale", "0.001", stdout=StringIO())


def test_unknown_label_is_named(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="unknown labels: release.Nothing"):
        call_command("generate_volume", "--only", "release.Nothing", stdout=StringIO())


def test_every_history_table_has_the_user_and_record_time_indexes():
    """Issue 12 item 4: the search by person, a record's timeline and each change's predecessor
    are served by an index on every history table."""
    from core.audit import history_models

    with connection.cursor() as cursor:
        for hm in history_models():
            table = hm._meta.db_table
            indexes = connection.introspection.get_constraints(cursor, table)
            assert history_index_name(table, "user") in indexes, table
            assert history_index_name(table, "rec") in indexes, table


@pytest.mark.skipif(connection.vendor != "postgresql", reason="generate_volume runs on PostgreSQL only")
def test_generated_rows_are_valid_with_history_and_signatures(settings):
    """Issue 12 item 1: at a tiny scale every planned model grows, each generated row has its
    history, and the nightly integrity check passes over the generated signatures."""
    from aftersales.models import CustomerVisit, Shipment
    from qc_records.models import TestResult
    from recalls.models import Recall, RecallConsignee
    from release.models import Batch, BatchMaterial, Deviation, MaterialLot, QPDesignation

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    # Issue 12: deviations (with their batches), material lots and their use, QP designations,
    # customer visits and recalls (with batches and consignees) are generated too.
    grown = (Deviation, Deviation.batches.through, MaterialLot, BatchMaterial, QPDesignation, CustomerVisit)
    grown += (Recall, RecallConsignee)
    before = {m: m._base_manager.count() for m in (Batch, TestResult, Shipment, Signature, *grown)}
    history_before = Batch.history.count()
    out = StringIO()
    call_command("generate_volume", "--scale", "0.001", stdout=out)
    text = out.getvalue()
    assert "release.Batch: 100 rows" in text and "done in" in text
    assert Batch._base_manager.count() == before[Batch] + 100
    assert TestResult._base_manager.count() > before[TestResult]
    assert Shipment._base_manager.count() == before[Shipment] + 1000
    # One "created" row and three "changed" rows per generated batch, as the plan says.
    assert Batch.history.count() == history_before + 400
    assert Signature._base_manager.count() > before[Signature]
    assert [m for m in grown if m._base_manager.count() <= before[m]] == []
    report = integrity.run()
    assert report.ok, [str(f) for f in report.findings[:5]]
    assert {Batch.history.model._meta.db_table} <= tables_with_append_only_triggers()
