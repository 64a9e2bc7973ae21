from datetime import date

import pytest
from django.urls import reverse

from core.dates import expiry_from
from core.models import Signature
from core.roles import ALL_ROLES, PRODUCTION_REVIEWER, QA_REVIEWER
from release import services
from release.models import Batch, Product
from tests.factories import BatchFactory, ProductFactory
from tests.release.helpers import batch_form_data

pytestmark = pytest.mark.django_db

CREATE_URL = reverse("release:batch_create")


def edit_url(batch: Batch) -> str:
    return reverse("release:batch_edit", args=[batch.pk])


def void_url(batch: Batch) -> str:
    return reverse("release:batch_void", args=[batch.pk])


@pytest.fixture
def batch(approved_product, production_reviewer) -> Batch:
    return services.batch_create(
        user=production_reviewer,
        data=dict(
            product=approved_product,
            batch_number="C2405001",
            batch_size=100000,
            batch_size_unit="capsules",
            manufacture_date=date(2024, 5, 10),
            site="固体制剂车间一",
        ),
    )


# --- expiry date (药品说明书和标签管理规定 第二十三条) --------------------------------------------------


@pytest.mark.parametrize(
    ("made", "months", "expiry"),
    [
        (date(2024, 5, 10), 24, date(2026, 5, 9)),  # the regulation's own reading: day before the same date
        (date(2024, 1, 1), 12, date(2024, 12, 31)),
        (date(2024, 3, 1), 1, date(2024, 3, 31)),
        (date(2024, 12, 15), 1, date(2025, 1, 14)),  # across the year end
        (date(2024, 11, 30), 3, date(2025, 2, 27)),
        # Month ends: where the same day does not exist N months later, the last day of that month
        # stands in for it and the expiry is the day before, so it never exceeds the shelf life.
        (date(2024, 1, 31), 1, date(2024, 2, 28)),  # leap year
        (date(2023, 1, 31), 1, date(2023, 2, 27)),
        (date(2024, 2, 29), 12, date(2025, 2, 27)),
        (date(2024, 3, 31), 1, date(2024, 4, 29)),
        (date(2024, 1, 31), 120, date(2034, 1, 30)),
    ],
)
def test_expiry_is_the_day_before_the_same_date_shelf_life_months_later(made, months, expiry):
    assert expiry_from(made, months) == expiry


def test_expiry_never_exceeds_the_shelf_life_and_never_goes_backwards():
    """Over every start day of a leap and a common year, for short and long shelf lives."""
    from datetime import timedelta

    for months in (1, 6, 24, 36):
        previous = None
        day = date(2023, 1, 1)
        while day < date(2025, 1, 1):
            expiry = expiry_from(day, months)
            assert expiry > day
            assert (expiry.year - day.year) * 12 + expiry.month - day.month <= months
            if previous is not None:
                assert expiry >= previous
            previous = expiry
            day += timedelta(days=1)


# --- register ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [PRODUCTION_REVIEWER, QA_REVIEWER])
def test_production_and_qa_reviewers_register_a_batch_in_quarantine_with_calculated_expiry(
    role, users, approved_product, client_for
):
    """R-AT-1: registered in quarantine; expiry 2024-05-10 + 24 months → 2026-05-09."""
    user = users[role]
    client = client_for(user)
    assert client.get(CREATE_URL, {"product": approved_product.pk}).status_code == 200
    response = client.post(CREATE_URL, batch_form_data(product=approved_product, manufacture_date="2024-05-10"))
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert batch.status == Batch.Status.QUARANTINE
    assert batch.expiry_date == date(2026, 5, 9)
    assert batch.retention_until == date(2027, 5, 9)
    assert batch.last_changed_by == user
    (row,) = batch.history.all()
    assert row.history_type == "+" and row.history_user == user


def test_month_end_expiry_is_calculated_on_the_page(qa_reviewer, client_for, admin_user):
    product = ProductFactory(status=Product.Status.APPROVED, shelf_life_months=1, last_changed_by=admin_user)
    client_for(qa_reviewer).post(CREATE_URL, batch_form_data(product=product, manufacture_date="2024-01-31"))
    assert Batch.objects.get().expiry_date == date(2024, 2, 28)


