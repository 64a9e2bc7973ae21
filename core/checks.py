"""`manage.py check --deploy` additions (issue 13 item 6): a production instance needs the address
printed on its PDFs, a way to send e-mail (reminders, integrity findings) and a place for backups.

Errors, so `check --deploy` fails: an operator finds out before the first PDF prints a wrong
address or the first night's backup has nowhere to go.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "testserver", ""}
_NOWHERE_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


@register(Tags.security, deploy=True)
def check_production_settings(app_configs=None, **kwargs) -> list:
    problems: list = []
    host = urlsplit(getattr(settings, "SITE_URL", "")).hostname or ""
    if host in _LOOPBACK:
        problems.append(
            Error(
                f"SITE_URL is {settings.SITE_URL!r}: set it to the address people open the site at.",
                hint="It is printed with a QR code on every issued PDF and cannot be changed afterwards.",
                id="releasedesk.E001",
            )
        )
    backend = getattr(settings, "EMAIL_BACKEND", "")
    if backend in _NOWHERE_BACKENDS:
        problems.append(
            Error(
                f"EMAIL_BACKEND is {backend}: e-mail (reminders, integrity findings) would go nowhere.",
                hint="Unset EMAIL_BACKEND for SMTP and set EMAIL_HOST.",
                id="releasedesk.E002",
            )
        )
    elif backend == "django.core.mail.backends.smtp.EmailBackend" and not getattr(settings, "EMAIL_HOST", ""):
        problems.append(
            Error(
                "EMAIL_HOST is not set: reminders and integrity findings cannot be e-mailed.",
                hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS as needed).",
                id="releasedesk.E003",
            )
        )
    sender = getattr(settings, "DEFAULT_FROM_EMAIL", "") or ""
    if "@" not in sender or sender.rsplit("@", 1)[1].strip(">").lower() in _LOOPBACK:
        problems.append(
            Error(
                f"DEFAULT_FROM_EMAIL is {sender!r}: set the company address e-mail is sent from.",
                id="releasedesk.E004",
            )
        )
    backup_dir = getattr(settings, "BACKUP_DIR", "")
    if not backup_dir:
        problems.append(
            Error(
                "BACKUP_DIR is not set: `manage.py backup` has nowhere to write its archives.",
                hint="Set BACKUP_DIR to a directory on another disk than the database and MEDIA_ROOT (README 'Backup and restore').",
                id="releasedesk.E005",
            )
        )
    else:
        path = Path(backup_dir)
        if not path.is_absolute():
            problems.append(Error(f"BACKUP_DIR ({backup_dir}) must be an absolute path.", id="releasedesk.E006"))
        elif not path.is_dir() or not os.access(path, os.W_OK):
            problems.append(
                Warning(
                    f"BACKUP_DIR ({backup_dir}) is not a writable directory on this host.",
                    hint="Create it (owned by the account that runs `manage.py backup`) before the first backup.",
                    id="releasedesk.W001",
                )
            )
        elif (
            path.resolve() == Path(settings.MEDIA_ROOT).resolve()
            or Path(settings.MEDIA_ROOT).resolve() in path.resolve().parents
        ):
            problems.append(
                Error("BACKUP_DIR must not be inside MEDIA_ROOT (it would back up itself).", id="releasedesk.E007")
            )
    return problems
