"""Issued PDF documents: frozen data → bilingual HTML → WeasyPrint PDF → SHA-256 → append-only row.

R-SIG-2 (every PDF manifests each signature: printed name, meaning, local time with zone),
R-REL-6 (release certificate with signatures and verification code), R-REC-3 (PDF plus
machine-readable data), R-UX-1 (every PDF in 简体中文 and English).

How an app issues a document (QC test report, release certificate, recall report):

1. Inside the workflow service's transaction, build the document's data from the records as
   committed by this action — plain values, dates, decimals, lazy labels — not model instances.
2. Schedule the issue after commit with ``issue_after_commit``, so a rolled-back action issues
   no document and a slow render holds no lock::

       issue_after_commit(issue_release_certificate, batch_pk=batch.pk, user_pk=user.pk)

   ``issue_release_certificate`` is the app's function (its pdf.py) that re-reads the records
   by primary key and calls ``issue_document``. The issue runs as a background job
   (``core.jobs.issue_document_job``) and a failure is retried, then logged; it never undoes the
   action that committed; the app's download view issues a missing document on first request. The
   setting ``DOCUMENTS_ISSUE_ON_COMMIT`` (default true) can defer all issuing to that first
   request, e.g. for a bulk data load.

3. ``issue_document`` freezes the data, renders and hashes the PDF, stores the file and only
   then inserts the ``Document`` row (the row is append-only: it cannot be filled in later).

Templates extend ``pdf/base.html`` and label fields with ``{% bilingual _("Batch number") %}``
(from ``{% load documents %}``), which prints "批号 / Batch number"; values frozen from lazy
labels print both languages with ``{{ value|bilingual }}``.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise

from core.hashing import sha256_bytes, sha256_chunks
from core.models import Document, DocumentIssueJob, Signature, User

logger = logging.getLogger(__name__)

# Every document carries both languages side by side (R-UX-1), Chinese first.
DOCUMENT_LANGUAGES = ("zh-hans", "en")
# Keys issue_document adds to the frozen context; the caller's data may not use them.
RESERVED_KEYS = frozenset({"document", "signatures"})
ISSUE_ATTEMPTS = 3


# --- freezing ----------------------------------------------------------------------------------


def both_languages(text: str | Promise) -> dict[str, str]:
    """``{"zh-hans": "批号", "en": "Batch number"}`` for a lazy label or an English msgid.

    Pass the lazy label (``Batch._meta.get_field("batch_number").verbose_name``,
    ``DosageForm(value).label``), not ``get_FOO_display()``: that is already translated into
    whatever language was active, and cannot be translated again.
    """
    out = {}
    for lang in DOCUMENT_LANGUAGES:
        with translation.override(lang):
            out[lang] = str(text) if isinstance(text, Promise) else translation.gettext(text)
    return out


def is_bilingual(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == set(DOCUMENT_LANGUAGES)


def freeze(value: Any) -> Any:
    """Turn document data into plain JSON values, the form in which it is stored and rendered.

    Decimals become strings exactly as held ("0.250" keeps its significant figures); aware
    datetimes become ISO 8601 in the site's time zone with their offset; dates ISO dates; lazy
    translations both languages (``both_languages``). Model instances are refused: a document
    states the values it shows, not a pointer to a row that may change later.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)  # SafeString and friends become plain text: templates escape on output
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            raise TypeError(f"Naive datetime {value!r} in document data: use an aware datetime.")
        return timezone.localtime(value, timezone.get_default_timezone()).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Promise):
        return both_languages(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, models.Model):
        raise TypeError(f"{type(value).__name__} instance in document data: pass the values to print, not the record.")
    if isinstance(value, Mapping):
        return {str(k): freeze(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [freeze(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((freeze(v) for v in value), key=repr)
    raise TypeError(f"Cannot put {type(value).__name__} into a document's frozen data.")


def signature_manifest(signatures: Iterable[Signature], record: models.Model | None = None) -> list[dict[str, Any]]:
    """What a PDF prints for each signature (R-SIG-2), and whether it verified at issue (R-SIG-3).

    ``record`` (optional) is the stored record the signatures belong to, to save a query each.
    """
    out = []
    tz = timezone.get_default_timezone()
    record_ct = ContentType.objects.get_for_model(record, for_concrete_model=True) if record is not None else None
    for sig in signatures:
        same_record = record_ct is not None and sig.object_id == record.pk and sig.content_type_id == record_ct.pk
        out.append(
            {
                "id": sig.pk,
                "printed_name": sig.printed_name,
                "username": sig.signer.username,
                "meaning": sig.meaning,
                "meaning_label": both_languages(Signature.Meaning(sig.meaning).label),
                "signed_at": timezone.localtime(sig.signed_at, tz).isoformat(),
                "time_zone": str(tz),
                "record": sig.record_label,
                "comment": sig.comment,
                "valid": sig.is_valid(record if same_record else None),
            }
        )
    return out


# --- rendering ---------------------------------------------------------------------------------


def new_verification_code() -> str:
    """16 characters of RFC 4648 base32 (80 random bits): unguessable, easy to read out."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def normalise_code(text: str) -> str:
    """What a person typed (lower case, spaces, dashes as printed) → the stored form."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def verify_url(code: str) -> str:
    """The absolute address of a document's verification page (printed and in the QR code)."""
    return settings.SITE_URL + reverse("core:document_verify", args=[code])


def render_html(template_name: str, frozen: Mapping[str, Any]) -> str:
    # The page language is fixed: every label is printed in both languages explicitly, and
    # anything else must not depend on the language of whoever triggered the issue.
    with translation.override(DOCUMENT_LANGUAGES[0]):
        return render_to_string(template_name, dict(frozen))


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint, with fonts embedded (subset) and no network or file access.

    Everything a document shows comes from its frozen data: styles are inline and images (the
    QR code) are data: URIs, so the fetcher refuses any other URL — no plant-network timeouts,
    and no way for record text to pull in outside content.
    """
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=fetcher).write_pdf()


def render_pdf(template_name: str, frozen: Mapping[str, Any]) -> bytes:
    return html_to_pdf(render_html(template_name, frozen))


def _plain_title(title: str | Promise) -> str:
    if isinstance(title, Promise):
        texts = list(dict.fromkeys(both_languages(title).values()))
        return " / ".join(texts)
    return str(title)


# --- issuing -----------------------------------------------------------------------------------


def issue_after_commit(issue: Callable[..., Any], **kwargs: Any) -> None:
    """Issue ``issue(**kwargs)`` through a background job once the current transaction has
    committed (see the module docstring and ``core.jobs``).

    ``issue`` is a module-level function (the job row names it by its dotted path); pass primary
    keys, not model instances: ``issue`` re-reads what was committed. A failure is retried
    (``DOCUMENTS_ISSUE_ATTEMPTS``), then logged — the signed action stands, and the document is
    issued on first download instead. Does nothing when ``settings.DOCUMENTS_ISSUE_ON_COMMIT`` is false.
    """
    if not settings.DOCUMENTS_ISSUE_ON_COMMIT:
        return
    from core.jobs import enqueue_issue  # core.jobs imports the task backends

    enqueue_issue(issue, kwargs)


# The key of the background job running an issue function (core.jobs.issue_document_job sets it):
# ``issue_document`` records it with the document, so a re-run of the same job issues nothing new.
current_issue_job: ContextVar[str] = ContextVar("current_issue_job", default="")


def _issued_by_job(job_key: str) -> Document | None:
    row = DocumentIssueJob.objects.select_related("document").filter(job_key=job_key).first()
    return row.document if row else None


def issue_document(
    *,
    record: models.Model,
    kind: str,
    template_name: str,
    context: Mapping[str, Any],
    user: User,
    number: str = "",
    title: str | Promise = "",
    signatures: Iterable[Signature] | None = None,
) -> Document:
    """Render, hash, store and record one PDF document for ``record`` (R-SIG-2, R-REL-6, R-REC-3).

    Preconditions: ``record`` is saved; ``context`` holds plain values (see ``freeze``) and not
    the keys ``document`` or ``signatures``. ``signatures`` defaults to the record's own; pass
    others (e.g. the QC report's signatures on a release certificate) to manifest those.

    Effects: the next version for (kind, record) — 1, then 2 superseding 1, … — is rendered from
    the frozen context, written under ``MEDIA_ROOT/documents/YYYY/MM/`` and recorded as a
    ``Document`` row with its SHA-256 and a new verification code. Returns the row.

    Ordering, and why: ``Document`` rows are append-only (database triggers refuse UPDATE), so
    nothing can be filled in after the INSERT. Therefore: freeze the data → pick version and
    verification code → render and hash the PDF → write the file → INSERT the row. The PDF
    prints its own version and code, so they are chosen before rendering. Rendering takes
    a fraction of a second and holds no lock; two concurrent issues for the same record collide
    on the (kind, record, version) constraint, and the loser removes its file and renders the
    next version. Call it after the workflow transaction has committed
    (``transaction.on_commit``, see the module docstring): a document must never describe a
    state that was rolled back. If the process dies between writing the file and the INSERT, an
    orphan file is left that no row points to; it is never shown as a document.
    """
    if record.pk is None:
        raise ValueError("Save the record before issuing a document for it.")
    job_key = current_issue_job.get()
    if job_key and (done := _issued_by_job(job_key)) is not None:
        logger.info(
            "Document for job %s was issued before (%s v%s); not issued again.", job_key, done.kind, done.version
        )
        return done
    clash = RESERVED_KEYS & set(context)
    if clash:
        raise ValueError(f"Document data may not use the reserved keys {sorted(clash)}.")
    data = freeze(context)
    stored = type(record)._base_manager.get(pk=record.pk)
    if signatures is None:
        signatures = Signature.objects.for_record(stored).select_related("signer")
    manifest = signature_manifest(signatures, record=stored)
    ct = ContentType.objects.get_for_model(stored, for_concrete_model=True)
    tz = timezone.get_default_timezone()
    title_text = _plain_title(title)[:255]

    for attempt in range(1, ISSUE_ATTEMPTS + 1):
        previous = Document.objects.filter(kind=kind, content_type=ct, object_id=stored.pk).order_by("-version").first()
        version = previous.version + 1 if previous else 1
        code = new_verification_code()
        issued_at = timezone.now()
        meta = {
            "kind": kind,
            "number": number,
            "version": version,
            "supersedes_version": previous.version if previous else None,
            "title": freeze(title),
            "record": str(stored)[:255],
            "verification_code": code,
            "verification_code_display": "-".join(code[i : i + 4] for i in range(0, len(code), 4)),
            "verify_url": verify_url(code),
            "issued_at": timezone.localtime(issued_at, tz).isoformat(),
            "time_zone": str(tz),
            "issued_by": user.printed_name,
        }
        # Through JSON and back: the PDF is rendered from exactly what is stored (no SafeString
        # escaping differently, no non-JSON value that would print but not be kept).
        frozen = json.loads(json.dumps({**data, "document": meta, "signatures": manifest}, allow_nan=False))
        pdf = render_pdf(template_name, frozen)
        doc = Document(
            kind=kind,
            number=number,
            version=version,
            supersedes=previous,
            content_type=ct,
            object_id=stored.pk,
            record_label=meta["record"],
            title=title_text,
            template_name=template_name,
            context=frozen,
            sha256=sha256_bytes(pdf),
            size=len(pdf),
            verification_code=code,
            issued_at=issued_at,
            issued_by=user,
        )
        stamp = timezone.localtime(issued_at, tz)
        doc.file.save(f"{kind}-{stored.pk}-v{version}-{stamp:%Y%m%d%H%M%S}.pdf", ContentFile(pdf), save=False)
        try:
            with transaction.atomic():
                doc.save()
                if job_key:
                    DocumentIssueJob.objects.create(job_key=job_key, document=doc)
        except IntegrityError:
            doc.file.delete(save=False)
            if job_key and (done := _issued_by_job(job_key)) is not None:
                logger.warning(
                    "Document for job %s was issued by another run at the same time; kept that one.", job_key
                )
                return done
            if attempt == ISSUE_ATTEMPTS:
                raise
            logger.info(
                "Document %s v%s for %s was issued concurrently; rendering the next version.", kind, version, stored
            )
            continue
        return doc
    raise AssertionError("unreachable")


# --- verification ------------------------------------------------------------------------------


@dataclass
class SignatureCheck:
    printed: dict[str, Any]
    signature: Signature | None
    status: str  # "valid" | "valid_as_signed" | "invalid" | "mismatch" | "missing"

    @property
    def ok(self) -> bool:
        return self.status in ("valid", "valid_as_signed")


@dataclass
class DocumentCheck:
    """What the verification page reports about one issued document."""

    document: Document
    file_sha256: str | None
    signatures: list[SignatureCheck] = field(default_factory=list)
    newest: Document | None = None

    @property
    def file_missing(self) -> bool:
        return self.file_sha256 is None

    @property
    def file_intact(self) -> bool:
        return self.file_sha256 == self.document.sha256

    @property
    def signatures_ok(self) -> bool:
        return all(s.ok for s in self.signatures)

    @property
    def superseded(self) -> bool:
        return self.newest is not None and self.newest.pk != self.document.pk

    @property
    def ok(self) -> bool:
        return self.file_intact and self.signatures_ok


def _parse_datetime(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def check_document(document: Document) -> DocumentCheck:
    """Re-hash the stored file and re-verify every printed signature against its live row.

    A superseded version's record was corrected after it was issued (reopened with signatures,
    R-QC-10), so its signatures no longer match the record as it is now. For such a version each
    signature is verified against the record as it was when signed, read from the append-only
    audit trail, provided the record changed since only through the application
    (``Signature.superseded_by_audited_change``: "valid_as_signed"); a current version is always
    verified against the live record.
    """
    newest = document.newest_version()
    superseded = newest is not None and newest.pk != document.pk
    printed = document.context.get("signatures") or []
    ids = [p.get("id") for p in printed if isinstance(p, dict)]
    live = {s.pk: s for s in Signature.objects.filter(pk__in=ids).select_related("signer", "content_type")}
    checks = []
    for p in printed:
        sig = live.get(p.get("id"))
        if sig is None:
            status = "missing"
        elif (
            sig.printed_name != p.get("printed_name")
            or sig.meaning != p.get("meaning")
            or _parse_datetime(p.get("signed_at")) != sig.signed_at
        ):
            # The PDF prints something other than what was signed.
            status = "mismatch"
        else:
            status = "valid" if sig.is_valid() else "invalid"
            if status == "invalid" and superseded and sig.superseded_by_audited_change(sig.current_record()):
                status = "valid_as_signed"
        checks.append(SignatureCheck(printed=p, signature=sig, status=status))
    return DocumentCheck(
        document=document,
        file_sha256=document.stored_file_sha256(),
        signatures=checks,
        newest=newest,
    )


def sha256_of_upload(upload) -> str:
    return sha256_chunks(upload.chunks())
