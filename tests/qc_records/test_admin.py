"""QC records in the admin: readable, never added, changed or deleted there."""

import pytest
from django.contrib import admin
from django.urls import reverse

from qc_records import models

pytestmark = pytest.mark.django_db

QC_MODELS = [models.Specification, models.SpecificationItem, models.Instrument, models.Reagent, models.Sample,
             models.TestRecord, models.TestResult, models.Attachment, models.OOSInvestigation, models.LedgerArchive]


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
