"""Electronic signatures (21 CFR Part 11 §11.50, §11.70, §11.200; R-SIG-1…5).

Signing is two steps so that a wrong password is counted even though the workflow action that
wanted the signature is rolled back:

1. ``verify_signer(user=..., password=..., request=...)`` — outside the workflow transaction.
   Checks the password of the signed-in person; a wrong one is counted toward lockout and
   audited, then ``SignatureError`` is raised. Returns a single-use ``SigningCredential``.
2. ``sign(credential=..., record=..., meaning=..., comment=...)`` — inside the workflow service's
   transaction, after the record has been saved. Writes the ``Signature`` row.

No credential can be had without the password, and a credential signs once: every signature
re-asks the password (the strict reading of §11.200(a)(1)).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.auth import client_ip, record_password_failure
from core.models import AuthEvent, Signature, User
from core.workflow import SignatureError

# A credential is meant for the request that asked for the password, not to be kept.
CREDENTIAL_LIFETIME = timedelta(minutes=2)


@dataclass
class SigningCredential:
    user: User
    verified_at: object = field(default_factory=timezone.now)
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    used: bool = False


# Credentials issued by verify_signer() and not yet used: nonce -> (user id, time of the check).
# sign() accepts only a credential found here and removes it, so a SigningCredential built in code,
# a copy of a used one, or one whose person was swapped afterwards signs nothing (R-SIG-1, R-SIG-5).
# Process-local on purpose: the check and the signature happen in the same request.
_issued: dict[str, tuple[int, datetime]] = {}
_issued_lock = threading.Lock()


def _issue(user: User) -> SigningCredential:
    credential = SigningCredential(user=user)
    now = timezone.now()
    with _issued_lock:
        for nonce in [n for n, (_pk, at) in _issued.items() if now - at > CREDENTIAL_LIFETIME]:
            del _issued[nonce]
        _issued[credential.nonce] = (user.pk, credential.verified_at)
    return credential


def _redeem(credential: SigningCredential) -> tuple[int, datetime] | None:
    with _issued_lock:
        issued = _issued.pop(credential.nonce, None)
    if issued is None or credential.used or issued != (credential.user.pk, credential.verified_at):
        return None
    return issued


def _refuse(user: User, message: str, request: HttpRequest | None) -> SignatureError:
    AuthEvent.objects.create(
        kind=AuthEvent.Kind.SIGNATURE_REFUSED,
        username=user.username,
        user=user,
        ip_address=client_ip(request),
        detail=message,
    )
    return SignatureError(message)


def check_may_sign(user: User) -> None:
    """Raise SignatureError if this person may never sign (whatever the password)."""
    if not user.is_active:
        raise SignatureError(_("This account is deactivated and cannot sign."))
    if user.is_locked:
        raise SignatureError(_("This account is locked and cannot sign. Ask a system administrator to unlock it."))
    if user.is_system_admin:
        # R-SIG-5: the people who administer the system never sign GMP records.
        raise SignatureError(_("System administrators cannot sign GMP records."))
    if not (user.full_name or "").strip():
        # R-SIG-2 / 11.50: a signature shows the signer's printed name, never only a username.
        raise SignatureError(
            _("Your account has no full name, which every signature must show; ask a system administrator to add it.")
        )


def verify_signer(*, user: User, password: str, request: HttpRequest | None = None) -> SigningCredential:
    """Check the signing person's password again (R-SIG-1). Call outside any transaction."""
    if user is None or not user.is_authenticated:
        raise SignatureError(_("Sign in to sign."))
    # Re-read: the account may have been locked or deactivated since the page was loaded.
    user = get_user_model().objects.get(pk=user.pk)
    try:
        check_may_sign(user)
    except SignatureError as exc:
        raise _refuse(user, str(exc), request) from None
    if not password or not user.check_password(password):
        user = (
            record_password_failure(
                username=user.username,
                request=request,
                kind=AuthEvent.Kind.SIGNATURE_FAILED,
                detail="wrong signing password",
            )
            or user
        )
        if user.is_locked:
            raise SignatureError(
                _("Wrong password. The account is now locked; ask a system administrator to unlock it.")
            )
        raise SignatureError(_("Wrong password: the signature was not applied."))
    if user.failed_login_count:
        user.failed_login_count = 0
        user._change_reason = "correct signing password"
        user.save(update_fields=["failed_login_count"])
    return _issue(user)


def sign(
    *,
    credential: SigningCredential,
    record: models.Model,
    meaning: str,
    comment: str = "",
) -> Signature:
    """Write one Signature for ``record`` by the person who proved their password.

    Call inside the workflow transaction, after the record's final save. The hash is computed
    from the record as stored (re-read), so it matches what later verification reads.
    """
    if not isinstance(credential, SigningCredential):
        raise SignatureError(_("A signature needs the signer's password."))
    if meaning not in Signature.Meaning.values:
        raise SignatureError(f"Unknown signature meaning {meaning!r}.")
    issued = _redeem(credential)
    credential.used = True
    if issued is None:
        raise SignatureError(_("Each signature needs the password again."))
    user_pk, verified_at = issued
    if timezone.now() - verified_at > CREDENTIAL_LIFETIME:
        raise SignatureError(_("The password check has expired; sign again."))
    user = get_user_model().objects.get(pk=user_pk)
    check_may_sign(user)
    stored = type(record)._base_manager.get(pk=record.pk)
    signed_at = timezone.now()
    signature = Signature(
        signer=user,
        printed_name=user.printed_name,
        meaning=meaning,
        signed_at=signed_at,
        comment=comment.strip(),
        content_type=ContentType.objects.get_for_model(stored, for_concrete_model=True),
        object_id=stored.pk,
        record_label=str(stored)[:255],
        record_hash=Signature.compute_hash(record=stored, signer_id=user.pk, meaning=meaning, signed_at=signed_at),
    )
    signature.save()
    return signature


def signatures_for(record: models.Model) -> list[tuple[Signature, bool]]:
    """The record's signatures, oldest first, each with whether it still verifies."""
    stored = type(record)._base_manager.filter(pk=record.pk).first()
    rows = Signature.objects.for_record(record).select_related("signer")
    return [(sig, sig.is_valid(stored) if stored is not None else False) for sig in rows]
