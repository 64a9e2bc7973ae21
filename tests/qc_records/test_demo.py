"""The QC demo data: every state present, built through the services, idempotent."""

from io import StringIO

import pytest
from django.core.management import call_command

from core.models import Document, Signature
from qc_records.models import Instrument, OOSInvestigation, Reagent, Sample, Specification, TestRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(demo_seeded_module, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)  # for the test that seeds again


def test_demo_has_records_in_every_state_and_one_open_oos(seeded):
    statuses = set(TestRecord.objects.values_list("status", flat=True))
    assert statuses == {"draft", "submitted", "reviewed", "approved", "voided"}
    assert OOSInvestigation.objects.open().count() == 1
    assert Sample.objects.awaiting_test().exists()
    # A2411002's report, and those of the release demo's batches (stamp, market release, ready to start).
    approved = TestRecord.objects.filter(status="approved")
    assert approved.count() == 4
    for record in approved:
        assert record.report_number and record.verdict == "complies"
        assert Document.objects.for_record(record).filter(kind="qc_test_report").exists()
        assert all(s.is_valid() for s in Signature.objects.for_record(record))


def test_demo_specifications_and_registers(seeded):
    amox = Specification.objects.get(code="ZL-BZ-CP-001")
    assert amox.status == "approved"
    assert list(amox.items.values_list("name", flat=True)) == [
        "性状",
        "鉴别",
        "含量测定",
        "溶出度",
        "有关物质",
        "微生物限度",
    ]
    assert amox.items.get(name="含量测定").criterion_display == "95.0%～105.0%"
    assert Instrument.objects.due_within(30).count() >= 1 and Instrument.objects.calibration_expired().count() == 1
    assert Reagent.objects.expired().count() == 1 and Reagent.objects.expiring_within(30).count() >= 1


def test_seeding_twice_changes_nothing(seeded):
    counts = (TestRecord.objects.count(), Sample.objects.count(), Signature.objects.count(), TestRecord.history.count())
    call_command("seed_demo", stdout=StringIO())
    assert (
        TestRecord.objects.count(),
        Sample.objects.count(),
        Signature.objects.count(),
        TestRecord.history.count(),
    ) == counts
