"""Every field of a signed record is signed or declared unsigned with a reason (issue 8 item 1; R-SIG-3).

A signature must cover everything that gives the signed record its meaning: its content
(``SIGNED_FIELDS``, hashed from the record as it is), and its state — status, verdict, numbers,
who did each step, the identity of linked records (``SIGNED_STATE``, recorded on the signature
under its keyed hash and compared by the integrity check). A field added to a signed model
without deciding which it is fails here.
"""

from __future__ import annotations

import pytest
from django.apps import apps

# Bookkeeping every audited record has; none of it is what a signer attests.
COMMON_UNSIGNED = {
    "id": "the record's identity is in every signature's hash (model and primary key)",
    "voided_at": "voiding is its own signed act with a reason; a change without it is reported as having no audit-trail row",
    "void_reason": "as voided_at",
    "created_at": "when the row was created: the audit trail's first row",
    "updated_at": "when the data last changed: the audit trail says it, row by row",
    "last_changed_by": "who last changed the data: the audit trail says it, row by row",
}


def _signed_models():
    return sorted((m for m in apps.get_models() if getattr(m, "SIGNED_FIELDS", None)), key=lambda m: m._meta.label)


@pytest.mark.parametrize("model", _signed_models(), ids=lambda m: m._meta.label)
def test_every_field_is_signed_or_declared_unsigned_with_a_reason(model):
    signed = set(model.SIGNED_FIELDS)
    state = {path.split(".", 1)[0] for path in getattr(model, "SIGNED_STATE", ())}
    unsigned = {**COMMON_UNSIGNED, **getattr(model, "UNSIGNED_FIELDS", {})}
    undecided = [f.name for f in model._meta.concrete_fields if f.name not in signed | state and f.name not in unsigned]
    assert undecided == [], f"{model._meta.label}: sign these (SIGNED_FIELDS / SIGNED_STATE) or say why not"
    assert all(reason.strip() for reason in getattr(model, "UNSIGNED_FIELDS", {}).values())


@pytest.mark.parametrize("model", _signed_models(), ids=lambda m: m._meta.label)
def test_signed_state_paths_name_real_fields(model):
    for path in getattr(model, "SIGNED_STATE", ()):
        if path in getattr(model, "DERIVED_STATE", {}):
            # A value computed from related rows: the model must compute it (a property).
            assert isinstance(getattr(model, path, None), property), f"{model._meta.label}.{path} is not a property"
            continue
        current = model
        *links, last = path.split(".")
        for link in links:
            current = current._meta.get_field(link).related_model
        current._meta.get_field(last)  # raises FieldDoesNotExist for a typo


def test_a_status_needing_a_signature_is_part_of_the_signed_state():
    """A record whose status needs a signature records that status in the signature, so a status
    changed after signing is reported (not only a status with no signature)."""
    missing = [
        m._meta.label
        for m in _signed_models()
        if getattr(m, "REQUIRED_SIGNATURES", None)
        and "status" not in getattr(m, "SIGNED_STATE", ())
        and "status" not in m.SIGNED_FIELDS
    ]
    assert missing == []
