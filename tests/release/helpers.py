"""Form data for the product and batch pages, as a browser would post it."""

from __future__ import annotations

from typing import Any

from release.models import Batch, Product


def product_form_data(product: Product | None = None, **overrides: Any) -> dict[str, Any]:
    """Every field of the product form; from ``product`` if given, else a valid new product."""
    if product is not None:
        data: dict[str, Any] = {name: getattr(product, name) for name in Product.EDITABLE_FIELDS}
    else:
        data = dict(
            name="头孢克肟胶囊",
            generic_name="头孢克肟胶囊 Cefixime Capsules",
            dosage_form="capsule",
            strength="0.1g",
            pack_size="6粒/盒",
            approval_number="国药准字H20990001",
            shelf_life_months=24,
            storage_conditions="遮光，密封保存",
            mah="示例制药有限公司",
            manufacturer="示例制药有限公司",
            requires_two_stage_release=False,
            requires_lot_release_certificate=False,
        )
    data.update(overrides)
    # Unchecked checkboxes are simply absent from a browser's POST.
    return {k: v for k, v in data.items() if v is not False and v is not None}


def batch_form_data(batch: Batch | None = None, **overrides: Any) -> dict[str, Any]:
    if batch is not None:
        data: dict[str, Any] = {name: getattr(batch, name) for name in Batch.EDITABLE_FIELDS}
        data["product"] = batch.product_id
    else:
        data = dict(
            batch_number="C2611001",
            batch_size="120000",
            batch_size_unit="capsules",
            manufacture_date="2024-05-10",
            expiry_date="",
            site="固体制剂车间一",
        )
    data.update(overrides)
    if hasattr(data.get("product"), "pk"):
        data["product"] = data["product"].pk
    for key in ("manufacture_date", "expiry_date"):
        if hasattr(data.get(key), "isoformat"):
            data[key] = data[key].isoformat()
    return {k: v for k, v in data.items() if v is not None}
