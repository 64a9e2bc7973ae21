"""core.pdf.issue_after_commit: the one way an app issues a PDF after its signing action (issue 6,
issue 13 item 2; R-REL-6, R-SIG-2: a document never describes a state that was rolled back; a
failed render is retried by a background job and the document is issued exactly once)."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from core import pdf
from core.jobs import issue_document_job
from core.models import Document, User
from core.pdf import issue_after_commit
from release.models import Product

pytestmark = pytest.mark.django_db

CALLS: list[dict] = []
TEST_TEMPLATES = Path(__file__).parent / "templates"


def record_call(**kwargs) -> None:
    CALLS.append(kwargs)


def broken_issue(**kwargs) -> None:
    raise RuntimeError("fonts missing")


def issue_product_sheet(*, product_pk: int, user_pk: int) -> Document:
    """A module-level issue function, as each app's pdf.py has (the job names it by its path)."""
    product = Product.objects.get(pk=product_pk)
    return pdf.issue_document(
        record=product,
        kind="test_product_sheet",
        template_name="pdf/test_document.html",
        context={"product": {"name": product.name}},
        user=User.objects.get(pk=user_pk),
        number="TPS-2026-001",
        title="产品主数据 / Product master record",
    )


@pytest.fixture(autouse=True)
def fresh_calls(settings, tmp_path):
    CALLS.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], TEST_TEMPLATES]
    settings.TEMPLATES = templates


@pytest.fixture
def flaky_render(monkeypatch):
    """The PDF renderer fails the first ``failures["left"]`` times (fonts briefly unreadable…)."""
    real = pdf.html_to_pdf
    failures = {"left": 2, "calls": 0}

    def render(html: str) -> bytes:
        failures["calls"] += 1
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("font cache locked")
        return real(html)

    monkeypatch.setattr(pdf, "html_to_pdf", render)
    return failures


def test_the_document_is_issued_only_when_the_action_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issue_after_commit(record_call, record_pk=7, user_pk=3)
        assert CALLS == []  # not inside the transaction
    assert CALLS == [{"record_pk": 7, "user_pk": 3}]


def test_a_rolled_back_action_issues_nothing(django_capture_on_commit_callbacks):
    class Refused(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Refused), transaction.atomic():
        issue_after_commit(record_call, record_pk=1)
        raise Refused
    assert CALLS == []


def test_a_failed_render_is_logged_and_does_not_undo_the_action(django_capture_on_commit_callbacks, caplog):
    with caplog.at_level(logging.WARNING, logger="core.jobs"), django_capture_on_commit_callbacks(execute=True):
        issue_after_commit(broken_issue, record_pk=5)
    assert "Could not issue the document broken_issue" in caplog.text
    assert "record_pk" in caplog.text and "fonts missing" in caplog.text
    # Every attempt was made and said so; the last one says the document waits for its download.
    assert "attempt 1 of 5" in caplog.text and "attempt 5 of 5, the last" in caplog.text
    assert "issued on first download" in caplog.text


def test_the_setting_defers_every_document_to_its_first_download(settings, django_capture_on_commit_callbacks):
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        issue_after_commit(record_call, record_pk=2)
    assert CALLS == [] and callbacks == []


def test_a_lambda_is_refused_when_scheduled_not_lost_later():
    """A job row names its function by dotted path: a lambda could never run in the worker."""
    with pytest.raises(TypeError, match="module-level function"):
        issue_after_commit(lambda **kw: None, record_pk=1)


def test_a_failed_render_is_retried_and_the_document_issued_once(
    approved_product, qa_reviewer, flaky_render, django_capture_on_commit_callbacks, caplog
):
    """Issue 13 item 2: two failed renders, then success — one Document, version 1, whole PDF."""
    with caplog.at_level(logging.WARNING, logger="core.jobs"), django_capture_on_commit_callbacks(execute=True):
        issue_after_commit(issue_product_sheet, product_pk=approved_product.pk, user_pk=qa_reviewer.pk)
    assert flaky_render["calls"] == 3
    documents = list(Document.objects.all())
    assert len(documents) == 1
    assert documents[0].version == 1 and documents[0].number == "TPS-2026-001"
    assert documents[0].stored_file_sha256() == documents[0].sha256
    assert "attempt 1 of 5): font cache locked" in caplog.text
    assert "attempt 2 of 5): font cache locked" in caplog.text
    assert "the last" not in caplog.text


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_the_database_queue_commits_the_job_with_the_action_and_the_worker_retries(
    approved_product, qa_reviewer, flaky_render, monkeypatch
):
    """With the database backend (production) the job row is written in the action's transaction;
    ``manage.py db_worker`` runs it, records each failed attempt, retries, issues exactly once."""

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        issue_after_commit(issue_product_sheet, product_pk=approved_product.pk, user_pk=qa_reviewer.pk)
        raise Refused
    assert DBTaskResult.objects.count() == 0  # rolled back with the action

    with transaction.atomic():
        issue_after_commit(issue_product_sheet, product_pk=approved_product.pk, user_pk=qa_reviewer.pk)
    queued = DBTaskResult.objects.get()
    assert queued.status == "READY" and queued.task_path == "core.jobs.issue_document_job"
    assert queued.args_kwargs["kwargs"]["issuer"] == f"{__name__}.issue_product_sheet"
    assert Document.objects.count() == 0  # nothing rendered in the web process

    # The worker closes stale connections between jobs; here that would be the test's own
    # connection, inside the test's transaction (a real worker runs in autocommit).
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    rows = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [r.status for r in rows] == ["FAILED", "FAILED", "SUCCESSFUL"]
    assert [r.args_kwargs["kwargs"]["attempt"] for r in rows] == [1, 2, 3]
    assert "font cache locked" in rows[0].traceback
    assert Document.objects.count() == 1
    assert rows[2].return_value == {"attempt": 3, "document": Document.objects.get().pk}


def test_the_job_is_the_module_path_a_worker_imports():
    assert issue_document_job.module_path == "core.jobs.issue_document_job"
