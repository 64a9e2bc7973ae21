"""The batch dossier: one machine-readable copy of every release record of a batch (R-REC-3).

Batch and product data, the release review with every checklist answer as signed, QA's conclusions,
the decision, holds, deviations and change controls, QC's summary, every signature (with whether it
still verifies), every history row (who, when, old → new, why) and the issued documents with their
SHA-256 and verification codes. ``dossier_bundle`` packs that JSON with every issued PDF of the
batch (its QC reports, the certificate or nonconforming-product report, every version) and a
manifest of SHA-256 hashes into one ZIP.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from typing import Any

from django.db import models
from django.utils import timezone

from core.audit_trail import record_timeline
from core.models import Document
from core.signatures import signatures_for
from qc_records.for_release import batch_documents, batch_qc_summary
from release.models import (
    Batch,
    BatchHold,
    BatchMaterial,
    ChangeControl,
    Deviation,
    MaterialBalance,
    ReleaseReview,
    ReviewStep,
)

FORMAT = "release-desk/batch-dossier/1"


def _fields(obj: models.Model) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        out[f.name] = getattr(obj, f.attname)
    return out


def _history(obj: models.Model) -> list[dict[str, Any]]:
    return [
        {
            "when": e.when,
            "user": e.username,
            "printed_name": e.printed_name,
            "action": e.action,
            "reason": e.reason,
            "changes": [{"field": c.name, "old": c.old, "new": c.new} for c in e.changes],
        }
        for e in record_timeline(type(obj), obj.pk)
    ]


def _signatures(obj: models.Model) -> list[dict[str, Any]]:
    return [
        {
            "signer": sig.signer.username,
            "printed_name": sig.printed_name,
            "meaning": sig.meaning,
            "signed_at": sig.signed_at,
            "comment": sig.comment,
            "record_hash": sig.record_hash,
            "valid": valid,
        }
        for sig, valid in signatures_for(obj)
    ]


def _record(obj: models.Model) -> dict[str, Any]:
    return {
        "record": obj._meta.label,
        "id": obj.pk,
        "data": _fields(obj),
        "signatures": _signatures(obj),
        "history": _history(obj),
    }


def _documents(records: list[models.Model]) -> list[dict[str, Any]]:
    from django.contrib.contenttypes.models import ContentType

    out = []
    for obj in records:
        ct = ContentType.objects.get_for_model(obj)
        for d in Document.objects.filter(content_type=ct, object_id=obj.pk).order_by("issued_at", "pk"):
            out.append(
                {
                    "kind": d.kind,
                    "number": d.number,
                    "version": d.version,
                    "sha256": d.sha256,
                    "verification_code": d.verification_code,
                    "issued_at": d.issued_at,
                    "download": f"/documents/{d.pk}/download/",
                }
            )
    return out


def batch_dossier(batch: Batch) -> dict[str, Any]:
    review = ReleaseReview.objects.filter(batch=batch).first()
    steps = list(ReviewStep.objects.filter(review=review).order_by("signed_at", "pk")) if review else []
    qc = batch_qc_summary(batch)
    return {
        "format": FORMAT,
        "exported_at": timezone.now(),
        "product": _fields(batch.product),
        "batch": _record(batch),
        "release_review": _record(review) if review else None,
        "review_steps": [_record(s) for s in steps],
        "holds": [_record(h) for h in BatchHold.objects.filter(batch=batch).order_by("placed_at", "pk")],
        "deviations": [_record(d) for d in Deviation.objects.filter(batches=batch).order_by("raised_at", "pk")],
        "change_controls": [
            _record(c) for c in ChangeControl.objects.filter(batches=batch).order_by("raised_at", "pk")
        ],
        # R-MAT-1, R-REL-8: what the batch was made with (each lot with its release signature) and
        # the material balance of each step.
        "bill_of_materials": [
            {**_record(m), "lot": _record(m.lot)}
            for m in BatchMaterial.objects.filter(batch=batch).select_related("lot").order_by("pk")
        ],
        "material_balances": [_record(b) for b in MaterialBalance.objects.filter(batch=batch).order_by("pk")],
        "qc_summary": {
            "status": qc.status,
            "findings": [
                {"code": f.code, "ok": f.ok, "message": f.message, "evidence": [e.label for e in f.evidence]}
                for f in qc.findings
            ],
            "records": [e.label for e in qc.records],
        },
        "documents": _documents(steps),
    }


BUNDLE_FORMAT = "release-desk/batch-dossier-bundle/1"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "document"


def _release_documents(batch: Batch) -> list[Document]:
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(ReviewStep)
    steps = ReviewStep.objects.filter(review__batch=batch).values("pk")
    return list(Document.objects.filter(content_type=ct, object_id__in=steps).order_by("issued_at", "pk"))


def dossier_bundle(batch: Batch, *, exported_by: str) -> bytes:
    """The batch dossier as a ZIP (R-REC-3): ``dossier.json``, every issued PDF of the batch under
    ``documents/`` (QC reports, then the release documents; superseded versions too), and
    ``manifest.json`` plus ``SHA256SUMS`` (``sha256sum -c`` format) with the SHA-256 of every file.
    Each PDF's hash is compared with the one recorded when it was issued: a changed or missing file
    is still listed, marked ``intact: false`` / ``missing: true``, never silently dropped."""
    from django.core.serializers.json import DjangoJSONEncoder

    body = json.dumps(batch_dossier(batch), cls=DjangoJSONEncoder, ensure_ascii=False, indent=1).encode()
    documents = [*batch_documents(batch.pk), *_release_documents(batch)]
    superseded = {d.supersedes_id for d in documents if d.supersedes_id}
    files: list[dict[str, Any]] = [
        {"path": "dossier.json", "sha256": hashlib.sha256(body).hexdigest(), "size": len(body), "kind": "dossier"}
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("dossier.json", body)
        for n, d in enumerate(documents, start=1):
            path = f"documents/{n:03d}-{d.kind}-{_safe(d.number)}-v{d.version}.pdf"
            entry: dict[str, Any] = {
                "path": path,
                "kind": d.kind,
                "number": d.number,
                "version": d.version,
                "superseded": d.pk in superseded,
                "verification_code": d.verification_code,
                "issued_at": d.issued_at,
                "recorded_sha256": d.sha256,
            }
            try:
                with d.file.open("rb") as f:
                    pdf = f.read()
            except (FileNotFoundError, ValueError, OSError):
                entry.update(missing=True, intact=False, sha256=None, size=0)
                files.append(entry)
                continue
            digest = hashlib.sha256(pdf).hexdigest()
            entry.update(missing=False, intact=digest == d.sha256, sha256=digest, size=len(pdf))
            bundle.writestr(path, pdf)
            files.append(entry)
        manifest = {
            "format": BUNDLE_FORMAT,
            "batch": batch.batch_number,
            "product": str(batch.product),
            "exported_at": timezone.now(),
            "exported_by": exported_by,
            "files": files,
        }
        bundle.writestr(
            "manifest.json", json.dumps(manifest, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1).encode()
        )
        sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in files if f.get("sha256"))
        bundle.writestr("SHA256SUMS", sums.encode())
    return buffer.getvalue()
