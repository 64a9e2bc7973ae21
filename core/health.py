"""The health endpoint (issue 13 item 6): ``GET /health/`` for the load balancer and monitoring.

Answers without sign-in, in JSON, 200 when every check passes and 503 otherwise. It says only
whether each check passed — no version, path, host name, record count or setting value — so a
stranger learns nothing from it but that the site is up. Operators read the details in the logs
(each failed check is logged with its reason).

Checks: the database answers; every migration is applied; MEDIA_ROOT is writable with at least
``HEALTH_MIN_FREE_MB`` free (with ``STORAGE=s3``: the bucket answers); the background worker keeps up (no job ready to run has waited
longer than ``HEALTH_MAX_QUEUE_WAIT_MINUTES``, and none has been running longer than
``JOBS_STUCK_MINUTES`` — a worker that died mid-job; "not used" when jobs run in the web process).
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger("core.health")

_migrations_ok = False  # once every migration is applied, this process's code never needs more


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return False, f"database unreachable: {exc}"
    return True, ""


def check_migrations() -> tuple[bool, str]:
    global _migrations_ok
    if _migrations_ok:
        return True, ""
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return False, f"migrations unreadable: {exc}"
    if plan:
        return False, f"{len(plan)} migration(s) not applied, first {plan[0][0].app_label}.{plan[0][0].name}"
    _migrations_ok = True
    return True, ""


def check_media_disk() -> tuple[bool, str]:
    from core import storage

    if not storage.is_local():
        # An object store (STORAGE=s3): one HEAD request says whether the bucket answers.
        from django.core.files.storage import default_storage

        try:
            default_storage.exists(".health-probe")
        except Exception as exc:  # boto3 raises its own errors (endpoint, credentials, bucket)
            return False, f"file storage unreachable: {type(exc).__name__}: {exc}"
        return True, ""
    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir() or not os.access(root, os.W_OK):
        return False, f"MEDIA_ROOT {root} is not a writable directory"
    free_mb = shutil.disk_usage(root).free // (1024 * 1024)
    if free_mb < settings.HEALTH_MIN_FREE_MB:
        return False, f"MEDIA_ROOT {root}: {free_mb} MB free, below HEALTH_MIN_FREE_MB={settings.HEALTH_MIN_FREE_MB}"
    return True, ""


def check_worker() -> tuple[bool | None, str]:
    from django_tasks_db import DatabaseBackend

    from core.jobs import issue_document_job

    if not isinstance(issue_document_job.get_backend(), DatabaseBackend):
        return None, ""
    from django_tasks_db.models import DBTaskResult, get_date_max

    limit = timezone.now() - timedelta(minutes=settings.HEALTH_MAX_QUEUE_WAIT_MINUTES)
    # Runnable since it was queued (no run_after: stored as the far future) or since its run_after.
    overdue = Q(run_after=get_date_max(), enqueued_at__lt=limit) | Q(run_after__lt=limit)
    try:
        waiting = DBTaskResult.objects.ready().filter(overdue).order_by("enqueued_at").first()
    except DatabaseError as exc:
        return False, f"job queue unreadable: {exc}"
    if waiting is not None:
        return (
            False,
            f"job {waiting.id} ({waiting.task_path}) has waited since {waiting.enqueued_at:%Y-%m-%d %H:%M:%S%z}: is manage.py db_worker running?",
        )
    from core.jobs import stuck_jobs

    try:
        stuck = stuck_jobs().first()
    except DatabaseError as exc:
        return False, f"job queue unreadable: {exc}"
    if stuck is not None:
        return (
            False,
            f"job {stuck.id} ({stuck.task_path}) has been running since {stuck.started_at:%Y-%m-%d %H:%M:%S%z} "
            f"(over JOBS_STUCK_MINUTES={settings.JOBS_STUCK_MINUTES}): its worker died; run manage.py recover_stuck_jobs",
        )
    return True, ""


CHECKS = {
    "database": check_database,
    "migrations": check_migrations,
    "media_disk": check_media_disk,
    "worker": check_worker,
}


@login_not_required
@require_safe
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    healthy = True
    for name, check in CHECKS.items():
        if name != "database" and results.get("database") == "fail":
            results[name] = "unknown"  # nothing else can be read without the database
            continue
        ok, reason = check()
        results[name] = "not used" if ok is None else "ok" if ok else "fail"
        if ok is False:
            healthy = False
            logger.error("Health check %s failed: %s", name, reason)
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": results}, status=200 if healthy else 503)
