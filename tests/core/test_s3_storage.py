"""Stored files in an S3-compatible bucket (issue 13 item 5: more than one host), tested against
moto's S3 server started here (ThreadedMotoServer): issued PDFs and licence scans go to the
bucket through Django's storage API, nothing lands in MEDIA_ROOT, every download re-hashes what
the bucket returned (a changed object is refused), the integrity check sees a changed object, and
the backup reads the bucket and puts it back (R-OPS-1, R-QC-7, R-SIG-3)."""

from __future__ import annotations

import copy
import hashlib
import socket
import tarfile
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from moto.server import ThreadedMotoServer

from aftersales import services as aftersales_services
from core import backup, storage
from core.backup import BackupError
from core.models import Document
from core.pdf import check_document
from tests.aftersales.conftest import customer_data, licence_data
from tests.core.test_issue_after_commit import issue_product_sheet

pytestmark = pytest.mark.django_db

TEST_TEMPLATES = Path(__file__).parent / "templates"
BUCKET = "releasedesk-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings, tmp_path, monkeypatch):
    """STORAGE=s3 as config/settings.py builds it, pointed at a fresh bucket on the moto server."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    name = f"{BUCKET}-{timezone.now():%H%M%S%f}"
    client.create_bucket(Bucket=name)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "k",
                "secret_key": "s",
                "location": "site-a",
                "file_overwrite": False,
                "default_acl": None,
                "querystring_auth": True,
            },
        },
    }
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], TEST_TEMPLATES]
    settings.TEMPLATES = templates
    assert not storage.is_local()
    client.bucket_name = name
    return client


def _objects(bucket) -> dict[str, bytes]:
    listed = bucket.list_objects_v2(Bucket=bucket.bucket_name).get("Contents", [])
    return {o["Key"]: bucket.get_object(Bucket=bucket.bucket_name, Key=o["Key"])["Body"].read() for o in listed}


def test_an_issued_pdf_is_stored_in_the_bucket_and_served_only_while_its_hash_matches(
    bucket, approved_product, qa_reviewer, settings
):
    document = issue_product_sheet(product_pk=approved_product.pk, user_pk=qa_reviewer.pk)
    objects = _objects(bucket)
    key = f"site-a/{document.file.name}"
    assert list(objects) == [key] and document.file.name.startswith("documents/")
    assert hashlib.sha256(objects[key]).hexdigest() == document.sha256
    assert not Path(settings.MEDIA_ROOT).exists() or not any(Path(settings.MEDIA_ROOT).rglob("*.pdf"))

    client = Client()
    client.force_login(qa_reviewer)
    url = reverse("core:document_download", args=[document.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"".join(page.streaming_content) == objects[key]
    assert check_document(Document.objects.get()).file_intact

    # Someone with bucket rights replaces the object: not served, and the integrity check sees it.
    bucket.put_object(Bucket=bucket.bucket_name, Key=key, Body=objects[key] + b"%changed")
    page = client.get(url)
    assert page.status_code == 409
    assert "该文件与存储时记录的 SHA-256 不一致，因此不予提供" in page.content.decode()  # 简体中文, the default
    assert not check_document(Document.objects.get()).file_intact
    bucket.delete_object(Bucket=bucket.bucket_name, Key=key)
    assert client.get(url).status_code == 404


def test_a_licence_scan_goes_to_the_bucket_and_is_checked_on_download(bucket, users):
    sales = users["sales"]
    customer = aftersales_services.customer_create(user=sales, data=customer_data())
    licence = aftersales_services.licence_add(customer=customer, user=sales, data=licence_data())
    content = b"%PDF-1.4\n% scan with the customer's seal\n"
    scan = aftersales_services.licence_scan_add(
        licence=licence, user=sales, upload=SimpleUploadedFile("许可证.pdf", content, "application/pdf")
    )
    objects = _objects(bucket)
    assert objects == {f"site-a/{scan.file.name}": content}
    assert scan.is_intact()
    client = Client()
    client.force_login(sales)
    page = client.get(reverse("aftersales:licence_scan_download", args=[scan.pk]))
    assert page.status_code == 200 and b"".join(page.streaming_content) == content
    assert page["X-Content-SHA256"] == hashlib.sha256(content).hexdigest()


def test_the_backup_reads_the_bucket_and_the_restore_puts_it_back(bucket, approved_product, qa_reviewer, tmp_path):
    """R-OPS-1 with STORAGE=s3: the archive holds every object with its SHA-256; restored into an
    empty bucket each object is re-read and re-hashed; a bucket that is not empty is refused."""
    document = issue_product_sheet(product_pk=approved_product.pk, user_pk=qa_reviewer.pk)
    default_storage.save("qc_records/raw/2026/11/chromatogram.cdf", SimpleUploadedFile("c.cdf", b"CDF\x01raw"))
    before = _objects(bucket)
    assert backup.storage_label().startswith(f"s3://{bucket.bucket_name}/site-a (http://127.0.0.1:")

    archive_path = tmp_path / "media.tar.gz"
    with tarfile.open(archive_path, "w:gz") as archive:
        entries = backup._archive_object_store(archive, timezone.now())
    assert sorted(e["path"] for e in entries) == sorted(
        ["media/qc_records/raw/2026/11/chromatogram.cdf", f"media/{document.file.name}"]
    )
    for entry in entries:
        assert entry["sha256"] == hashlib.sha256(before[f"site-a/{entry['path'][6:]}"]).hexdigest()

    assert not backup.media_is_empty(Path("/nonexistent"))
    for key in before:
        bucket.delete_object(Bucket=bucket.bucket_name, Key=key)
    assert backup.media_is_empty(Path("/nonexistent"))

    staged = tmp_path / "staged"
    with tarfile.open(archive_path, "r:gz") as archive:
        archive.extractall(staged, filter="data")
    for entry in entries:
        relative = entry["path"][6:]
        backup._restore_to_object_store(relative, staged / "media" / relative, entry["sha256"])
    assert _objects(bucket) == before
    assert check_document(Document.objects.get()).file_intact

    # Restoring over an object that is there is refused, and leaves the object as it was.
    entry = entries[0]
    relative = entry["path"][6:]
    with pytest.raises(BackupError, match="already in the bucket"):
        backup._restore_to_object_store(relative, staged / "media" / relative, entry["sha256"])
    assert _objects(bucket) == before
