"""Material lots, bills of materials and material balances through the real services (R-MAT-1, R-REL-8)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from release import services
from release.models import MaterialLot
from tests.factories import PASSWORD


def lot_data(**overrides) -> dict:
    data = dict(
        material_name="阿莫西林",
        material_code="YL-001",
        supplier="示例原料药有限公司",
        supplier_lot="S2610-88",
        lot_number="YL2611001",
        received_date=date(2026, 10, 20),
        quantity=Decimal("500.000"),
        unit="kg",
        expiry_date=date(2028, 10, 19),
    )
    data.update(overrides)
    return data


def make_lot(user, **overrides) -> MaterialLot:
    """A lot in quarantine, registered by ``user``."""
    return services.material_lot_create(user=user, data=lot_data(**overrides))


def released_lot(registrar, qa, **overrides) -> MaterialLot:
    lot = make_lot(registrar, **overrides)
    return services.material_lot_release(lot=lot, user=qa, password=PASSWORD, comment="检验合格，准予使用")
