"""Demo data for material lots (R-MAT-1, R-REL-8): released lots used by the demo batches, one batch
blocked by a quarantined lot, material balances; seeding twice changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from core.models import Signature
from release import checks
from release.models import Batch, BatchMaterial, MaterialBalance, MaterialLot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def default_demo_password(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


def _counts():
    return (MaterialLot.objects.count(), BatchMaterial.objects.count(), MaterialBalance.objects.count())


def test_demo_materials():
    call_command("seed_demo", stdout=StringIO())
    first = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first and first[0] == 5
    for lot in MaterialLot.objects.filter(status=MaterialLot.Status.RELEASED):
        (sig,) = Signature.objects.for_record(lot)
        assert sig.meaning == Signature.Meaning.RELEASED and sig.is_valid()
    released = Batch.objects.get(batch_number="A2411002")
    assert released.status == Batch.Status.RELEASED
    assert {m.lot.status for m in released.materials.select_related("lot")} == {MaterialLot.Status.RELEASED}
    assert all(b.within_limits for b in released.material_balances.all())
    blocked = Batch.objects.get(batch_number="A2611004")
    with translation.override("en"):
        ev = checks.evidence_for(blocked)
        found = checks.blockers(ev, None, [])
    assert any("YL2611005" in b and "not released" in b for b in found)
