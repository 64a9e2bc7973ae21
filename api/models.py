"""The integration API's own records: the tokens of connected systems and the log of every call.

A connected system (ERP, WMS, LIMS) is a ``core.User`` with ``is_system_account`` set: it holds
model permissions an administrator chose (never a role), cannot sign in to pages and cannot sign
(``core.signatures.check_may_sign``). Its token is shown once and only its SHA-256 is kept, so a
copy of the database does not hand out working tokens.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedQuerySet, AuditError


class ApiToken(models.Model):
    """One token of a system account. Issued and revoked by ``api.services`` only; both acts are
    security events (``AuthEvent``: who, when, which account). Never deleted: a revoked token
    stays, so the request log always names a token that existed."""

    account = models.ForeignKey(
        "core.User", verbose_name=_("system account"), on_delete=models.PROTECT, related_name="api_tokens"
    )
    # The first characters of the token, to tell tokens apart in lists (not enough to use it).
    prefix = models.CharField(_("token prefix"), max_length=12)
    key_sha256 = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    created_by = models.ForeignKey("core.User", verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        "core.User", verbose_name=_("revoked by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(_("reason for revocation"), blank=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account.username} {self.prefix}…"

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError("API tokens are revoked, never deleted.")


class ApiRequest(models.Model):
    """One call to the API: which account (none when the token was missing or refused), method,
    path, answer status, time (R-API-1: each call audited with the account).

    Append-only (database triggers, like the audit trail). Ten years of an ERP posting shipments
    is millions of rows: the table is read by account and time, newest first — that is its index.
    """

    APPEND_ONLY = True

    at = models.DateTimeField(_("time"), default=timezone.now)
    account = models.ForeignKey(
        "core.User",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    token = models.ForeignKey(
        ApiToken, verbose_name=_("token"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=500)
    status = models.PositiveSmallIntegerField(_("status"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["account", "-at", "-id"], name="api_request_account_at"),
            models.Index(fields=["-at", "-id"], name="api_request_at"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditError("API calls are logged once and never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError("API calls are logged once and never deleted.")