def test_an_expiry_date_typed_in_is_kept(approved_product, production_reviewer, client_for):
    client_for(production_reviewer).post(
        CREATE_URL, batch_form_data(product=approved_product, manufacture_date="2024-05-10", expiry_date="2026-04-30")
    )
    assert Batch.objects.get().expiry_date == date(2026, 4, 30)


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in (PRODUCTION_REVIEWER, QA_REVIEWER)])
def test_other_roles_get_403_on_register(role, users, approved_product, client_for):
    client = client_for(users[role])
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, batch_form_data(product=approved_product)).status_code == 403
    assert not Batch.objects.exists()


@pytest.mark.parametrize("expiry", ["2024-05-10", "2024-05-09", "2020-01-01"])
def test_expiry_on_or_before_manufacture_is_a_field_error(expiry, approved_product, production_reviewer, client_for):
    """R-UX-2: reported beside the expiry date; the rest of the input is kept."""
    response = client_for(production_reviewer).post(
        CREATE_URL, batch_form_data(product=approved_product, manufacture_date="2024-05-10", expiry_date=expiry)
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["expiry_date"]
    assert form["batch_number"].value() == "C2611001" and form["expiry_date"].value() == expiry
    assert not Batch.objects.exists()


def test_service_refuses_expiry_on_or_before_manufacture(approved_product, production_reviewer):
    with pytest.raises(services.WorkflowError):
        services.batch_create(
            user=production_reviewer,
            data=dict(
                product=approved_product,
                batch_number="X1",
                batch_size=1,
                batch_size_unit="kg",
                manufacture_date=date(2024, 5, 10),
                expiry_date=date(2024, 5, 10),
                site="A",
            ),
        )
    assert not Batch.objects.exists()


def test_duplicate_batch_number_of_the_same_product_is_a_field_error_whatever_the_case(
    batch, production_reviewer, client_for
):
    """R-UX-2: "c2405001" clashes with "C2405001" of the same product."""
    response = client_for(production_reviewer).post(
        CREATE_URL, batch_form_data(product=batch.product, batch_number=" c2405001 ")
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["batch_number"]
    assert Batch.objects.count() == 1


def test_the_same_batch_number_is_allowed_for_another_product(batch, production_reviewer, client_for, admin_user):
    other = ProductFactory(status=Product.Status.APPROVED, last_changed_by=admin_user)
    response = client_for(production_reviewer).post(CREATE_URL, batch_form_data(product=other, batch_number="C2405001"))
    assert response.status_code == 302
    assert Batch.objects.filter(batch_number="C2405001").count() == 2


def test_a_batch_for_a_draft_product_is_refused(draft_product, production_reviewer, client_for):
    """R-SEQ-1: batches only for approved products, by the page and by the service."""
    response = client_for(production_reviewer).post(CREATE_URL, batch_form_data(product=draft_product))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["product"]
    with pytest.raises(services.WorkflowError):
        services.batch_create(
            user=production_reviewer,
            data=dict(
                product=draft_product,
                batch_number="X1",
                batch_size=1,
                batch_size_unit="kg",
                manufacture_date=date(2024, 5, 10),
                site="A",
            ),
        )
    assert not Batch.objects.exists()


# --- edit ----------------------------------------------------------------------------------------


def test_expiry_correction_with_reason_shows_in_history(batch, qa_reviewer, auditor, client_for):
    """R-AT-1, R-AT-2, R-AT-5: old → new expiry and the reason are on the record's timeline."""
    response = client_for(qa_reviewer).post(
        edit_url(batch), batch_form_data(batch, expiry_date="2026-04-30", reason="按稳定性数据更正有效期")
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.expiry_date == date(2026, 4, 30)
    assert batch.last_changed_by == qa_reviewer
    latest = batch.history.first()
    assert latest.history_user == qa_reviewer and latest.history_change_reason == "按稳定性数据更正有效期"

    page = client_for(auditor).get(reverse("core:record_history", args=["release.batch", batch.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "按稳定性数据更正有效期" in html
    change = next(e for e in page.context["timeline"] if e[1] == "change" and e[2].reason == "按稳定性数据更正有效期")[
        2
    ]
    (expiry_change,) = [c for c in change.changes if c.name == "expiry_date"]
    assert (expiry_change.old, expiry_change.new) == ("2026-05-09", "2026-04-30")
    assert 'data-field="expiry_date"' in html


def test_edit_without_reason_is_refused_and_keeps_what_was_typed(batch, production_reviewer, client_for):
    """R-AT-2, R-UX-2."""
    before = batch.history.count()
    response = client_for(production_reviewer).post(edit_url(batch), batch_form_data(batch, site="车间九", reason=""))
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["reason"]
    assert form["site"].value() == "车间九"
    batch.refresh_from_db()
    assert batch.site == "固体制剂车间一" and batch.history.count() == before
    with pytest.raises(services.WorkflowError):
        services.batch_update(batch=batch, user=production_reviewer, data={"site": "车间九"}, reason="  ")


def test_edit_cannot_empty_the_expiry_date(batch, production_reviewer, client_for):
    response = client_for(production_reviewer).post(edit_url(batch), batch_form_data(batch, expiry_date="", reason="x"))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["expiry_date"]


def test_edit_to_a_clashing_batch_number_is_a_field_error(batch, production_reviewer, client_for):
    BatchFactory(product=batch.product, batch_number="C2405002", last_changed_by=production_reviewer)
    response = client_for(production_reviewer).post(
        edit_url(batch), batch_form_data(batch, batch_number="c2405002", reason="更正批号")
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["batch_number"]


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in (PRODUCTION_REVIEWER, QA_REVIEWER)])
def test_other_roles_get_403_on_edit(role, users, batch, client_for):
    client = client_for(users[role])
    assert client.get(edit_url(batch)).status_code == 403
    assert client.post(edit_url(batch), batch_form_data(batch, site="车间九", reason="x")).status_code == 403
    batch.refresh_from_db()
    assert batch.site == "固体制剂车间一"


# --- void ----------------------------------------------------------------------------------------


def test_qa_reviewer_voids_a_batch_with_signature_and_reason(batch, qa_reviewer, client_for, password):
    """R-REC-1, R-SIG-1: signed, with a reason; the batch stays readable."""
    response = client_for(qa_reviewer).post(void_url(batch), {"void-reason": "批号登记错误", "void-password": password})
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == Batch.Status.VOIDED and batch.void_reason == "批号登记错误"
    sig = Signature.objects.for_record(batch).get()
    assert sig.meaning == Signature.Meaning.VOIDED and sig.signer == qa_reviewer and sig.is_valid()
    assert batch.history.first().history_change_reason == "批号登记错误"
    page = client_for(qa_reviewer).get(batch.get_absolute_url())
    assert page.status_code == 200 and "批号登记错误" in page.content.decode()
    assert not page.context["can_edit"] and not page.context["can_void"]


def test_void_with_wrong_password_or_no_reason_is_refused(batch, qa_reviewer, client_for, password):
    """R-SIG-1, R-AT-2."""
    client = client_for(qa_reviewer)
    response = client.post(void_url(batch), {"void-reason": "重复登记 A-17", "void-password": "wrong"})
    assert response.status_code == 400 and response.context["void_form"].non_field_errors()
    assert "重复登记 A-17" in response.content.decode()  # R-UX-2: the reason typed is kept
    response = client.post(void_url(batch), {"void-reason": "", "void-password": password})
    assert response.status_code == 400 and list(response.context["void_form"].errors) == ["reason"]
    batch.refresh_from_db()
    assert batch.status == Batch.Status.QUARANTINE
    assert not Signature.objects.for_record(batch).exists()


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != QA_REVIEWER])
def test_other_roles_get_403_on_void(role, users, batch, client_for, password):
    response = client_for(users[role]).post(void_url(batch), {"void-reason": "x", "void-password": password})
    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == Batch.Status.QUARANTINE


def test_a_batch_out_of_quarantine_cannot_be_edited(batch, qa_reviewer, production_reviewer, client_for, password):
    """R-SEQ-1, R-REC-1: a voided batch is read-only by the page and by the service."""
    services.batch_void(batch=batch, user=qa_reviewer, password=password, reason="登记错误")
    client = client_for(production_reviewer)
    response = client.get(edit_url(batch))
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    response = client.post(edit_url(batch), batch_form_data(batch, site="车间九", reason="更正"))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.site == "固体制剂车间一"
    with pytest.raises(services.WorkflowError):
        services.batch_update(batch=batch, user=production_reviewer, data={"site": "车间九"}, reason="更正")


def test_voiding_a_batch_someone_else_just_voided_says_why(batch, qa_reviewer, qa_reviewer2, client_for, password):
    """R-SEQ-1, R-UX-2: the second void is refused with a message even though the void form is no
    longer shown on the voided batch."""
    services.batch_void(batch=batch, user=qa_reviewer2, password=password, reason="重复登记")
    client = client_for(qa_reviewer)
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("release:batch_void", args=[batch.pk]), {"void-password": password, "void-reason": "登记错误"}
    )
    assert response.status_code == 400
    assert "it cannot become Voided" in response.content.decode()
    assert Signature.objects.for_record(batch).count() == 1
