"""The batch dossier export: every record, answer, signature and history row as JSON (R-REC-3)."""

import json

import pytest
from django.urls import reverse

from release import services
from release.models import Stage
from tests.factories import PASSWORD
from tests.release.review_helpers import to_stage

pytestmark = pytest.mark.django_db


def test_dossier_holds_every_step_signature_and_history_row(
    review_batch, p, designation, auditor, client_for, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    to_stage(review_batch, p, Stage.QP)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    response = client_for(auditor).get(reverse("release:batch_dossier", args=[review_batch.pk]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["batch"]["data"]["batch_number"] == "R2611001"
    assert [s["data"]["stage"] for s in data["review_steps"]] == ["production", "qc", "qa", "stamp", "qp"]
    assert all(s["signatures"] and all(sig["valid"] for sig in s["signatures"]) for s in data["review_steps"])
    assert data["review_steps"][0]["data"]["answers"][0]["key"] == "P-4.2.1"
    assert data["release_review"]["history"] and data["batch"]["history"]
    assert data["documents"][0]["kind"] == "release_certificate" and len(data["documents"][0]["sha256"]) == 64
    assert data["qc_summary"]["status"] == "passed"


def test_dossier_is_refused_to_people_without_the_read_permission(review_batch, client_for, make_user):
    nobody = make_user(username="nobody")
    assert client_for(nobody).get(reverse("release:batch_dossier", args=[review_batch.pk])).status_code == 403
