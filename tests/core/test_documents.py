"""Issued PDF documents: rendering, fonts, hashes, versions, verification, append-only rows.

R-SIG-2, R-SIG-3, R-SIG-4, R-REL-6, R-REC-3, R-UX-1, R-AT-3. Uses a test-only template
(tests/core/templates/pdf/test_document.html) and a real approved Product.
"""

from __future__ import annotations

import copy
import hashlib
import io
import re
import shutil
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from core import pdf
from core.audit import AuditError, tables_with_append_only_triggers
from core.models import Document
from release import services
from release.models import DosageForm

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_language() -> None:
    """These pages are read in the site's default language (简体中文)."""
    return None


TEMPLATE = "pdf/test_document.html"
TEST_TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture(autouse=True)
def media_and_templates(settings, tmp_path):
    """Files go to a temporary MEDIA_ROOT; the test-only template is found."""
    settings.MEDIA_ROOT = tmp_path / "media"
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], TEST_TEMPLATES]
    settings.TEMPLATES = templates
    settings.SITE_URL = "https://release.example.com"


def product_context(product) -> dict:
    return {
        "product": {
            "name": product.name,
            "dosage_form": DosageForm(product.dosage_form).label,  # lazy: frozen in both languages
            "strength": product.strength,
            "storage_conditions": product.storage_conditions,
        },
        "assay": Decimal("99.50"),
        "approved_on": timezone.now(),
    }


@pytest.fixture
def issue(approved_product, qa_reviewer):
    def issue_one(**kwargs) -> Document:
        kwargs.setdefault("record", approved_product)
        kwargs.setdefault("context", product_context(approved_product))
        return pdf.issue_document(
            kind="test_product_sheet",
            template_name=TEMPLATE,
            user=qa_reviewer,
            number="TPS-2026-001",
            title="产品主数据 / Product master record",
            **kwargs,
        )

    return issue_one


def pdf_bytes(document: Document) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


def pdf_text(document: Document) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes(document))).pages)


def test_issued_document_is_a_pdf_with_chinese_and_english_text(issue, approved_product, qa_reviewer):
    """R-UX-1, R-SIG-2: both languages, the signature's printed name, meaning and time zone; footer."""
    document = issue()
    data = pdf_bytes(document)
    assert data.startswith(b"%PDF")
    text = pdf_text(document)
    assert approved_product.name in text  # Chinese data, e.g. 测试胶囊3
    assert "产品主数据" in text and "Product master record" in text
    assert "Product name" in text and "Stability summary" in text
    assert "99.50" in text  # decimals print as held, significant figures kept
    # The signature manifest (R-SIG-2): printed name, meaning, local time with zone.
    assert qa_reviewer.printed_name in text and "Approved" in text
    assert "Asia/Shanghai" in text and "UTC+08:00" in text
    # The footer: number, version, verification code, verify address, page x of y.
    assert "TPS-2026-001" in text and document.code_display in text
    assert "https://release.example.com/verify/" in text
    assert "Page 1 of 1" in text


def test_cjk_fonts_are_embedded(issue):
    """R-UX-1: Chinese prints on any machine: the Noto CJK fonts travel inside the PDF."""
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) is not installed")
    document = issue()
    out = subprocess.run(["pdffonts", document.file.path], capture_output=True, text=True, check=True).stdout
    fonts = [line for line in out.splitlines()[2:] if line.strip()]
    # columns: name, type, encoding, emb, sub, uni, object, generation (type has spaces in it)
    parsed = [(line.split()[0], re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)) for line in fonts]
    assert parsed and all(m is not None and m.group(1) == "yes" for _name, m in parsed), out
    assert any("CJK" in name for name, _m in parsed), out


def test_stored_sha256_matches_the_file(issue):
    """R-SIG-3 for documents: the SHA-256 on record is the file's."""
    document = issue()
    data = pdf_bytes(document)
    assert document.sha256 == hashlib.sha256(data).hexdigest() and document.size == len(data)
    issued = timezone.localtime(document.issued_at)
    assert document.file.name.startswith(f"documents/{issued:%Y/%m}/")
    assert re.fullmatch(r"[A-Z2-7]{16}", document.verification_code)


