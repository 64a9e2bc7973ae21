"""QC pages: each renders for its readers, refuses other roles (403), and shows bad input by the field."""

from decimal import Decimal

import pytest
from django.urls import reverse

from core.roles import ALL_ROLES
from qc_records.models import OOSInvestigation, TestRecord
from tests.factories import PASSWORD
from tests.qc_records.helpers import REVIEW_POST

pytestmark = pytest.mark.django_db

QC_READERS = {"qc_analyst", "qc_reviewer", "qc_head", "qa_reviewer", "qualified_person", "auditor"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False


def test_every_page_renders_for_the_qc_head(qc, client_for, oos_record, instrument, reagent, batch):
    oos = OOSInvestigation.objects.get()
    spec = oos_record.specification
    client = client_for(qc.head)
    urls = [
        reverse("qc_records:index"),
        reverse("qc_records:spec_list"),
        spec.get_absolute_url(),
        reverse("qc_records:spec_create"),
        reverse("qc_records:instrument_list"),
        reverse("qc_records:instrument_list") + "?view=due",
        reverse("qc_records:instrument_list") + "?view=expired",
        instrument.get_absolute_url(),
        reverse("qc_records:instrument_create"),
        reverse("qc_records:instrument_edit", args=[instrument.pk]),
        reverse("qc_records:reagent_list"),
        reverse("qc_records:reagent_list") + "?view=expired",
        reagent.get_absolute_url(),
        reverse("qc_records:reagent_create"),
        reverse("qc_records:reagent_edit", args=[reagent.pk]),
        reverse("qc_records:sample_list"),
        reverse("qc_records:sample_list") + "?waiting=on",
        oos_record.sample.get_absolute_url(),
        reverse("qc_records:sample_create"),
        oos_record.get_absolute_url(),
        reverse("qc_records:oos_list"),
        reverse("qc_records:oos_list") + "?state=",
        oos.get_absolute_url(),
        reverse("qc_records:ledger"),
        reverse("qc_records:ledger") + "?category=sampling",
        reverse("qc_records:ledger") + "?month=bad",
        reverse("qc_records:batch_qc", args=[batch.pk]),
        reverse("core:my_work"),
        reverse("core:record_history", args=["qc_records.testrecord", oos_record.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize("role", ALL_ROLES)
def test_record_pages_are_read_by_qc_readers_only(role, users, client_for, submitted_record):
    client = client_for(users[role])
    for url in (
        submitted_record.get_absolute_url(),
        reverse("qc_records:ledger"),
        reverse("qc_records:spec_list"),
        reverse("qc_records:instrument_list"),
        reverse("qc_records:oos_list"),
    ):
        assert client.get(url).status_code == (200 if role in QC_READERS else 403), (role, url)


def _post_roles(role_allowed: set[str]):
    return [pytest.param(r, id=r) for r in ALL_ROLES if r not in role_allowed]


@pytest.mark.parametrize("role", _post_roles({"qc_reviewer"}))
def test_only_reviewers_may_post_review(role, users, client_for, submitted_record):
    response = client_for(users[role]).post(
        reverse("qc_records:record_review", args=[submitted_record.pk]), {"review-password": PASSWORD}
    )
    assert response.status_code == 403
    submitted_record.refresh_from_db()
    assert submitted_record.status == TestRecord.Status.SUBMITTED


@pytest.mark.parametrize("role", _post_roles({"qc_head"}))
def test_only_qc_head_may_post_approve(role, users, client_for, reviewed_record):
    response = client_for(users[role]).post(
        reverse("qc_records:record_approve", args=[reviewed_record.pk]), {"approve-password": PASSWORD}
    )
    assert response.status_code == 403
    reviewed_record.refresh_from_db()
    assert reviewed_record.status == TestRecord.Status.REVIEWED


@pytest.mark.parametrize("role", _post_roles({"qc_analyst"}))
def test_only_analysts_may_post_submit_or_edit(role, users, client_for, filled_record):
    client = client_for(users[role])
    assert (
        client.post(
            reverse("qc_records:record_submit", args=[filled_record.pk]), {"submit-password": PASSWORD}
        ).status_code
        == 403
    )
    assert client.get(reverse("qc_records:record_edit", args=[filled_record.pk])).status_code == 403


@pytest.mark.parametrize("role", _post_roles({"qa_reviewer"}))
def test_only_qa_may_close_oos(role, users, client_for, oos_record):
    """R-QC-5 (issue 7): the QC head alone no longer concludes an OOS; QA approves by closing."""
    oos = OOSInvestigation.objects.get()
    response = client_for(users[role]).post(
        reverse("qc_records:oos_close", args=[oos.pk]),
        {"close-password": PASSWORD, "close-outcome": "lab_error", "close-summary": "x"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("role", _post_roles({"qc_head"}))
def test_only_qc_head_may_register_instruments_or_archive(role, users, client_for):
    client = client_for(users[role])
    assert client.get(reverse("qc_records:instrument_create")).status_code == 403
    assert client.post(reverse("qc_records:ledger_archive"), {"arch-password": PASSWORD}).status_code == 403


def test_analyst_enters_results_through_the_form(qc, client_for, draft_record, instrument, reagent):
    client = client_for(qc.analyst)
    page = client.get(reverse("qc_records:record_edit", args=[draft_record.pk]))
    form = page.context["form"]
    data = {
        "test_date": draft_record.test_date.isoformat(),
        "temperature": "22.0",
        "humidity": "50.0",
        "instruments": [instrument.pk],
        "reagents": [reagent.pk],
        "observations": "正常",
    }
    for block, rows in form.rows:
        for row in rows:
            name = block.item.name
            data[row.value.name] = {
                "性状": "白色粉末",
                "鉴别": "呈正反应",
                "含量测定": "99.5",
                "溶出度": "88",
                "有关物质": "0.2",
                "微生物限度": "<10",
            }[name]
            if row.complies is not None:
                data[row.complies.name] = "yes"
    response = client.post(reverse("qc_records:record_edit", args=[draft_record.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    draft_record.refresh_from_db()
    assert draft_record.temperature == Decimal("22.0")
    assert draft_record.compute_verdict() == TestRecord.Verdict.COMPLIES
    response = client.post(reverse("qc_records:record_submit", args=[draft_record.pk]), {"submit-password": PASSWORD})
    assert response.status_code == 302
    draft_record.refresh_from_db()
    assert draft_record.status == TestRecord.Status.SUBMITTED


def test_bad_values_re_render_beside_the_fields_and_keep_what_was_typed(qc, client_for, draft_record, instrument):
    """R-UX-2, R-QC-3: non-numeric, wrong decimals and an expired instrument — 400, nothing saved."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import InstrumentFactory

    expired = InstrumentFactory(
        code="QC-OLD-1", calibration_due=timezone.localdate() - timedelta(days=2), last_changed_by=qc.head
    )
    client = client_for(qc.analyst)
    form = client.get(reverse("qc_records:record_edit", args=[draft_record.pk])).context["form"]
    data = {"test_date": draft_record.test_date.isoformat(), "instruments": [expired.pk]}
    assay = next(row for block, rows in form.rows for row in rows if block.item.name == "含量测定")
    impurity = next(row for block, rows in form.rows for row in rows if block.item.name == "有关物质")
    data[assay.value.name] = "九十九"
    data[impurity.value.name] = "0.25"
    response = client.post(reverse("qc_records:record_edit", args=[draft_record.pk]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "九十九" in html and "0.25" in html  # nothing typed is lost
    errors = response.context["form"].errors
    assert "not a number" in errors[assay.value.name][0]
    assert "decimal place" in errors[impurity.value.name][0]
    assert (
        "QC-OLD-1" in errors["instruments"][0]
        and (timezone.localdate() - timedelta(days=2)).isoformat() in errors["instruments"][0]
    )
    assert not draft_record.results.exclude(value_text="").exists()


def test_reviewing_your_own_record_shows_the_refusal(qc, client_for, submitted_record, make_user):
    from django.contrib.auth.models import Group

    qc.analyst.groups.add(Group.objects.get(name="qc_reviewer"))
    response = client_for(qc.analyst).post(
        reverse("qc_records:record_review", args=[submitted_record.pk]), {"review-password": PASSWORD, **REVIEW_POST}
    )
    assert response.status_code == 400
    assert "different person" in response.content.decode()


def test_approving_an_unreviewed_record_shows_the_refusal(qc, client_for, submitted_record):
    response = client_for(qc.head).post(
        reverse("qc_records:record_approve", args=[submitted_record.pk]), {"approve-password": PASSWORD}
    )
    assert response.status_code == 400
    submitted_record.refresh_from_db()
    assert submitted_record.status == TestRecord.Status.SUBMITTED


def test_get_on_actions_is_refused(qc, client_for, submitted_record):
    assert (
        client_for(qc.reviewer).get(reverse("qc_records:record_review", args=[submitted_record.pk])).status_code == 405
    )


def test_unknown_ids_are_404(qc, client_for):
    client = client_for(qc.head)
    assert client.get(reverse("qc_records:record_detail", args=[999999])).status_code == 404
    assert client.get(reverse("qc_records:batch_qc", args=[999999])).status_code == 404


def test_ledger_lists_the_month_and_exports_csv(qc, client_for, approved_record):
    client = client_for(qc.auditor)
    month = approved_record.test_date.strftime("%Y-%m")
    page = client.get(reverse("qc_records:ledger"), {"month": month, "category": "finished_product"})
    assert approved_record.report_number in page.content.decode()
    csv_response = client.get(reverse("qc_records:ledger_export"), {"month": month, "category": "finished_product"})
    body = b"".join(csv_response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff") and approved_record.report_number in body and approved_record.sample.number in body
    sampling = b"".join(
        client.get(
            reverse("qc_records:ledger_export"),
            {"month": approved_record.sample.received_date.strftime("%Y-%m"), "category": "sampling"},
        ).streaming_content
    ).decode()
    assert approved_record.sample.number in sampling


def test_my_work_shows_each_role_its_queue(qc, client_for, submitted_record, sample):
    from django.urls import reverse as r

    assert submitted_record.sample.number in client_for(qc.reviewer).get(r("core:my_work")).content.decode()
    head_page = client_for(qc.head).get(r("core:my_work"))
    assert "qc_to_approve" in [q.key for q in head_page.context["queues"]]
    analyst_page = client_for(qc.analyst).get(r("core:my_work"))
    keys = [q.key for q in analyst_page.context["queues"]]
    assert "qc_samples_waiting" in keys and "qc_my_drafts" in keys
    assert not any(q.total for q in analyst_page.context["queues"] if q.key == "qc_to_review")


def test_record_page_names_the_record_once_and_the_source_of_a_product_sample(
    qc, client_for, submitted_record, approved_product
):
    """R-QC-1, R-UX-1: the heading reads "Test record #N" (not "Test record Test record #N") and a
    finished-product sample's source is the product's manufacturer, as the report prints it."""
    import re

    html = client_for(qc.reviewer).get(reverse("qc_records:record_detail", args=[submitted_record.pk])).content.decode()
    heading = re.search(r"<h1[^>]*>(.*?)<span", html, re.S).group(1)
    assert heading.count("Test record") == 1 and f"#{submitted_record.pk}" in heading
    assert f"Manufacturer: {approved_product.manufacturer}" in html


def test_the_ledger_month_field_shows_the_month_listed(qc, client_for):
    """R-QC-8, R-UX-2: opened without a choice the ledger lists this month, and its month field says
    so (it was blank beside the heading "QC ledger YYYY-MM")."""
    from django.utils import timezone

    form = client_for(qc.analyst).get(reverse("qc_records:ledger")).context["form"]
    assert f'value="{timezone.localdate():%Y-%m}"' in str(form["month"])


def test_spec_list_counts_the_items_in_force(qc, spec, client_for):
    """The specification list's item column counts the items not removed, per specification (a
    draft with one item removed shows one fewer; a specification without items shows 0)."""
    from qc_records import services
    from qc_records.models import Specification

    draft = services.specification_new_version(spec=spec, user=qc.head)
    services.specification_item_remove(
        item=draft.items.order_by("position").first(), user=qc.head, reason="合并到含量测定"
    )
    empty = services.specification_create(
        user=qc.head,
        data=dict(code="ZL-BZ-YL-009", title="空白标准", category="raw_material", material_name="乳糖"),
    )
    live = spec.items.filter(voided_at__isnull=True).count()
    response = client_for(qc.head).get(reverse("qc_records:spec_list"))
    shown = {(s.pk): s.item_count for s in response.context["page_obj"]}
    assert shown[spec.pk] == live > 1
    assert shown[draft.pk] == live - 1
    assert shown[empty.pk] == 0
    assert Specification.objects.count() == 3


def test_the_record_page_lists_its_open_oos_investigation(qc, client_for, oos_record):
    """R-QC-5 / issue 12: the record page reads OOS investigations only for a record that has some
    (the record's query says so); one that has lists it, linked, with the item and its state."""
    oos = OOSInvestigation.objects.get(record=oos_record)
    page = client_for(qc.reviewer).get(oos_record.get_absolute_url()).content.decode()
    assert 'data-testid="open-oos"' in page
    assert f'<a href="{oos.get_absolute_url()}">{oos.number}</a> · 含量测定' in page
