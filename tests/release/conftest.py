"""Release-review fixtures: a batch with an approved QC report, one person per stage, a designated QP."""

from __future__ import annotations

from datetime import date

import pytest

from release import services
from tests.release.review_helpers import approved_qc, designate, people


@pytest.fixture
def p(users, make_user):
    return people(users, make_user)


@pytest.fixture
def review_batch(approved_product, p, users):
    batch = services.batch_create(
        user=p.production,
        data=dict(
            product=approved_product,
            batch_number="R2611001",
            batch_size=120000,
            batch_size_unit="capsules",
            manufacture_date=date(2026, 11, 2),
            site="固体制剂车间一",
        ),
    )
    approved_qc(batch, users)
    return batch


@pytest.fixture
def designation(p, approved_product):
    (d,) = designate(p.admin, p.qp, approved_product)
    return d
