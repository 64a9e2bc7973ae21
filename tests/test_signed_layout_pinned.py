"""Stored signatures keep verifying (R-SIG-3): a signature's hash covers the record's
``SIGNED_FIELDS`` as they are listed *today*, so changing the list of a model that already has
signatures in a plant's database turns every one of them into "does not verify". Until signatures
carry the layout they were made under (core/README.md, "Changing what a model signs"), the lists
are pinned in ``core/signed_fields.json``: a change fails here and has to be made on purpose.
(``SIGNED_STATE`` is stored on each signature, so adding a state path breaks nothing.)
"""

from __future__ import annotations

import json
from pathlib import Path

from django.apps import apps

PINNED = Path(__file__).resolve().parents[1] / "core" / "signed_fields.json"


def current_layouts() -> dict[str, list[str]]:
    return {
        m._meta.label: list(m.SIGNED_FIELDS)
        for m in sorted(apps.get_models(), key=lambda m: m._meta.label)
        if getattr(m, "SIGNED_FIELDS", None)
    }


def changed_layouts(pinned: dict[str, list[str]], current: dict[str, list[str]]) -> list[str]:
    """Models whose signed fields differ from the pinned list (a new model is not a change)."""
    return sorted(label for label, fields in pinned.items() if current.get(label) != fields)


def test_no_signed_field_list_changed_without_saying_so():
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    changed = changed_layouts(pinned, current_layouts())
    assert changed == [], (
        f"SIGNED_FIELDS changed for {', '.join(changed)}: every signature of these models already stored "
        "in a database would stop verifying. If nothing is deployed with the old list, update "
        f"{PINNED.name} with the lists below; otherwise add a signature layout version first "
        "(core/README.md).\n" + json.dumps({k: current_layouts().get(k) for k in changed}, ensure_ascii=False)
    )


def test_every_signed_model_is_pinned():
    missing = sorted(set(current_layouts()) - set(json.loads(PINNED.read_text(encoding="utf-8"))))
    assert missing == [], f"add these models' SIGNED_FIELDS to {PINNED.name}: {missing}"


def test_a_reordered_or_shortened_list_is_a_change():
    pinned = {"release.Product": ["name", "strength"], "release.Batch": ["batch_number"]}
    assert changed_layouts(pinned, {"release.Product": ["strength", "name"], "release.Batch": ["batch_number"]}) == [
        "release.Product"
    ]
    assert changed_layouts(pinned, {"release.Product": ["name"], "release.Batch": ["batch_number"]}) == [
        "release.Product"
    ]
    assert changed_layouts(pinned, {**pinned, "recalls.Recall": ["number"]}) == []
