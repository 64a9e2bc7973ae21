"""Every QC service checks the person's permission itself (not only the views): management
commands, the admin and a future API reach them directly (R-SEQ-1 by every path)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.workflow import WorkflowError
from qc_records import services
from qc_records.models import LedgerArchive, OOSInvestigation
from tests.factories import PASSWORD
from tests.qc_records.helpers import ALL_CONFIRMED

pytestmark = pytest.mark.django_db


def _calls(qc, record, spec, instrument, reagent, oos):
    archive = LedgerArchive(year=2020, month=1, category="water", last_changed_by=qc.head)
    archive.save_audited(user=qc.head, reason="fixture")
    return {
        "specification_create": lambda u: services.specification_create(
            user=u,
            data={"code": "X", "title": "x", "category": "water", "material_name": "纯化水", "standard_reference": "x"},
        ),
        "specification_approve": lambda u: services.specification_approve(spec=spec, user=u, password=PASSWORD),
        "specification_new_version": lambda u: services.specification_new_version(spec=spec, user=u),
        "instrument_create": lambda u: services.instrument_create(
            user=u,
            data={"code": "N-1", "name": "n", "model": "m", "location": "l", "calibration_due": date(2030, 1, 1)},
        ),
        "instrument_update": lambda u: services.instrument_update(
            instrument=instrument, user=u, data={"location": "x"}, reason="r"
        ),
        "reagent_update": lambda u: services.reagent_update(reagent=reagent, user=u, data={"source": "x"}, reason="r"),
        "sample_update": lambda u: services.sample_update(
            sample=record.sample, user=u, data={"quantity": Decimal("1")}, reason="r"
        ),
        "record_update": lambda u: services.record_update(
            record=record, user=u, header={"observations": "x"}, reason="r"
        ),
        "record_submit": lambda u: services.record_submit(record=record, user=u, password=PASSWORD),
        "record_review": lambda u: services.record_review(
            checklist=ALL_CONFIRMED, record=record, user=u, password=PASSWORD
        ),
        "record_approve": lambda u: services.record_approve(record=record, user=u, password=PASSWORD),
        "record_send_back": lambda u: services.record_send_back(record=record, user=u, reason="r"),
        "record_void": lambda u: services.record_void(record=record, user=u, password=PASSWORD, reason="r"),
        "record_purge": lambda u: services.record_purge(record=record, user=u, password=PASSWORD, reason="r"),
        "attachment_add": lambda u: services.attachment_add(
            record=record, user=u, upload=SimpleUploadedFile("a.txt", b"a")
        ),
        "oos_update": lambda u: services.oos_update(oos=oos, user=u, data={"phase1_findings": "x"}),
        "oos_close": lambda u: services.oos_close(oos=oos, user=u, password=PASSWORD, outcome="lab_error", summary="x"),
        "ledger_archive": lambda u: services.ledger_archive(
            user=u, password=PASSWORD, year=2020, month=2, category="water"
        ),
        "ledger_reopen": lambda u: services.ledger_reopen(archive=archive, user=u, password=PASSWORD, reason="r"),
    }


@pytest.mark.parametrize("role", ["auditor", "qualified_person", "admin", "customer_service", "production_reviewer"])
def test_roles_without_qc_permissions_are_refused_by_every_service(
    role, users, qc, oos_record, instrument, reagent, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    oos = OOSInvestigation.objects.get()
    calls = _calls(qc, oos_record, oos_record.specification, instrument, reagent, oos)
    before = oos_record.history.count()
    for _name, call in calls.items():
        with pytest.raises(WorkflowError, match="permission"):
            call(users[role])
    assert oos_record.history.count() == before
