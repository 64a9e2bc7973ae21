"""Headers, sign-in names, implausible dates (issue 8 items 9 and 10; R-AUTH-5, R-UX-2)."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from core.dates import validate_plausible_date
from core.models import AuthEvent
from release.forms import BatchForm
from tests.core.helpers import english_client, login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


# --- item 9: Content-Security-Policy and Cache-Control --------------------------------------------


def test_every_page_carries_a_strict_content_security_policy(qa_reviewer, client_for, anon):
    """R-UX-2 (issue 8 item 9): scripts and styles only from the site's own files, nothing inline."""
    for response in (client_for(qa_reviewer).get("/release/products/"), anon.get("/accounts/login/")):
        policy = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_template_has_inline_script_or_style():
    """Issue 8 item 9: the policy refuses inline code, so no page template may rely on it (PDF
    templates are rendered by WeasyPrint, not a browser, and may style inline)."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if path.relative_to(TEMPLATES).parts[0] == "pdf":
            continue
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\sstyle=", text) or "<style" in text:
            offenders.append(str(path.relative_to(TEMPLATES)))
        if re.search(r"\son[a-z]+=", text):
            offenders.append(str(path.relative_to(TEMPLATES)))
    assert offenders == []


def test_signed_in_pages_and_downloads_are_not_cached(qa_reviewer, approved_product, client_for):
    """Issue 8 item 9: GMP pages (and exports) carry Cache-Control: no-store, private."""
    client = client_for(qa_reviewer)
    for url in ("/", approved_product.get_absolute_url(), "/audit/export.csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store, private", url


def test_document_download_is_not_cached(qa_reviewer, client_for, tmp_path, settings):
    """Issue 8 item 9: an issued PDF downloaded by a signed-in person is not kept in any cache."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from core.models import Document
    from release.models import Product
    from tests.factories import ProductFactory

    settings.MEDIA_ROOT = tmp_path
    product = ProductFactory(last_changed_by=qa_reviewer)
    document = Document(
        kind="test",
        version=1,
        content_type=ContentType.objects.get_for_model(Product),
        object_id=product.pk,
        record_label=str(product),
        template_name="x.html",
        context={},
        sha256=hashlib.sha256(b"%PDF").hexdigest(),  # downloads re-hash the stored file (issue 13 item 5)
        size=4,
        verification_code="ABCDEFGHJKLMNPQR",
        issued_at=timezone.now(),
        issued_by=qa_reviewer,
    )
    document.file.save("d.pdf", ContentFile(b"%PDF"), save=False)
    document.save()
    response = client_for(qa_reviewer).get(f"/documents/{document.pk}/download/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"


# --- item 10: usernames whatever their case ------------------------------------------------------


def test_upper_case_username_with_the_right_password_signs_in(make_user):
    """Issue 8 item 10 (R-AUTH-5): "ZHANG.WEI" is zhang.wei; refusing it counted a lockout for nothing."""
    user = make_user(username="zhang.wei")
    client = english_client()
    response = login(client, "ZHANG.WEI", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").context["user"] == user
    user.refresh_from_db()
    assert user.failed_login_count == 0
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN, user=user).exists()


def test_upper_case_username_with_a_wrong_password_counts_toward_that_accounts_lockout(make_user):
    """Issue 8 item 10 (R-AUTH-3): the failure is counted against the one account the name means."""
    user = make_user(username="li.na")
    response = login(english_client(), "Li.Na", "wrong-password-1")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    user.refresh_from_db()
    assert user.failed_login_count == 1


# --- item 10: implausible dates ------------------------------------------------------------------


def test_dates_before_the_earliest_plausible_date_are_refused(settings):
    """Issue 8 item 10 (R-UX-2): a date before the plant existed is a mistake or a back-dating."""
    settings.EARLIEST_PLAUSIBLE_DATE = date(2005, 6, 1)
    validate_plausible_date(date(2005, 6, 1))
    with pytest.raises(ValidationError) as exc, translation.override("en"):
        validate_plausible_date(date(2005, 5, 31))
    assert exc.value.messages == ["Enter a date between 2005-06-01 and 2999-12-31."]


def test_batch_form_refuses_a_manufacture_date_decades_back(approved_product, settings):
    """Issue 8 item 10 (R-UX-2): the batch form says which dates it accepts, beside the field."""
    form = BatchForm(
        data={
            "product": approved_product.pk,
            "batch_number": "B-1",
            "manufacture_date": "1999-12-31",
            "batch_size": "1000",
        }
    )
    with translation.override("en"):
        assert not form.is_valid()
    assert form.errors["manufacture_date"] == ["Enter a date between 2000-01-01 and 2999-12-31."]
