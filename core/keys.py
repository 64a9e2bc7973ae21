"""The signature key: HMAC-SHA256 over a signature's content, with a key that is not in the database.

Anyone who can write to the database can recompute a plain SHA-256; without the key they cannot
compute an HMAC, so a forged or altered signature row no longer verifies (R-SIG-3, issue 8).

* ``SIGNATURE_KEY`` (environment) signs every new signature.
* ``SIGNATURE_KEYS_OLD`` (environment, comma-separated) keeps signatures made with earlier keys
  verifiable after a rotation.
* Each signature stores the id of its key. The id is derived from the key (a short hash of it),
  so a rotated key never has to be named by hand and two keys never share an id.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.conf import settings

from core.hashing import canonical_json


def key_id(key: str) -> str:
    """The public name of a key: ``k`` and the first 12 hex digits of a hash of it."""
    return "k" + hashlib.sha256(b"release-desk signature key id\0" + key.encode()).hexdigest()[:12]


def current_key_id() -> str:
    return key_id(settings.SIGNATURE_KEY)


def _keys() -> dict[str, str]:
    return _keys_for(settings.SIGNATURE_KEY, tuple(getattr(settings, "SIGNATURE_KEYS_OLD", None) or ()))


@functools.lru_cache(maxsize=8)
def _keys_for(current: str, old: tuple[str, ...]) -> dict[str, str]:
    # Cached by the settings' values (the integrity check hashes ~1.4 million signatures; each
    # key id is a SHA-256 of the key): a changed setting is a new entry, never a stale one.
    keys = {key_id(k): k for k in old if k}
    keys[key_id(current)] = current
    return keys


def known_key_ids() -> set[str]:
    return set(_keys())


def hmac_json(kid: str, payload) -> str | None:
    """HMAC-SHA256 of ``payload`` in canonical JSON with key ``kid``; None when the key is unknown."""
    key = _keys().get(kid)
    if key is None:
        return None
    return hmac.new(key.encode(), canonical_json(payload).encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_stream(kid: str):
    """An HMAC object to feed in pieces (the seal over legacy signatures); None when the key is unknown."""
    key = _keys().get(kid)
    if key is None:
        return None
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def equal(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)
