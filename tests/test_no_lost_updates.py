"""No lost updates on any edit form (issue 8 item 7; R-AT-1, R-UX-2): two open copies of the same
edit form — two people, or one person in two tabs —; the second save is refused naming who changed
the record and when, instead of silently putting the first change back."""

from __future__ import annotations

import pytest

from tests.crawl import PageForms, client_as, seed_with_drafts

pytestmark = pytest.mark.django_db


def _edit_urls():
    from aftersales.models import Customer
    from qc_records.models import Instrument, Reagent, Sample, Specification, SpecificationItem

    spec = Specification.objects.filter(status="draft").order_by("pk").first()
    item = SpecificationItem.objects.filter(specification=spec, voided_at__isnull=True).order_by("pk").first()
    return [
        ("qc_head", f"/qc/instruments/{Instrument.objects.order_by('pk').first().pk}/edit/"),
        ("qc_analyst", f"/qc/reagents/{Reagent.objects.order_by('pk').first().pk}/edit/"),
        ("qc_analyst", f"/qc/samples/{Sample.objects.filter(records__isnull=True).order_by('pk').first().pk}/edit/"),
        ("qc_head", f"/qc/specifications/{spec.pk}/edit/"),
        ("qc_head", f"/qc/specification-items/{item.pk}/edit/"),
        ("sales", f"/aftersales/customers/{Customer.objects.order_by('pk').first().pk}/edit/"),
    ]


def _form(client, url) -> dict:
    parser = PageForms()
    parser.feed(client.get(url).content.decode())
    (form,) = [f for f in parser.forms if "version" in f["fields"]]
    return {name: field["value"] for name, field in form["fields"].items() if field["kind"] != "file"}


def _text_field(data: dict, skip: set) -> str:
    for name in (
        "name",
        "title",
        "location",
        "source",
        "concentration",
        "notes",
        "address",
        "contact_person",
        "method_reference",
        "unit",
        "condition_on_receipt",
        "sampling_point",
        "supplier",
        "standard_reference",
        "name_en",
    ):
        if name in data and name not in skip:
            return name
    raise AssertionError(f"no text field to change in {sorted(data)}")


def test_every_edit_form_refuses_a_save_over_a_newer_version():
    seed_with_drafts()
    checked = []
    for role, url in _edit_urls():
        first, second = client_as(role), client_as(role)
        mine, theirs = _form(first, url), _form(second, url)
        assert mine["version"] and mine["version"] == theirs["version"], url
        field = _text_field(mine, set())
        saved = first.post(url, {**mine, field: mine[field] + "（一）", "reason": "第一处修改"})
        assert saved.status_code == 302, (url, saved.content.decode()[:1500])
        other = _text_field(theirs, {field})
        refused = second.post(url, {**theirs, other: theirs[other] + "（二）", "reason": "第二处修改"})
        page = refused.content.decode()
        assert refused.status_code in (200, 400), url
        assert "changed this record at" in page, url
        assert theirs[other] + "（二）" in page, url  # what the second person typed is kept
        checked.append(url)
    assert len(checked) == 6
