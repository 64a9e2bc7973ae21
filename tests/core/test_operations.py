"""Operations (issue 13 item 6): the health endpoint, the structured request log, and the
`check --deploy` additions (SITE_URL, e-mail, backup location). R-OPS-1."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.db import DatabaseError
from django.test import Client, override_settings
from django.utils import timezone

from core import health, request_log

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "SITE_URL": "https://release.example.com",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.example.com",
    "DEFAULT_FROM_EMAIL": "release-desk@example.com",
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    settings.BACKUP_DIR = str(tmp_path / "backups")
    (tmp_path / "backups").mkdir()
    return settings.MEDIA_ROOT


# --- health --------------------------------------------------------------------------------------


def test_health_answers_without_sign_in_and_says_only_ok_or_fail(media):
    response = Client().get("/health/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "media_disk": "ok", "worker": "not used"},
    }
    # Nothing an outsider could use: no path, version, host, key or count.
    body = response.content.decode()
    for secret in (str(media), "sqlite", "postgres", "SECRET", "release-desk", "5.2"):
        assert secret not in body


def test_health_fails_with_503_when_media_has_too_little_space(media, settings, caplog):
    settings.HEALTH_MIN_FREE_MB = 10**12  # more than any disk
    with caplog.at_level(logging.ERROR, logger="core.health"):
        response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "fail" and response.json()["checks"]["media_disk"] == "fail"
    assert str(media) not in response.content.decode()
    assert "Health check media_disk failed" in caplog.text and "below HEALTH_MIN_FREE_MB" in caplog.text


def test_health_fails_when_media_root_is_missing(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "not-mounted"
    assert Client().get("/health/").json()["checks"]["media_disk"] == "fail"


def test_health_fails_when_the_database_is_down(media, monkeypatch):
    def down():
        return False, "database unreachable: connection refused"

    monkeypatch.setitem(health.CHECKS, "database", down)
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "fail",
        "migrations": "unknown",
        "media_disk": "unknown",
        "worker": "unknown",
    }


def test_health_fails_when_a_migration_is_not_applied(media, monkeypatch):
    class Plan:
        def __init__(self, connection):
            self.loader = type("L", (), {"graph": type("G", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets):
            migration = type("M", (), {"app_label": "release", "name": "0099_next"})()
            return [(migration, False)]

    monkeypatch.setattr(health, "_migrations_ok", False)
    monkeypatch.setattr(health, "MigrationExecutor", Plan)
    response = Client().get("/health/")
    assert response.status_code == 503 and response.json()["checks"]["migrations"] == "fail"


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_health_fails_when_no_worker_takes_the_queued_jobs(media, settings):
    """Issue 13 item 6 "worker alive": a job waiting longer than HEALTH_MAX_QUEUE_WAIT_MINUTES."""
    from django_tasks_db.models import DBTaskResult

    from core.jobs import integrity_check_job

    result = integrity_check_job.enqueue()
    assert Client().get("/health/").json()["checks"]["worker"] == "ok"  # just queued
    row = DBTaskResult.objects.get(pk=result.id)
    row.enqueued_at = timezone.now() - timedelta(minutes=settings.HEALTH_MAX_QUEUE_WAIT_MINUTES + 1)
    row.save(update_fields=["enqueued_at"])
    response = Client().get("/health/")
    assert response.status_code == 503 and response.json()["checks"]["worker"] == "fail"
    row.status = "SUCCESSFUL"
    row.save(update_fields=["status"])
    assert Client().get("/health/").json()["checks"]["worker"] == "ok"


def test_health_refuses_a_post():
    assert Client().post("/health/").status_code == 405


def test_a_database_error_is_a_failed_check_not_a_500(monkeypatch):
    class Broken:
        def __enter__(self):
            raise DatabaseError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: Broken())
    assert health.check_database() == (False, "database unreachable: connection refused")


# --- request log ---------------------------------------------------------------------------------


def _request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "releasedesk.requests"]


def test_each_request_logs_one_line_with_method_path_status_user_and_duration(client_for, qa_reviewer, caplog):
    client = client_for(qa_reviewer)
    with caplog.at_level(logging.INFO, logger="releasedesk.requests"):
        client.get("/release/products/?q=secret-search")
    (record,) = _request_lines(caplog)
    assert (record.method, record.path, record.status, record.user) == (
        "GET",
        "/release/products/",
        200,
        qa_reviewer.username,
    )
    assert isinstance(record.duration_ms, float) and record.duration_ms >= 0
    line = json.loads(request_log.JsonFormatter().format(record))
    assert line["message"] == "GET /release/products/ 200" and line["user"] == qa_reviewer.username
    assert line["level"] == "INFO" and line["logger"] == "releasedesk.requests" and line["time"].endswith("+00:00")
    assert "secret-search" not in json.dumps(line)  # no query string


def test_anonymous_and_refused_requests_are_logged_too(client_for, auditor, caplog):
    with caplog.at_level(logging.INFO, logger="releasedesk.requests"):
        Client().get("/release/products/")  # redirected to sign-in
        client_for(auditor).post(f"/accounts/{auditor.pk}/unlock/")  # an auditor may not unlock accounts
    first, second = _request_lines(caplog)
    assert (first.user, first.status) == ("-", 302)
    assert (second.user, second.method, second.status) == (auditor.username, "POST", 403)
    assert second.levelname == "WARNING"


def test_the_request_log_is_outermost_and_can_be_switched_off(monkeypatch):
    """The line times the whole request (first middleware); REQUEST_LOG=false silences it."""
    import runpy
    from pathlib import Path

    settings_file = Path(__file__).resolve().parents[2] / "config" / "settings.py"
    monkeypatch.setenv("DEBUG", "true")
    values = runpy.run_path(str(settings_file))
    assert values["MIDDLEWARE"][0] == "core.request_log.RequestLogMiddleware"
    assert values["LOGGING"]["loggers"]["releasedesk.requests"]["level"] == "INFO"
    monkeypatch.setenv("REQUEST_LOG", "false")
    values = runpy.run_path(str(settings_file))
    assert values["LOGGING"]["loggers"]["releasedesk.requests"]["level"] == "CRITICAL"


# --- check --deploy ------------------------------------------------------------------------------


def _deploy_ids() -> set[str]:
    return {m.id for m in run_checks(include_deployment_checks=True) if m.id and m.id.startswith("releasedesk.")}


def test_production_settings_pass_the_deploy_check(media, settings):
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    assert _deploy_ids() == set()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SITE_URL", "http://localhost:8000", "releasedesk.E001"),
        ("SITE_URL", "http://127.0.0.1:8000", "releasedesk.E001"),
        ("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend", "releasedesk.E002"),
        ("EMAIL_HOST", "", "releasedesk.E003"),
        ("DEFAULT_FROM_EMAIL", "release-desk@localhost", "releasedesk.E004"),
        ("DEFAULT_FROM_EMAIL", "", "releasedesk.E004"),
        ("BACKUP_DIR", "", "releasedesk.E005"),
        ("BACKUP_DIR", "backups", "releasedesk.E006"),
    ],
)
def test_the_deploy_check_refuses_what_production_lacks(media, settings, name, value, expected):
    for key, good in PRODUCTION.items():
        setattr(settings, key, good)
    setattr(settings, name, value)
    messages = [m for m in run_checks(include_deployment_checks=True) if m.id == expected]
    assert messages and messages[0].is_serious()
    assert name in messages[0].msg or (name == "EMAIL_HOST" and "EMAIL_HOST" in messages[0].msg)


def test_a_backup_dir_that_does_not_exist_is_a_warning_and_one_inside_media_an_error(media, settings, tmp_path):
    for key, good in PRODUCTION.items():
        setattr(settings, key, good)
    settings.BACKUP_DIR = str(tmp_path / "nowhere")
    assert _deploy_ids() == {"releasedesk.W001"}
    settings.BACKUP_DIR = str(media / "backups")
    (media / "backups").mkdir()
    assert _deploy_ids() == {"releasedesk.E007"}


def test_the_checks_are_deploy_only(media, settings):
    settings.BACKUP_DIR = ""
    assert not [m for m in run_checks() if m.id and m.id.startswith("releasedesk.")]
