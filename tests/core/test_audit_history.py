"""Create / change / void write history with who, when, old → new (R-AT-1), and every change after
creation carries a reason (R-AT-2)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from core.audit import ReasonRequired
from core.audit_trail import record_timeline
from core.models import User
from release import services
from release.models import Batch, Product
from tests.core.audit_helpers import changes, product_form_data
from tests.factories import PASSWORD, BatchFactory, ProductFactory

pytestmark = pytest.mark.django_db


# --- R-AT-1 create / change / void write history ----------------------------------------------


def _assert_server_utc_now(when: datetime) -> None:
    assert when.utcoffset() == timedelta(0)
    assert abs(timezone.now() - when) < timedelta(minutes=1)


def test_product_create_change_void_write_history_with_user_time_and_old_new(qa_reviewer, qa_reviewer2):
    """R-AT-1: who, server UTC time, old → new for create, change and void of a product."""
    product = services.product_create(
        user=qa_reviewer,
        data={
            "name": "阿莫西林胶囊",
            "generic_name": "Amoxicillin Capsules",
            "dosage_form": "capsule",
            "strength": "0.25g",
            "pack_size": "24粒/盒",
            "approval_number": "国药准字H20990001",
            "shelf_life_months": 24,
            "storage_conditions": "密封",
            "mah": "示例制药",
            "manufacturer": "示例制药",
        },
    )
    services.product_update(product=product, user=qa_reviewer2, data={"pack_size": "36粒/盒"}, reason="新包装规格")
    services.product_void(product=product, user=qa_reviewer, password=PASSWORD, reason="登记错误")

    with translation.override("en"):
        created, changed, voided = record_timeline(Product, product.pk)
    assert [e.action for e in (created, changed, voided)] == ["+", "~", "~"]
    assert (created.user_id, changed.user_id, voided.user_id) == (qa_reviewer.pk, qa_reviewer2.pk, qa_reviewer.pk)
    for entry in (created, changed, voided):
        _assert_server_utc_now(entry.when)
    assert changes(created)["pack_size"] == ("", "24粒/盒")
    assert changes(changed)["pack_size"] == ("24粒/盒", "36粒/盒")
    assert changed.reason == "新包装规格"
    assert changes(voided)["status"] == ("Draft", "Voided")
    assert changes(voided)["void_reason"] == ("—", "登记错误")
    assert voided.reason == "登记错误"
    assert created.printed_name == qa_reviewer.printed_name


def test_batch_create_change_void_write_history(production_reviewer, qa_reviewer):
    """R-AT-1: the same for batches (every GMP record)."""
    product = ProductFactory(status=Product.Status.APPROVED, last_changed_by=qa_reviewer)
    batch = services.batch_create(
        user=production_reviewer,
        data={
            "product": product,
            "batch_number": "A240501",
            "batch_size": 100000,
            "batch_size_unit": "capsules",
            "manufacture_date": datetime(2026, 5, 1).date(),
            "site": "车间一",
        },
    )
    services.batch_update(batch=batch, user=production_reviewer, data={"site": "车间二"}, reason="填写错误")
    services.batch_void(batch=batch, user=qa_reviewer, password=PASSWORD, reason="重复登记")
    with translation.override("en"):
        created, changed, voided = record_timeline(Batch, batch.pk)
    assert [e.user_id for e in (created, changed, voided)] == [
        production_reviewer.pk,
        production_reviewer.pk,
        qa_reviewer.pk,
    ]
    assert changes(changed) == {"site": ("车间一", "车间二"), "updated_at": changes(changed)["updated_at"]}
    assert changed.reason == "填写错误"
    assert changes(voided)["status"] == ("Quarantine", "Voided") and voided.reason == "重复登记"
    for entry in (created, changed, voided):
        _assert_server_utc_now(entry.when)


def test_user_changes_are_in_the_audit_trail(make_user, admin_user):
    """R-AT-1: role and activation changes of accounts are recorded too."""
    user = make_user(username="ma.lin")
    user.is_active = False
    user._history_user = admin_user
    user._change_reason = "left the company"
    user.save()
    with translation.override("en"):
        entry = record_timeline(User, user.pk)[-1]
    assert entry.user_id == admin_user.pk and entry.reason == "left the company"
    assert changes(entry)["is_active"] == ("Yes", "No")


# --- R-AT-2 reason for change -----------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_save_without_reason_after_creation_is_refused(reason, draft_product, qa_reviewer):
    """R-AT-2: a change with no (or a blank) reason writes nothing."""
    product = Product.objects.get(pk=draft_product.pk)
    before = product.history.count()
    product.pack_size = "changed"
    with pytest.raises(ReasonRequired):
        if reason is None:
            product.save()
        else:
            product.save_audited(user=qa_reviewer, reason=reason)
    assert Product.objects.get(pk=product.pk).pack_size == draft_product.pack_size
    assert product.history.count() == before


def test_reason_belongs_to_one_change_only(draft_product, qa_reviewer):
    """R-AT-2: the next change needs its own reason."""
    product = Product.objects.get(pk=draft_product.pk)
    product.pack_size = "first"
    product.save_audited(user=qa_reviewer, reason="first reason")
    product.pack_size = "second"
    with pytest.raises(ReasonRequired):
        product.save()
    assert Product.objects.get(pk=product.pk).pack_size == "first"


def test_batch_save_without_reason_is_refused(qa_reviewer):
    """R-AT-2: every audited model, not only products."""
    batch = BatchFactory()
    batch.site = "elsewhere"
    with pytest.raises(ReasonRequired):
        batch.save()


def test_edit_page_without_reason_shows_the_error_and_writes_nothing(draft_product, qa_reviewer, client_for):
    """R-AT-2: the edit form re-renders with an error beside the reason field; nothing is saved."""
    client = client_for(qa_reviewer)
    url = reverse("release:product_edit", args=[draft_product.pk])
    before = draft_product.history.count()
    response = client.post(url, product_form_data(draft_product, pack_size="48粒/盒", reason=""))
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert "Give a reason for the change" in response.content.decode()
    assert 'value="48粒/盒"' in response.content.decode()  # what was typed is kept (R-UX-2)
    draft_product.refresh_from_db()
    assert draft_product.pack_size != "48粒/盒"
    assert draft_product.history.count() == before

    response = client.post(url, product_form_data(draft_product, pack_size="48粒/盒", reason="新规格"))
    assert response.status_code == 302
    draft_product.refresh_from_db()
    assert draft_product.pack_size == "48粒/盒"
    assert draft_product.history.first().history_change_reason == "新规格"


def test_history_manager_class_is_made_once_and_still_reads_one_records_rows(qa_reviewer):
    """R-AT-1, issue 12: ``Model.history`` reuses one manager class (simple-history made a new one
    on every access), and a record's ``history`` still reads that record's rows only, newest first."""
    one, other = ProductFactory(), ProductFactory()
    assert Product.history.__class__ is Product.history.__class__
    assert one.history.__class__ is Product.history.__class__
    assert [h.id for h in one.history.all()] == [one.pk]
    assert set(Product.history.values_list("id", flat=True)) >= {one.pk, other.pk}
    assert one.history.instance == one and Product.history.instance is None
