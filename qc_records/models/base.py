"""What every QC model shares: the test categories and who last changed a record."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import ChangeTracked
from core.hashing import sha256_json


class Category(models.TextChoices):
    """What is tested; also the ledger (台帐) and monthly archive categories of 检验原始记录管理规程 4.3.2."""

    FINISHED_PRODUCT = "finished_product", _("Finished product")
    INTERMEDIATE = "intermediate", _("Intermediate product")
    RAW_MATERIAL = "raw_material", _("Raw material / excipient")
    PACKAGING_MATERIAL = "packaging_material", _("Packaging material")
    WATER = "water", _("Water")
    ENVIRONMENT = "environment", _("Environmental monitoring")


# Categories whose subject is one of our products (a batch for finished products).
PRODUCT_CATEGORIES = {Category.FINISHED_PRODUCT, Category.INTERMEDIATE}


# Every QC model shows who last changed its data, and when: core's one definition.
Tracked = ChangeTracked


def _digest(payload: Any) -> str:
    return sha256_json(payload)
