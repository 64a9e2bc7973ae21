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


def _bundle(client, batch):
    import io
    import zipfile

    response = client.get(reverse("release:batch_dossier_bundle", args=[batch.pk]))
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/zip" and "dossier.zip" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_dossier_bundle_holds_the_json_every_pdf_and_a_sha256_manifest(
    review_batch, p, designation, auditor, client_for, settings, tmp_path, django_capture_on_commit_callbacks
):
    """R-REC-3: the ZIP holds dossier.json, the QC report and the certificate PDFs, and a manifest
    whose SHA-256 of each file matches the bytes in the ZIP and the hash recorded at issue."""
    import hashlib

    from core.models import Document
    from qc_records import pdf as qc_pdf
    from qc_records.models import TestRecord

    settings.MEDIA_ROOT = tmp_path
    qc_pdf.issue_report(TestRecord.objects.get(sample__batch=review_batch), p.qc)  # the QC report PDF
    to_stage(review_batch, p, Stage.QP)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    bundle = _bundle(client_for(auditor), review_batch)
    names = bundle.namelist()
    assert {"dossier.json", "manifest.json", "SHA256SUMS"} <= set(names)
    pdfs = [n for n in names if n.endswith(".pdf")]
    assert any("test_report" in n or "qc" in n for n in pdfs), pdfs
    assert any("release_certificate" in n for n in pdfs), pdfs
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["batch"] == "R2611001" and manifest["exported_by"] == auditor.printed_name
    by_path = {f["path"]: f for f in manifest["files"]}
    assert set(by_path) == set(names) - {"manifest.json", "SHA256SUMS"}
    for name in names:
        if name in by_path:
            assert by_path[name]["sha256"] == hashlib.sha256(bundle.read(name)).hexdigest()
    for name in pdfs:
        entry = by_path[name]
        assert entry["intact"] and entry["recorded_sha256"] == entry["sha256"]
        assert Document.objects.get(verification_code=entry["verification_code"]).sha256 == entry["sha256"]
    sums = bundle.read("SHA256SUMS").decode().splitlines()
    assert f"{by_path['dossier.json']['sha256']}  dossier.json" in sums
    assert json.loads(bundle.read("dossier.json"))["batch"]["data"]["batch_number"] == "R2611001"


def test_dossier_bundle_marks_a_changed_pdf_not_intact(
    review_batch, p, designation, auditor, client_for, settings, tmp_path, django_capture_on_commit_callbacks
):
    """R-SIG-2: a PDF changed on disk after issue is still in the bundle, marked intact: false."""
    from core.models import Document

    settings.MEDIA_ROOT = tmp_path
    to_stage(review_batch, p, Stage.QP)
    with django_capture_on_commit_callbacks(execute=True):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD)
    document = Document.objects.get(kind="release_certificate")
    with open(document.file.path, "ab") as f:
        f.write(b"% tampered")
    manifest = json.loads(_bundle(client_for(auditor), review_batch).read("manifest.json"))
    (entry,) = [f for f in manifest["files"] if f["kind"] == "release_certificate"]
    assert entry["intact"] is False and entry["sha256"] != entry["recorded_sha256"]


def test_dossier_bundle_is_refused_without_the_read_permission(review_batch, client_for, make_user):
    nobody = make_user(username="nobody2")
    assert client_for(nobody).get(reverse("release:batch_dossier_bundle", args=[review_batch.pk])).status_code == 403
