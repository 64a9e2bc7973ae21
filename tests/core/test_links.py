"""core.links.link() gives what reverse() gives, for less (issue 12: a link per row of a page)."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix

from core.links import link


@pytest.mark.parametrize(
    ("name", "ids"),
    [
        ("release:batch_detail", (1,)),
        ("release:batch_detail", (987_654_321_012,)),
        ("release:batch_review", (0,)),
        ("qc_records:record_detail", (42,)),
        ("aftersales:return_detail", (7,)),
        ("recalls:recall_detail", (3,)),
        ("core:my_work", ()),
    ],
)
def test_link_is_what_reverse_gives(name, ids):
    assert link(name, *ids) == reverse(name, args=list(ids))


def test_what_reverse_refuses_is_still_refused():
    for bad in (-1, "abc", None, True):
        with pytest.raises(NoReverseMatch):
            link("release:batch_detail", bad)
    with pytest.raises(NoReverseMatch):
        link("release:batch_detail")  # the id missing


def test_the_script_prefix_of_the_moment_is_used():
    """Behind a proxy that mounts the site under a path, links carry it, as reverse()'s do."""
    try:
        set_script_prefix("/desk/")
        assert (
            link("release:batch_detail", 5) == reverse("release:batch_detail", args=[5]) == "/desk/release/batches/5/"
        )
    finally:
        set_script_prefix("/")
    assert link("release:batch_detail", 5) == "/release/batches/5/"


@pytest.mark.django_db
def test_records_link_to_their_pages(approved_product, admin_user):
    from tests.factories import BatchFactory

    batch = BatchFactory(product=approved_product, last_changed_by=admin_user)
    assert batch.get_absolute_url() == reverse("release:batch_detail", args=[batch.pk])
    assert approved_product.get_absolute_url() == reverse("release:product_detail", args=[approved_product.pk])
