"""System accounts of connected systems and their API tokens (R-API-1).

An administrator creates the account (``system_account_create``), issues its token
(``api_token_issue``: shown once, kept as SHA-256) and revokes it (``api_token_revoke``). Each act
is a security event (``AuthEvent``) naming the administrator and the account; the account's own
creation is in its history with the reason. A system account holds model permissions from
``SCOPES`` — never a role group — so no signing permission can reach it, and
``core.signatures.check_may_sign`` refuses it in any case.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import ApiToken
from core.models import AuthEvent, User
from core.workflow import InputError, WorkflowError

TOKEN_PREFIX = "rdk_"

# What a connected system may be allowed, by scope: the same permission codenames the pages ask.
SCOPES: dict[str, list[str]] = {
    # Always: products, batches with holds and the shipping gate, QC summaries, issued documents.
    "read": [
        "release.view_product",
        "release.view_batch",
        "release.view_batchhold",
        "release.view_producthold",
        "qc_records.view_testrecord",
    ],
    "shipments": ["aftersales.view_shipment", "aftersales.add_shipment", "aftersales.view_customer"],
    "feedback": ["aftersales.add_feedback"],
}


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _require_admin(user: User) -> None:
    if not (user.is_active and not user.is_system_account and user.is_system_admin):
        raise WorkflowError(_("Only a system administrator manages the accounts of connected systems."))


def _permissions(scopes: list[str]) -> list[Permission]:
    wanted: list[Permission] = []
    for scope in ["read", *scopes]:
        if scope not in SCOPES:
            raise InputError(
                {
                    "scopes": [
                        _("Unknown scope %(scope)s: use %(choices)s.") % {"scope": scope, "choices": ", ".join(SCOPES)}
                    ]
                }
            )
        for dotted in SCOPES[scope]:
            app_label, codename = dotted.split(".", 1)
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return wanted


@transaction.atomic
def system_account_create(*, user: User, name: str, scopes: list[str], reason: str) -> User:
    """Create the account of a connected system (``name``: ERP, WMS…). Preconditions: ``user`` is
    a system administrator; the name is new. Writes the user (flagged as a system account, no
    usable password, no role) with its history row and reason, and its permissions."""
    _require_admin(user)
    name = (name or "").strip()
    if not name or not name.replace("-", "").replace("_", "").isalnum() or len(name) > 40:
        raise InputError({"name": [_("Name the connected system with letters, digits, - or _ (e.g. ERP).")]})
    username = f"system-{name.lower()}"
    if User.objects.filter(username__iexact=username).exists():
        raise InputError({"name": [_("A system account %(name)s already exists.") % {"name": username}]})
    permissions = _permissions(scopes)
    account = User(username=username, full_name="", first_name=name, is_system_account=True)
    account.set_unusable_password()
    account._history_user = user
    account._change_reason = (reason or "").strip() or f"system account for {name} created"
    account.save()
    account.user_permissions.set(permissions)
    return account


@transaction.atomic
def api_token_issue(*, user: User, account: User, request=None) -> tuple[ApiToken, str]:
    """Issue a new token for ``account`` and revoke the ones it had (one working token per
    connected system: rotating is issuing). Returns the token row and the key — shown once,
    only its SHA-256 is stored. Writes an ``AuthEvent`` (issued) and one per revoked token."""
    _require_admin(user)
    account = User.objects.select_for_update().get(pk=account.pk)
    if not account.is_system_account:
        raise WorkflowError(_("Tokens are issued to system accounts only, never to a person."))
    if not account.is_active:
        raise WorkflowError(_("The account is deactivated."))
    for old in ApiToken.objects.select_for_update().filter(account=account, revoked_at__isnull=True):
        _revoke(old, user, "replaced by a new token", request)
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(account=account, prefix=key[:10], key_sha256=token_digest(key), created_by=user)
    AuthEvent.objects.create(
        kind=AuthEvent.Kind.API_TOKEN_ISSUED,
        username=account.username,
        user=account,
        actor=user,
        ip_address=_ip(request),
        detail=token.prefix,
    )
    return token, key


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def _revoke(token: ApiToken, user: User, reason: str, request) -> None:
    token.revoked_at = timezone.now()
    token.revoked_by = user
    token.revoke_reason = reason
    token.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    AuthEvent.objects.create(
        kind=AuthEvent.Kind.API_TOKEN_REVOKED,
        username=token.account.username,
        user=token.account,
        actor=user,
        ip_address=_ip(request),
        detail=f"{token.prefix}: {reason}",
    )


@transaction.atomic
def api_token_revoke(*, user: User, account: User, reason: str, request=None) -> int:
    """Revoke every working token of ``account`` at once (the connected system is cut off).
    Needs a reason. Writes an ``AuthEvent`` per token. Returns how many were revoked."""
    _require_admin(user)
    reason = (reason or "").strip()
    if not reason:
        raise InputError({"reason": [_("Give the reason for revoking the token.")]})
    tokens = list(
        ApiToken.objects.select_for_update().select_related("account").filter(account=account, revoked_at__isnull=True)
    )
    for token in tokens:
        _revoke(token, user, reason, request)
    return len(tokens)
