"""Background jobs (django-tasks with the django-tasks-db database backend; issue 13 item 2).

Work that must not ride on a web request, and must not be lost when it fails:

* ``issue_document_job`` — issue a PDF after the signing action committed. A failed render is
  retried ``DOCUMENTS_ISSUE_ATTEMPTS`` times with a growing pause (``DOCUMENTS_ISSUE_RETRY_SECONDS``,
  doubled each time); each attempt is a row in the task table, so an operator sees every failure.
  After the last attempt the error is logged and the document is issued on first download, as
  before (the signed action always stands).
* ``integrity_check_job`` — the nightly ``verify_integrity`` (R-SIG-3, R-AT-3) run by the worker;
  findings are logged as errors and e-mailed to ``ADMINS``.

With the database backend (production, the demo) ``enqueue_issue`` writes the job row inside the
action's own transaction: the job commits with the signature or not at all, so a process that
dies between the commit and the render loses nothing — the worker finds the row. Backends that
run a job at once (``ImmediateBackend``, the test suite) are enqueued after commit instead, so a
rolled-back action never issues a document.

The worker: ``manage.py db_worker`` (README "Background jobs").
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task, task_backends

from core.pdf import current_issue_job

logger = logging.getLogger("core.jobs")


def callable_path(func: Callable[..., Any]) -> str:
    """The dotted path a worker imports ``func`` by; refuses lambdas and nested functions,
    which a job row cannot name."""
    path = f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', '')}"
    try:
        found = import_string(path)
    except ImportError:
        found = None
    if found is not func:
        raise TypeError(f"{func!r} cannot be run by a background job: pass a module-level function.")
    return path


def _runs_from_the_database(job) -> bool:
    from django_tasks_db import DatabaseBackend

    return isinstance(job.get_backend(), DatabaseBackend)


def enqueue_issue(issue: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """Queue ``issue(**kwargs)`` to run once the current transaction commits (see the module docstring)."""
    path = callable_path(issue)
    key = uuid.uuid4().hex  # one per signing action's document: every retry and re-queue carries it
    if _runs_from_the_database(issue_document_job):
        # Same database, same transaction: the job row commits (or rolls back) with the action.
        issue_document_job.enqueue(issuer=path, kwargs=kwargs, attempt=1, key=key)
    else:
        transaction.on_commit(lambda: issue_document_job.enqueue(issuer=path, kwargs=kwargs, attempt=1, key=key))


def retry_delay(attempt: int) -> timedelta:
    """The pause before attempt ``attempt + 1``: the base pause doubled for each failed attempt."""
    return timedelta(seconds=settings.DOCUMENTS_ISSUE_RETRY_SECONDS * 2 ** (attempt - 1))


@task()
def issue_document_job(*, issuer: str, kwargs: dict[str, Any], attempt: int = 1, key: str = "") -> dict[str, Any]:
    """Run the app's issue function; on failure queue the next attempt, then fail this one.
    ``key`` names the document this job issues (``core.pdf.current_issue_job``): a run after one
    that issued it — a worker that died before recording its success — returns that document."""
    issue = import_string(issuer)
    attempts = settings.DOCUMENTS_ISSUE_ATTEMPTS
    token = current_issue_job.set(key)
    try:
        document = issue(**kwargs)
    except Exception as exc:
        name = issuer.rsplit(".", 1)[-1]
        if attempt >= attempts:
            logger.exception(
                "Could not issue the document %s(%s) after commit (attempt %d of %d, the last): "
                "it will be issued on first download",
                name,
                kwargs,
                attempt,
                attempts,
            )
            raise
        delay = retry_delay(attempt)
        logger.warning(
            "Could not issue the document %s(%s) after commit (attempt %d of %d): %s; retrying in %d s",
            name,
            kwargs,
            attempt,
            attempts,
            exc,
            delay.total_seconds(),
        )
        job = issue_document_job
        if job.get_backend().supports_defer and delay:
            job = job.using(run_after=timezone.now() + delay)
        job.enqueue(issuer=issuer, kwargs=kwargs, attempt=attempt + 1, key=key)
        raise  # this attempt's row says FAILED with its traceback; the next attempt is queued
    finally:
        current_issue_job.reset(token)
    return {"attempt": attempt, "document": getattr(document, "pk", None)}


@task()
def integrity_check_job(*, limit: int | None = None) -> dict[str, Any]:
    """The nightly integrity check (``manage.py verify_integrity`` as a job); findings are
    logged and e-mailed to the administrators. Returns a summary kept on the job row."""
    from core import integrity

    report = integrity.run(limit=limit)
    head_id, head_hash = report.chain_head
    summary = {
        "ok": report.ok,
        "findings": [str(f) for f in report.findings],
        "checked": {str(what): n for what, n in report.checked.items()},
        "chain_head": [head_id, head_hash],
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat(),
    }
    if report.ok:
        logger.info("Integrity check: no findings; chain head #%s %s", head_id, head_hash)
    else:
        logger.error("Integrity check: %d finding(s): %s", len(report.findings), "; ".join(summary["findings"]))
        mail_admins(
            f"Integrity check: {len(report.findings)} finding(s)",
            "\n".join(summary["findings"]) + f"\n\nchain head: #{head_id} {head_hash}",
            fail_silently=True,
        )
    return summary


def backend_name() -> str:
    """The configured default backend's class, for the health endpoint (no settings values)."""
    return type(task_backends["default"]).__name__


