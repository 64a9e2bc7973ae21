"""Helpers shared by the audit-trail tests (tests/core/test_audit_*.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.apps import apps

from core.models import AuthEvent, Signature
from release.models import Product

SHANGHAI = ZoneInfo("Asia/Shanghai")


def history_models() -> list:
    """Every history table, found by its columns (independently of core.audit's own list)."""
    found = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if {"history_id", "history_date", "history_type", "history_change_reason"} <= names:
            found.append(model)
    return found


# History tables, signatures and security events, plus any other model that declares itself
# append-only (e.g. issued documents).
APPEND_ONLY_MODELS = sorted(
    set(history_models()) | {Signature, AuthEvent} | {m for m in apps.get_models() if getattr(m, "APPEND_ONLY", False)},
    key=lambda m: m._meta.label,
)


def changes(entry) -> dict[str, tuple[str, str]]:
    return {c.name: (c.old, c.new) for c in entry.changes}


def product_form_data(product: Product, **overrides) -> dict:
    data = {}
    for name in Product.EDITABLE_FIELDS:
        value = getattr(product, name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = value
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
