"""QC records in the admin: readable, never added, changed or deleted there."""

import pytest
from django.contrib import admin
from django.urls import reverse

from qc_records import models

pytestmark = pytest.mark.django_db

QC_MODELS = [
    models.Specification,
    models.SpecificationItem,
    models.Instrument,
    models.Reagent,
    models.Sample,
    models.TestRecord,
    models.TestResult,
    models.Attachment,
    models.OOSInvestigation,
    models.LedgerArchive,
]


def test_admin_lists_qc_records_read_only(make_user, client_for, oos_record):
    superuser = make_user(is_superuser=True, is_staff=True)
    client = client_for(superuser)
    for model in QC_MODELS:
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(None) and not model_admin.has_change_permission(None)
        assert not model_admin.has_delete_permission(None)
        url = reverse(f"admin:qc_records_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    record_url = reverse("admin:qc_records_testrecord_change", args=[oos_record.pk])
    assert client.get(record_url).status_code == 200
    assert client.post(record_url, {"status": "approved"}).status_code == 403


def test_admin_history_never_restores_an_old_version(make_user, client_for, reviewed_record):
    """R-SEQ-1, R-QC-4: POSTing an old version on the admin history page (a way round the workflow
    back to 'draft' with no reason or signature) is refused with 403, whoever asks."""
    superuser = make_user(is_superuser=True, is_staff=True)
    first = reviewed_record.history.order_by("history_id").first()
    url = reverse("admin:qc_records_testrecord_simple_history", args=[reviewed_record.pk, first.history_id])
    client = client_for(superuser)
    assert client.get(url).status_code == 200
    assert client.post(url, {"status": "draft"}).status_code == 403
    reviewed_record.refresh_from_db()
    assert reviewed_record.status == "reviewed"
