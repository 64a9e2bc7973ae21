"""SHA-256 in one place: of bytes, of a file (uploaded or stored), and of data in canonical JSON.

Signatures, issued documents, raw-data attachments and content digests all rest on these, so a
value hashes the same however it was typed or read back (10, 10.0 and 10.00 are one quantity;
times are UTC to the microsecond).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

CHUNK = 1 << 16


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_chunks(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def sha256_upload(upload) -> str:
    """SHA-256 of an uploaded file; rewinds it so it can still be saved."""
    digest = sha256_chunks(upload.chunks())
    upload.seek(0)
    return digest


def sha256_stored(field_file) -> str | None:
    """SHA-256 of a FileField's file as it is in storage now; None when it is missing or unreadable."""
    try:
        handle = field_file.storage.open(field_file.name, "rb")
    except (FileNotFoundError, OSError, ValueError):
        return None
    with handle:
        return sha256_chunks(iter(lambda: handle.read(CHUNK), b""))


_PLAIN = frozenset({str, int, bool, float})


def canonical(value: Any) -> Any:
    """``value`` in the form that is hashed: Decimals normalised, datetimes in UTC, dates ISO."""
    kind = type(value)
    if value is None or kind in _PLAIN:  # most values: returned as they are, at once
        return value
    # Plain dicts and lists next (signed content, stored states): their plain members without a
    # call each. The same result as the general cases below, only sooner (the integrity check
    # hashes every signature: this was a fifth of its time).
    if kind is dict:
        return {
            (k if type(k) is str else str(k)): (v if v is None or type(v) in _PLAIN else canonical(v))
            for k, v in value.items()
        }
    if kind is list:
        return [v if v is None or type(v) in _PLAIN else canonical(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    return value


def canonical_json(value: Any) -> str:
    """Canonical JSON: keys sorted, no spaces, UTF-8 text kept as is."""
    return json.dumps(canonical(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def sha256_json(value: Any) -> str:
    return sha256_bytes(canonical_json(value).encode("utf-8"))
