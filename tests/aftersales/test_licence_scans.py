"""Customer licence scans with SHA-256 (issue 10 item 1; GSP-5.3.1, 5.4.2; R-REC-1): the scan of the
sealed copy is filed with the hash taken on upload, re-verified whenever the customer page shows it
(a file changed on disk turns red), served with its hash; wrong types refused; nothing left behind."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aftersales import services
from aftersales.models import CustomerLicenceScan
from core.roles import ALL_ROLES
from core.workflow import InputError, WorkflowError
from tests.aftersales.helpers import english_client

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% licence copy with the customer's seal\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _upload(name="许可证.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_scan_filed_from_the_customer_page_with_its_sha256(draft_customer, users):
    licence = draft_customer.licences.first()
    client = english_client(users["sales"])
    page = client.get(draft_customer.get_absolute_url()).content.decode()
    assert "No scan on file." in page
    prefix = f"scan{licence.pk}"
    response = client.post(reverse("aftersales:licence_scan_add", args=[licence.pk]), {f"{prefix}-file": _upload()})
    assert response.status_code == 302
    scan = CustomerLicenceScan.objects.get(licence=licence)
    digest = hashlib.sha256(PDF).hexdigest()
    assert (scan.sha256, scan.size, scan.original_name) == (digest, len(PDF), "许可证.pdf")
    assert scan.history.get().history_change_reason == "licence scan filed"
    page = client.get(draft_customer.get_absolute_url()).content.decode()
    assert digest in page and "File intact" in page
    download = english_client(users["auditor"]).get(reverse("aftersales:licence_scan_download", args=[scan.pk]))
    assert download.status_code == 200 and download["X-Content-SHA256"] == digest
    assert b"".join(download.streaming_content) == PDF
    # Changed on disk: the page says so.
    with scan.file.storage.open(scan.file.name, "wb") as fh:
        fh.write(PDF.replace(b"seal", b"SEAL"))
    assert "File changed or missing" in client.get(draft_customer.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    "upload, message",
    [
        (("scan.docx", b"PK\x03\x04", "application/octet-stream"), "PDF, PNG or JPEG"),
        (("scan.pdf", b"GIF89a", "application/pdf"), "not the type its name says"),
        (("scan.pdf", b"", "application/pdf"), "empty"),
    ],
)
def test_bad_scans_are_refused_and_nothing_is_stored(draft_customer, users, upload, message, tmp_path):
    licence = draft_customer.licences.first()
    with pytest.raises(InputError) as exc:
        services.licence_scan_add(licence=licence, user=users["sales"], upload=_upload(*upload))
    assert message in " ".join(exc.value.errors["file"])
    response = english_client(users["sales"]).post(
        reverse("aftersales:licence_scan_add", args=[licence.pk]),
        {f"scan{licence.pk}-file": _upload(*upload)},
        follow=True,
    )
    assert message in response.content.decode()
    assert not CustomerLicenceScan.objects.exists() and not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("role", sorted(set(ALL_ROLES) - {"sales", "qa_reviewer"}))
def test_other_roles_cannot_file_scans(role, draft_customer, make_user):
    licence = draft_customer.licences.first()
    user = make_user(role)
    response = english_client(user).post(
        reverse("aftersales:licence_scan_add", args=[licence.pk]), {f"scan{licence.pk}-file": _upload()}
    )
    assert response.status_code == 403
    with pytest.raises(WorkflowError):
        services.licence_scan_add(licence=licence, user=user, upload=_upload())
    assert not CustomerLicenceScan.objects.exists()
