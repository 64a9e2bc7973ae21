from decimal import Decimal

import pytest

from core.templatetags.core_tags import plain_number
from tests.factories import BatchFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "shown"),
    [(Decimal("300000.000"), "300000"), (Decimal("0.250"), "0.25"), (Decimal("1E+5"), "100000"), (None, "")],
)
def test_plain_number_never_uses_scientific_notation(value, shown):
    assert plain_number(value) == shown


def test_batch_pages_show_the_size_as_typed(production_reviewer, client_for):
    """R-UX-1: 300000 capsules is shown as 300000, not 3E+5."""
    batch = BatchFactory(batch_size=Decimal("300000"))
    client = client_for(production_reviewer)
    for url in (batch.get_absolute_url(), "/release/batches/"):
        html = client.get(url).content.decode()
        assert "300000" in html and "3E+5" not in html


def test_my_work_names_roles_in_the_readers_language(qa_reviewer, client_for):
    """R-UX-1, R-UX-3: the role line uses the translated role name, not the group's code name."""
    html = client_for(qa_reviewer).get("/").content.decode()
    assert "QA审核员" in html or "QA 审核员" in html
    assert "qa_reviewer</p>" not in html
