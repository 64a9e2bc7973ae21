"""A background job left RUNNING by a worker that died (issue 13): /health/ reports it,
``manage.py recover_stuck_jobs`` fails it visibly and re-queues a document issue, and the document
is still issued exactly once — also when the lost run had issued it before dying (R-REL-6)."""

from __future__ import annotations

import copy
import logging
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core import pdf
from core.jobs import integrity_check_job, issue_document_job
from core.models import Document, DocumentIssueJob
from tests.core.test_issue_after_commit import issue_product_sheet

pytestmark = pytest.mark.django_db

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
TEST_TEMPLATES = Path(__file__).parent / "templates"
ISSUER = "tests.core.test_issue_after_commit.issue_product_sheet"


@pytest.fixture(autouse=True)
def media_and_templates(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.JOBS_STUCK_MINUTES = 60
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], TEST_TEMPLATES]
    settings.TEMPLATES = templates


@pytest.fixture
def database_queue():
    with override_settings(TASKS=DATABASE_QUEUE):
        yield


@pytest.fixture
def run_worker(monkeypatch):
    # The worker closes stale connections between jobs: here that would be the test's own.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)

    def run() -> None:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    return run


def _lost(result, minutes: int = 90) -> DBTaskResult:
    """Claim the job as a worker does, then let that worker 'die' ``minutes`` ago."""
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim("worker-on-host-b")
    row.started_at = timezone.now() - timedelta(minutes=minutes)
    row.save(update_fields=["started_at"])
    return row


def _files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_a_lost_document_job_is_reported_failed_visibly_and_issued_by_its_next_attempt(
    database_queue, run_worker, approved_product, qa_reviewer, client, caplog
):
    kwargs = {"product_pk": approved_product.pk, "user_pk": qa_reviewer.pk}
    lost = _lost(issue_document_job.enqueue(issuer=ISSUER, kwargs=kwargs, attempt=1, key="k-lost"))

    with caplog.at_level(logging.ERROR, logger="core.health"):
        page = client.get("/health/")
    assert page.status_code == 503 and page.json()["checks"]["worker"] == "fail"
    assert f"job {lost.id} (core.jobs.issue_document_job) has been running since" in caplog.text
    assert "its worker died; run manage.py recover_stuck_jobs" in caplog.text

    out = StringIO()
    call_command("recover_stuck_jobs", stdout=out)
    assert f"job {lost.id} (core.jobs.issue_document_job, running since" in out.getvalue()
    assert "failed as lost; re-queued as" in out.getvalue() and "1 stuck job(s) recovered" in out.getvalue()

    lost.refresh_from_db()
    assert lost.status == "FAILED" and lost.exception_class_path == "core.jobs.WorkerLost"
    assert "the worker worker-on-host-b started this job at" in lost.traceback
    again = DBTaskResult.objects.exclude(pk=lost.pk).get()
    assert again.status == "READY"
    assert again.args_kwargs["kwargs"] == {"issuer": ISSUER, "kwargs": kwargs, "attempt": 2, "key": "k-lost"}
    assert client.get("/health/").json()["checks"]["worker"] == "ok"

    run_worker()
    again.refresh_from_db()
    document = Document.objects.get()
    assert again.status == "SUCCESSFUL" and again.return_value == {"attempt": 2, "document": document.pk}
    assert document.version == 1 and document.issue_job.job_key == "k-lost"


def test_a_document_the_lost_run_had_issued_is_not_issued_again(
    database_queue, run_worker, approved_product, qa_reviewer, settings
):
    """The worker died after the document committed and before it recorded its success."""
    kwargs = {"product_pk": approved_product.pk, "user_pk": qa_reviewer.pk}
    lost = _lost(issue_document_job.enqueue(issuer=ISSUER, kwargs=kwargs, attempt=1, key="k-done"))
    token = pdf.current_issue_job.set("k-done")
    try:
        first = issue_product_sheet(**kwargs)  # what the lost run did before dying
    finally:
        pdf.current_issue_job.reset(token)

    call_command("recover_stuck_jobs", stdout=StringIO())
    run_worker()
    again = DBTaskResult.objects.exclude(pk=lost.pk).get()
    assert again.status == "SUCCESSFUL" and again.return_value["document"] == first.pk
    assert list(Document.objects.values_list("pk", "version")) == [(first.pk, 1)]
    assert len(_files(settings)) == 1


def test_two_runs_of_one_job_at_once_keep_one_document_and_one_file(
    approved_product, qa_reviewer, monkeypatch, settings
):
    """A worker thought dead was only slow: both runs render; the unique job key keeps the first."""
    kwargs = {"product_pk": approved_product.pk, "user_pk": qa_reviewer.pk}
    token = pdf.current_issue_job.set("k-race")
    try:
        first = issue_product_sheet(**kwargs)
        real = pdf._issued_by_job
        calls = {"n": 0}

        def looked_too_early(key):  # the second run looked before the first committed
            calls["n"] += 1
            return None if calls["n"] == 1 else real(key)

        monkeypatch.setattr(pdf, "_issued_by_job", looked_too_early)
        second = issue_product_sheet(**kwargs)
    finally:
        pdf.current_issue_job.reset(token)
    assert second.pk == first.pk
    assert Document.objects.count() == 1 and DocumentIssueJob.objects.get().document == first
    assert len(_files(settings)) == 1  # the loser's file was removed


def test_a_lost_nightly_job_is_failed_visibly_and_left_to_the_next_night(database_queue, caplog):
    lost = _lost(integrity_check_job.enqueue())
    with caplog.at_level(logging.ERROR, logger="core.jobs"):
        out = StringIO()
        call_command("recover_stuck_jobs", stdout=out)
    assert "(core.jobs.integrity_check_job, running since" in out.getvalue() and "not re-queued" in out.getvalue()
    assert "Stuck job recovered" in caplog.text
    lost.refresh_from_db()
    assert lost.status == "FAILED" and lost.exception_class_path == "core.jobs.WorkerLost"
    assert DBTaskResult.objects.count() == 1


def test_a_document_job_lost_on_its_last_attempt_is_not_requeued(database_queue, settings, caplog):
    settings.DOCUMENTS_ISSUE_ATTEMPTS = 3
    lost = _lost(issue_document_job.enqueue(issuer=ISSUER, kwargs={}, attempt=3, key="k-last"))
    with caplog.at_level(logging.ERROR, logger="core.jobs"):
        call_command("recover_stuck_jobs", stdout=StringIO())
    assert "lost on its last attempt (3): the document is issued on first download" in caplog.text
    assert list(DBTaskResult.objects.values_list("pk", "status")) == [(lost.pk, "FAILED")]


def test_a_job_running_within_the_limit_is_left_alone(database_queue, client):
    running = _lost(integrity_check_job.enqueue(), minutes=59)
    out = StringIO()
    call_command("recover_stuck_jobs", stdout=out)
    assert out.getvalue().strip() == "0 stuck job(s) recovered"
    running.refresh_from_db()
    assert running.status == "RUNNING"
    assert client.get("/health/").json()["checks"]["worker"] == "ok"


def test_the_nightly_enqueue_recovers_first(database_queue):
    lost = _lost(integrity_check_job.enqueue())
    out = StringIO()
    call_command("enqueue_nightly", stdout=out)
    assert f"job {lost.id} (core.jobs.integrity_check_job" in out.getvalue()
    lost.refresh_from_db()
    assert lost.status == "FAILED"
