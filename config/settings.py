"""Release Desk settings: one file, every deployment value from the environment.

Bad values raise ImproperlyConfigured at start-up rather than surfacing later as odd behaviour.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import xstatic.pkg.bootstrap
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_decimal(name: str, default: str) -> Decimal:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        raw = default
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a number like 1.5, got {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(f"{name} must be a number of zero or more, got {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_date(name: str, default: date) -> date:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a date like 2005-06-30, got {raw!r}") from None


def env_url(name: str, default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name} must be an http:// or https:// address, got {raw!r}")
    return value


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is not set. Set it in the environment (DEBUG is off).")
    # Only for DEBUG: never used by a deployed instance.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789"

# Electronic signatures are HMAC-SHA256 with this key (core.keys; README "Signature key"). It is
# not in the database, so someone who can write to the database cannot forge or alter a signature.
SIGNATURE_KEY = os.environ.get("SIGNATURE_KEY", "")
if not SIGNATURE_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SIGNATURE_KEY is not set. Set it in the environment (DEBUG is off).")
    # Only for DEBUG and the test suite: never used by a deployed instance.
    SIGNATURE_KEY = "insecure-development-signature-key-do-not-use-in-production"
if len(SIGNATURE_KEY) < 32:
    raise ImproperlyConfigured("SIGNATURE_KEY must be at least 32 characters (e.g. secrets.token_urlsafe(48)).")
# Earlier keys, comma-separated, so signatures made before a rotation still verify.
SIGNATURE_KEYS_OLD = env_list("SIGNATURE_KEYS_OLD", [])
# The integrity page re-checks this many of the most recent rows of each kind while QA waits;
# `manage.py verify_integrity` (nightly) checks everything.
INTEGRITY_PAGE_LIMIT = env_int("INTEGRITY_PAGE_LIMIT", 1000, minimum=1)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "guardian",
    "simple_history",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "qc_records",
    "release",
    "aftersales",
    "recalls",
    "api",
]

MIDDLEWARE = [
    "core.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.sessions.SlidingSessionMiddleware",
    "core.middleware.SiteLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.middleware.CleanUploadsMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "core.middleware.ForcePasswordChangeMiddleware",
    "core.middleware.FriendlyMethodNotAllowedMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# SQLite file by default (the embedded demo); PostgreSQL in production via DATABASE_URL.
DATABASE_URL = os.environ.get("DATABASE_URL", "") or f"sqlite:///{BASE_DIR / 'var' / 'releasedesk.sqlite3'}"
try:
    # Connections are kept between requests (DB_CONN_MAX_AGE seconds; 0 = a new one per request)
    # and checked before reuse: a new PostgreSQL connection per request costs its set-up and a
    # cold planner cache (the audit search's union of every history table plans in ~20–40 ms on
    # a new connection, ~1 ms on a warm one; issue 12).
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 300), conn_health_checks=True
        )
    }
except Exception as exc:  # dj-database-url raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # WAL lets the demo server read while a write is in progress.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME", "")}

# PostgreSQL least privilege (README "Database roles"): the role the web processes connect as.
# Set it where migrations run (as the owner role): each migrate then re-grants its row rights.
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "core.auth.LockoutModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# No anonymous user row: every GMP page needs a signed-in person.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 10, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# An administrator's reset hands over a one-time link (core.auth.issue_reset_link) valid this long.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_LINK_HOURS", 24, minimum=1) * 3600

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:my_work"
LOGOUT_REDIRECT_URL = "login"

# R-AUTH-2: idle sessions expire; requests slide the window (core.sessions: the session row is
# rewritten when its expiry is more than a minute old, not on every request).
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 30, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
SESSION_ENGINE = "core.sessions"
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# R-AUTH-3: failed logins (and failed signing passwords) before the account locks.
LOCKOUT_THRESHOLD = env_int("LOCKOUT_THRESHOLD", 5, minimum=1)

# HTTPS deployments: turn on every transport protection `check --deploy` asks for.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp; issue 8 item 9): scripts, styles, images and fonts only from
# this site's own static files — no inline script or style attribute runs, whatever a field holds.
# Bootstrap's icons are data: SVGs in its CSS (img-src data:).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "static", ("bootstrap", xstatic.pkg.bootstrap.BASE_DIR)]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    # No collectstatic needed while developing (the test suite does the same in tests/settings.py).
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"
# Where issued PDFs, raw-data files and licence scans are stored (README "More than one host"):
# `filesystem` (MEDIA_ROOT, the default) or `s3` — an S3-compatible bucket (django-storages) that
# several application hosts share. Files are never served from the bucket: every download goes
# through a view that checks the permission and the file's SHA-256.
STORAGE = os.environ.get("STORAGE", "filesystem").strip().lower()
if STORAGE == "s3":
    if not os.environ.get("S3_BUCKET", "").strip():
        raise ImproperlyConfigured("STORAGE=s3 needs S3_BUCKET (and S3_ENDPOINT_URL for a non-AWS S3 service).")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["S3_BUCKET"].strip(),
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL", "").strip() or None,
            "region_name": os.environ.get("S3_REGION", "").strip() or None,
            # Unset: boto3's own chain (AWS_* variables, the instance's role).
            "access_key": os.environ.get("S3_ACCESS_KEY_ID", "").strip() or None,
            "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY", "").strip() or None,
            "location": os.environ.get("S3_PREFIX", "").strip().strip("/"),
            # An issued PDF is never replaced in place: a name that exists gets a new one.
            "file_overwrite": False,
            "default_acl": None,  # the bucket's own policy: private
            "querystring_auth": True,  # no public URLs
        },
    }
elif STORAGE != "filesystem":
    raise ImproperlyConfigured(f"STORAGE must be filesystem or s3, got {STORAGE!r}")
# Where `manage.py backup` writes its archives (README "Backup and restore"); required by
# `check --deploy`. Put it on another disk than the database and MEDIA_ROOT, and copy it off-site.
BACKUP_DIR = os.environ.get("BACKUP_DIR", "").strip()
# The address people open the site at. Printed on every PDF (as text and QR code) so that a
# printed or e-mailed copy leads back to its verification page: an issued PDF's QR code is
# permanent, so outside DEBUG there is no default — start-up fails naming the variable.
if not DEBUG and not os.environ.get("SITE_URL", "").strip():
    raise ImproperlyConfigured(
        "SITE_URL is not set. Set it to the address people open the site at (e.g. https://release.example.com): "
        "it is printed with a QR code on every PDF and cannot be changed afterwards (DEBUG is off)."
    )
SITE_URL = env_url("SITE_URL", "http://localhost:8000")

FORM_RENDERER = "core.forms.BootstrapFormRenderer"

# Issued PDFs (test reports, certificates) are rendered right after the signing action commits.
# False defers each to its first download (bulk data loads); the record and signatures are the same.
DOCUMENTS_ISSUE_ON_COMMIT = env_bool("DOCUMENTS_ISSUE_ON_COMMIT", True)
# Each PDF is issued by a background job (core.jobs): a failed render is tried this many times in
# all, pausing DOCUMENTS_ISSUE_RETRY_SECONDS before the second attempt and twice as long each time after.
DOCUMENTS_ISSUE_ATTEMPTS = env_int("DOCUMENTS_ISSUE_ATTEMPTS", 5, minimum=1)
DOCUMENTS_ISSUE_RETRY_SECONDS = env_int("DOCUMENTS_ISSUE_RETRY_SECONDS", 30, minimum=0)

# Background jobs (django-tasks): the queue is a table in this database, run by `manage.py db_worker`
# (README "Background jobs"). TASKS_BACKEND=immediate runs each job in the web process instead (no worker).
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }.get(os.environ.get("TASKS_BACKEND", "database").strip().lower(), "")
        or "invalid"
    }
}
if TASKS["default"]["BACKEND"] == "invalid":
    raise ImproperlyConfigured(f"TASKS_BACKEND must be database or immediate, got {os.environ['TASKS_BACKEND']!r}")

# R-REC-2: QC records not linked to a batch (materials, water, environment) are kept this many
# years after the test date; batch-linked records until product expiry + 1 year.
QC_RECORD_RETENTION_YEARS = env_int("QC_RECORD_RETENTION_YEARS", 5, minimum=1)
# No GMP record is dated before this (the plant's start): earlier dates are refused as typing
# mistakes or back-dating (core.dates.validate_plausible_date).
EARLIEST_PLAUSIBLE_DATE = env_date("EARLIEST_PLAUSIBLE_DATE", date(2000, 1, 1))
# After-sales: the company's first-response target for market feedback and complaints, in hours
# (a company setting, not an SOP rule; shown as due / overdue on the feedback and on My work).
AFTERSALES_FIRST_RESPONSE_HOURS = env_int("AFTERSALES_FIRST_RESPONSE_HOURS", 24, minimum=1)
# The company's target for complaints per 10,000 units shipped (a KPI setting, not an SOP rule):
# the monthly ledger marks each product above it. 0 = no target set.
AFTERSALES_COMPLAINT_RATE_TARGET = env_decimal("AFTERSALES_COMPLAINT_RATE_TARGET", "0")
# Reminders by e-mail (core.reminders; README "Background jobs"): how many days before its due date
# an ADR report or follow-up report, a recall task, a consignee's acknowledgement and an OOS phase
# are mailed as falling due, and how far ahead a customer's licence is mailed as expiring (GSP 5.3:
# an expired licence blocks the sale, so it is renewed before it runs out).
REMIND_ADR_DAYS_BEFORE = env_int("REMIND_ADR_DAYS_BEFORE", 3, minimum=0)
REMIND_RECALL_DAYS_BEFORE = env_int("REMIND_RECALL_DAYS_BEFORE", 1, minimum=0)
REMIND_RECALL_ACK_DAYS = env_int("REMIND_RECALL_ACK_DAYS", 2, minimum=1)
REMIND_OOS_DAYS_BEFORE = env_int("REMIND_OOS_DAYS_BEFORE", 1, minimum=0)
REMIND_LICENCE_DAYS_BEFORE = env_int("REMIND_LICENCE_DAYS_BEFORE", 30, minimum=1)
# Instruments and reagents "due soon" on the registers and on My work.
QC_DUE_SOON_DAYS = env_int("QC_DUE_SOON_DAYS", 30, minimum=1)
# R-QC-5 (FDA OOS guidance; company SOP): days allowed for the phase I laboratory investigation
# (from the OOS result) and for phase II (from its start); an overdue one is flagged on My work.
QC_OOS_PHASE_1_DAYS = env_int("QC_OOS_PHASE_1_DAYS", 5, minimum=1)
QC_OOS_PHASE_2_DAYS = env_int("QC_OOS_PHASE_2_DAYS", 30, minimum=1)
# 检验记录和检验报告管理规程 2.2: the test report names the company and laboratory, and says how it is
# made valid — the QC seal, or (the company's written choice) the electronic signatures in its place.
QC_COMPANY_NAME = os.environ.get("QC_COMPANY_NAME", "").strip()
QC_LABORATORY_NAME = os.environ.get("QC_LABORATORY_NAME", "质量控制室 (QC laboratory)").strip()
QC_REPORT_SEAL_STATEMENT = os.environ.get(
    "QC_REPORT_SEAL_STATEMENT",
    "本报告经电子签名批准，电子签名代替质检公章；请凭验证码核验。"
    " / Approved by electronic signatures, which replace the QC seal; verify it with its code.",
).strip()
# 检验记录书写规程 4.2.4 c: results entered more than this many days after their test date are
# flagged to the reviewer as possible back-filling (事后补记).
QC_BACKFILL_DAYS = env_int("QC_BACKFILL_DAYS", 1, minimum=0)

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# simple-history: the reason for change is a required part of every audit row after creation.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True

# E-mail (reminders, integrity findings to ADMINS). Unset, mail is printed on the console (the demo);
# `check --deploy` refuses that, and an SMTP backend without EMAIL_HOST (core.checks).
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST", "").strip()
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "release-desk@localhost")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# Who hears of integrity findings (core.jobs): "Name <address>, Name <address>".
ADMINS = [
    (name.strip(), address.strip(" <>"))
    for name, _sep, address in (item.rpartition("<") for item in env_list("ADMINS", []))
]

# Logs go to standard error (systemd's journal, the container's log): the request log (one JSON
# line per request: method, path, status, user, duration — core.request_log) and the background
# jobs at INFO, everything else from LOG_LEVEL. REQUEST_LOG=false silences the request lines.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.request_log.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "json": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "loggers": {
        "releasedesk.requests": {
            "handlers": ["json"],
            "level": "INFO" if env_bool("REQUEST_LOG", True) else "CRITICAL",
            "propagate": False,
        },
        "core.jobs": {"handlers": ["json"], "level": "INFO", "propagate": False},
        "core.health": {"handlers": ["json"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# The health endpoint (/health/, core.health): fails below this much free space for MEDIA_ROOT, and
# when a background job ready to run has waited longer than this (the worker is down or behind).
HEALTH_MIN_FREE_MB = env_int("HEALTH_MIN_FREE_MB", 1024, minimum=0)
HEALTH_MAX_QUEUE_WAIT_MINUTES = env_int("HEALTH_MAX_QUEUE_WAIT_MINUTES", 15, minimum=1)
# A job marked running for longer than this lost its worker (django-tasks keeps no heartbeat): /health/
# reports it and `manage.py recover_stuck_jobs` fails it (re-queuing a document issue). Far above the
# longest job: the integrity check of ten years' signatures takes about 6 minutes.
JOBS_STUCK_MINUTES = env_int("JOBS_STUCK_MINUTES", 60, minimum=5)

SITE_NAME = _("Release Desk")


# --- integration API (R-API-1; api/README.md) ------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.SystemTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Release Desk integration API",
    "DESCRIPTION": (
        "For connected systems (ERP, WMS, LIMS): products, batches with their release status and holds, "
        "the shipping gate, QC summaries, issued documents; distribution records and feedback intake. "
        "Authenticate with `Authorization: Token <token>` of a system account. Errors: "
        '`{"errors": [{"field": ..., "code": ..., "message": ..., "row": ...}]}`; lists are paged by cursor '
        "(`next` / `previous` links). Messages follow `Accept-Language` (zh-hans by default)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