@task()
def send_reminders_job() -> dict[str, Any]:
    """Mail what fell due or became overdue since the last run (``core.reminders``); the summary
    stays on the job row. A reminder the mail server refused is tried again next run."""
    from core.reminders import send_due_reminders

    outcome = send_due_reminders()
    logger.info(
        "Reminders: %d sent, %d sent before, %d failed, %d with nobody to tell",
        len(outcome.sent),
        outcome.already,
        len(outcome.failed),
        len(outcome.nobody),
    )
    return {"sent": outcome.sent, "already": outcome.already, "failed": outcome.failed, "nobody": outcome.nobody}


# --- jobs whose worker died -------------------------------------------------------------------


class WorkerLost(Exception):
    """The job's worker stopped (killed, out of memory, host lost) while running it."""


@dataclass
class Recovered:
    job_id: str
    task: str
    started_at: datetime
    requeued: str | None  # the id of the new job, or None when it was only marked failed

    def __str__(self) -> str:
        then = f"{self.started_at:%Y-%m-%d %H:%M:%S%z}"
        if self.requeued:
            return (
                f"job {self.job_id} ({self.task}, running since {then}): failed as lost; re-queued as {self.requeued}"
            )
        return f"job {self.job_id} ({self.task}, running since {then}): failed as lost; not re-queued"


def stuck_jobs(now: datetime | None = None):
    """Jobs marked RUNNING for longer than ``JOBS_STUCK_MINUTES``: their worker died (django-tasks
    keeps no heartbeat; the limit is far above the longest job, the ten-year integrity check)."""
    from django_tasks_db.models import DBTaskResult

    limit = (now or timezone.now()) - timedelta(minutes=settings.JOBS_STUCK_MINUTES)
    return DBTaskResult.objects.running().filter(started_at__lt=limit).order_by("started_at")


def recover_stuck_jobs(now: datetime | None = None) -> list[Recovered]:
    """Fail every stuck job visibly (status FAILED, ``core.jobs.WorkerLost`` with the reason, in
    /admin/ like any failed job) and re-queue a document issue as its next attempt — with the same
    key, so a document the lost run had already issued is not issued twice (``issue_document_job``).
    The nightly jobs are not re-queued: the next night runs them again (``enqueue_nightly`` runs
    them now), and a job that kills its worker must not loop. Run by ``manage.py recover_stuck_jobs``
    (before the worker starts, README) and by ``enqueue_nightly``."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    out: list[Recovered] = []
    for candidate in stuck_jobs(now).values_list("id", flat=True):
        with transaction.atomic():
            row = DBTaskResult.objects.select_for_update().filter(pk=candidate).first()
            if row is None or row.status != TaskResultStatus.RUNNING:
                continue  # finished meanwhile
            reason = (
                f"{WorkerLost.__module__}.{WorkerLost.__qualname__}: the worker {', '.join(row.worker_ids) or '?'} "
                f"started this job at {row.started_at.isoformat()} and was gone at {now.isoformat()} "
                f"(limit JOBS_STUCK_MINUTES={settings.JOBS_STUCK_MINUTES}); marked failed by recover_stuck_jobs."
            )
            row.status = TaskResultStatus.FAILED
            row.finished_at = now
            row.exception_class_path = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"
            row.traceback = reason
            row.return_value = None
            row.save(update_fields=["status", "finished_at", "exception_class_path", "traceback", "return_value"])
            requeued = None
            if row.task_path == issue_document_job.module_path:
                params = row.args_kwargs["kwargs"]
                attempt = int(params.get("attempt", 1))
                if attempt < settings.DOCUMENTS_ISSUE_ATTEMPTS:
                    again = issue_document_job.enqueue(
                        issuer=params["issuer"], kwargs=params["kwargs"], attempt=attempt + 1, key=params.get("key", "")
                    )
                    requeued = str(again.id)
                else:
                    logger.error(
                        "Document job %s was lost on its last attempt (%d): the document is issued on first download",
                        row.id,
                        attempt,
                    )
            found = Recovered(str(row.id), row.task_path, row.started_at, requeued)
            logger.error("Stuck job recovered: %s", found)
            out.append(found)
    return out
