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
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core import keys
from core.auth import client_ip, record_password_failure
from core.models import AuthEvent, Signature, SignatureChain, User, signed_state
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
    if getattr(user, "is_system_account", False):
        # R-API-1 / R-SIG-5: a connected system calling the API is not a person; nothing it sends
        # is ever signed, whatever permissions an administrator gave it.
        raise SignatureError(_("System accounts of connected systems cannot sign: a signature is a person's act."))
    if user.is_locked:
        raise SignatureError(_("This account is locked and cannot sign. Ask a system administrator to unlock it."))
    if user.must_change_password or not user.has_usable_password():
        # R-AUTH-5, R-SIG-5: a password an administrator set (or could have set) signs nothing.
        raise SignatureError(
            _("Choose your own password before signing: a password set by an administrator cannot sign.")
        )
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
    with transaction.atomic():
        # The chain head is locked first: signatures are written one after another, each linked to
        # the one before, whatever the number of processes signing at the same moment.
        head = lock_chain_head()
        stored = type(record)._base_manager.get(pk=record.pk)
        signed_at = timezone.now()
        kid = keys.current_key_id()
        signature = Signature(
            signer=user,
            printed_name=user.printed_name,
            meaning=meaning,
            signed_at=signed_at,
            comment=comment.strip(),
            content_type=ContentType.objects.get_for_model(stored, for_concrete_model=True),
            object_id=stored.pk,
            record_label=str(stored)[:255],
            key_id=kid,
            previous_hash=head.last_hash,
            state=signed_state(stored),
        )
        signature.record_hash = signature.expected_hash(stored)
        signature.save()
        if not head.legacy_seal:
            head.legacy_seal_key_id = kid
            head.legacy_seal = legacy_seal(head.legacy_boundary_id, kid) or ""
        head.last_signature_id = signature.pk
        head.last_hash = signature.record_hash
        head.save()
    return signature


def lock_chain_head() -> SignatureChain:
    """The chain head, locked until the end of the transaction (created if missing)."""
    head = SignatureChain.objects.select_for_update().filter(pk=SignatureChain.HEAD_PK).first()
    if head is not None:
        return head
    last = Signature.objects.order_by("-id").values("id", "record_hash").first() or {}
    legacy = Signature.objects.filter(key_id="").order_by("-id").values_list("id", flat=True).first() or 0
    try:
        with transaction.atomic():
            SignatureChain.objects.create(
                pk=SignatureChain.HEAD_PK,
                last_signature_id=last.get("id"),
                last_hash=last.get("record_hash", ""),
                legacy_boundary_id=legacy,
            )
    except IntegrityError:
        pass  # created by a concurrent signing: lock that one
    return SignatureChain.objects.select_for_update().get(pk=SignatureChain.HEAD_PK)


LEGACY_SEAL_CHUNK = 5000


def legacy_seal(boundary_id: int, kid: str) -> str | None:
    """HMAC over every unkeyed signature up to ``boundary_id`` (id and hash, in id order)."""
    mac = keys.hmac_stream(kid)
    if mac is None:
        return None
    mac.update(f"legacy signatures up to {boundary_id}\n".encode())
    after = 0
    while True:
        rows = list(
            Signature.objects.filter(key_id="", id__gt=after, id__lte=boundary_id)
            .order_by("id")
            .values_list("id", "record_hash")[:LEGACY_SEAL_CHUNK]
        )
        for pk, record_hash in rows:
            mac.update(f"{pk}:{record_hash}\n".encode())
        if len(rows) < LEGACY_SEAL_CHUNK:
            return mac.hexdigest()
        after = rows[-1][0]


def signatures_for(record: models.Model, *, as_loaded: bool = False) -> list[tuple[Signature, bool]]:
    """The record's signatures, oldest first, each with whether it still verifies.

    ``as_loaded``: the caller read ``record`` from the database in this request and changed
    nothing on it, so it is verified as it is instead of being read again (one query less)."""
    return signatures_by_record([record], as_loaded=as_loaded).get(record.pk, [])


def signatures_by_record(
    records: list[models.Model], *, as_loaded: bool = False
) -> dict[Any, list[tuple[Signature, bool]]]:
    """``signatures_for`` of several records of one model in two queries (one with ``as_loaded``),
    whatever their number: a page listing steps or investigations with their signatures makes no
    query per row (issue 12)."""
    if not records:
        return {}
    model = type(records[0])
    pks = [r.pk for r in records]
    stored = {r.pk: r for r in records} if as_loaded else model._base_manager.in_bulk(pks)
    ct = ContentType.objects.get_for_model(model, for_concrete_model=True)
    out: dict[Any, list[tuple[Signature, bool]]] = {pk: [] for pk in pks}
    for sig in Signature.objects.filter(content_type=ct, object_id__in=pks).select_related("signer"):
        record = stored.get(sig.object_id)
        out[sig.object_id].append((sig, sig.is_valid(record) if record is not None else False))
    return out
