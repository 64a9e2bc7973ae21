"""Audit trail: history rows, reasons, append-only tables, no bypassing writes, the auditor's view
(R-AT-1…5, R-REC-1, R-PERF-1)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from core.audit import AuditError, ReasonRequired, tables_with_append_only_triggers
from core.audit_trail import record_timeline, record_types
from core.models import AuthEvent, Signature, User
from release import services
from release.models import Batch, Product
from tests.core.helpers import english_client, qn, raw_sql_refused
from tests.factories import PASSWORD, BatchFactory, ProductFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _history_models() -> list:
    """Every history table, found by its columns (independently of core.audit's own list)."""
    found = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if {"history_id", "history_date", "history_type", "history_change_reason"} <= names:
            found.append(model)
    return found


# History tables, signatures and security events, plus any other model that declares itself
# append-only (e.g. issued documents).
APPEND_ONLY_MODELS = sorted(
    set(_history_models())
    | {Signature, AuthEvent}
    | {m for m in apps.get_models() if getattr(m, "APPEND_ONLY", False)},
    key=lambda m: m._meta.label,
)


def _changes(entry) -> dict[str, tuple[str, str]]:
    return {c.name: (c.old, c.new) for c in entry.changes}


def _product_form_data(product: Product, **overrides) -> dict:
    data = {}
    for name in Product.EDITABLE_FIELDS:
        value = getattr(product, name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = value
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


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
    assert _changes(created)["pack_size"] == ("", "24粒/盒")
    assert _changes(changed)["pack_size"] == ("24粒/盒", "36粒/盒")
    assert changed.reason == "新包装规格"
    assert _changes(voided)["status"] == ("Draft", "Voided")
    assert _changes(voided)["void_reason"] == ("—", "登记错误")
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
    assert _changes(changed) == {"site": ("车间一", "车间二"), "updated_at": _changes(changed)["updated_at"]}
    assert changed.reason == "填写错误"
    assert _changes(voided)["status"] == ("Quarantine", "Voided") and voided.reason == "重复登记"
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
    assert _changes(entry)["is_active"] == ("Yes", "No")


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
    response = client.post(url, _product_form_data(draft_product, pack_size="48粒/盒", reason=""))
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert "Give a reason for the change" in response.content.decode()
    assert 'value="48粒/盒"' in response.content.decode()  # what was typed is kept (R-UX-2)
    draft_product.refresh_from_db()
    assert draft_product.pack_size != "48粒/盒"
    assert draft_product.history.count() == before

    response = client.post(url, _product_form_data(draft_product, pack_size="48粒/盒", reason="新规格"))
    assert response.status_code == 302
    draft_product.refresh_from_db()
    assert draft_product.pack_size == "48粒/盒"
    assert draft_product.history.first().history_change_reason == "新规格"


# --- R-AT-3 append-only audit tables -------------------------------------------------------------


@pytest.fixture
def audit_rows(approved_product, qa_reviewer, production_reviewer, qa_reviewer2):
    """At least one row in every audit table the core and release apps own."""
    batch = services.batch_create(
        user=production_reviewer,
        data={
            "product": approved_product,
            "batch_number": "AT-1",
            "batch_size": 1000,
            "batch_size_unit": "capsules",
            "manufacture_date": datetime(2026, 1, 5).date(),
            "site": "车间一",
        },
    )
    services.batch_void(batch=batch, user=qa_reviewer2, password=PASSWORD, reason="重复")
    english_client().post("/accounts/login/", {"username": qa_reviewer.username, "password": "wrong"})
    event = {"title": "偏差", "description": "描述", "classification": "minor"}
    deviation = services.deviation_create(user=production_reviewer, data=event, batches=[batch])
    change_control = services.change_control_create(user=production_reviewer, data=event)
    material_lot = services.material_lot_create(
        user=production_reviewer,
        data={
            "material_name": "阿莫西林",
            "material_code": "YL-001",
            "supplier": "示例原料药有限公司",
            "supplier_lot": "S-1",
            "lot_number": "AT-YL-1",
            "received_date": datetime(2026, 1, 2).date(),
            "quantity": 10,
            "unit": "kg",
            "expiry_date": datetime(2028, 1, 1).date(),
        },
    )
    return {
        "product": approved_product,
        "batch": batch,
        "deviation": deviation,
        "change_control": change_control,
        "material_lot": material_lot,
    }


def test_every_audit_table_is_known_to_core():
    """R-AT-3: guard for the tests below — the independent list finds the known tables."""
    labels = {m._meta.label for m in APPEND_ONLY_MODELS}
    assert {
        "core.HistoricalUser",
        "release.HistoricalProduct",
        "release.HistoricalBatch",
        "core.Signature",
        "core.AuthEvent",
    } <= labels


def test_every_audit_table_carries_the_append_only_triggers():
    """R-AT-3: every history table plus signatures and security events is covered."""
    covered = tables_with_append_only_triggers()
    missing = {m._meta.db_table for m in APPEND_ONLY_MODELS} - covered
    assert not missing


def _trigger_operations(table: str) -> set[str]:
    """Which statements the database refuses on ``table`` before each row (read from its catalogue)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relname = %s AND NOT t.tgisinternal",
                [table],
            )
            ops = set()
            for (tgtype,) in cursor.fetchall():
                if tgtype & 1 and tgtype & 2:  # FOR EACH ROW, BEFORE
                    ops |= {op for bit, op in ((8, "DELETE"), (16, "UPDATE")) if tgtype & bit}
            return ops
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
        ops = set()
        for (sql,) in cursor.fetchall():
            text = " ".join(sql.upper().split())
            if "RAISE(ABORT" in text:
                ops |= {op for op in ("UPDATE", "DELETE") if f"BEFORE {op} ON" in text}
        return ops


@pytest.mark.parametrize("model", APPEND_ONLY_MODELS, ids=lambda m: m._meta.label)
def test_trigger_refuses_both_update_and_delete(model):
    """R-AT-3: the trigger on each audit table fires before UPDATE and before DELETE."""
    assert _trigger_operations(model._meta.db_table) == {"UPDATE", "DELETE"}


@pytest.mark.parametrize("model", APPEND_ONLY_MODELS, ids=lambda m: m._meta.label)
def test_raw_update_and_delete_fail_in_the_database(model, audit_rows):
    """R-AT-3: raw SQL cannot change or remove an audit row (SQLite and PostgreSQL)."""
    table = qn(model._meta.db_table)
    pk = model._meta.pk
    row = model._base_manager.order_by("pk").values_list(pk.attname, flat=True).first()
    if row is None:
        pytest.skip(f"no {model._meta.label} rows in this test's data; its trigger is checked above")
    column = next(
        f
        for f in model._meta.concrete_fields
        if not f.primary_key
        and not f.choices
        and (f.get_internal_type() == "TextField" or (f.get_internal_type() == "CharField" and f.max_length >= 20))
    )
    before = model._base_manager.values().get(pk=row)
    assert "append-only" in raw_sql_refused(
        f"UPDATE {table} SET {qn(column.column)} = %s WHERE {qn(pk.column)} = %s", ["tampered", row]
    )
    assert "append-only" in raw_sql_refused(f"DELETE FROM {table} WHERE {qn(pk.column)} = %s", [row])
    assert raw_sql_refused(f"DELETE FROM {table}")
    assert model._base_manager.values().get(pk=row) == before


def test_the_fixture_reaches_the_known_audit_tables(audit_rows):
    """R-AT-3: the raw SQL test above really ran for the tables of core and release."""
    for model in (User.history.model, Product.history.model, Batch.history.model, Signature, AuthEvent):
        assert model._base_manager.exists(), model


@pytest.mark.parametrize("model", [Product, Batch, User], ids=lambda m: m._meta.label)
def test_history_rows_cannot_be_changed_or_deleted_through_the_orm(model, audit_rows):
    """R-AT-3: history rows refuse save/delete, and queryset writes are refused."""
    hm = model.history.model
    row = hm.objects.order_by("history_id").first()
    reason = row.history_change_reason
    row.history_change_reason = "rewritten"
    with pytest.raises(AuditError):
        row.save()
    with pytest.raises(AuditError):
        row.delete()
    writes = [
        lambda: hm.objects.filter(history_id=row.history_id).update(history_change_reason="rewritten"),
        lambda: hm.objects.filter(history_id=row.history_id).delete(),
        lambda: model.history.filter(history_id=row.history_id).update(history_change_reason="rewritten"),
        lambda: model.history.all().delete(),
        lambda: hm.objects.bulk_update([row], ["history_change_reason"]),
    ]
    for write in writes:
        with pytest.raises((AuditError, DatabaseError)):
            with transaction.atomic():
                write()
    assert hm.objects.get(history_id=row.history_id).history_change_reason == reason


def test_history_tables_are_not_editable_in_admin(audit_rows):
    """R-AT-3: no history model is registered in admin; signatures and security events are read-only."""
    registered = set(admin.site._registry)
    assert not registered & set(_history_models())
    for model in (Signature, AuthEvent):
        model_admin = admin.site._registry[model]
        request = RequestFactory().get("/")
        request.user = User.objects.create_superuser(username=f"root-{model.__name__}", password=PASSWORD)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_superuser_cannot_change_or_delete_signatures_and_events_in_admin(audit_rows):
    """R-AT-3, R-SIG-4: the admin views themselves refuse."""
    root = User.objects.create_superuser(username="root", password=PASSWORD)
    client = Client()
    client.force_login(root)
    sig = Signature.objects.first()
    event = AuthEvent.objects.first()
    assert client.post(reverse("admin:core_signature_change", args=[sig.pk]), {"printed_name": "X"}).status_code == 403
    assert client.post(reverse("admin:core_signature_delete", args=[sig.pk]), {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:core_authevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:core_signature_changelist")).status_code == 200
    assert Signature.objects.get(pk=sig.pk).printed_name == sig.printed_name


def test_admin_history_view_cannot_restore_an_old_version(audit_rows, qa_reviewer2):
    """R-AT-3, R-AUTH-3: the admin history page is read-only — no revert of a record or a lockout."""
    root = User.objects.create_superuser(username="root", password=PASSWORD)
    client = Client()
    client.force_login(root)
    product = audit_rows["product"]
    approved = product.history.first()
    services.product_update(product=product, user=qa_reviewer2, data={"pack_size": "新"}, reason="r")
    url = reverse("admin:release_product_simple_history", args=[product.pk, approved.history_id])
    assert client.get(url).status_code == 200
    data = {f: getattr(approved, f) for f in Product.SIGNED_FIELDS if not isinstance(getattr(approved, f), bool)}
    assert client.post(url, {**data, "status": "approved"}).status_code == 403
    product.refresh_from_db()
    assert (product.pack_size, product.status) == ("新", Product.Status.DRAFT)

    locked = User.objects.get(pk=qa_reviewer2.pk)
    before_lock = locked.history.first()
    locked.locked_at = timezone.now()
    locked._change_reason = "test lock"
    locked.save()
    url = reverse("admin:core_user_simple_history", args=[locked.pk, before_lock.history_id])
    response = client.post(
        url,
        {
            "username": locked.username,
            "full_name": locked.full_name,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 403
    locked.refresh_from_db()
    assert locked.is_locked


# --- R-AT-4 no writes that bypass history ----------------------------------------------------


@pytest.fixture
def batch(audit_rows) -> Batch:
    return Batch.objects.get(pk=audit_rows["batch"].pk)


def _bypassing_writes(model, obj):
    field = "site" if model is Batch else "pack_size"
    return {
        "update": lambda: model.objects.filter(pk=obj.pk).update(**{field: "bypass"}),
        "update_all": lambda: model.objects.update(**{field: "bypass"}),
        "select_for_update_update": lambda: (
            model.objects.select_for_update().filter(pk=obj.pk).update(**{field: "bypass"})
        ),
        "bulk_update": lambda: model.objects.bulk_update([obj], [field]),
        "bulk_create": lambda: model.objects.bulk_create(
            [model(**{f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields if not f.primary_key})]
        ),
        "update_or_create": lambda: model.objects.update_or_create(pk=obj.pk, defaults={field: "bypass"}),
        "queryset_delete": lambda: model.objects.filter(pk=obj.pk).delete(),
        "instance_delete": lambda: obj.delete(),
        "base_manager_update": lambda: model._base_manager.filter(pk=obj.pk).update(**{field: "bypass"}),
        "base_manager_bulk_update": lambda: model._base_manager.bulk_update([obj], [field]),
        "base_manager_delete": lambda: model._base_manager.filter(pk=obj.pk).delete(),
    }


WRITE_NAMES = list(_bypassing_writes(Product, Product(pk=1)))


@pytest.mark.parametrize("write", WRITE_NAMES)
@pytest.mark.parametrize("model", [Product, Batch], ids=lambda m: m.__name__)
def test_writes_that_bypass_history_are_refused(model, write, audit_rows):
    """R-AT-4, R-REC-1: QuerySet.update, bulk writes and hard deletes raise on audited models."""
    obj = model.objects.get(pk=audit_rows[model.__name__.lower()].pk)
    history_before = model.history.count()
    rows_before = list(model.objects.order_by("pk").values())
    with pytest.raises(AuditError):
        with transaction.atomic():
            _bypassing_writes(model, obj)[write]()
    assert list(model.objects.order_by("pk").values()) == rows_before
    assert model.history.count() == history_before


def test_related_managers_refuse_bypassing_writes(audit_rows):
    """R-AT-4: product.batches.update()/delete() are the same holes by another path."""
    product = audit_rows["product"]
    with pytest.raises(AuditError):
        product.batches.update(site="bypass")
    with pytest.raises(AuditError):
        product.batches.all().delete()
    assert Batch.objects.filter(product=product).exists()


# --- R-AT-5 the auditor's view --------------------------------------------------------------------


@pytest.fixture
def changed_product(approved_product, qa_reviewer2):
    services.product_update(
        product=approved_product, user=qa_reviewer2, data={"pack_size": "48粒/盒"}, reason="新包装规格 2026"
    )
    return approved_product


def test_timeline_shows_old_new_values_reason_and_signatures(
    changed_product, qa_reviewer, qa_reviewer2, auditor, client_for
):
    """R-AT-5: per-record timeline — who, when, old → new, reason, signatures."""
    response = client_for(auditor).get(reverse("core:record_history", args=["release.product", changed_product.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    old = changed_product.history.last().pack_size
    assert (
        f'<tr data-field="pack_size"><td>Pack size</td><td class="audit-old-cell">{old}</td><td class="audit-new-cell">48粒/盒</td></tr>'
        in html
    )
    assert "新包装规格 2026" in html
    assert html.count('data-testid="timeline-change"') == 3  # created, approved, changed
    assert html.count('data-testid="timeline-signature"') == 1
    sig = Signature.objects.for_record(changed_product).get()
    assert sig.printed_name in html and "Approved" in html
    # The change after approval breaks the approval signature's hash (R-SIG-3).
    assert "Signature invalid — record changed after signing" in html
    assert f"({qa_reviewer2.username})" in html and f"({qa_reviewer.username})" in html


def test_timeline_of_unknown_record_type_is_404(auditor, client_for):
    """R-AT-5: a malformed link is a 404, not a server error."""
    client = client_for(auditor)
    assert client.get(reverse("core:record_history", args=["nope.model", 1])).status_code == 404
    assert client.get(reverse("core:record_history", args=["release.product", 999999])).status_code == 404
    assert client.get(reverse("core:record_history", args=["release.product", "abc"])).status_code == 404


def _backdated_change(product: Product, user: User, when: datetime, pack_size: str) -> None:
    obj = Product.objects.get(pk=product.pk)
    obj.pack_size = pack_size
    obj._history_date = when
    obj.save_audited(user=user, reason=f"change to {pack_size}")


def _backdated_product(user: User, when: datetime, **fields) -> Product:
    product = ProductFactory.build(last_changed_by=user, **fields)
    product._history_date = when
    product.save_audited(user=user, reason="created")
    return product


@pytest.fixture
def search_data(qa_reviewer, qa_reviewer2, production_reviewer):
    p1 = _backdated_product(qa_reviewer, datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI), name="甲产品")
    p2 = _backdated_product(
        qa_reviewer, datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI), name="乙产品", status=Product.Status.APPROVED
    )
    _backdated_change(p1, qa_reviewer, datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI), "march-10")
    _backdated_change(p1, qa_reviewer2, datetime(2025, 3, 20, 23, 30, tzinfo=SHANGHAI), "march-20-late")
    _backdated_change(p2, qa_reviewer2, datetime(2025, 3, 21, 0, 30, tzinfo=SHANGHAI), "march-21-early")
    batch = services.batch_create(
        user=production_reviewer,
        data={
            "product": p2,
            "batch_number": "S-1",
            "batch_size": 10,
            "batch_size_unit": "kg",
            "manufacture_date": datetime(2026, 1, 1).date(),
            "site": "车间",
        },
    )
    return {"p1": p1, "p2": p2, "batch": batch}


def _search(client: Client, **params) -> list:
    response = client.get(reverse("core:audit_search"), params)
    assert response.status_code == 200
    return response.context["entries"]


def test_search_filters_by_user(search_data, qa_reviewer2, auditor, client_for):
    """R-AT-5: search all changes by user."""
    entries = _search(client_for(auditor), user=qa_reviewer2.pk)
    assert {e.user_id for e in entries} == {qa_reviewer2.pk}
    assert sorted(_changes(e)["pack_size"][1] for e in entries) == ["march-20-late", "march-21-early"]


def test_search_filters_by_record_type(search_data, auditor, client_for):
    """R-AT-5: search by record type."""
    entries = _search(client_for(auditor), record_type="release.batch")
    assert [e.object_id for e in entries] == [search_data["batch"].pk]
    assert {e.model for e in _search(client_for(auditor), record_type="release.product")} == {Product}


def test_search_filters_by_date_range_in_local_days(search_data, auditor, client_for):
    """R-AT-5: the date range is in the site's days (Asia/Shanghai), the end day included."""
    client = client_for(auditor)
    entries = _search(client, date_from="2025-03-01", date_to="2025-03-15")
    assert [(e.action, _changes(e)["pack_size"][1]) for e in entries] == [
        ("~", "march-10"),
        ("+", "12粒×2板/盒"),
        ("+", "12粒×2板/盒"),
    ]
    entries = _search(client, date_from="2025-03-11", date_to="2025-03-20")
    assert [_changes(e)["pack_size"][1] for e in entries] == ["march-20-late"]
    entries = _search(client, date_from="2025-03-21", date_to="2025-03-21")
    assert [_changes(e)["pack_size"][1] for e in entries] == ["march-21-early"]
    assert _search(client, date_from="2025-02-01", date_to="2025-02-28") == []


def test_search_combines_filters_newest_first(search_data, qa_reviewer2, auditor, client_for):
    """R-AT-5: filters combine; results are newest first."""
    entries = _search(
        client_for(auditor),
        user=qa_reviewer2.pk,
        record_type="release.product",
        date_from="2025-03-01",
        date_to="2025-03-31",
    )
    assert [_changes(e)["pack_size"][1] for e in entries] == ["march-21-early", "march-20-late"]


def test_search_with_end_before_start_shows_the_error(auditor, client_for):
    """R-AT-5, R-UX-2: a reversed range is explained beside the field, not a server error."""
    response = client_for(auditor).get(
        reverse("core:audit_search"), {"date_from": "2025-03-10", "date_to": "2025-03-01"}
    )
    assert response.status_code == 200
    assert "date_to" in response.context["form"].errors


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export_has_a_header_and_the_matching_rows(search_data, qa_reviewer2, auditor, client_for):
    """R-AT-5: CSV export of a search, one line per changed field."""
    response = client_for(auditor).get(
        reverse("core:audit_export"), {"user": qa_reviewer2.pk, "date_from": "2025-03-01", "date_to": "2025-03-31"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header == [
        "Time",
        "Time zone",
        "Username",
        "Printed name",
        "Record type",
        "Record",
        "Record id",
        "Action",
        "Field",
        "Old value",
        "New value",
        "Reason for change",
    ]
    assert rows
    assert {r[2] for r in rows} == {qa_reviewer2.username}
    assert {r[1] for r in rows} == {settings.TIME_ZONE}
    packs = [(r[0], r[9], r[10], r[11]) for r in rows if r[8] == "Pack size"]
    assert packs == [
        ("2025-03-21 00:30:00", "12粒×2板/盒", "march-21-early", "change to march-21-early"),
        ("2025-03-20 23:30:00", "march-10", "march-20-late", "change to march-20-late"),
    ]


def test_csv_export_without_filter_lists_every_change(search_data, auditor, client_for):
    """R-AT-5: an unfiltered export covers all record types."""
    header, *rows = _csv(client_for(auditor).get(reverse("core:audit_export")))
    assert {"product", "batch", "user"} <= {r[4] for r in rows}


AUDITOR_READ_PAGES = [
    ("core:my_work", None),
    ("core:audit_search", None),
    ("core:audit_export", None),
    ("core:locked_users", None),
    ("core:integrity", None),
    ("release:product_list", None),
    ("release:batch_list", None),
    ("release:product_detail", "product"),
    ("release:batch_detail", "batch"),
    ("release:deviation_list", None),
    ("release:changecontrol_list", None),
    ("release:deviation_detail", "deviation"),
    ("release:changecontrol_detail", "change_control"),
    ("release:batch_review", "batch"),
    ("release:batch_dossier", "batch"),
    ("release:register", None),
    ("release:register_csv", None),
    ("release:designation_list", None),
    ("release:materiallot_list", None),
    ("release:materiallot_detail", "material_lot"),
    ("core:record_history", "history_product"),
    ("core:record_history", "history_batch"),
    ("core:record_history", "history_user"),
]


def _url(name: str, arg: str | None, data: dict) -> str:
    if arg is None:
        return reverse(name)
    if arg.startswith("history_"):
        kind = arg.split("_", 1)[1]
        key = {"product": "release.product", "batch": "release.batch", "user": "core.user"}[kind]
        return reverse(name, args=[key, data[kind].pk])
    return reverse(name, args=[data[arg].pk])


@pytest.mark.parametrize("name, arg", AUDITOR_READ_PAGES)
def test_auditor_reads_every_page(name, arg, audit_rows, auditor, client_for):
    """R-AT-5: the auditor opens every list, record, history and export."""
    data = {**audit_rows, "user": auditor}
    assert client_for(auditor).get(_url(name, arg, data)).status_code == 200


# Pages that read but take no action, whose reading by an auditor is tested with the documents:
# the verify pages accept a POSTed copy of a PDF only to compare its hash; downloads are GET-only.
NON_ACTION_PAGES = {"core:document_lookup", "core:document_verify", "core:document_download", "core:document_data"}


def _action_urls(data: dict) -> list[str]:
    """Every URL of core and release that is not a read-only page (found from the URL configuration,
    so an action added later is covered, or must be classified here)."""
    from django.urls import get_resolver

    read_only = {n for n, _a in AUDITOR_READ_PAGES} | NON_ACTION_PAGES
    # Document verification accepts an uploaded copy to compare hashes; it writes nothing.
    read_only |= {"core:document_lookup", "core:document_verify", "core:document_download", "core:document_data"}
    urls = []
    for namespace in ("core", "release"):
        resolver = get_resolver().namespace_dict[namespace][1]
        for pattern in resolver.url_patterns:
            name = f"{namespace}:{pattern.name}"
            if name in read_only:
                continue
            params = list(pattern.pattern.converters)
            if not params:
                urls.append(reverse(name))
            elif name.startswith("release:product"):
                urls.append(reverse(name, kwargs={"pk": data["product"].pk}))
            elif name.startswith("release:batch"):
                urls.append(reverse(name, kwargs={"pk": data["batch"].pk}))
            elif name.startswith("release:materiallot"):
                urls.append(reverse(name, kwargs={"pk": data["material_lot"].pk}))
            else:
                urls.append(reverse(name, kwargs={"pk": data["locked"].pk}))
    return urls


def test_auditor_posts_to_every_action_url_get_403(audit_rows, auditor, qa_reviewer2, client_for):
    """R-AT-5: the auditor changes nothing — every action URL answers 403 and nothing is written."""
    locked = User.objects.get(pk=qa_reviewer2.pk)
    locked.locked_at = timezone.now()
    locked.save()
    data = {**audit_rows, "locked": locked}
    urls = _action_urls(data)
    assert {
        "/release/products/new/",
        f"/release/products/{data['product'].pk}/approve/",
        f"/accounts/{locked.pk}/unlock/",
    } <= set(urls)
    history_before = {m: m.objects.count() for m in _history_models()}
    signatures_before = Signature.objects.count()
    client = client_for(auditor)
    payload = {
        "reason": "auditor",
        "approve-password": PASSWORD,
        "void-password": PASSWORD,
        "void-reason": "x",
        "name": "X",
        "pack_size": "X",
        "batch_number": "X",
    }
    for url in urls:
        assert client.post(url, payload).status_code == 403, url
    assert {m: m.objects.count() for m in _history_models()} == history_before
    assert Signature.objects.count() == signatures_before
    assert User.objects.get(pk=locked.pk).is_locked


def test_auditor_holds_no_change_permission(auditor):
    """R-AT-5: the role itself grants only view permissions."""
    perms = Group.objects.get(name="auditor").permissions.values_list("codename", flat=True)
    assert perms
    assert all(p.startswith("view_") for p in perms)


# --- R-REC-1 voided records stay readable ------------------------------------------------------


def test_voided_records_stay_readable(audit_rows, qa_reviewer, auditor, client_for):
    """R-REC-1: a voided batch and a voided product are still there, with their reason."""
    batch = audit_rows["batch"]
    product = ProductFactory(last_changed_by=qa_reviewer)
    services.product_void(product=product, user=qa_reviewer, password=PASSWORD, reason="主数据登记错误")
    client = client_for(auditor)
    for record, reason in ((product, "主数据登记错误"), (batch, "重复")):
        record.refresh_from_db()
        assert record.is_voided and record.void_reason == reason
        page = client.get(record.get_absolute_url())
        assert page.status_code == 200
        assert reason in page.content.decode() and "Voided" in page.content.decode()
    assert product in client.get(reverse("release:product_list"), {"status": "voided"}).context["page_obj"].object_list
    history = client.get(reverse("core:record_history", args=["release.product", product.pk])).content.decode()
    assert "主数据登记错误" in history


# --- R-PERF-1 bounded queries -------------------------------------------------------------------


def _churn(product: Product, n: int, editor: User, approver: User) -> None:
    """n changes, each approved again (a signature each): history and signatures both grow."""
    for i in range(n):
        services.product_update(product=product, user=editor, data={"pack_size": f"{i}粒/盒"}, reason=f"change {i}")
        services.product_approve(product=product, user=approver, password=PASSWORD)


# Search: a fixed part (session, user, permissions, the form's user list) plus at most three queries
# per record type (its newest rows; on the page: the rows and their predecessors) — never per row.
SEARCH_QUERY_BOUND = 8 + 3 * len(record_types())
TIMELINE_QUERY_BOUND = 14


@pytest.mark.parametrize("n", [5, 40])
def test_audit_search_page_query_count_does_not_grow(
    n, approved_product, qa_reviewer, qa_reviewer2, auditor, client_for, django_assert_max_num_queries
):
    """R-PERF-1: the search page costs the same number of queries for 5 or 40 changes."""
    _churn(approved_product, n, qa_reviewer, qa_reviewer2)
    client = client_for(auditor)
    with django_assert_max_num_queries(SEARCH_QUERY_BOUND):
        response = client.get(reverse("core:audit_search"))
    assert len(response.context["entries"]) == min(50, sum(m.objects.count() for m in _history_models()))
    with django_assert_max_num_queries(SEARCH_QUERY_BOUND):
        client.get(reverse("core:audit_search"), {"record_type": "release.product", "user": qa_reviewer.pk})


@pytest.mark.parametrize("n", [5, 40])
def test_record_timeline_query_count_does_not_grow(
    n, approved_product, qa_reviewer, qa_reviewer2, auditor, client_for, django_assert_max_num_queries
):
    """R-PERF-1: a record's timeline costs the same number of queries for 5 or 40 changes and signatures."""
    _churn(approved_product, n, qa_reviewer, qa_reviewer2)
    client = client_for(auditor)
    with django_assert_max_num_queries(TIMELINE_QUERY_BOUND):
        response = client.get(reverse("core:record_history", args=["release.product", approved_product.pk]))
    assert response.content.decode().count('data-testid="timeline-signature"') == n + 1


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
    ],
)
@pytest.mark.parametrize("view", ["core:audit_search", "core:audit_export"])
def test_search_dates_at_the_calendars_edge_are_refused_beside_the_field(view, params, auditor, client_for):
    """R-AT-5, R-UX-2: a date such as 0001-01-01 or 9999-12-31 (which cannot become a UTC time in
    the site's zone) is explained beside the field, never a server error."""
    client = client_for(auditor)
    client.raise_request_exception = True
    response = client.get(reverse(view), params, follow=True)
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == set(params)
    assert "Enter a date between 1900-01-01 and 2999-12-31." in response.content.decode()
