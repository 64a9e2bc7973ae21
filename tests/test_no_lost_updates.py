"""No lost updates on any edit form (issue 8 item 7; R-AT-1, R-UX-2): two open copies of the same
edit form — two people, or one person in two tabs —; the second save is refused naming who changed
the record and when, instead of silently putting the first change back."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.crawl import PageForms, client_as, seed_with_drafts

pytestmark = pytest.mark.django_db


def _edit_urls():
    """(role, page showing the form, the form's action or "" for the page itself)."""
    from aftersales.models import ADRCase, Complaint, Customer
    from qc_records.models import Instrument, Reagent, Sample, Specification, SpecificationItem, TestRecord

    spec = Specification.objects.filter(status="draft").order_by("pk").first()
    item = SpecificationItem.objects.filter(specification=spec, voided_at__isnull=True).order_by("pk").first()
    record = TestRecord.objects.filter(status="draft").order_by("pk").first()
    complaint = Complaint.objects.filter(status="investigating").order_by("pk").first()
    case = ADRCase.objects.filter(status="open").order_by("pk").first()
    return [
        ("qc_head", f"/qc/instruments/{Instrument.objects.order_by('pk').first().pk}/edit/", ""),
        ("qc_analyst", f"/qc/reagents/{Reagent.objects.order_by('pk').first().pk}/edit/", ""),
        (
            "qc_analyst",
            f"/qc/samples/{Sample.objects.filter(records__isnull=True).order_by('pk').first().pk}/edit/",
            "",
        ),
        ("qc_head", f"/qc/specifications/{spec.pk}/edit/", ""),
        ("qc_head", f"/qc/specification-items/{item.pk}/edit/", ""),
        ("qc_analyst", f"/qc/records/{record.pk}/edit/", ""),  # the test-record result form
        ("sales", f"/aftersales/customers/{Customer.objects.order_by('pk').first().pk}/edit/", ""),
        ("qa_reviewer", f"/aftersales/complaints/{complaint.pk}/", "investigation/"),
        ("qa_reviewer", f"/aftersales/complaints/{complaint.pk}/", "decision/"),
        ("qa_reviewer", f"/aftersales/complaints/{complaint.pk}/", "reply/"),
        ("qa_reviewer", f"/aftersales/adr/{case.pk}/", "assess/"),
    ]


def _form(client, url, action: str) -> tuple[str, dict]:
    """The form's action URL and its values as the page shows them."""
    parser = PageForms()
    parser.feed(client.get(url).content.decode())
    found = [
        f
        for f in parser.forms
        if any(name.split("-")[-1] == "version" for name in f["fields"]) and f["action"].endswith(action)
    ]
    assert len(found) == 1, (
        url,
        action,
        [(f["action"], sorted(f["fields"])) for f in parser.forms if action and action in f["action"]],
    )
    (form,) = found
    values = {
        name: field.get("selected") or field["value"]
        for name, field in form["fields"].items()
        # a browser posts nothing for a file or a select with nothing chosen (a multiple select)
        if field["kind"] != "file" and not (field["kind"] == "select" and field["value"] not in field["options"])
    }
    for name, field in form["fields"].items():
        if field["kind"] == "radio" and not field["value"]:
            values[name] = field["options"][-1]  # a choice not made yet: the last one offered
        if field["kind"] == "datetime-local" and not field["value"]:
            values[name] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")  # e.g. the reply not made yet
    return form["action"] or url, values


def _text_field(data: dict, skip: set) -> str:
    for suffix in (
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
        "observations",
        "method_notes",
        "root_cause",
        "capa_reference",
        "recall_rationale",
        "reply_content",
        "reaction",
        "reporter",
    ):
        for name in data:
            if name.split("-")[-1] == suffix and name not in skip:
                return name
    raise AssertionError(f"no text field to change in {sorted(data)}")


def _errors(page: str) -> list[str]:
    import re

    return re.findall(r"(?:invalid-feedback[^>]*>|alert-danger[^>]*>)(.*?)</", page)


def _named(data: dict, field: str) -> str:
    """The posted name of ``field`` (with the form's prefix, if any)."""
    (name,) = [n for n in data if n.split("-")[-1] == field]
    return name


def test_every_edit_form_refuses_a_save_over_a_newer_version():
    """R-AT-1, R-UX-2 (issue 8 item 7): each edit form is opened twice; the first save goes
    through, the second is refused naming who changed the record and when, and keeps what the
    second person typed. The QC result form and the after-sales complaint (investigation, recall
    decision, reply) and ADR-assessment forms are included."""
    from core.models import User

    seed_with_drafts()
    checked = []
    for role, url, action in _edit_urls():
        first, second = client_as(role), client_as(role)
        post_url, mine = _form(first, url, action)
        _same, theirs = _form(second, url, action)
        version = _named(mine, "version")
        assert mine[version] and mine[version] == theirs[version], url
        field = _text_field(mine, set())
        reason = _named(mine, "reason")
        saved = first.post(post_url, {**mine, field: mine[field] + "（一）", reason: "第一处修改"})
        assert saved.status_code == 302, (post_url, _errors(saved.content.decode()))
        try:
            other = _text_field(theirs, {field})
        except AssertionError:  # a form with one text field: both change it
            other = field
        refused = second.post(post_url, {**theirs, other: theirs[other] + "（二）", reason: "第二处修改"})
        page = refused.content.decode()
        assert refused.status_code in (200, 400), post_url
        who = User.objects.get(username=role).printed_name
        assert f"{who} changed this record at" in page and "UTC+08:00" in page, post_url
        assert theirs[other] + "（二）" in page, post_url  # what the second person typed is kept
        checked.append(post_url)
    assert len(checked) == 11
