"""Reminders by e-mail (issue 13 item 3; R-UX-3): items that fall due or become overdue are mailed
to the people whose work they are — once per item and threshold, recorded so none is sent twice
or lost.

Apps describe what is due in a module ``<app>/reminders.py`` with a function
``due_reminders(today) -> Iterable[Due]`` (found by autodiscovery: core imports no app). For each
``Due`` not yet recorded, ``send_due_reminders`` inserts the ``Reminder`` row (unique per item and
threshold) and sends the mail in one transaction: when the mail server refuses, the row is rolled
back and the next run tries again; a second run (or a second worker at the same time) finds the
row and sends nothing. The job ``core.jobs.send_reminders_job`` runs it (cron: README).

Mail is bilingual (简体中文 first, then English), like the PDFs: the recipients' language is not known.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules

from core.models import Reminder, User

logger = logging.getLogger("core.jobs")

LANGUAGES = ("zh-hans", "en")


@dataclass
class Due:
    """One item at one threshold: what to say, to whom."""

    record: models.Model
    threshold: str  # stable key, e.g. "calibration_due:2026-12-15"; with the item, sent once
    subject: Promise | str  # a lazy label with %(...)s placeholders filled from ``values``
    body: Promise | str
    url: str
    recipients: list[User] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)


def _both(text: Promise | str, values: dict[str, object]) -> list[str]:
    out = []
    for lang in LANGUAGES:
        with translation.override(lang):
            out.append(str(text) % values if values else str(text))
    return out


def holders_of(*perms: str) -> list[User]:
    """Active people who hold any of ``perms`` through their roles and have an e-mail address."""
    found: dict[int, User] = {}
    for perm in perms:
        for user in User.objects.with_perm(perm, include_superusers=False, backend="core.auth.LockoutModelBackend"):
            if user.is_active and user.email:
                found[user.pk] = user
    return sorted(found.values(), key=lambda u: u.username)


def active_with_email(*users: User | None) -> list[User]:
    """The named owners of an item who can be mailed (active, with an address), without duplicates."""
    found = {u.pk: u for u in users if u is not None and u.is_active and u.email}
    return sorted(found.values(), key=lambda u: u.username)


def _sources() -> list[Callable[[date], Iterable[Due]]]:
    from django.apps import apps

    autodiscover_modules("reminders")
    import sys

    out = []
    for config in apps.get_app_configs():
        module = sys.modules.get(f"{config.name}.reminders")
        if module is not None and module.__name__ != __name__ and hasattr(module, "due_reminders"):
            out.append(module.due_reminders)
    return out


@dataclass
class Outcome:
    sent: list[str] = field(default_factory=list)
    already: int = 0
    failed: list[str] = field(default_factory=list)
    nobody: list[str] = field(default_factory=list)


def _key(due: Due) -> tuple[int, int, str]:
    ct = ContentType.objects.get_for_model(due.record, for_concrete_model=True)
    return (ct.pk, due.record.pk, due.threshold)


def recorded_among(dues: list[Due]) -> set[tuple[int, int, str]]:
    """The (content type, item, threshold) of ``dues`` already recorded: one query per 500 items,
    so a nightly run over thousands of items reminded before costs a few queries, not one each."""
    found: set[tuple[int, int, str]] = set()
    keys = [_key(due) for due in dues]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = Reminder.objects.filter(
            object_id__in={k[1] for k in chunk}, threshold__in={k[2] for k in chunk}
        ).values_list("content_type_id", "object_id", "threshold")
        found.update(rows)
    return found


def send_one(due: Due, recorded: set[tuple[int, int, str]] | None = None) -> str:
    """'sent', 'already' or 'nobody'; raises when the mail cannot be sent (nothing recorded then).
    ``recorded``: the keys already known to be recorded (``recorded_among``), saving a query."""
    ct = ContentType.objects.get_for_model(due.record, for_concrete_model=True)
    if recorded is not None:
        if _key(due) in recorded:
            return "already"
    elif Reminder.objects.filter(content_type=ct, object_id=due.record.pk, threshold=due.threshold).exists():
        return "already"
    if not due.recipients:
        return "nobody"
    zh_subject, en_subject = _both(due.subject, due.values)
    zh_body, en_body = _both(due.body, due.values)
    link = f"{settings.SITE_URL}{due.url}"
    subject = f"【Release Desk】{zh_subject} / {en_subject}"[:255]
    text = f"{zh_body}\n{link}\n\n{en_body}\n{link}\n"
    addresses = [u.email for u in due.recipients]
    try:
        with transaction.atomic():
            Reminder.objects.create(
                content_type=ct,
                object_id=due.record.pk,
                item_label=str(due.record)[:255],
                threshold=due.threshold,
                subject=subject,
                recipients=", ".join(addresses),
                sent_at=timezone.now(),
            )
            # Inside the transaction: a refused mail rolls the record back, so the next run retries.
            EmailMessage(subject, text, to=addresses).send(fail_silently=False)
    except IntegrityError:
        return "already"  # another run recorded it a moment ago
    return "sent"


def send_due_reminders(today: date | None = None) -> Outcome:
    today = today or timezone.localdate()
    outcome = Outcome()
    for source in _sources():
        dues = list(source(today))
        recorded = recorded_among(dues)
        for due in dues:
            label = f"{due.record} · {due.threshold}"
            try:
                result = send_one(due, recorded)
            except Exception as exc:  # the mail server: logged, not recorded, tried again next run
                logger.warning("Reminder %s not sent (%s); it will be tried again", label, exc)
                outcome.failed.append(label)
                continue
            if result == "sent":
                outcome.sent.append(label)
            elif result == "already":
                outcome.already += 1
            else:
                logger.warning("Reminder %s has nobody to go to (no one with the role has an e-mail address)", label)
                outcome.nobody.append(label)
    return outcome
