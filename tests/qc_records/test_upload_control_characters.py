"""An upload's client-supplied type and name cannot cause a server error (issue 8 item 8; R-UX-2)."""

from __future__ import annotations

import pytest

from qc_records.models import Attachment

pytestmark = pytest.mark.django_db


def _multipart(boundary: str, fields: dict[str, str], file_header: bytes, content: bytes) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f"--{boundary}\r\n".encode() + file_header + b"\r\n\r\n" + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


@pytest.mark.parametrize(
    "header",
    [
        b'Content-Disposition: form-data; name="file-file"; filename="chrom.pdf"\r\nContent-Type: application/pdf\x00evil',
        b'Content-Disposition: form-data; name="file-file"; filename="chr\x00om.pdf"\r\nContent-Type: application/pdf',
    ],
)
def test_nul_byte_in_an_uploads_type_or_name_is_no_server_error(header, qc, draft_record, client_for):
    """Issue 8 reproduction 8 (R-UX-2): a NUL byte in a multipart part's Content-Type (or file name)
    reached PostgreSQL as a DataError (500). It is cleaned before the upload is stored."""
    boundary = "----releasedesk-test-boundary"
    body = _multipart(boundary, {"file-description": "色谱图", "file-reason": ""}, header, b"%PDF-1.4 data")
    response = client_for(qc.analyst).generic(
        "POST",
        f"/qc/records/{draft_record.pk}/files/",
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code in (200, 302), response.status_code
    attachment = Attachment.objects.get(record=draft_record)
    assert "\x00" not in attachment.content_type and "\x00" not in attachment.original_name
    assert attachment.content_type in ("application/octet-stream", "application/pdf")
