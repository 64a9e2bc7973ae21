"""The meaning a person is shown before signing is the meaning recorded (R-SIG-2; issue 6).

Two guards: no view builds a signing form with a meaning of its own (it reads the service's
``@signs`` meaning), and for every signing form of the release app the meaning printed above the
password field equals the meaning of the Signature row written by posting that form. The QC
forms have the same end-to-end test in tests/qc_records.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from core.models import Signature
from release import services
from tests.factories import PASSWORD, BatchFactory

REPO = Path(__file__).resolve().parent.parent
APPS = ("core", "qc_records", "release", "aftersales", "recalls")
SIGNING_FORMS = r"(SignatureForm|SignWithReasonForm|\w+SignForm)\("


def _view_sources():
    for app in APPS:
        for path in sorted((REPO / app).rglob("*.py")):
            if "views" in path.parts or path.name.startswith("views"):
                yield path


def test_no_view_types_its_own_signature_meaning():
    """A literal meaning in a view is how the purge form once announced "Voided" while the service
    recorded "Raw data destroyed after retention": views must pass ``services.<action>.meaning``."""
    offenders = []
    for path in _view_sources():
        text = path.read_text()
        for match in re.finditer(SIGNING_FORMS, text):
            call = text[match.start() : text.find("\n", match.start())]
            if re.search(r"meaning\s*=\s*[\"']", call):
                offenders.append(f"{path.relative_to(REPO)}: {call.strip()}")
    assert offenders == []


def _shown_meaning(page: str, action: str) -> str:
    """The meaning printed in the signing form that posts to ``action`` (as a person reads it)."""
    form = re.search(r'<form[^>]*action="' + re.escape(action) + r'(?:\?[^"]*)?".*?</form>', page, re.S)
    assert form, f"no signing form posting to {action}"
    shown = re.search(r"with the meaning <strong>(.*?)</strong>", form.group(0))
    assert shown, "the form does not say which meaning the signature will have"
    return shown.group(1)


def _english(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action",
    ["release:product_approve", "release:product_void", "release:batch_void"],
)
def test_release_forms_show_the_meaning_they_record(action, draft_product, qa_reviewer, admin_user):
    """R-SIG-2: shown meaning = stored meaning, for every signing form of release."""
    if action == "release:batch_void":
        record = BatchFactory(last_changed_by=admin_user)
        detail, prefix, extra = record.get_absolute_url(), "void", {"void-reason": "登记错误"}
        service = services.batch_void
    elif action == "release:product_void":
        record = draft_product
        detail, prefix, extra = record.get_absolute_url(), "void", {"void-reason": "不再生产"}
        service = services.product_void
    else:
        record = draft_product
        detail, prefix, extra = record.get_absolute_url(), "approve", {}
        service = services.product_approve
    client = _english(qa_reviewer)
    url = reverse(action, args=[record.pk])
    shown = _shown_meaning(client.get(detail).content.decode(), url)

    response = client.post(url, {f"{prefix}-password": PASSWORD, **extra})
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Signature.objects.for_record(record).latest("signed_at")
    assert stored.meaning == service.meaning
    with translation.override("en"):
        assert shown == str(Signature.Meaning(stored.meaning).label)


@pytest.mark.django_db
def test_every_signing_form_reached_records_the_meaning_it_shows():
    """R-SIG-2 for every app, present and future: each signing form reachable from My work is signed
    with the right password; where that writes a signature, its meaning is the one the form showed."""
    from tests.crawl import client_as, seed_with_drafts

    seed_with_drafts()
    checked = {}
    from core.models import User

    for role in SIGNING_ROLES:
        if not User.objects.filter(username=role).exists():
            continue  # a role whose app is not installed yet
        client = client_as(role)
        checked[role] = _sign_every_form(client)
    print(f"signatures checked against the meaning shown: {checked}")
    assert sum(checked.values()) >= 3, "too few signing forms could be signed: the check would pass vacuously"


SIGNING_ROLES = [
    "qa_reviewer",
    "qc_analyst",
    "qc_head",
    "qc_reviewer",
    "qualified_person",
    "cs_manager",
    "quality_head",
]


def _sign_every_form(client) -> int:
    from django.db import transaction

    from tests.crawl import crawl, demo_password

    checked = 0
    for action, (page_url, form) in sorted(crawl(client).items()):
        password_fields = [n for n, f in form["fields"].items() if f["kind"] == "password"]
        if not password_fields or action.startswith("/accounts/"):
            continue
        shown = _shown_meaning(client.get(page_url).content.decode(), action)
        payload = {name: field["value"] for name, field in form["fields"].items() if field["kind"] != "file"}
        for name in payload:
            if name in password_fields:
                payload[name] = demo_password()
            elif not payload[name] and name.rsplit("-", 1)[-1] in ("reason", "comment", "conclusion", "text"):
                payload[name] = "签名含义核对"
        before = Signature.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with transaction.atomic():
            client.post(action, payload)
            new = list(Signature.objects.filter(pk__gt=before))
            transaction.set_rollback(True)
        for sig in new:
            with translation.override("en"):
                assert shown == str(Signature.Meaning(sig.meaning).label), (action, shown, sig.meaning)
            checked += 1
    return checked
