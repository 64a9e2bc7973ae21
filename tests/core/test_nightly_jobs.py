"""The nightly integrity check as a background job (issue 13 item 2; R-SIG-3, R-AT-3)."""

from __future__ import annotations

import io
import logging

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection

from core.jobs import integrity_check_job
from core.models import Signature

pytestmark = pytest.mark.django_db


def test_the_job_reports_no_findings_on_intact_records(approved_product):
    result = integrity_check_job.enqueue()
    summary = result.return_value
    assert result.status == "SUCCESSFUL"
    assert summary["ok"] is True and summary["findings"] == []
    assert sum(summary["checked"].values()) >= 1
    sig = Signature.objects.order_by("-pk").first()
    assert summary["chain_head"][0] == sig.pk
    assert mail.outbox == []


def test_a_finding_is_logged_and_mailed_to_the_administrators(approved_product, settings, caplog):
    """A product changed by SQL after its approval: the job says so and QA's administrators hear of it."""
    settings.ADMINS = [("QA systems", "qa-systems@example.com")]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE release_product SET name = 'Changed by SQL' WHERE id = %s", [approved_product.pk])
    with caplog.at_level(logging.ERROR, logger="core.jobs"):
        summary = integrity_check_job.enqueue().return_value
    assert summary["ok"] is False and summary["findings"]
    assert "Integrity check:" in caplog.text and "finding(s)" in caplog.text
    assert len(mail.outbox) == 1
    assert "finding(s)" in mail.outbox[0].subject and mail.outbox[0].to == ["qa-systems@example.com"]
    assert summary["findings"][0] in mail.outbox[0].body


def test_the_cron_command_queues_the_check():
    out = io.StringIO()
    call_command("enqueue_nightly", stdout=out)
    assert "queued integrity check: job" in out.getvalue()
