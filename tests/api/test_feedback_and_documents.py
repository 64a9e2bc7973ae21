"""Feedback intake through the API (the intake form's service, AS-4.2.x) and issued documents
with their hash checked on read (R-API-1, R-SIG-3)."""

from __future__ import annotations

import hashlib

import pytest

from aftersales.models import ADRCase, Feedback
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


def intake(**overrides):
    data = {
        "received_at": "2026-11-30T09:00:00+08:00",
        "channel": "phone",
        "reporter_name": "李女士",
        "reporter_type": "patient",
        "description": "服药后皮疹",
        "classification": "possible_adr",
        "patient": "W.L., 45岁, 女",
    }
    data.update(overrides)
    return data


def test_possible_adr_opens_a_case_whose_day_0_is_the_received_time(erp, released):
    response = token_client(erp[1]).post(
        "/api/v1/feedback/", intake(batch=released.pk), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    feedback = Feedback.objects.get()
    body = response.json()
    assert body["number"] == feedback.number and body["adr_case"] == feedback.adr_case.number
    assert ADRCase.objects.get().feedback == feedback
    assert feedback.received_by.username == "system-erp" and feedback.product == released.product


def test_intake_rules_are_the_forms_translated_by_accept_language(erp):
    client = token_client(erp[1], "en")
    response = client.post("/api/v1/feedback/", intake(patient=""), content_type="application/json")
    assert response.status_code == 400
    assert {(e["field"], e["message"]) for e in response.json()["errors"]} == {
        ("product", "An adverse reaction report needs the suspected drug."),
        ("patient", "An adverse reaction report needs an identifiable patient (initials, age or sex)."),
    }
    chinese = token_client(erp[1]).post("/api/v1/feedback/", intake(patient=""), content_type="application/json")
    assert chinese["Content-Language"] == "zh-hans"
    assert all(not e["message"].isascii() for e in chinese.json()["errors"])
    bad = client.post("/api/v1/feedback/", intake(channel="pigeon"), content_type="application/json")
    assert bad.json()["errors"] == [
        {"field": "channel", "code": "invalid_choice", "message": '"pigeon" is not a valid choice.'}
    ]
    assert not Feedback.objects.exists()


def test_document_pdf_is_served_only_while_its_hash_matches(erp, document):
    client = token_client(erp[1], "en")
    meta = client.get(f"/api/v1/documents/{document.pk}/").json()
    assert meta["sha256"] == document.sha256 and meta["verification_code"] == document.verification_code
    response = client.get(f"/api/v1/documents/{document.pk}/pdf/")
    content = b"".join(response.streaming_content)
    assert response.status_code == 200 and hashlib.sha256(content).hexdigest() == document.sha256
    assert response["X-Document-SHA256"] == document.sha256
    with open(document.file.path, "ab") as handle:
        handle.write(b"%% tampered")
    refused = client.get(f"/api/v1/documents/{document.pk}/pdf/")
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "hash_mismatch"
