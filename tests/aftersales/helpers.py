"""Shared helpers for after-sales tests."""

from __future__ import annotations

import re

from django.conf import settings
from django.test import Client


def english_client(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def shown_meaning(page: str, action: str) -> str:
    """The meaning printed in the signing form that posts to ``action`` (as a person reads it)."""
    form = re.search(r'<form[^>]*action="' + re.escape(action) + r'".*?</form>', page, re.S)
    assert form, f"no signing form posting to {action}"
    shown = re.search(r"with the meaning <strong>(.*?)</strong>", form.group(0))
    assert shown, "the form does not say which meaning the signature will have"
    return shown.group(1)


def field_error(response, field: str) -> str:
    """The error shown beside ``field`` on a re-rendered form (R-UX-2)."""
    for key in (
        "form",
        "reply_form",
        "close_form",
        "triage_form",
        "investigation_form",
        "decision_form",
        "assess_form",
        "report_form",
        "approve_form",
        "void_form",
    ):
        form = response.context.get(key) if response.context else None
        if form is not None and form.is_bound and field in form.errors:
            return " ".join(form.errors[field])
    raise AssertionError(f"no error beside {field}")