def test_frozen_context_holds_the_data_and_the_signatures(issue, approved_product, qa_reviewer):
    """R-REC-3: the data the PDF was built from, with the signatures manifested, as plain JSON."""
    document = issue()
    document.refresh_from_db()
    ctx = document.context
    assert ctx["product"]["name"] == approved_product.name
    assert ctx["product"]["dosage_form"] == {"zh-hans": ctx["product"]["dosage_form"]["zh-hans"], "en": "Capsule"}
    assert ctx["assay"] == "99.50"
    assert datetime.fromisoformat(ctx["approved_on"]).utcoffset().total_seconds() == 8 * 3600
    [sig] = ctx["signatures"]
    assert sig["printed_name"] == qa_reviewer.printed_name and sig["meaning"] == "approved"
    assert sig["meaning_label"]["en"] == "Approved" and sig["time_zone"] == "Asia/Shanghai" and sig["valid"] is True
    assert ctx["document"]["version"] == 1 and ctx["document"]["verification_code"] == document.verification_code
    assert ctx["document"]["verify_url"] == f"https://release.example.com/verify/{document.verification_code}/"


def test_verify_page_shows_an_intact_current_document(issue, client_for, auditor):
    document = issue()
    page = client_for(auditor).get(reverse("core:document_verify", args=[document.verification_code]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="verdict" data-state="ok"' in html
    assert 'data-testid="file-status" data-state="intact"' in html
    assert 'data-testid="document-signature" data-state="valid"' in html
    assert 'data-testid="supersession" data-state="current"' in html


def test_tampered_file_is_detected_on_the_verify_page(issue, client_for, auditor):
    """R-SIG-3: a PDF changed in storage no longer matches its SHA-256."""
    document = issue()
    path = Path(document.file.path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, somewhere in the page content
    path.write_bytes(bytes(data))
    html = client_for(auditor).get(document.get_absolute_url()).content.decode()
    assert 'data-testid="file-status" data-state="changed"' in html
    assert 'data-testid="verdict" data-state="broken"' in html


def test_record_changed_after_issue_shows_its_signature_invalid(
    issue, approved_product, qa_reviewer2, client_for, auditor
):
    """R-SIG-3: the verify page re-checks each printed signature against the record as it is now."""
    document = issue()
    services.product_update(product=approved_product, user=qa_reviewer2, data={"pack_size": "24粒/盒"}, reason="新包装")
    html = client_for(auditor).get(document.get_absolute_url()).content.decode()
    assert 'data-testid="document-signature" data-state="invalid"' in html
    assert 'data-testid="verdict" data-state="broken"' in html


def test_second_issue_is_version_2_superseding_version_1(issue, client_for, auditor):
    """A correction issues a new version; the old one is kept and says it is superseded."""
    first = issue()
    second = issue()
    assert (first.version, second.version) == (1, 2)
    assert second.supersedes == first and first.superseded_by == second
    assert first.newest_version() == second
    assert second.verification_code != first.verification_code and second.file.name != first.file.name
    assert pdf_bytes(first).startswith(b"%PDF")  # the first file is untouched
    assert "replaces version 1" in pdf_text(second)
    client = client_for(auditor)
    old = client.get(first.get_absolute_url()).content.decode()
    assert 'data-testid="supersession" data-state="superseded"' in old
    assert 'data-testid="verdict" data-state="superseded"' in old
    assert second.get_absolute_url() in old
    new = client.get(second.get_absolute_url()).content.decode()
    assert 'data-testid="supersession" data-state="current"' in new


def test_concurrent_issue_takes_the_next_version_and_leaves_no_stray_file(issue, monkeypatch):
    """Two issues of the same document at once: both succeed, as versions 1 and 2."""
    real_render = pdf.render_pdf
    competitor: list[Document] = []
    calls = []

    def render_while_another_issues(template_name, frozen):
        calls.append(frozen["document"]["version"])
        if len(calls) == 1:
            # Another request issues version 1 while this one is rendering its own version 1.
            competitor.append(issue())
        return real_render(template_name, frozen)

    monkeypatch.setattr(pdf, "render_pdf", render_while_another_issues)
    mine = issue()
    assert calls == [1, 1, 2]  # mine (v1), the competitor's (v1), mine again (v2)
    assert competitor[0].version == 1 and mine.version == 2 and mine.supersedes == competitor[0]
    stored = sorted(p.name for p in Path(mine.file.path).parent.iterdir())
    assert stored == sorted([Path(mine.file.name).name, Path(competitor[0].file.name).name])


def test_documents_cannot_be_changed_or_deleted_through_the_orm(issue):
    """R-SIG-4, R-AT-3: an issued document is never changed or deleted."""
    document = issue()
    document.title = "changed"
    with pytest.raises(AuditError):
        document.save()
    with pytest.raises(AuditError):
        document.delete()
    with pytest.raises(AuditError):
        Document.objects.filter(pk=document.pk).update(title="changed")
    with pytest.raises(AuditError):
        Document.objects.filter(pk=document.pk).delete()
    document.refresh_from_db()
    assert document.title == "产品主数据 / Product master record"


def test_documents_cannot_be_changed_or_deleted_by_raw_sql(issue):
    """R-AT-3: database triggers refuse UPDATE and DELETE (SQLite and PostgreSQL)."""
    document = issue()
    table = Document._meta.db_table
    assert table in tables_with_append_only_triggers()
    for sql in (f"UPDATE {table} SET sha256 = 'x' WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [document.pk])
    assert Document.objects.get(pk=document.pk).sha256 == document.sha256


def test_verify_page_is_404_for_an_unknown_code(client_for, auditor):
    response = client_for(auditor).get(reverse("core:document_verify", args=["AAAAAAAAAAAAAAAA"]))
    assert response.status_code == 404
    # Issue 7 item 10: the person is told, on the lookup page with the code kept to correct.
    page = response.content.decode()
    assert "没有以验证码 AAAAAAAAAAAAAAAA 签发的文件" in page and 'value="AAAAAAAAAAAAAAAA"' in page


def test_verify_page_needs_sign_in(issue, client):
    """R-AUTH-1."""
    document = issue()
    response = client.get(document.get_absolute_url())
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_code_typed_as_printed_finds_the_document(issue, client_for, auditor):
    document = issue()
    typed = document.code_display.lower()  # "abcd-efgh-ijkl-mnop"
    response = client_for(auditor).get(reverse("core:document_lookup"), {"code": typed})
    assert response.status_code == 302 and response["Location"] == document.get_absolute_url()
    bad = client_for(auditor).get(reverse("core:document_lookup"), {"code": "ABC"})
    assert bad.status_code == 200 and "16" in bad.content.decode()


def test_download_needs_view_permission_on_the_record(issue, make_user, client_for, qa_reviewer, auditor):
    """Only people who may view the record get the file; others get 403."""
    document = issue()
    url = reverse("core:document_download", args=[document.pk])
    assert client_for(make_user()).get(url).status_code == 403
    assert client_for(make_user()).get(reverse("core:document_data", args=[document.pk])).status_code == 403
    for user in (qa_reviewer, auditor):
        response = client_for(user).get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == pdf_bytes(document)
        assert response["X-Document-SHA256"] == document.sha256
    assert client_for(auditor).get(reverse("core:document_download", args=[999999])).status_code == 404


def test_document_data_is_the_frozen_json(issue, client_for, auditor):
    """R-REC-3: machine-readable copy of what the PDF shows, signatures included."""
    document = issue()
    data = client_for(auditor).get(reverse("core:document_data", args=[document.pk])).json()
    assert data["sha256"] == document.sha256 and data["context"]["signatures"][0]["meaning"] == "approved"


def test_uploaded_copy_is_compared_by_sha256(issue, client_for, auditor):
    """An inspector checks an e-mailed copy: identical → matches; altered → no match."""
    document = issue()
    client = client_for(auditor)
    same = SimpleUploadedFile("copy.pdf", pdf_bytes(document), content_type="application/pdf")
    html = client.post(document.get_absolute_url(), {"file": same}).content.decode()
    assert 'data-match="this"' in html
    altered = SimpleUploadedFile("copy.pdf", pdf_bytes(document) + b"\n%changed", content_type="application/pdf")
    html = client.post(reverse("core:document_lookup"), {"file": altered}).content.decode()
    assert 'data-match="none"' in html
    same.seek(0)
    html = client.post(reverse("core:document_lookup"), {"file": same}).content.decode()
    assert 'data-match="other"' in html and document.get_absolute_url() in html
    missing = client.post(reverse("core:document_lookup"), {})
    assert missing.status_code == 400


def test_document_data_must_be_plain_values(approved_product, qa_reviewer):
    """The frozen data states values; a model instance or a naive time is a programming error."""
    kwargs = dict(record=approved_product, kind="x", template_name=TEMPLATE, user=qa_reviewer)
    with pytest.raises(TypeError, match="not the record"):
        pdf.issue_document(context={"product": approved_product}, **kwargs)
    with pytest.raises(TypeError, match="aware"):
        pdf.issue_document(context={"at": datetime(2026, 1, 1)}, **kwargs)
    with pytest.raises(ValueError, match="reserved"):
        pdf.issue_document(context={"signatures": []}, **kwargs)
    assert not Document.objects.exists()


def test_bilingual_label_prints_chinese_and_english(monkeypatch):
    """R-UX-1: {% bilingual _("…") %} prints 中文 / English; untranslated text prints once."""
    from django.template import engines
    from django.utils import translation

    real_gettext = translation.gettext

    def fake_gettext(message: str) -> str:
        if translation.get_language() == "zh-hans" and message == "Batch number":
            return "批号"
        return real_gettext(message)

    monkeypatch.setattr(translation, "gettext", fake_gettext)
    template = engines["django"].from_string(
        '{% load documents %}{% bilingual _("Batch number") %}|{% bilingual _("Untranslated words") %}'
    )
    html = template.render({})
    assert '<span lang="zh-Hans">批号</span><span class="bi-sep"> / </span><span lang="en">Batch number</span>' in html
    assert '<span class="bi" lang="en">Untranslated words</span>' in html


def test_a_modified_copy_uploaded_on_the_verify_page_turns_its_banner_red(issue, client_for, auditor):
    """Issue 7 item 10: the page said "intact" in green above the red "no match" box; a person
    reads the banner first."""
    document = issue()
    client = client_for(auditor)
    altered = SimpleUploadedFile("copy.pdf", pdf_bytes(document) + b"\n%changed", content_type="application/pdf")
    html = client.post(document.get_absolute_url(), {"file": altered}).content.decode()
    assert 'data-state="copy-differs"' in html and 'data-state="ok"' not in html
    same = SimpleUploadedFile("copy.pdf", pdf_bytes(document), content_type="application/pdf")
    html = client.post(document.get_absolute_url(), {"file": same}).content.decode()
    assert 'data-state="ok"' in html and 'data-state="copy-differs"' not in html


def test_an_anonymous_reader_of_a_pdf_link_is_told_to_sign_in_to_verify(issue, client):
    """Issue 7 item 10, decided: verification needs sign-in (the page shows the record and its
    signatures); the sign-in page says why the reader is there (README "Issued documents")."""
    document = issue()
    response = client.get(document.get_absolute_url(), follow=True)
    page = response.content.decode()
    assert 'data-testid="verify-needs-sign-in"' in page
    plain = client.get(reverse("login")).content.decode()
    assert 'data-testid="verify-needs-sign-in"' not in plain
