"""Stored files through Django's storage API (issue 13 item 5: more than one host).

Issued PDFs, raw-data attachments and licence scans are FileFields on the default storage: the
local ``MEDIA_ROOT`` (default) or an S3-compatible bucket that several application hosts share
(``STORAGE=s3``, django-storages; README "More than one host"). Nothing reads them by path.

Every file is served only after its SHA-256 is recomputed from what the storage returned and
compared with the hash recorded when it was stored (R-QC-7, R-SIG-3 for documents): a copy
changed in the bucket or on disk is refused, not delivered.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator

from django.core.files.storage import FileSystemStorage, Storage, default_storage

logger = logging.getLogger("core.storage")

CHUNK = 1 << 16
SPOOL_BYTES = 8 * 1024 * 1024  # larger files spill to a temporary file while they are checked


class StoredFileAltered(Exception):
    """The stored file's SHA-256 is not the one recorded when it was stored."""


def read_verified(field_file, expected_sha256: str):
    """The stored file, read completely and checked against ``expected_sha256``; returns a file
    object at its start. Raises ``FileNotFoundError`` (missing or unreadable) or
    ``StoredFileAltered``; logs the latter as an error (an integrity finding)."""
    try:
        source = field_file.storage.open(field_file.name, "rb")
    except (ValueError, OSError) as exc:  # FileNotFoundError is an OSError
        raise FileNotFoundError(str(exc)) from None
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    digest = hashlib.sha256()
    with source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            spool.write(chunk)
    actual = digest.hexdigest()
    if actual != expected_sha256:
        spool.close()
        logger.error(
            "Stored file %s does not match its recorded SHA-256 (recorded %s, read %s): not served",
            field_file.name,
            expected_sha256,
            actual,
        )
        raise StoredFileAltered(field_file.name)
    spool.seek(0)
    return spool


def altered_response():
    """What a person gets instead of a stored file that no longer matches its hash."""
    from django.http import HttpResponse
    from django.utils.translation import gettext as _

    return HttpResponse(
        _(
            "This file does not match the SHA-256 recorded when it was stored, so it is not served. "
            "Tell QA: the integrity check lists it."
        ),
        status=409,
        content_type="text/plain; charset=utf-8",
    )


def is_local(storage: Storage | None = None) -> bool:
    """Whether ``storage`` (default: the default storage) keeps files under ``MEDIA_ROOT``."""
    return isinstance(storage or default_storage, FileSystemStorage)


def walk(storage: Storage | None = None, top: str = "") -> Iterator[str]:
    """Every file name in ``storage`` (sorted, depth first), through the storage API: the backup
    reads an object store the same way as a directory."""
    storage = storage or default_storage
    directories, files = storage.listdir(top)
    for name in sorted(files):
        yield f"{top}/{name}" if top else name
    for directory in sorted(directories):
        yield from walk(storage, f"{top}/{directory}" if top else directory)
