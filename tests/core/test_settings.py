"""Deployment settings: `check --deploy` is clean in production, bad environment values stop start-up
(HOUSE_STYLE settings; R-AUTH-1 secure sessions, R-AUTH-2 / R-AUTH-3 values come from the environment)."""

from __future__ import annotations

import os
import runpy
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = ROOT / "config" / "settings.py"

# Variables that change what the settings file does; each test starts from none of them.
_SETTINGS_VARS = [
    "DEBUG",
    "STORAGE",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_PREFIX",
    "SECRET_KEY",
    "SIGNATURE_KEY",
    "SIGNATURE_KEYS_OLD",
    "ALLOWED_HOSTS",
    "HTTPS",
    "LOCKOUT_THRESHOLD",
    "SESSION_IDLE_TIMEOUT_MINUTES",
    "DB_CONN_MAX_AGE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "BEHIND_PROXY",
    "PASSWORD_MIN_LENGTH",
    "SITE_URL",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "DEFAULT_FROM_EMAIL",
    "BACKUP_DIR",
    "REQUEST_LOG",
    "TASKS_BACKEND",
    "PYTEST_VERSION",
    "DJANGO_SETTINGS_MODULE",
    # bin/test sets it for Playwright; a production environment never has it (check async.E001).
    "DJANGO_ALLOW_ASYNC_UNSAFE",
]


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARS}
    env.update(
        SECRET_KEY=secrets.token_urlsafe(64),  # 86 characters, well over check --deploy's 50
        SIGNATURE_KEY=secrets.token_urlsafe(48),
        HTTPS="true",
        ALLOWED_HOSTS="release.example.com",
        SITE_URL="https://release.example.com",
        EMAIL_HOST="smtp.example.com",
        DEFAULT_FROM_EMAIL="release-desk@example.com",
        BACKUP_DIR=tempfile.gettempdir(),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.update(extra)
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    """R-AUTH-1, R-AUTH-2: in production (HTTPS, a real secret, DEBUG unset) sessions travel only over
    HTTPS in secure cookies — `check --deploy` has no warning at all."""
    result = _check_deploy(_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr and "WARNINGS" not in result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_does_catch_an_unsafe_deployment():
    """R-AUTH-1: guard for the test above — without HTTPS the same command fails, so its silence means something."""
    env = _production_env()
    del env["HTTPS"]
    result = _check_deploy(env)
    assert result.returncode != 0
    assert "security.W" in result.stdout + result.stderr


def test_check_deploy_refuses_production_without_mail_or_backup_location():
    """Issue 13 item 6: no EMAIL_HOST (mail would print on a console nobody reads) and no BACKUP_DIR
    — `check --deploy` fails naming both."""
    env = _production_env()
    del env["EMAIL_HOST"], env["BACKUP_DIR"]
    result = _check_deploy(env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "releasedesk.E002" in output and "EMAIL_BACKEND" in output
    assert "releasedesk.E005" in output and "BACKUP_DIR is not set" in output


def _load_settings(monkeypatch, **env: str) -> dict:
    """Execute config/settings.py afresh with exactly these deployment variables set (and a
    SITE_URL, required outside DEBUG, unless the test gives its own)."""
    env.setdefault("SITE_URL", "https://release.example.com")
    for name in _SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    if "SECRET_KEY" in env:
        # A deployment that sets its secret sets its signature key too (tests of the latter say otherwise).
        env.setdefault("SIGNATURE_KEY", "s" * 48)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_missing_secret_key_with_debug_off_is_refused(monkeypatch):
    """R-AUTH-1: a deployed instance never signs sessions with a built-in key."""
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        _load_settings(monkeypatch)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        _load_settings(monkeypatch, DEBUG="false", SECRET_KEY="")


def test_missing_site_url_with_debug_off_is_refused_naming_it(monkeypatch):
    """Issue 7 (11): an issued PDF's QR code is permanent; a deployed instance never prints
    http://localhost:8000 on it. DEBUG keeps the local default."""
    with pytest.raises(ImproperlyConfigured, match="SITE_URL"):
        _load_settings(monkeypatch, SECRET_KEY="k" * 60, SITE_URL="")
    with pytest.raises(ImproperlyConfigured, match="SITE_URL"):
        _load_settings(monkeypatch, SECRET_KEY="k" * 60, SITE_URL="  ")
    assert _load_settings(monkeypatch, DEBUG="true", SITE_URL="")["SITE_URL"] == "http://localhost:8000"
    chosen = _load_settings(monkeypatch, SECRET_KEY="k" * 60, SITE_URL="https://release.example.com/")
    assert chosen["SITE_URL"] == "https://release.example.com"


def test_debug_off_by_default_and_secret_taken_from_environment(monkeypatch):
    """R-AUTH-1, R-UX-2: DEBUG (debug pages with internals) is off unless asked for; the key comes from the environment."""
    values = _load_settings(monkeypatch, SECRET_KEY="k" * 60)
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == "k" * 60


@pytest.mark.parametrize("raw", ["five", "5.5", "0", "-1"])
def test_bad_lockout_threshold_is_refused_naming_the_variable(raw, monkeypatch):
    """R-AUTH-3: a lockout threshold that is not a whole number ≥ 1 stops start-up with its name."""
    with pytest.raises(ImproperlyConfigured, match="LOCKOUT_THRESHOLD"):
        _load_settings(monkeypatch, SECRET_KEY="k" * 60, LOCKOUT_THRESHOLD=raw)


def test_database_connections_are_kept_and_checked_unless_told_otherwise(monkeypatch):
    """Issue 12: a connection per request costs every page its set-up and a cold planner; kept
    connections are health-checked before reuse, and DB_CONN_MAX_AGE=0 still gives one per request."""
    kept = _load_settings(monkeypatch, SECRET_KEY="k" * 60, DATABASE_URL="postgres://u@db:5432/releasedesk")
    assert kept["DATABASES"]["default"]["CONN_MAX_AGE"] == 300
    assert kept["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True
    fresh = _load_settings(
        monkeypatch, SECRET_KEY="k" * 60, DATABASE_URL="postgres://u@db:5432/releasedesk", DB_CONN_MAX_AGE="0"
    )
    assert fresh["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    with pytest.raises(ImproperlyConfigured, match="DB_CONN_MAX_AGE"):
        _load_settings(monkeypatch, SECRET_KEY="k" * 60, DB_CONN_MAX_AGE="five minutes")


def test_lockout_threshold_and_idle_timeout_come_from_the_environment(monkeypatch):
    """R-AUTH-2, R-AUTH-3: the company's choices are settings with defaults 5 and 30 minutes."""
    defaults = _load_settings(monkeypatch, SECRET_KEY="k" * 60)
    assert defaults["LOCKOUT_THRESHOLD"] == 5
    assert defaults["SESSION_COOKIE_AGE"] == 30 * 60 and defaults["SESSION_ENGINE"] == "core.sessions"
    chosen = _load_settings(monkeypatch, SECRET_KEY="k" * 60, LOCKOUT_THRESHOLD="3", SESSION_IDLE_TIMEOUT_MINUTES="15")
    assert chosen["LOCKOUT_THRESHOLD"] == 3
    assert chosen["SESSION_COOKIE_AGE"] == 15 * 60


@pytest.mark.parametrize(
    "name, raw", [("DEBUG", "maybe"), ("HTTPS", "sometimes"), ("SESSION_IDLE_TIMEOUT_MINUTES", "half an hour")]
)
def test_other_bad_values_are_refused_naming_the_variable(name, raw, monkeypatch):
    """R-AUTH-2: bad values (here the idle timeout, DEBUG, HTTPS) fail at start-up, not later as odd behaviour."""
    with pytest.raises(ImproperlyConfigured, match=name):
        _load_settings(monkeypatch, SECRET_KEY="k" * 60, **{name: raw})


def test_production_settings_hold_no_test_only_branches():
    """Issue 6: nothing in config/settings.py is keyed on the test runner; the suite's shortcuts
    (fast password hasher, a test key, plain static storage) live in tests/settings.py."""
    text = SETTINGS_FILE.read_text()
    assert "PYTEST" not in text
    assert "MD5PasswordHasher" not in text


def test_missing_or_short_signature_key_with_debug_off_is_refused(monkeypatch):
    """R-SIG-3: a deployed instance never signs with a built-in key, nor with a short one."""
    with pytest.raises(ImproperlyConfigured, match="SIGNATURE_KEY is not set"):
        _load_settings(monkeypatch, SECRET_KEY="k" * 60, SIGNATURE_KEY="")
    with pytest.raises(ImproperlyConfigured, match="at least 32 characters"):
        _load_settings(monkeypatch, SECRET_KEY="k" * 60, SIGNATURE_KEY="short")
    values = _load_settings(monkeypatch, SECRET_KEY="k" * 60, SIGNATURE_KEY="s" * 40, SIGNATURE_KEYS_OLD="o" * 40)
    assert values["SIGNATURE_KEY"] == "s" * 40 and values["SIGNATURE_KEYS_OLD"] == ["o" * 40]


def test_file_storage_is_the_local_disk_unless_s3_is_chosen_with_its_bucket(monkeypatch):
    """Issue 13 item 5: STORAGE=s3 puts issued PDFs and raw data in a shared bucket, never public,
    never overwriting; a missing bucket or an unknown choice stops start-up naming the variable."""
    local = _load_settings(monkeypatch, SECRET_KEY="k" * 60)
    assert local["STORAGES"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    with pytest.raises(ImproperlyConfigured, match="S3_BUCKET"):
        _load_settings(monkeypatch, SECRET_KEY="k" * 60, STORAGE="s3")
    with pytest.raises(ImproperlyConfigured, match="STORAGE must be filesystem or s3"):
        _load_settings(monkeypatch, SECRET_KEY="k" * 60, STORAGE="nfs")
    shared = _load_settings(
        monkeypatch,
        SECRET_KEY="k" * 60,
        STORAGE="s3",
        S3_BUCKET="plant-a-releasedesk",
        S3_ENDPOINT_URL="https://minio.plant.local:9000",
        S3_PREFIX="/prod/",
    )
    default = shared["STORAGES"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["OPTIONS"]["bucket_name"] == "plant-a-releasedesk"
    assert default["OPTIONS"]["endpoint_url"] == "https://minio.plant.local:9000"
    assert default["OPTIONS"]["location"] == "prod"
    assert default["OPTIONS"]["file_overwrite"] is False and default["OPTIONS"]["querystring_auth"] is True
