"""Sign-in lockout and security events (R-AUTH-1, R-AUTH-3, R-SIG-1).

A failed sign-in and a refused signing password count the same: both are someone trying a
password. The counter lives on the user row; events go to the append-only AuthEvent table.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from core.models import AuthEvent, User


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


class LockoutModelBackend(ModelBackend):
    """ModelBackend that refuses locked accounts (deactivated ones are refused by Django) and
    matches usernames whatever their case: "Zhang" and "zhang" are one person (the database
    refuses both existing), so "ZHANG" with the right password signs in as zhang (issue 8 item 10).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = get_user_model()._default_manager.filter(username__iexact=username).first()
        if user is None:
            # The same work as a real check, so timing does not tell which usernames exist.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_all_permissions(self, user_obj, obj=None):
        """ModelBackend's answer (the person's own and their groups' permissions) in one query,
        a UNION, instead of two: every page asks it (R-PERF-1)."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            fields = ("content_type__app_label", "codename")
            if user_obj.is_superuser:
                rows = Permission.objects.values_list(*fields).order_by()
            else:
                own = self._get_user_permissions(user_obj).values_list(*fields).order_by()
                rows = own.union(self._get_group_permissions(user_obj).values_list(*fields).order_by())
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows}
        return user_obj._perm_cache

    def user_can_authenticate(self, user) -> bool:  # type: ignore[override]
        # A connected system's account reaches the API with its token only, never a page (R-API-1).
        return (
            super().user_can_authenticate(user)
            and not getattr(user, "is_locked", False)
            and not getattr(user, "is_system_account", False)
        )


def _save_counters(user: User, reason: str, *, lock_changed: bool = True) -> None:
    user._change_reason = reason
    # Only a lock or unlock belongs in the person's history; the bare counter is in AuthEvents.
    user.save(update_fields=["failed_login_count", "locked_at"] if lock_changed else ["failed_login_count"])


def record_password_failure(
    *, username: str, request: HttpRequest | None, kind: str = AuthEvent.Kind.LOGIN_FAILED, detail: str = ""
) -> User | None:
    """Count a wrong password against the account; lock it at the threshold.

    Runs in its own transaction so the count survives when the caller's work is rolled back.
    """
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().filter(username__iexact=username).first()
        AuthEvent.objects.create(
            kind=kind, username=username[:150], user=user, ip_address=client_ip(request), detail=detail
        )
        if user is None:
            return None
        user.failed_login_count += 1
        if user.failed_login_count >= settings.LOCKOUT_THRESHOLD and user.locked_at is None:
            user.locked_at = timezone.now()
            _save_counters(user, "account locked after failed passwords")
            AuthEvent.objects.create(
                kind=AuthEvent.Kind.LOCKED,
                username=user.username,
                user=user,
                ip_address=client_ip(request),
                detail="too many failed passwords in a row",
            )
        else:
            _save_counters(user, "failed password", lock_changed=False)
        return user


def unlock_user(*, user: User, by: User, request: HttpRequest | None = None) -> User:
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        user.failed_login_count = 0
        user.locked_at = None
        user._history_user = by
        _save_counters(user, "unlocked by administrator")
        AuthEvent.objects.create(
            kind=AuthEvent.Kind.UNLOCKED, username=user.username, user=user, actor=by, ip_address=client_ip(request)
        )
    return user


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = (credentials or {}).get("username") or ""
    if username:
        record_password_failure(username=username, request=request)


@receiver(user_logged_in)
def _on_logged_in(sender, request, user, **kwargs) -> None:
    if user.failed_login_count:
        user.failed_login_count = 0
        _save_counters(user, "successful sign-in", lock_changed=False)
    AuthEvent.objects.create(
        kind=AuthEvent.Kind.LOGIN, username=user.username, user=user, ip_address=client_ip(request)
    )


@receiver(user_logged_out)
def _on_logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        AuthEvent.objects.create(
            kind=AuthEvent.Kind.LOGOUT, username=user.username, user=user, ip_address=client_ip(request)
        )


def _current_request() -> HttpRequest | None:
    """The request being served in this thread (set by simple-history's middleware); none for
    management commands and migrations."""
    from simple_history.models import HistoricalRecords

    return getattr(HistoricalRecords.context, "request", None)


@receiver(m2m_changed, sender=User.groups.through)
def _on_roles_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """Record every grant and withdrawal of a role, by whatever path (admin, command, shell):
    simple-history does not follow many-to-many fields, so the user's history alone would show a
    change with no visible difference (Annex 11 §12.3; 21 CFR 11.10(d), (g)).

    Detail: ``+role`` for a role granted, ``-role`` for one withdrawn (role codes, not translated).
    """
    if action == "pre_clear":
        # The rows are gone by post_clear; remember what is being withdrawn.
        if reverse:
            instance._roles_clearing = (list(instance.user_set.all()), [instance.name])
        else:
            instance._roles_clearing = ([instance], list(instance.groups.values_list("name", flat=True)))
        return
    if action == "post_clear":
        users, roles = getattr(instance, "_roles_clearing", ([], []))
        sign = "-"
    elif action in ("post_add", "post_remove") and pk_set:
        sign = "+" if action == "post_add" else "-"
        if reverse:
            users, roles = list(User.objects.filter(pk__in=pk_set)), [instance.name]
        else:
            users = [instance]
            roles = list(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    else:
        return
    if not roles:
        return
    request = _current_request()
    actor = getattr(request, "user", None)
    actor = actor if actor is not None and actor.is_authenticated else None
    detail = " ".join(f"{sign}{name}" for name in sorted(roles))
    for user in users:
        AuthEvent.objects.create(
            kind=AuthEvent.Kind.ROLES_CHANGED,
            username=user.username,
            user=user,
            actor=actor,
            detail=detail,
            ip_address=client_ip(request),
        )


# The security-event detail of a new account's first one-time link (no password was ever typed).
NEW_ACCOUNT = "new account: one-time link issued"
# How the link reached the person, appended to the detail (issue 8 item 6): a link that goes
# straight to the person's own mailbox is never seen by the administrator who issued it.
SENT_BY_EMAIL = "sent to the person's e-mail"
SHOWN_TO_ADMIN = "shown to the administrator (no e-mail address)"


class ResetLinkNotSent(Exception):
    """The mail with the one-time link could not be sent; nothing was changed."""


def _reset_mail(user: User, link: str) -> tuple[str, str]:
    from django.utils import translation
    from django.utils.translation import gettext as _

    parts = []
    for lang, _name in settings.LANGUAGES:
        with translation.override(lang):
            parts.append(
                (
                    _("Choose your Release Desk password"),
                    _(
                        "An administrator reset the password of your account %(username)s. Open this link "
                        "and choose a new password yourself. It works once and expires; if you did not expect "
                        "it, tell QA."
                    )
                    % {"username": user.username},
                )
            )
    (zh_subject, zh_body), (en_subject, en_body) = parts
    return f"【Release Desk】{zh_subject} / {en_subject}", f"{zh_body}\n{link}\n\n{en_body}\n{link}\n"


def issue_reset_link(
    *, user: User, by: User, request: HttpRequest | None = None, detail: str = "one-time link issued"
) -> str | None:
    """An administrator's password reset (R-AUTH-5, issue 8 item 6): the account's password is made
    unusable and a one-time link lets the person choose a new one. The administrator never knows a
    password that works; the link works once (it is bound to the password it replaces) and expires
    after ``PASSWORD_RESET_TIMEOUT``. The security event names both people.

    When the person has an e-mail address the link is mailed to them and ``None`` is returned: the
    administrator never sees it, so cannot use it. Without an address the link is returned for the
    administrator to hand over (and the event says so). A mail that cannot be sent raises
    ``ResetLinkNotSent`` and changes nothing.
    """
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import EmailMessage
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    try:
        with transaction.atomic():
            user = get_user_model().objects.select_for_update().get(pk=user.pk)
            was_locked = user.is_locked
            by_email = bool(user.email and user.is_active)
            user.set_unusable_password()
            user.must_change_password = True
            user.failed_login_count = 0
            user.locked_at = None
            user._history_user = by
            user._change_reason = (
                "password reset by administrator" if detail != NEW_ACCOUNT else "account created without a password"
            )
            user.save()
            ip = client_ip(request)
            AuthEvent.objects.create(
                kind=AuthEvent.Kind.PASSWORD_RESET,
                username=user.username,
                user=user,
                actor=by,
                ip_address=ip,
                detail=f"{detail}; {SENT_BY_EMAIL if by_email else SHOWN_TO_ADMIN}",
            )
            if was_locked:
                AuthEvent.objects.create(
                    kind=AuthEvent.Kind.UNLOCKED,
                    username=user.username,
                    user=user,
                    actor=by,
                    ip_address=ip,
                    detail="unlocked by password reset",
                )
            path = reverse(
                "password_reset_confirm",
                kwargs={
                    "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                    "token": default_token_generator.make_token(user),
                },
            )
            link = settings.SITE_URL + path
            if by_email:
                subject, body = _reset_mail(user, link)
                # Inside the transaction: a refused mail rolls the reset back (the old password
                # still works) rather than leave an account nobody holds a link for.
                EmailMessage(subject, body, to=[user.email]).send(fail_silently=False)
    except (OSError, ConnectionError) as exc:  # smtplib's errors are OSErrors
        raise ResetLinkNotSent(str(exc)) from exc
    return None if by_email else link
