"""The batch dossier: one machine-readable copy of every release record of a batch (R-REC-3).

Batch and product data, the release review with every checklist answer as signed, QA's conclusions,
the decision, holds, deviations and change controls, QC's summary, every signature (with whether it
still verifies), every history row (who, when, old → new, why) and the issued documents with their
SHA-256 and verification codes — the PDFs themselves are downloaded from the links given.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from core.audit_trail import record_timeline
from core.models import Document
from core.signatures import signatures_for
from qc_records.for_release import batch_qc_summary
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
